//! `GET` on an aggregation endpoint (features.md §41): the executor runs
//! the planned pipeline with its paging `$facet`; the answer is Eve's
//! envelope (`_items` as the pipeline produced them, `_meta` with
//! pagination, `_links` with HATEOAS), without `ETag`, `Last-Modified`
//! or `X-Total-Count`.

use std::sync::Arc;

use eve_core::plan::AggregatePlan;
use eve_core::request::ApiRequest;
use eve_core::{ApiResult, Resource};
use serde_json::{json, Map, Value};

use crate::context::{Ctx, Reply};
use crate::read::{collection_links, link_max_results};
use crate::render::doc_to_map;

/// `GET /<aggregation resource>`.
pub(crate) async fn get_aggregate(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Arc<Resource>,
    plan: AggregatePlan,
) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let (docs, total) = ctx.exec().aggregate(ctx.access(), res, &plan).await?;
    let items: Vec<Value> = docs
        .iter()
        .map(|d| Value::Object(doc_to_map(d, &s.date_format)))
        .collect();
    let mut body = Map::new();
    body.insert(s.meta.items.clone(), Value::Array(items));
    if plan.paginate {
        let mut meta = Map::new();
        meta.insert(s.params.page.clone(), json!(plan.page));
        meta.insert(s.params.max_results.clone(), json!(plan.max_results));
        if !res.optimize_pagination_for_speed {
            meta.insert("total".into(), json!(total));
        }
        body.insert(s.meta.meta.clone(), Value::Object(meta));
    }
    if res.hateoas {
        let link_max = link_max_results(plan.paginate, plan.max_results);
        let counted = (!res.optimize_pagination_for_speed).then_some(total);
        let links = collection_links(ctx, req, res, (plan.page, link_max), total > 0, counted);
        body.insert(s.meta.links.clone(), Value::Object(links));
    }
    Ok(Reply::new(200, Value::Object(body)))
}
