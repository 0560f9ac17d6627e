//! `DELETE` on an item (conditional, like an edit) and on a collection.

use std::sync::Arc;

use eve_core::plan::{DeleteCollectionPlan, DeleteItemPlan};

use super::*;

/// `DELETE /<resource>/<id>`: `204` whether or not the document existed.
pub(crate) async fn delete_item(
    ctx: &Ctx,
    res: &Arc<Resource>,
    plan: &DeleteItemPlan,
) -> ApiResult<Reply> {
    let exec = ctx.exec();
    if let Some(original) = exec.original(res, &plan.filter, &plan.if_match).await? {
        exec.delete_item(ctx.access(), res, &original).await?;
    }
    Ok(Reply::empty(204))
}

/// `DELETE /<resource>`: every document of the endpoint (datasource filter
/// and sub-resource variables apply; the client `where` does not).
pub(crate) async fn delete_collection(
    ctx: &Ctx,
    res: &Arc<Resource>,
    plan: &DeleteCollectionPlan,
) -> ApiResult<Reply> {
    ctx.exec()
        .delete_all(ctx.access(), res, &plan.filter)
        .await?;
    Ok(Reply::empty(204))
}
