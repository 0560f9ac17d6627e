//! `PATCH` and `PUT` on an item (and `PUT` upserts): conditional edits
//! that answer `412` when someone else changed the document first.

use std::sync::Arc;

use eve_core::embed::EmbedPath;
use eve_core::plan::EditPlan;

use super::post::insert_failure;
use super::*;

/// The reply to an edit the executor refused (`validator exception` for a
/// body that is not a document, else the validator's `_issues`).
fn refused(ctx: &Ctx, refusal: &Refusal, body: &Value) -> Reply {
    let domain = ctx.domain();
    edit_failure(
        domain,
        refusal_json(domain, refusal, body, "validator exception"),
    )
}

/// `PATCH /<resource>/<id>`: the plan names the item (its scoped filter)
/// and the client's `If-Match`.
pub(crate) async fn patch(
    ctx: &Ctx,
    route: &Route,
    res: &Arc<Resource>,
    plan: &EditPlan,
    embed: &[EmbedPath],
) -> ApiResult<Reply> {
    let exec = ctx.exec();
    let original = exec
        .original(res, &plan.filter, &plan.if_match)
        .await?
        .ok_or(ApiError::DocumentNotFound)?;
    let (body, input, upload) = single_payload(ctx, res).await?;
    let result = async {
        let edited = exec
            .update(ctx.access(), res, &original, input, &plan.url_fields)
            .await?;
        Ok(match edited {
            Edited::Stored(doc) => edited_reply(ctx, route, res, doc, embed, false).await,
            Edited::Refused(refusal) => refused(ctx, &refusal, &body),
        })
    }
    .await;
    settle(ctx, upload, result).await
}

async fn edited_reply(
    ctx: &Ctx,
    route: &Route,
    res: &Resource,
    mut doc: Document,
    embed: &[EmbedPath],
    last_modified: bool,
) -> Reply {
    let s = &ctx.domain().settings;
    let stored = embed_written(ctx, embed, std::slice::from_mut(&mut doc)).await;
    let stored = stored.first().and_then(Option::as_ref);
    let answer = embedded_write_response(ctx, route, res, &doc, stored);
    let mut reply = Reply::new(200, Value::Object(answer));
    if let (true, Ok(etag)) = (s.if_match, doc.get_str(&s.meta.etag)) {
        reply = reply.header(header::ETAG, format!("\"{etag}\""));
    }
    if let (true, Ok(updated)) = (last_modified, doc.get_datetime(&s.meta.last_updated)) {
        reply = reply.header(header::LAST_MODIFIED, http_date(updated.to_chrono()));
    }
    reply
}

/// `PUT /<resource>/<id>`: replace, or insert when missing and the plan
/// says so (`UPSERT_ON_PUT`); `403` when the document is another user's
/// (features.md §23.6).
pub(crate) async fn put(
    ctx: &Ctx,
    route: &Route,
    res: &Arc<Resource>,
    plan: &EditPlan,
    embed: &[EmbedPath],
) -> ApiResult<Reply> {
    let exec = ctx.exec();
    let Some(original) = exec.original(res, &plan.filter, &plan.if_match).await? else {
        // Out of the user's scope but there: another user's document.
        if let Some(any_owner) = &plan.any_owner {
            if exec.exists(res, any_owner).await? {
                return Err(ApiError::NotOwner);
            }
        }
        if !plan.upsert {
            return Err(ApiError::DocumentNotFound);
        }
        return upsert(ctx, route, res, plan, embed).await;
    };
    let (body, input, upload) = single_payload(ctx, res).await?;
    let result = async {
        let edited = exec
            .replace(ctx.access(), res, &original, input, &plan.url_fields)
            .await?;
        Ok(match edited {
            Edited::Stored(doc) => edited_reply(ctx, route, res, doc, embed, true).await,
            Edited::Refused(refusal) => refused(ctx, &refusal, &body),
        })
    }
    .await;
    settle(ctx, upload, result).await
}

/// PUT on a missing document: insert it with the id from the URL.
async fn upsert(
    ctx: &Ctx,
    route: &Route,
    res: &Arc<Resource>,
    plan: &EditPlan,
    embed: &[EmbedPath],
) -> ApiResult<Reply> {
    let (field, raw) = route.lookup.clone().ok_or(ApiError::UrlNotFound)?;
    let (body, input, upload) = single_payload(ctx, res).await?;
    let result = upsert_payload(ctx, route, res, plan, embed, (field, raw), body, input).await;
    settle(ctx, upload, result).await
}

#[allow(clippy::too_many_arguments)]
async fn upsert_payload(
    ctx: &Ctx,
    route: &Route,
    res: &Arc<Resource>,
    plan: &EditPlan,
    embed: &[EmbedPath],
    (field, raw): (String, String),
    body: Value,
    input: Bson,
) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let id = lookup_value(domain, res, &field, &raw);
    // The inserted document, kept for the answer (embedding, if asked,
    // reads the store once the document is in it).
    let copy = |docs: &[Document]| docs.first().cloned().unwrap_or_default();
    let inserted = ctx
        .exec()
        .upsert(
            ctx.access(),
            res,
            input,
            &plan.url_fields,
            (field, id),
            copy,
        )
        .await?;
    let inserted = match inserted {
        Inserted::Stored(mut first) => {
            let stored = embed_written(ctx, embed, std::slice::from_mut(&mut first)).await;
            let stored = stored.first().and_then(Option::as_ref);
            let answer = embedded_write_response(ctx, route, res, &first, stored);
            Inserted::Stored((location(ctx, route, res, &first), Value::Object(answer)))
        }
        Inserted::Refused(refusals) => Inserted::Refused(refusals),
    };
    match inserted {
        Inserted::Stored((loc, body)) => Ok(Reply::new(201, body).header(header::LOCATION, loc)),
        Inserted::Refused(refusals) => match refusals.first() {
            Some(Some(refusal @ Refusal::NotADocument)) => Ok(refused(ctx, refusal, &body)),
            _ => Ok(insert_failure(
                domain,
                std::slice::from_ref(&body),
                refusals,
            )),
        },
    }
}
