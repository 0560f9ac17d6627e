//! `DELETE` on an item (conditional, like an edit) and on a collection.

use super::*;

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
