//! `DELETE` on an item (conditional, like an edit) and on a collection.

use std::sync::Arc;

use super::*;

/// `DELETE /<resource>/<id>`: `204` whether or not the document existed.
pub(crate) async fn delete_item(ctx: &Ctx, route: &Route, res: &Arc<Resource>) -> ApiResult<Reply> {
    let exec = ctx.exec();
    let lookup = item_lookup(ctx, route, res)?;
    if let Some(original) = exec.original(res, &lookup, &if_match(ctx)).await? {
        exec.delete_item(ctx.access(), res, &original).await?;
    }
    Ok(Reply::empty(204))
}

/// `DELETE /<resource>`: every document of the endpoint (datasource filter
/// and sub-resource variables apply; the client `where` does not).
pub(crate) async fn delete_collection(
    ctx: &Ctx,
    route: &Route,
    res: &Arc<Resource>,
) -> ApiResult<Reply> {
    let filter = base_filter(ctx.domain(), res, &route.url_vars)?;
    ctx.exec().delete_all(ctx.access(), res, &filter).await?;
    Ok(Reply::empty(204))
}
