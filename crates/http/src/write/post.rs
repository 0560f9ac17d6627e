//! `POST /<resource>`: one document or a bulk list, validated as a whole
//! and inserted all or nothing.

use std::sync::Arc;

use eve_core::embed::EmbedPath;
use eve_core::plan::InsertPlan;

use super::*;

/// `POST /<resource>`: one document or a bulk list, all or nothing.
pub(crate) async fn post(
    ctx: &Ctx,
    route: &Route,
    res: &Arc<Resource>,
    plan: &InsertPlan,
    embed: &[EmbedPath],
) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    if crate::multipart::is_multipart(ctx) {
        let upload = crate::multipart::parse_multipart(ctx, res).await?;
        let input = vec![Bson::Document(upload.doc.clone())];
        let values = vec![Value::Object(Map::new())];
        let result = insert_values(ctx, route, res, plan, embed, values, false, input).await;
        return settle(ctx, Some(upload), result).await;
    }
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
    let input: Vec<Bson> = values.iter().map(json_to_bson).collect();
    insert_values(ctx, route, res, plan, embed, values, is_list, input).await
}

/// Inserts the documents `input` (the body's `values` as BSON) and
/// answers as Eve does.
#[allow(clippy::too_many_arguments)]
async fn insert_values(
    ctx: &Ctx,
    route: &Route,
    res: &Arc<Resource>,
    plan: &InsertPlan,
    embed: &[EmbedPath],
    values: Vec<Value>,
    is_list: bool,
    input: Vec<Bson>,
) -> ApiResult<Reply> {
    let s = &ctx.domain().settings;
    let domain = ctx.domain();
    // The answer depends only on the documents as inserted: it is built
    // before the store takes them (without a copy), unless it embeds
    // documents (then from a copy, once they are stored).
    let respond = |docs: &[Document], stored: &[Option<Document>]| {
        let loc = docs.first().map(|d| location(ctx, route, res, d));
        let answer = |i: usize, d: &Document| {
            let stored = stored.get(i).and_then(Option::as_ref);
            Value::Object(embedded_write_response(ctx, route, res, d, stored))
        };
        let body = if is_list && docs.len() > 1 {
            let items: Vec<Value> = docs.iter().enumerate().map(|(i, d)| answer(i, d)).collect();
            let mut body = Map::new();
            body.insert(s.meta.status.clone(), json!(s.meta.status_ok));
            body.insert(s.meta.items.clone(), Value::Array(items));
            Value::Object(body)
        } else {
            let first = docs.first().cloned().unwrap_or_default();
            answer(0, &first)
        };
        (loc, body)
    };
    let exec = ctx.exec();
    let inserted = if embed.is_empty() {
        let respond = |docs: &[Document]| respond(docs, &[]);
        exec.insert(ctx.access(), res, input, &plan.url_fields, respond)
            .await?
    } else {
        let copy = <[Document]>::to_vec;
        match exec
            .insert(ctx.access(), res, input, &plan.url_fields, copy)
            .await?
        {
            Inserted::Stored(mut docs) => {
                let stored = embed_written(ctx, embed, &mut docs).await;
                Inserted::Stored(respond(&docs, &stored))
            }
            Inserted::Refused(refusals) => Inserted::Refused(refusals),
        }
    };
    match inserted {
        Inserted::Stored((loc, body)) => {
            let mut reply = Reply::new(201, body);
            if let Some(loc) = loc {
                reply = reply.header(header::LOCATION, loc);
            }
            Ok(reply)
        }
        Inserted::Refused(refusals) => Ok(insert_failure(domain, &values, refusals)),
    }
}

/// The `422` of a refused insert: the document's `_issues`, or for a bulk
/// list one `_items` entry per document.
pub(super) fn insert_failure(
    domain: &Domain,
    values: &[Value],
    refusals: Vec<Option<Refusal>>,
) -> Reply {
    let s = &domain.settings;
    let m = &s.meta;
    let failures = refusals.iter().filter(|r| r.is_some()).count();
    let error = json!({"code": s.validation_error_status, "message": format!("Insertion failure: {failures} document(s) contain(s) error(s)")});
    let issues = |refusal: &Refusal, i: usize| {
        let value = values.get(i).unwrap_or(&Value::Null);
        refusal_json(domain, refusal, value, "validation exception")
    };
    let mut body = Map::new();
    body.insert(m.status.clone(), json!(m.status_err));
    if refusals.len() == 1 {
        if let Some(Some(refusal)) = refusals.first() {
            body.insert(m.issues.clone(), issues(refusal, 0));
        }
    } else {
        let items: Vec<Value> = refusals
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                None => json!({ (m.status.clone()): m.status_ok }),
                Some(refusal) => {
                    let mut item = Map::new();
                    item.insert(m.status.clone(), json!(m.status_err));
                    item.insert(m.issues.clone(), issues(refusal, i));
                    Value::Object(item)
                }
            })
            .collect();
        body.insert(m.items.clone(), Value::Array(items));
    }
    body.insert(m.error.clone(), error);
    Reply::new(s.validation_error_status, Value::Object(body))
}
