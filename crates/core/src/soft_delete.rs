//! Soft delete (features.md §31) as the planner sees it: which reads hide
//! the documents marked deleted, and the one filter that hides them.
//!
//! A resource with `soft_delete` keeps deleted documents, marked
//! `DELETED: true` (default `_deleted`). Every read through the API hides
//! them — collection pages and their counts, `data_relation` look-ups,
//! `unique` checks, the data API — except where Eve shows them: item reads
//! (answered `404` with the document), the look-up of an edit or a delete
//! (PUT and PATCH restore), and collection reads with `?show_deleted`
//! (`SHOW_DELETED_PARAM`) or a `where` that names the `DELETED` field.
//!
//! The hiding filter is a plain [`Filter`] that the planner merges into the
//! request's scope ([`scope_filter_with`](crate::plan::scope_filter_with)),
//! so every data layer pushes it down like any other condition; no layer
//! knows about soft delete.

use bson::{Bson, Document};
use eve_query::{Cond, Filter};

use crate::domain::{Domain, Resource};

/// Whether a read sees the documents marked deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// Hide them (the default of every read).
    Hide,
    /// Show them (the caller handles them).
    Show,
}

/// The filter that hides the soft-deleted documents of `res`:
/// `{DELETED: {"$ne": true}}`, so documents without the field (written
/// before soft delete was turned on, or outside the API) count as live.
/// [`Filter::All`] when the resource does not soft delete.
pub fn not_deleted(domain: &Domain, res: &Resource) -> Filter {
    if !res.soft_delete {
        return Filter::All;
    }
    Filter::Field {
        path: domain.settings.meta.deleted.clone(),
        cond: Cond::Ne(Bson::Boolean(true)),
    }
}

/// Whether `doc` is marked deleted: the resource soft deletes and the
/// document's `DELETED` field is `true` (a missing field is live).
pub fn is_deleted(domain: &Domain, res: &Resource, doc: &Document) -> bool {
    res.soft_delete
        && matches!(
            doc.get(&domain.settings.meta.deleted),
            Some(Bson::Boolean(true))
        )
}

/// Whether a client query names `field` as Eve's `query_contains_field`
/// finds it: a key of the query, or a key of a condition of its top-level
/// `$and` (not inside `$or`, `$nor` or deeper; checked on the oracle). A
/// `where` that names the `DELETED` field turns the automatic hiding off
/// (features.md §31.1).
pub fn query_mentions(query: &Document, field: &str) -> bool {
    if query.contains_key(field) {
        return true;
    }
    match query.get("$and") {
        Some(Bson::Array(conditions)) => conditions.iter().any(|c| match c {
            Bson::Document(condition) => condition.contains_key(field),
            _ => false,
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn a_where_names_the_field_at_the_top_or_in_the_top_level_and() {
        assert!(query_mentions(&doc! {"_deleted": true}, "_deleted"));
        assert!(query_mentions(
            &doc! {"$and": [{"a": 1}, {"_deleted": {"$ne": false}}]},
            "_deleted"
        ));
        // As Eve: not inside `$or` (the hiding stays), nor deeper.
        assert!(!query_mentions(
            &doc! {"$or": [{"a": 1}, {"_deleted": true}]},
            "_deleted"
        ));
        assert!(!query_mentions(
            &doc! {"$and": [{"$or": [{"_deleted": true}]}]},
            "_deleted"
        ));
        // Not a key: a value, or a sub-field of another field.
        assert!(!query_mentions(&doc! {"a": "_deleted"}, "_deleted"));
        assert!(!query_mentions(&doc! {"a": {"_deleted": true}}, "_deleted"));
        assert!(!query_mentions(&doc! {}, "_deleted"));
    }
}
