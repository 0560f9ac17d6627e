//! Write handlers: POST (single and bulk), PATCH, PUT (replace and upsert),
//! DELETE on items and collections. Each validates everything before it
//! writes anything, and writes through conditional store calls so that
//! concurrent editors get `412` instead of silently overwriting each other.

use axum::http::header;
use bson::{Bson, Document};
use eve_core::plan::{base_filter, lookup_value};
use eve_core::request::normalize_etag;
use eve_core::{ApiError, ApiResult, Domain, Resource};
use eve_query::{json_to_bson, Filter};
use eve_schema::{Issues, Mode, Options, Outcome, PendingCheck};
use eve_store::StoreError;
use serde_json::{json, Map, Value};

use crate::context::{AppState, Ctx, Reply};
use crate::document::{build_document, ensure_meta, load_item, related_links, self_link};
use crate::negotiate::http_date;
use crate::payload::{expand_dotted, has_dotted_keys, parse_body};
use crate::render::{bson_to_json, document_etag, write_json};
use crate::routing::Route;

mod delete;
mod edit;
mod post;

pub(crate) use delete::{delete_collection, delete_item};
pub(crate) use edit::{patch, put};
pub(crate) use post::post;

/// The current time at second precision (Eve stores seconds).
fn now() -> bson::DateTime {
    let ms = bson::DateTime::now().timestamp_millis();
    bson::DateTime::from_millis(ms - ms.rem_euclid(1000))
}

/// Python's `str()` of a JSON value, as Eve prints payload elements.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => String::from_utf8_lossy(&write_json(other, false)).into_owned(),
    }
}

