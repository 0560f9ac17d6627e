//! Validation with store look-ups: the validator asks for the checks it
//! cannot make alone (`unique`, `data_relation`), the executor runs them
//! against the data layer, and the document is validated again with their
//! answers so that messages come in Eve's order.

use bson::{Bson, Document};
use eve_core::plan::{base_filter, scope_filter};
use eve_core::soft_delete::not_deleted;
use eve_core::{Access, ApiResult, Domain, Resource};
use eve_query::Filter;
use eve_schema::{Mode, Options, Outcome, PendingCheck};
use eve_store::DataLayer;

/// The validator options of a resource.
pub(crate) fn options(res: &Resource) -> Options {
    Options {
        resource: res.name.clone(),
        allow_unknown: res.allow_unknown,
        id_field: res.id_field.clone(),
    }
}

/// Validates a document, running the store-backed checks the validator
/// asks for; `exclude_id` is the document being edited (it does not
/// collide with itself).
pub(crate) async fn validate(
    domain: &Domain,
    store: &dyn DataLayer,
    access: &Access,
    res: &Resource,
    doc: Document,
    mode: Mode<'_>,
    exclude_id: Option<&Bson>,
) -> ApiResult<Outcome> {
    // Field-level write roles (features.md §23.7): a field the caller may
    // not write is refused when sent, along with the schema's issues.
    let unwritable: Vec<String> = access
        .unwritable_fields(res)
        .into_iter()
        .filter(|f| doc.contains_key(*f))
        .map(str::to_string)
        .collect();
    let mut outcome = validate_schema(domain, store, access, res, doc, mode, exclude_id).await?;
    for field in unwritable {
        outcome.issues.add(&[field], "field is read-only".into());
    }
    Ok(outcome)
}

/// [`validate`] by the schema and its store checks.
async fn validate_schema(
    domain: &Domain,
    store: &dyn DataLayer,
    access: &Access,
    res: &Resource,
    doc: Document,
    mode: Mode<'_>,
    exclude_id: Option<&Bson>,
) -> ApiResult<Outcome> {
    let opts = options(res);
    let large = is_large(&doc);
    if !res.schema.has_store_checks() {
        // No pending checks can come back: one pass, no copy of the input.
        return Ok(off_workers(large, || res.schema.validate(doc, mode, &opts)));
    }
    let first = off_workers(large, || res.schema.validate(doc.clone(), mode, &opts));
    if first.pending.is_empty() {
        return Ok(first);
    }
    let mut failed = Vec::new();
    for check in &first.pending {
        if check_fails(domain, store, access, res, check, exclude_id).await? {
            failed.push(check.clone());
        }
    }
    Ok(off_workers(large, || {
        res.schema
            .validate_with_checks(doc, mode, &opts, &|c| failed.contains(c))
    }))
}

/// Values (documents, lists, scalars) past which validating a document is
/// long enough to leave the async worker it runs on.
const LARGE_DOCUMENT: usize = 2048;

/// Whether `doc` holds more than [`LARGE_DOCUMENT`] values (stops counting
/// there).
fn is_large(doc: &Document) -> bool {
    let mut seen = 0usize;
    let mut stack: Vec<&Bson> = doc.values().collect();
    while let Some(v) = stack.pop() {
        seen += 1;
        if seen > LARGE_DOCUMENT {
            return true;
        }
        match v {
            Bson::Document(d) => stack.extend(d.values()),
            Bson::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    false
}

/// Runs the CPU-bound `work` (validating a large document) so that it does
/// not hold an async worker: on a multi-threaded runtime the worker hands
/// its other tasks over first (`block_in_place`); elsewhere (a
/// current-thread runtime, small documents) it runs in place.
fn off_workers<T>(large: bool, work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let multi =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if large && multi {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Runs one store-backed check; `true` when it fails.
async fn check_fails(
    domain: &Domain,
    store: &dyn DataLayer,
    access: &Access,
    res: &Resource,
    check: &PendingCheck,
    exclude_id: Option<&Bson>,
) -> ApiResult<bool> {
    match check {
        PendingCheck::Unique {
            field,
            value,
            within_resource,
            to_user,
            ..
        } => {
            // Soft-deleted documents do not count (features.md §31.2): a
            // restored document may then duplicate a value.
            let mut filter = Filter::eq(field.clone(), value.clone()).and(not_deleted(domain, res));
            if let Some(id) = exclude_id {
                filter = filter.and(Filter::Field {
                    path: "_id".into(),
                    cond: eve_query::Cond::Ne(id.clone()),
                });
            }
            if *within_resource {
                filter = filter.and(base_filter(domain, res, &[])?);
            }
            // `unique_to_user`: among the user's own documents only
            // (features.md §23.6); without an auth value, as `unique`.
            if *to_user {
                filter = filter.and(access.owner_filter_for(res));
            }
            Ok(store
                .find_one(&res.datasource.source, &filter)
                .await?
                .is_some())
        }
        PendingCheck::DataRelation {
            resource,
            field,
            value,
            ..
        } => {
            let Some(target) = domain.resources.get(resource) else {
                return Ok(true);
            };
            // A versioned reference (`{<field>: id, _version: n}`) to a
            // versioned resource must name an existing version.
            let (value, version) = match value {
                Bson::Document(d) => (
                    d.get(field).cloned().unwrap_or(Bson::Null),
                    crate::version_of(domain, d).filter(|_| target.versioning),
                ),
                other => (other.clone(), None),
            };
            // A reference must name a document the user may read: another
            // user's document of a restricted resource does not exist for
            // them (and its existence is not revealed).
            let scope = scope_filter(domain, target, &[], &access.as_reader());
            let filter = Filter::eq(field.clone(), value).and(scope);
            let Some(live) = store.find_one(&target.datasource.source, &filter).await? else {
                return Ok(true);
            };
            match version {
                None => Ok(false),
                Some(n) => crate::embed::version_missing(domain, store, target, &live, n).await,
            }
        }
    }
}
