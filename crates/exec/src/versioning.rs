//! Document versioning, write side (features.md §22.1): the version number
//! of new and edited documents and their shadow entries in
//! `<collection><VERSIONS>`, in Eve's shape (the versioned fields,
//! `<id_field><VERSION_ID_SUFFIX>` holding the document id, `_version`), so
//! that histories written by Python Eve and by eve-rs read alike.
//!
//! Every function here returns the shadow writes to add to the batch that
//! writes the document itself: a document and its history are written
//! together or not at all, on every data layer.

use bson::{Bson, Document};
use eve_core::{Domain, Resource};
use eve_query::{Cond, Filter};
use eve_store::WriteOp;

/// A version number as stored: a 32-bit integer while it fits (what
/// Python Eve stores), else 64-bit.
pub(crate) fn version_value(n: i64) -> Bson {
    match i32::try_from(n) {
        Ok(small) => Bson::Int32(small),
        Err(_) => Bson::Int64(n),
    }
}

/// The version number a document carries, if any (any numeric type).
pub fn version_of(domain: &Domain, doc: &Document) -> Option<i64> {
    match doc.get(&domain.settings.meta.version)? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(f) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    }
}

/// Stamps `_version: 1` on a new document (POST, PUT upsert), before the
/// insert hooks see it and before its ETag is computed, as Eve does.
pub(crate) fn stamp_first(domain: &Domain, res: &Resource, doc: &mut Document) {
    if res.versioning {
        doc.insert(domain.settings.meta.version.clone(), version_value(1));
    }
}

/// The shadow entry of `doc` (Eve's `insert_versioning_documents`): its
/// versioned fields, the document id under `_id_document` and `_version`.
pub(crate) fn shadow_of(domain: &Domain, res: &Resource, doc: &Document) -> Document {
    let s = &domain.settings;
    let mut shadow = Document::new();
    for (field, value) in doc {
        // The owner goes with every version (features.md §23.6), whether
        // or not the schema declares `auth_field`.
        if res.is_versioned_field(s, field) || res.auth_field.as_deref() == Some(field) {
            shadow.insert(field.clone(), value.clone());
        }
    }
    shadow.insert(
        res.version_id_field(s),
        doc.get(&res.id_field).cloned().unwrap_or(Bson::Null),
    );
    shadow.insert(
        s.meta.version.clone(),
        doc.get(&s.meta.version).cloned().unwrap_or(Bson::Int32(1)),
    );
    shadow
}

/// The insert of the shadow entries of `docs` (as they are stored);
/// `None` when the resource is not versioned.
pub(crate) fn shadow_insert(domain: &Domain, res: &Resource, docs: &[Document]) -> Option<WriteOp> {
    let collection = res.versions_collection(&domain.settings)?;
    Some(WriteOp::Insert {
        collection,
        docs: docs.iter().map(|d| shadow_of(domain, res, d)).collect(),
    })
}

/// Gives `target` (PATCH updates, a PUT replacement) the version that
/// follows `original`'s. An original without a version (stored before
/// versioning was on, or outside the API) counts as version 1 and gets
/// its shadow entry first (Eve's "late versioning catch"): that insert is
/// returned, for the same batch.
pub(crate) fn next_version(
    domain: &Domain,
    res: &Resource,
    original: &Document,
    target: &mut Document,
) -> Option<WriteOp> {
    if !res.versioning {
        return None;
    }
    let field = domain.settings.meta.version.clone();
    match version_of(domain, original) {
        Some(n) => {
            target.insert(field, version_value(n.saturating_add(1)));
            None
        }
        None => {
            let mut first = original.clone();
            first.insert(field.clone(), version_value(1));
            target.insert(field, version_value(2));
            shadow_insert(domain, res, std::slice::from_ref(&first))
        }
    }
}

/// The delete of every shadow entry of the document whose id is `id` (an
/// item DELETE removes the history too).
pub(crate) fn shadow_delete(domain: &Domain, res: &Resource, id: Option<&Bson>) -> Option<WriteOp> {
    let collection = res.versions_collection(&domain.settings)?;
    Some(WriteOp::Delete {
        collection,
        filter: Filter::eq(
            res.version_id_field(&domain.settings),
            id.cloned().unwrap_or(Bson::Null),
        ),
        many: true,
    })
}

/// The delete of the histories of a collection DELETE: every shadow entry
/// when the endpoint is the whole collection, else those of the documents
/// `ids` names (the documents the same batch deletes).
pub(crate) fn shadow_delete_all(
    domain: &Domain,
    res: &Resource,
    ids: Option<Vec<Bson>>,
) -> Option<WriteOp> {
    let collection = res.versions_collection(&domain.settings)?;
    let filter = match ids {
        None => Filter::All,
        Some(ids) => Filter::Field {
            path: res.version_id_field(&domain.settings),
            cond: Cond::In(ids),
        },
    };
    Some(WriteOp::Delete {
        collection,
        filter,
        many: true,
    })
}
