//! Meta fields and conditional edits: `_created`/`_updated`/`_deleted`,
//! the ETag and the `_id` of new documents, meta defaults for documents
//! written outside the API, the `If-Match` check and the compare-and-set
//! filter of an edit.

use bson::{Bson, Document};
use eve_core::{ApiError, ApiResult, Domain, Resource};
use eve_query::Filter;

use crate::etag::document_etag;

/// The current time at second precision (Eve stores seconds).
pub fn now() -> bson::DateTime {
    let ms = bson::DateTime::now().timestamp_millis();
    bson::DateTime::from_millis(ms - ms.rem_euclid(1000))
}

/// The epoch, reported as `_created`/`_updated` of documents created
/// outside the API.
pub fn epoch() -> bson::DateTime {
    bson::DateTime::from_millis(0)
}

/// Fills `_created`/`_updated` (epoch) and `_etag` (computed) for documents
/// written outside the API.
pub fn ensure_meta(domain: &Domain, res: &Resource, doc: &mut Document) {
    let m = &domain.settings.meta;
    if !doc.contains_key(&m.date_created) {
        doc.insert(m.date_created.clone(), epoch());
    }
    if !doc.contains_key(&m.last_updated) {
        doc.insert(m.last_updated.clone(), epoch());
    }
    if domain.settings.if_match && !doc.contains_key(&m.etag) {
        let etag = document_etag(doc, &res.etag_ignore_fields);
        doc.insert(m.etag.clone(), etag);
    }
}

/// Stamps the creation meta fields of a new document (before the insert
/// hooks see it, as in Eve).
pub(crate) fn stamp_new(domain: &Domain, res: &Resource, doc: &mut Document, at: bson::DateTime) {
    let m = &domain.settings.meta;
    doc.insert(m.last_updated.clone(), at);
    doc.insert(m.date_created.clone(), at);
    if res.soft_delete {
        doc.insert(m.deleted.clone(), false);
    }
}

/// Gives a new document its ETag (of the content as the insert hooks left
/// it, without a generated `_id`, as Eve computes it) and then an `_id`.
pub(crate) fn seal_new(domain: &Domain, res: &Resource, doc: &mut Document) {
    if domain.settings.if_match {
        let etag = document_etag(doc, &res.etag_ignore_fields);
        doc.insert(domain.settings.meta.etag.clone(), etag);
    }
    if !doc.contains_key("_id") {
        doc.insert("_id", bson::oid::ObjectId::new());
    }
}

/// The `If-Match` condition a client sent with an edit or a delete: the
/// typed request's (`eve_core::request::IfMatch`), carried by the plan.
pub use eve_core::request::IfMatch;

/// Checks `If-Match` against the current ETag (features.md §13):
/// `EtagRequired` (428) when one is required and missing, `EtagMismatch`
/// (412) when it differs.
pub(crate) fn check_if_match(
    domain: &Domain,
    if_match: &IfMatch,
    original: &Document,
) -> ApiResult<()> {
    let s = &domain.settings;
    if !s.if_match {
        return Ok(());
    }
    match if_match {
        IfMatch::Absent if s.enforce_if_match => Err(ApiError::EtagRequired),
        IfMatch::Absent => Ok(()),
        IfMatch::Etag(sent) => {
            let current = original.get_str(&s.meta.etag).unwrap_or_default();
            if sent == current {
                Ok(())
            } else {
                Err(ApiError::EtagMismatch)
            }
        }
    }
}

/// The compare-and-set filter of an edit: the document's `_id`, plus its
/// ETag when concurrency control is on.
///
/// Built from the document as stored (before [`ensure_meta`]): a document
/// written outside the API has no stored ETag, so the write requires that
/// it still has none (its ETag is computed on the fly from its content).
pub(crate) fn edit_filter(domain: &Domain, stored: &Document) -> Filter {
    let s = &domain.settings;
    let filter = Filter::eq("_id", stored.get("_id").cloned().unwrap_or(Bson::Null));
    if !s.if_match {
        return filter;
    }
    let etag = match stored.get_str(&s.meta.etag) {
        Ok(etag) => Filter::eq(s.meta.etag.clone(), etag),
        Err(_) => Filter::Field {
            path: s.meta.etag.clone(),
            cond: eve_query::Cond::Exists(false),
        },
    };
    filter.and(etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_header_is_normalised_and_blank_is_absent() {
        assert_eq!(IfMatch::from_header(None), IfMatch::Absent);
        assert_eq!(IfMatch::from_header(Some(b"  ")), IfMatch::Absent);
        assert_eq!(
            IfMatch::from_header(Some(b"W/\"abc\"")),
            IfMatch::Etag("abc".into())
        );
    }
}
