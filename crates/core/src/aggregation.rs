//! Aggregation endpoints (features.md §41): the pipeline a request runs,
//! built from the resource's `datasource.aggregation.pipeline` and the
//! client's `?aggregate={"$var": value}` as Eve builds it (substitution,
//! then removal of empty mappings and stages), checked against the
//! `AGGREGATION_*` limits; and the `$facet` stage that pages the results
//! and counts them in one run.

pub mod guard;

use bson::{doc, Bson, Document};
use serde_json::Value;

use crate::domain::{Domain, RequestLimits, Resource};
use crate::error::{ApiError, ApiResult};

/// Name of the `$facet` output holding the page of results.
pub const PAGE_FACET: &str = "paginated_results";
/// Name of the `$facet` output holding the count.
pub const COUNT_FACET: &str = "total_count";

/// The pipeline of one request: the resource's stages with the client's
/// variables substituted (`arguments`, the raw `aggregate` argument),
/// emptied mappings and stages removed, client strings converted as `where`
/// values are (dates, ObjectIds), and the limits checked.
///
/// Eve's rules: the argument must be a JSON object (else
/// [`ApiError::AggregationUnparsable`]); every value anywhere in the
/// pipeline (in mappings and lists) equal to the string of a key is
/// replaced by that key's value; then, recursively through mappings, keys
/// whose value is an empty mapping are removed, and top-level stages left
/// empty are dropped. Placeholders the client does not give stay as they
/// are.
///
/// ```
/// use bson::doc;
/// use eve_core::aggregation::substitute;
///
/// let pipeline = vec![doc! {"$match": {"name": "$name", "time": "$time"}}];
/// let out = substitute(&pipeline, Some(r#"{"$name": "Apple", "$time": {}}"#)).unwrap();
/// assert_eq!(out, vec![doc! {"$match": {"name": "Apple"}}]);
/// let out = substitute(&pipeline, Some(r#"{"$name": {}, "$time": {}}"#)).unwrap();
/// assert!(out.is_empty());
/// ```
pub fn substitute(pipeline: &[Document], arguments: Option<&str>) -> ApiResult<Vec<Document>> {
    let mut stages: Vec<Bson> = pipeline.iter().cloned().map(Bson::Document).collect();
    if let Some(raw) = arguments {
        let vars = match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(m)) => m,
            _ => return Err(ApiError::AggregationUnparsable),
        };
        for (key, value) in &vars {
            let value = eve_query::json_to_bson(value);
            for stage in &mut stages {
                replace(stage, key, &value);
            }
        }
    }
    let mut out = Vec::with_capacity(stages.len());
    for stage in stages {
        if let Bson::Document(mut d) = stage {
            prune(&mut d);
            if !d.is_empty() {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Replaces, below `v` (not `v` itself), every value equal to the string
/// `key` by `value`.
fn replace(v: &mut Bson, key: &str, value: &Bson) {
    let children: Box<dyn Iterator<Item = &mut Bson>> = match v {
        Bson::Document(d) => Box::new(d.iter_mut().map(|(_, x)| x)),
        Bson::Array(items) => Box::new(items.iter_mut()),
        _ => return,
    };
    for child in children {
        if matches!(child, Bson::String(s) if s == key) {
            *child = value.clone();
        } else {
            replace(child, key, value);
        }
    }
}

/// Removes, recursively through mappings, the keys whose value is (or
/// becomes) an empty mapping.
fn prune(d: &mut Document) {
    let keys: Vec<String> = d.keys().cloned().collect();
    for k in keys {
        if let Some(Bson::Document(inner)) = d.get_mut(&k) {
            prune(inner);
            if inner.is_empty() {
                d.remove(&k);
            }
        }
    }
}

/// The full pipeline a request runs: [`substitute`], the client strings
/// converted (`convert_query`'s rules), and the limits checked
/// (`AGGREGATION_MAX_STAGES`, `AGGREGATION_MAX_DEPTH`).
pub fn request_pipeline(
    domain: &Domain,
    res: &Resource,
    pipeline: &[Document],
    arguments: Option<&str>,
) -> ApiResult<Vec<Document>> {
    let stages = substitute(pipeline, arguments)?;
    check_limits(&domain.settings.limits, &stages)?;
    let mut wrapper = doc! {"pipeline": stages};
    crate::convert::convert_query(domain, res, &mut wrapper);
    Ok(match wrapper.remove("pipeline") {
        Some(Bson::Array(items)) => items
            .into_iter()
            .filter_map(|s| match s {
                Bson::Document(d) => Some(d),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// Refuses a pipeline over `AGGREGATION_MAX_STAGES` stages or nested
/// deeper than `AGGREGATION_MAX_DEPTH`.
pub fn check_limits(limits: &RequestLimits, stages: &[Document]) -> ApiResult<()> {
    if stages.len() > limits.aggregation_max_stages {
        return Err(ApiError::AggregationRefused(format!(
            "the aggregation pipeline has {} stages, more than {} (AGGREGATION_MAX_STAGES)",
            stages.len(),
            limits.aggregation_max_stages
        )));
    }
    let max = limits.aggregation_max_depth;
    for stage in stages {
        if depth_over(&Bson::Document(stage.clone()), 0, max) {
            return Err(ApiError::AggregationRefused(format!(
                "the aggregation pipeline is nested deeper than {max} levels \
                 (AGGREGATION_MAX_DEPTH)"
            )));
        }
    }
    Ok(())
}

/// Whether `v`, at nesting `depth` (a stage is level 1), goes deeper than
/// `max`.
fn depth_over(v: &Bson, depth: usize, max: usize) -> bool {
    match v {
        Bson::Document(d) => depth + 1 > max || d.values().any(|x| depth_over(x, depth + 1, max)),
        Bson::Array(items) => {
            depth + 1 > max || items.iter().any(|x| depth_over(x, depth + 1, max))
        }
        _ => false,
    }
}

/// The stage Eve appends to page and count in one run:
/// `{$facet: {paginated_results: [{$skip}, {$limit}], total_count: [{$count: "count"}]}}`;
/// with no page size (pagination off and no `max_results`) the page is
/// `[{$skip: 0}]`, all results.
pub fn paging_facet(page: u64, max_results: Option<u64>) -> Document {
    let as_bson = |n: u64| i64::try_from(n).map_or(Bson::Int64(i64::MAX), Bson::Int64);
    let page_stages = match max_results {
        Some(max) if max > 0 => vec![
            Bson::Document(doc! {"$skip": as_bson(page.saturating_sub(1).saturating_mul(max))}),
            Bson::Document(doc! {"$limit": as_bson(max)}),
        ],
        _ => vec![Bson::Document(doc! {"$skip": 0_i64})],
    };
    doc! {"$facet": {
        PAGE_FACET: page_stages,
        COUNT_FACET: [{"$count": "count"}],
    }}
}

/// Splits the one document a paged pipeline returns into the page of
/// results and the count (0 when nothing matched).
pub fn unpack_facet(mut out: Vec<Document>) -> (Vec<Document>, u64) {
    let Some(mut first) = out.pop() else {
        return (Vec::new(), 0);
    };
    let docs = match first.remove(PAGE_FACET) {
        Some(Bson::Array(items)) => items
            .into_iter()
            .filter_map(|d| match d {
                Bson::Document(d) => Some(d),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let count = match first.remove(COUNT_FACET) {
        Some(Bson::Array(items)) => match items.first() {
            Some(Bson::Document(c)) => match c.get("count") {
                Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
                Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
                Some(Bson::Double(n)) if *n >= 0.0 => {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let n = *n as u64;
                    n
                }
                _ => 0,
            },
            _ => 0,
        },
        _ => 0,
    };
    (docs, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_replaced_in_mappings_and_lists() {
        let pipeline = vec![
            doc! {"$match": {"$or": [{"a": "$v"}, {"b": {"$in": ["$v", "x"]}}]}},
            doc! {"$group": {"_id": "$tags", "n": {"$sum": "$value"}}},
        ];
        let out = substitute(&pipeline, Some(r#"{"$v": 3, "$value": 2}"#)).unwrap();
        assert_eq!(
            out,
            vec![
                doc! {"$match": {"$or": [{"a": 3}, {"b": {"$in": [3, "x"]}}]}},
                doc! {"$group": {"_id": "$tags", "n": {"$sum": 2}}},
            ]
        );
    }

    #[test]
    fn unknown_placeholders_stay_and_keys_need_no_dollar() {
        let pipeline = vec![doc! {"$match": {"a": "$a", "b": "plain"}}];
        let out = substitute(&pipeline, Some(r#"{"plain": 1, "$zz": 2}"#)).unwrap();
        assert_eq!(out, vec![doc! {"$match": {"a": "$a", "b": 1}}]);
    }

    #[test]
    fn empty_mappings_are_pruned_recursively_and_empty_stages_dropped() {
        let pipeline = vec![
            doc! {"$match": {"x": {"y": "$y"}, "z": 1}},
            doc! {"$match": {"w": "$y"}},
        ];
        let out = substitute(&pipeline, Some(r#"{"$y": {}}"#)).unwrap();
        assert_eq!(out, vec![doc! {"$match": {"z": 1}}]);
        // without arguments, empty mappings written in the settings go too
        let out = substitute(&[doc! {"$project": {}}], None).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn the_argument_must_be_an_object() {
        for bad in ["[1]", "3", "\"x\"", "{", "null"] {
            let err = substitute(&[], Some(bad)).unwrap_err();
            assert!(matches!(err, ApiError::AggregationUnparsable), "{bad}");
        }
    }

    #[test]
    fn limits_count_stages_and_depth() {
        let limits = RequestLimits {
            aggregation_max_stages: 2,
            aggregation_max_depth: 3,
            ..RequestLimits::default()
        };
        let three = vec![doc! {"$limit": 1}; 3];
        assert!(matches!(
            check_limits(&limits, &three),
            Err(ApiError::AggregationRefused(m)) if m.contains("AGGREGATION_MAX_STAGES")
        ));
        assert!(check_limits(&limits, &[doc! {"$match": {"a": {"$gt": 1}}}]).is_ok());
        assert!(matches!(
            check_limits(&limits, &[doc! {"$match": {"a": {"$in": [[1]]}}}]),
            Err(ApiError::AggregationRefused(m)) if m.contains("AGGREGATION_MAX_DEPTH")
        ));
    }

    #[test]
    fn the_paging_facet_is_eves() {
        assert_eq!(
            paging_facet(3, Some(25)),
            doc! {"$facet": {
                "paginated_results": [{"$skip": 50_i64}, {"$limit": 25_i64}],
                "total_count": [{"$count": "count"}],
            }}
        );
        assert_eq!(
            paging_facet(1, None),
            doc! {"$facet": {
                "paginated_results": [{"$skip": 0_i64}],
                "total_count": [{"$count": "count"}],
            }}
        );
        let (docs, n) = unpack_facet(vec![doc! {
            "paginated_results": [{"a": 1}],
            "total_count": [{"count": 7}],
        }]);
        assert_eq!((docs, n), (vec![doc! {"a": 1}], 7));
        assert_eq!(
            unpack_facet(vec![doc! {"paginated_results": [], "total_count": []}]),
            (Vec::new(), 0)
        );
    }
}
