//! Write handlers: POST (single and bulk), PATCH, PUT (replace and upsert),
//! DELETE on items and collections. Each parses the request, hands typed
//! values to the executor (`eve-exec`: validation, stamping, hooks,
//! conditional batches) and renders what it returns.

use axum::http::header;
use bson::{Bson, Document};
use eve_core::embed::EmbedPath;
use eve_core::plan::lookup_value;
use eve_core::{ApiError, ApiResult, Domain, Resource};
use eve_exec::{Edited, Inserted, Refusal};
use eve_query::json_to_bson;
use serde_json::{json, Map, Value};

use crate::context::{Ctx, Reply};
use crate::document::{build_document, related_links, relink, self_link};
use crate::negotiate::http_date;
use crate::payload::parse_body;
use crate::render::{bson_to_json, write_json};
use crate::routing::Route;

mod delete;
mod edit;
mod post;

pub(crate) use delete::{delete_collection, delete_item};
pub(crate) use edit::{patch, put};
pub(crate) use post::post;

/// The payload of a one-document write (PATCH, PUT): the body as sent
/// (for error texts), as BSON, and the upload of a `multipart/form-data`
/// body, whose files [`settle`] removes if the write does not happen.
async fn single_payload(
    ctx: &Ctx,
    res: &Resource,
) -> ApiResult<(Value, Bson, Option<crate::multipart::Upload>)> {
    if crate::multipart::is_multipart(ctx) {
        let upload = crate::multipart::parse_multipart(ctx, res).await?;
        let input = Bson::Document(upload.doc.clone());
        return Ok((Value::Object(Map::new()), input, Some(upload)));
    }
    let body = parse_body(ctx, res, false)?;
    let input = json_to_bson(&body);
    Ok((body, input, None))
}

/// Removes the files of `upload` unless `result` is a success: a write
/// that was refused or failed leaves no file behind.
async fn settle(
    ctx: &Ctx,
    upload: Option<crate::multipart::Upload>,
    result: ApiResult<Reply>,
) -> ApiResult<Reply> {
    if let Some(upload) = upload {
        if !matches!(&result, Ok(reply) if reply.status < 300) {
            ctx.exec().discard_media(&upload.stored).await;
        }
    }
    result
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

/// Eve's `_issues`, at most `MAX_VALIDATION_ISSUES` messages of them.
fn issues_json(domain: &Domain, issues: &eve_schema::Issues) -> Value {
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
        // With soft delete Eve's answer carries the flag too.
        let deleted = res.soft_delete.then_some(&m.deleted);
        let keys = [
            Some(&m.last_updated),
            Some(&m.date_created),
            deleted,
            Some(&m.etag),
            Some(&res.id_field),
        ];
        for key in keys.into_iter().flatten() {
            if let Some(v) = doc.get(key.as_str()) {
                if key != &m.etag || s.if_match {
                    map.insert(key.clone(), bson_to_json(v, &s.date_format));
                }
            }
        }
        if res.versioning {
            // A write serves the version it wrote: the latest one.
            let version = eve_exec::latest_version(domain, doc);
            map.insert(m.version.clone(), json!(version));
            map.insert(m.latest_version.clone(), json!(version));
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
        // Fields the caller may not read (features.md §23.7) are left out.
        let projection = eve_core::field_roles::hide(projection, ctx.access(), res);
        let mut doc = doc.clone();
        // An `auth_field` the schema does not declare is not shown
        // (features.md §23.6), whatever the projection.
        if let Some(owner) = &res.auth_field {
            if !res.schema_as_written().contains_key(owner) {
                doc.remove(owner);
            }
        }
        build_document(
            domain,
            res,
            doc,
            projection.as_ref(),
            &route.resource_path,
            false,
        )
    };
    map.insert(m.status.clone(), json!(m.status_ok));
    map
}

/// Embeds into the documents of a write's answer (`BANDWIDTH_SAVER: false`
/// with `embedded`, features.md §44) and returns their stored forms for
/// the related links. The write is done: if embedding fails (more
/// references than `EMBEDDED_MAX_DOCUMENTS`, a store error) the answer
/// keeps the references as stored rather than report an error for a
/// write that happened.
async fn embed_written(
    ctx: &Ctx,
    embed: &[EmbedPath],
    docs: &mut [Document],
) -> Vec<Option<Document>> {
    if embed.is_empty() {
        return vec![None; docs.len()];
    }
    let mut embedded = docs.to_vec();
    match ctx.exec().embed(ctx.access(), embed, &mut embedded).await {
        Ok(replaced) => {
            let stored = embedded.iter().map(|d| replaced.restore(d)).collect();
            docs.clone_from_slice(&embedded);
            stored
        }
        Err(e) => {
            tracing::warn!(error = %e, "the answer to a write is served without embedding");
            vec![None; docs.len()]
        }
    }
}

/// [`write_response`] of a document embedding changed: its related links
/// are those of `stored`, the document as written.
fn embedded_write_response(
    ctx: &Ctx,
    route: &Route,
    res: &Resource,
    doc: &Document,
    stored: Option<&Document>,
) -> Map<String, Value> {
    let mut map = write_response(ctx, route, res, doc);
    if let Some(stored) = stored {
        relink(ctx.domain(), res, &mut map, stored);
    }
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

/// Eve's text for a payload element that is not a document.
fn not_a_document(value: &Value) -> String {
    format!("'{}' is not a document, must be a dict", python_str(value))
}

/// The `_issues` of a refused document: the validator's, or `{key: text}`
/// when the payload element is not a document (`key` is `validation
/// exception` for POST, `validator exception` for PATCH and PUT, as Eve
/// words them).
fn refusal_json(domain: &Domain, refusal: &Refusal, value: &Value, key: &str) -> Value {
    match refusal {
        Refusal::Invalid(issues) => issues_json(domain, issues),
        Refusal::NotADocument => json!({ key: not_a_document(value) }),
    }
}
