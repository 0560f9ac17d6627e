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

/// `POST /<resource>`: one document or a bulk list, all or nothing.
pub(crate) async fn post(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let body = parse_body(ctx, res, true)?;
    let (values, is_list) = match body {
        Value::Array(items) => (items, true),
        obj @ Value::Object(_) => (vec![obj], false),
        // Safer than Eve (features.md §15.1 Note): a scalar body is refused.
        _ => {
            return Err(ApiError::BadRequest(
                "The request body must be a JSON object or a list of objects".into(),
            ))
        }
    };
    if values.is_empty() {
        return Err(ApiError::BadRequestDebug("Empty bulk insert".into()));
    }
    crate::limits::check_bulk_items(values.len(), s.limits.max_bulk_items)?;
    if values.len() > 1 && !res.bulk_enabled {
        return Err(ApiError::BadRequestDebug("Bulk insert not allowed".into()));
    }
    let mut results: Vec<Result<Document, Value>> = Vec::with_capacity(values.len());
    for value in &values {
        match prepare(ctx, route, res, value) {
            Err(msg) => results.push(Err(json!({ "validation exception": msg }))),
            Ok(doc) => {
                let outcome = validate(&ctx.state, res, doc, Mode::Insert, None).await?;
                if outcome.issues.is_empty() {
                    results.push(Ok(outcome.document));
                } else {
                    results.push(Err(issues_json(domain, &outcome.issues)));
                }
            }
        }
    }
    let failures = results.iter().filter(|r| r.is_err()).count();
    let m = &s.meta;
    if failures > 0 {
        let error = json!({"code": s.validation_error_status, "message": format!("Insertion failure: {failures} document(s) contain(s) error(s)")});
        let mut body = Map::new();
        body.insert(m.status.clone(), json!(m.status_err));
        if results.len() == 1 {
            if let Some(Err(issues)) = results.pop() {
                body.insert(m.issues.clone(), issues);
            }
        } else {
            let items: Vec<Value> = results
                .into_iter()
                .map(|r| match r {
                    Ok(_) => json!({ (m.status.clone()): m.status_ok }),
                    Err(issues) => {
                        let mut item = Map::new();
                        item.insert(m.status.clone(), json!(m.status_err));
                        item.insert(m.issues.clone(), issues);
                        Value::Object(item)
                    }
                })
                .collect();
            body.insert(m.items.clone(), Value::Array(items));
        }
        body.insert(m.error.clone(), error);
        return Ok(Reply::new(s.validation_error_status, Value::Object(body)));
    }
    let at = now();
    let mut docs: Vec<Document> = results.into_iter().flatten().collect();
    for doc in &mut docs {
        stamp_new(domain, res, doc, at);
    }
    ctx.state.hooks.on_insert(&res.name, &mut docs)?;
    // The answer depends only on the documents as inserted: it is built
    // before they are handed to the store, which then takes them without a
    // copy (one is kept only for an `on_inserted` hook).
    let loc = location(ctx, route, res, &docs[0]);
    let body = if is_list && docs.len() > 1 {
        let items: Vec<Value> = docs
            .iter()
            .map(|d| Value::Object(write_response(ctx, route, res, d)))
            .collect();
        let mut body = Map::new();
        body.insert(m.status.clone(), json!(m.status_ok));
        body.insert(m.items.clone(), Value::Array(items));
        Value::Object(body)
    } else {
        Value::Object(write_response(ctx, route, res, &docs[0]))
    };
    insert_and_notify(ctx, res, docs).await?;
    Ok(Reply::new(201, body).header(header::LOCATION, loc))
}

/// Inserts, then runs `on_inserted` (with a copy of the documents only when
/// the hooks observe it).
async fn insert_and_notify(ctx: &Ctx, res: &Resource, docs: Vec<Document>) -> ApiResult<()> {
    let hooks = &ctx.state.hooks;
    if hooks.observes_inserted() {
        insert_all(ctx, res, docs.clone()).await?;
        hooks.on_inserted(&res.name, &docs);
    } else {
        insert_all(ctx, res, docs).await?;
    }
    Ok(())
}

