//! `POST /<resource>`: one document or a bulk list, validated as a whole
//! and inserted all or nothing.

use super::*;

/// `POST /<resource>`: one document or a bulk list, all or nothing.
pub(crate) async fn post(ctx: &Ctx, route: &Route, res: &Resource) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let body = parse_body(ctx, res, true)?;
    let (values, is_list) = match body {
        Value::Array(items) => (items, true),
        obj @ Value::Object(_) => (vec![obj], false),
        // Safer than Eve (features.md §15.1 Note): a scalar body is refused.
        _ => return Err(ApiError::BodyNotDocument),
    };
    if values.is_empty() {
        return Err(ApiError::EmptyBulkInsert);
    }
    crate::limits::check_bulk_items(values.len(), s.limits.max_bulk_items)?;
    if values.len() > 1 && !res.bulk_enabled {
        return Err(ApiError::BulkInsertDisabled);
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
pub(super) async fn insert_and_notify(
    ctx: &Ctx,
    res: &Resource,
    docs: Vec<Document>,
) -> ApiResult<()> {
    let hooks = &ctx.state.hooks;
    if hooks.observes_inserted() {
        insert_all(ctx, res, docs.clone()).await?;
        hooks.on_inserted(&res.name, &docs);
    } else {
        insert_all(ctx, res, docs).await?;
    }
    Ok(())
}

pub(super) async fn insert_all(ctx: &Ctx, res: &Resource, docs: Vec<Document>) -> ApiResult<()> {
    match ctx.state.store.insert(&res.datasource.source, docs).await {
        Ok(_) => Ok(()),
        Err(StoreError::DuplicateKey { index, message, .. }) => Err(ApiError::DuplicateKey {
            op: eve_core::WriteKind::Insert,
            message: format!("Duplicate key error at index: {index}, message: {message}"),
        }),
        Err(e) => Err(e.into()),
    }
}
