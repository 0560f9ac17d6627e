//! `$near`/`$nearSphere` for layers that evaluate it themselves (the
//! embedded and PostgreSQL layers): the layer reads the candidates (the
//! query's filter and the search's [`candidate_filter`], at most
//! [`NEAR_MAX_CANDIDATES`] of them), and [`finish_near`] measures, keeps
//! those within `$minDistance`/`$maxDistance`, orders them nearest first
//! (a client sort then reorders them, as in MongoDB, distance breaking
//! its ties), windows and projects. The total it returns is what
//! MongoDB-backed pages show too: the number of documents the search
//! returns without `skip`/`limit` (docs/geo.md, "Counts").

use bson::Document;
use eve_query::{Filter, Near};

use crate::{project_all, FindQuery, StoreError, StoreResult};

/// Most documents a `$near` evaluated outside MongoDB may consider before
/// distances are measured; past it the query is refused (400) with a hint
/// to narrow it with `$maxDistance` or other conditions.
pub const NEAR_MAX_CANDIDATES: usize = 250_000;

/// The filter a layer reads `$near` candidates with: the query's filter
/// and, with a `$maxDistance`, the circle (or spherical cap) around the
/// point, so that a layer with a geo index can restrict its scan and the
/// others hold fewer documents.
pub fn candidate_filter(query: &FindQuery, near: &Near) -> Filter {
    match Filter::parse(&near.count_filter_document()) {
        Ok(f) => query.filter.clone().and(f),
        // The document is built from a checked `Near`: it always parses.
        Err(_) => query.filter.clone(),
    }
}

/// The error for a `$near` whose candidates exceed [`NEAR_MAX_CANDIDATES`].
pub fn too_many_candidates() -> StoreError {
    StoreError::InvalidQuery(format!(
        "$near would measure more than {NEAR_MAX_CANDIDATES} documents: narrow it with $maxDistance or other conditions"
    ))
}

/// Orders `candidates` for `near` and windows them as `query` says;
/// returns the page and the number of documents within range.
pub fn finish_near(
    candidates: Vec<Document>,
    query: &FindQuery,
    near: &Near,
) -> StoreResult<(Vec<Document>, u64)> {
    if candidates.len() > NEAR_MAX_CANDIDATES {
        return Err(too_many_candidates());
    }
    let mut measured: Vec<(f64, Document)> = candidates
        .into_iter()
        .filter_map(|doc| {
            let d = near.distance_to(&doc)?;
            near.in_range(d).then_some((d, doc))
        })
        .collect();
    measured.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut docs: Vec<Document> = measured.into_iter().map(|(_, doc)| doc).collect();
    let total = docs.len() as u64;
    // A client sort overrides the distance order (stable: distance breaks
    // its ties), as MongoDB's `sort()` after `$near` does.
    eve_query::sort_documents(&mut docs, &query.sort);
    let skip = usize::try_from(query.skip).unwrap_or(usize::MAX);
    let mut docs: Vec<Document> = docs.into_iter().skip(skip).collect();
    if let Some(limit) = query.limit {
        docs.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    Ok((
        match &query.projection {
            Some(p) => project_all(docs, p),
            None => docs,
        },
        total,
    ))
}

/// The query a layer reads `$near` candidates with: [`candidate_filter`],
/// natural order, whole documents, one more than [`NEAR_MAX_CANDIDATES`]
/// (so that too many is noticed without reading them all).
pub fn candidate_query(query: &FindQuery, near: &Near) -> FindQuery {
    let mut q = FindQuery::new(candidate_filter(query, near));
    q.limit = Some(NEAR_MAX_CANDIDATES as u64 + 1);
    q
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    fn near(max: Option<f64>) -> Near {
        Near {
            field: "p".into(),
            point: [0.0, 0.0],
            max_distance: max,
            min_distance: Some(1.0),
            spherical: false,
            geojson: false,
        }
    }

    #[test]
    fn near_orders_filters_sorts_and_windows() {
        let docs = vec![
            doc! {"_id": 1, "p": [3, 4], "g": "b"},
            doc! {"_id": 2, "p": [1, 0], "g": "a"},
            doc! {"_id": 3, "p": [0, 0.5], "g": "a"},
            doc! {"_id": 4, "g": "a"},
            doc! {"_id": 5, "p": [0, 2], "g": "b"},
        ];
        let mut q = FindQuery::new(Filter::All);
        let (page, total) = finish_near(docs.clone(), &q, &near(Some(4.0))).unwrap();
        assert_eq!(total, 2, "within 1..=4 and located");
        assert_eq!(
            page.iter()
                .map(|d| d.get_i32("_id").unwrap())
                .collect::<Vec<_>>(),
            [2, 5]
        );
        q.sort = vec![("g".into(), eve_query::SortDir::Desc)];
        q.limit = Some(2);
        let (page, total) = finish_near(docs, &q, &near(None)).unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            page.iter()
                .map(|d| d.get_i32("_id").unwrap())
                .collect::<Vec<_>>(),
            [5, 1]
        );
    }

    #[test]
    fn too_many_candidates_are_refused() {
        let docs = vec![doc! {"p": [0, 0]}; NEAR_MAX_CANDIDATES + 1];
        let err = finish_near(docs, &FindQuery::new(Filter::All), &near(None)).unwrap_err();
        assert!(matches!(err, StoreError::InvalidQuery(_)), "{err}");
    }
}