async fn insert_all(ctx: &Ctx, res: &Resource, docs: Vec<Document>) -> ApiResult<()> {
    match ctx.state.store.insert(&res.datasource.source, docs).await {
        Ok(_) => Ok(()),
        Err(StoreError::DuplicateKey { index, message, .. }) => Err(ApiError::DuplicateKey(
            format!("Duplicate key error at index: {index}, message: {message}"),
        )),
        Err(e) => Err(e.into()),
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

/// Reads a PATCH/PUT body, which must be one object.
fn edit_body(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Result<Document, Reply>> {
    let body = parse_body(ctx, res, false)?;
    Ok(prepare(ctx, route, res, &body)
        .map_err(|msg| edit_failure(ctx.domain(), json!({ "validator exception": msg }))))
}

/// Only `_id` is immutable, as in MongoDB: another `id_field` (e.g. `sku`)
/// may be changed by PATCH and PUT, as Eve lets it.
fn rejects_id_change(doc: &Document, original: &Document) -> ApiResult<()> {
    match (doc.get("_id"), original.get("_id")) {
        (Some(new), Some(old)) if new != old => Err(ApiError::ImmutableField),
        _ => Ok(()),
    }
}

fn merge(stored: &mut Document, updates: &Document, nested: bool) {
    for (k, v) in updates {
        match (stored.get_mut(k), v) {
            (Some(Bson::Document(old)), Bson::Document(new)) if nested => merge(old, new, true),
            _ => {
                stored.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A unique index refused a PATCH or PUT: Eve answers 400 (not the 409 of
/// an insert), the store's text shown only with `DEBUG`.
fn duplicate_on_edit(message: String) -> ApiError {
    ApiError::BadRequestDebug(format!("DuplicateKeyError: {message}"))
}

/// `PATCH /<resource>/<id>`.
pub(crate) async fn patch(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let mut original = load_item(ctx, route, res)
        .await?
        .ok_or(ApiError::DocumentNotFound)?;
    let conditional = edit_filter(ctx, &original);
    ensure_meta(domain, res, &mut original);
    check_if_match(ctx, &original)?;
    let updates = match edit_body(ctx, route, res)? {
        Ok(doc) => doc,
        Err(reply) => return Ok(reply),
    };
    rejects_id_change(&updates, &original)?;
    let mode = Mode::Update {
        original: &original,
        normalize: res.normalize_on_patch,
    };
    let outcome = validate(&ctx.state, res, updates, mode, original.get("_id")).await?;
    if !outcome.issues.is_empty() {
        return Ok(edit_failure(domain, issues_json(domain, &outcome.issues)));
    }
    let mut updates = outcome.document;
    updates.insert(s.meta.last_updated.clone(), now());
    if res.soft_delete {
        updates.insert(s.meta.deleted.clone(), false);
    }
    ctx.state
        .hooks
        .on_update(&res.name, &mut updates, &original)?;
    let mut merged = original.clone();
    merge(&mut merged, &updates, res.merge_nested_documents);
    let mut set = Document::new();
    for key in updates.keys() {
        if let Some(v) = merged.get(key) {
            set.insert(key.clone(), v.clone());
        }
    }
    if s.if_match {
        let etag = document_etag(&merged, &res.etag_ignore_fields);
        merged.insert(s.meta.etag.clone(), etag.clone());
        set.insert(s.meta.etag.clone(), etag);
    }
    match ctx
        .state
        .store
        .update_one(&res.datasource.source, &conditional, set)
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::EtagMismatch),
        Err(StoreError::DuplicateKey { message, .. }) => return Err(duplicate_on_edit(message)),
        Err(e) => return Err(e.into()),
    }
    ctx.state.hooks.on_updated(&res.name, &updates, &original);
    Ok(edited(ctx, route, res, &merged, false))
}

fn edited(ctx: &Ctx, route: &Route, res: &Resource, doc: &Document, last_modified: bool) -> Reply {
    let s = &ctx.domain().settings;
    let mut reply = Reply::new(200, Value::Object(write_response(ctx, route, res, doc)));
    if let (true, Ok(etag)) = (s.if_match, doc.get_str(&s.meta.etag)) {
        reply = reply.header(header::ETAG, format!("\"{etag}\""));
    }
    if let (true, Ok(updated)) = (last_modified, doc.get_datetime(&s.meta.last_updated)) {
        reply = reply.header(header::LAST_MODIFIED, http_date(updated.to_chrono()));
    }
    reply
}

/// `PUT /<resource>/<id>`: replace, or insert when missing (`UPSERT_ON_PUT`).
pub(crate) async fn put(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let original = load_item(ctx, route, res).await?;
    let Some(mut original) = original else {
        if !s.upsert_on_put {
            return Err(ApiError::DocumentNotFound);
        }
        return upsert(ctx, route, res).await;
    };
    let conditional = edit_filter(ctx, &original);
    ensure_meta(domain, res, &mut original);
    check_if_match(ctx, &original)?;
    let doc = match edit_body(ctx, route, res)? {
        Ok(doc) => doc,
        Err(reply) => return Ok(reply),
    };
    rejects_id_change(&doc, &original)?;
    let outcome = validate(
        &ctx.state,
        res,
        doc,
        Mode::Replace {
            original: &original,
        },
        original.get("_id"),
    )
    .await?;
    if !outcome.issues.is_empty() {
        return Ok(edit_failure(domain, issues_json(domain, &outcome.issues)));
    }
    let mut doc = outcome.document;
    let m = &s.meta;
    if let (false, Some(id)) = (doc.contains_key(&res.id_field), original.get(&res.id_field)) {
        doc.insert(res.id_field.clone(), id.clone());
    }
    if let Some(created) = original.get(&m.date_created) {
        doc.insert(m.date_created.clone(), created.clone());
    }
    doc.insert(m.last_updated.clone(), now());
    if res.soft_delete {
        doc.insert(m.deleted.clone(), false);
    }
    ctx.state.hooks.on_replace(&res.name, &mut doc, &original)?;
    if s.if_match {
        doc.remove(&m.etag);
        let etag = document_etag(&doc, &res.etag_ignore_fields);
        doc.insert(m.etag.clone(), etag);
    }
    match ctx
        .state
        .store
        .replace_one(&res.datasource.source, &conditional, doc.clone())
        .await
    {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::EtagMismatch),
        Err(StoreError::DuplicateKey { message, .. }) => return Err(duplicate_on_edit(message)),
        Err(e) => return Err(e.into()),
    }
    ctx.state.hooks.on_replaced(&res.name, &doc, &original);
    Ok(edited(ctx, route, res, &doc, true))
}

/// PUT on a missing document: insert it with the id from the URL.
async fn upsert(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let body = parse_body(ctx, res, false)?;
    let mut doc = match prepare(ctx, route, res, &body) {
        Ok(doc) => doc,
        Err(msg) => return Ok(edit_failure(domain, json!({ "validator exception": msg }))),
    };
    let (field, raw) = route.lookup.clone().ok_or(ApiError::UrlNotFound)?;
    let id = lookup_value(domain, res, &field, &raw);
    doc.insert(field, id);
    let outcome = validate(&ctx.state, res, doc, Mode::Insert, None).await?;
    let s = &domain.settings;
    if !outcome.issues.is_empty() {
        let m = &s.meta;
        let mut body = Map::new();
        body.insert(m.status.clone(), json!(m.status_err));
        body.insert(m.issues.clone(), issues_json(domain, &outcome.issues));
        body.insert(
            m.error.clone(),
            json!({"code": s.validation_error_status, "message": "Insertion failure: 1 document(s) contain(s) error(s)"}),
        );
        return Ok(Reply::new(s.validation_error_status, Value::Object(body)));
    }
    let mut doc = outcome.document;
    stamp_new(domain, res, &mut doc, now());
    let mut docs = vec![doc];
    ctx.state.hooks.on_insert(&res.name, &mut docs)?;
    let loc = location(ctx, route, res, &docs[0]);
    let body = Value::Object(write_response(ctx, route, res, &docs[0]));
    insert_and_notify(ctx, res, docs).await?;
    Ok(Reply::new(201, body).header(header::LOCATION, loc))
}

/// `DELETE /<resource>/<id>`: `204` whether or not the document existed.
pub(crate) async fn delete_item(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let Some(mut original) = load_item(ctx, route, res).await? else {
        return Ok(Reply::empty(204));
    };
    let conditional = edit_filter(ctx, &original);
    ensure_meta(domain, res, &mut original);
    check_if_match(ctx, &original)?;
    ctx.state.hooks.on_delete_item(&res.name, &original)?;
    let deleted = ctx
        .state
        .store
        .delete_many(&res.datasource.source, &conditional)
        .await?;
    if deleted == 0 {
        // Changed (or deleted) by someone else after our read.
        return Err(ApiError::EtagMismatch);
    }
    ctx.state.hooks.on_deleted_item(&res.name, &original);
    Ok(Reply::empty(204))
}

/// `DELETE /<resource>`: every document of the endpoint (datasource filter
/// and sub-resource variables apply; the client `where` does not).
pub(crate) async fn delete_collection(
    ctx: &Ctx,
    route: &Route,
    res: &Resource,
) -> ApiResult<Reply> {
    ctx.state.hooks.on_delete_resource(&res.name)?;
    let filter = base_filter(ctx.domain(), res, &route.url_vars)?;
    ctx.state
        .store
        .delete_many(&res.datasource.source, &filter)
        .await?;
    ctx.state.hooks.on_deleted_resource(&res.name);
    Ok(Reply::empty(204))
}