/// `AUTO_CREATE_LISTS`: a single (non-null) value sent for a field whose
/// type includes `list` becomes a one-element list, at any depth of dict
/// schemas and list-of-dict schemas, before the type serializers run (as
/// Eve does while serializing the payload).
fn auto_create_lists(schema: &eve_schema::Schema, doc: &mut Document, prefix: &str) {
    for (key, value) in doc.iter_mut() {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let is_list_field = schema.field_types(&path).iter().any(|t| t == "list");
        if is_list_field && !matches!(value, Bson::Array(_) | Bson::Null) {
            let single = std::mem::replace(value, Bson::Null);
            *value = Bson::Array(vec![single]);
        }
        match value {
            Bson::Document(sub) => auto_create_lists(schema, sub, &path),
            Bson::Array(items) => {
                for item in items {
                    if let Bson::Document(sub) = item {
                        auto_create_lists(schema, sub, &path);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Turns one payload element into a document ready for validation: dotted
/// keys expanded, `AUTO_CREATE_LISTS` applied, sub-resource variables
/// injected, type serializers run.
fn prepare(ctx: &Ctx, route: &Route, res: &Resource, value: &Value) -> Result<Document, String> {
    let Value::Object(_) = value else {
        return Err(format!(
            "'{}' is not a document, must be a dict",
            python_str(value)
        ));
    };
    let Bson::Document(mut doc) = json_to_bson(value) else {
        return Err("payload is not a document".into());
    };
    // Without dotted keys the expansion would rebuild the same document.
    if res.normalize_dotted_fields && has_dotted_keys(&doc) {
        doc = expand_dotted(doc);
    }
    let domain = ctx.domain();
    if domain.settings.auto_create_lists {
        auto_create_lists(&res.schema, &mut doc, "");
    }
    if !route.url_vars.is_empty() {
        let schema_fields = res.schema.field_names();
        for (field, raw) in &route.url_vars {
            if field != &res.id_field && schema_fields.contains(&field.as_str()) {
                doc.insert(field.clone(), Bson::String(raw.clone()));
            }
        }
    }
    Ok(res
        .schema
        .serialize_payload(doc, &domain.settings.date_format))
}

pub(crate) fn options(res: &Resource) -> Options {
    Options {
        resource: res.name.clone(),
        allow_unknown: res.allow_unknown,
        id_field: res.id_field.clone(),
    }
}

/// Validates a document, running the store-backed checks the validator
/// asks for (uniqueness, referential integrity) and validating again with
/// their answers so that messages come in Eve's order.
pub(crate) async fn validate(
    state: &AppState,
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
        if check_fails(state, res, check, exclude_id).await? {
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
    state: &AppState,
    res: &Resource,
    check: &PendingCheck,
    exclude_id: Option<&Bson>,
) -> ApiResult<bool> {
    let domain = &state.domain;
    match check {
        PendingCheck::Unique {
            field,
            value,
            within_resource,
            ..
        } => {
            let mut filter = Filter::eq(field.clone(), value.clone());
            if let Some(id) = exclude_id {
                filter = filter.and(Filter::Field {
                    path: "_id".into(),
                    cond: eve_query::Cond::Ne(id.clone()),
                });
            }
            if *within_resource {
                filter = filter.and(base_filter(domain, res, &[])?);
            }
            Ok(state
                .store
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
            let value = match value {
                Bson::Document(d) => d.get(field).cloned().unwrap_or(Bson::Null),
                other => other.clone(),
            };
            let filter = Filter::eq(field.clone(), value).and(base_filter(domain, target, &[])?);
            Ok(state
                .store
                .find_one(&target.datasource.source, &filter)
                .await?
                .is_none())
        }
    }
}

/// Eve's `_issues`, at most `MAX_VALIDATION_ISSUES` messages of them.
fn issues_json(domain: &Domain, issues: &Issues) -> Value {
    let s = &domain.settings;
    issues.to_json_limited(s.validation_error_as_list, s.limits.max_validation_issues)
}

/// The body of a PATCH/PUT validation failure (no `_error`).
fn edit_failure(domain: &Domain, issues: Value) -> Reply {
    let m = &domain.settings.meta;
    let mut body = Map::new();
    body.insert(m.issues.clone(), issues);
    body.insert(m.status.clone(), json!(m.status_err));
    Reply::new(domain.settings.validation_error_status, Value::Object(body))
}

/// What a write response says about a stored document (features.md §44).
fn write_response(ctx: &Ctx, route: &Route, res: &Resource, doc: &Document) -> Map<String, Value> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let m = &s.meta;
    let mut map = if s.bandwidth_saver {
        let mut map = Map::new();
        for f in &res.extra_response_fields {
            if let Some(v) = doc.get(f) {
                map.insert(f.clone(), bson_to_json(v, &s.date_format));
            }
        }
        for key in [&m.last_updated, &m.date_created, &m.etag, &res.id_field] {
            if let Some(v) = doc.get(key.as_str()) {
                if key != &m.etag || s.if_match {
                    map.insert(key.clone(), bson_to_json(v, &s.date_format));
                }
            }
        }
        if res.hateoas {
            let mut links = Map::new();
            links.insert(
                "self".into(),
                self_link(res, &route.resource_path, doc.get(&res.id_field)),
            );
            if let Some(related) = related_links(domain, res, doc) {
                links.insert("related".into(), related);
            }
            map.insert(m.links.clone(), Value::Object(links));
        }
        map
    } else {
        let projection = eve_core::plan::projection_for(domain, res, None);
        build_document(
            domain,
            res,
            doc.clone(),
            projection.as_ref(),
            &route.resource_path,
            false,
        )
    };
    map.insert(m.status.clone(), json!(m.status_ok));
    map
}

fn location(ctx: &Ctx, route: &Route, res: &Resource, doc: &Document) -> String {
    format!(
        "{}{}/{}/{}",
        ctx.origin,
        ctx.state.routes.prefix(),
        route.resource_path,
        crate::document::id_string(doc.get(&res.id_field))
    )
}

/// Stamps creation meta fields and the ETag; gives the document an `_id`.
pub(crate) fn stamp_new(domain: &Domain, res: &Resource, doc: &mut Document, at: bson::DateTime) {
    let m = &domain.settings.meta;
    doc.insert(m.last_updated.clone(), at);
    doc.insert(m.date_created.clone(), at);
    if res.soft_delete {
        doc.insert(m.deleted.clone(), false);
    }
    if domain.settings.if_match {
        let etag = document_etag(doc, &res.etag_ignore_fields);
        doc.insert(m.etag.clone(), etag);
    }
    if !doc.contains_key("_id") {
        doc.insert("_id", bson::oid::ObjectId::new());
    }
}

/// Checks `If-Match` against the stored ETag (features.md §13).
fn check_if_match(ctx: &Ctx, original: &Document) -> ApiResult<()> {
    let s = &ctx.domain().settings;
    if !s.if_match {
        return Ok(());
    }
    let sent = ctx
        .headers
        .get("if-match")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|v| !v.trim().is_empty());
    match sent.as_deref() {
        None if s.enforce_if_match => Err(ApiError::EtagRequired),
        None => Ok(()),
        Some(v) => {
            let current = original.get_str(&s.meta.etag).unwrap_or_default();
            if normalize_etag(v) == current {
                Ok(())
            } else {
                Err(ApiError::EtagMismatch)
            }
        }
    }
}

/// The conditional filter of an edit: the document's `_id`, plus its ETag
/// when concurrency control is on.
///
/// Built from the document as stored (before [`ensure_meta`]): a document
/// written outside the API has no stored ETag, so the write requires that
/// it still has none (its ETag is computed on the fly from its content).
fn edit_filter(ctx: &Ctx, stored: &Document) -> Filter {
    let s = &ctx.domain().settings;
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
