//! `PATCH` and `PUT` on an item (and `PUT` upserts): conditional edits
//! that answer `412` when someone else changed the document first.

use super::post::insert_and_notify;
use super::*;

/// Reads a PATCH/PUT body, which must be one object.
pub(super) fn edit_body(
    ctx: &Ctx,
    route: &Route,
    res: &Resource,
) -> ApiResult<Result<Document, Reply>> {
    let body = parse_body(ctx, res, false)?;
    Ok(prepare(ctx, route, res, &body)
        .map_err(|msg| edit_failure(ctx.domain(), json!({ "validator exception": msg }))))
}

/// Only `_id` is immutable, as in MongoDB: another `id_field` (e.g. `sku`)
/// may be changed by PATCH and PUT, as Eve lets it.
pub(super) fn rejects_id_change(doc: &Document, original: &Document) -> ApiResult<()> {
    match (doc.get("_id"), original.get("_id")) {
        (Some(new), Some(old)) if new != old => Err(ApiError::ImmutableField),
        _ => Ok(()),
    }
}

pub(super) fn merge(stored: &mut Document, updates: &Document, nested: bool) {
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
pub(super) fn duplicate_on_edit(message: String) -> ApiError {
    ApiError::DuplicateKey {
        op: eve_core::WriteKind::Edit,
        message: format!("DuplicateKeyError: {message}"),
    }
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

pub(super) fn edited(
    ctx: &Ctx,
    route: &Route,
    res: &Resource,
    doc: &Document,
    last_modified: bool,
) -> Reply {
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
pub(super) async fn upsert(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Reply> {
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
