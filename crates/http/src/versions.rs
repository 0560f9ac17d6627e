//! Version queries on an item of a versioned resource (features.md §22.3,
//! §22.4): `?version=N`, `?version=all`, `?version=diffs`, and the eve-rs
//! addition `?as_of=<RFC 1123 date>` (the document as it was then). The
//! executor reads and synthesises the versions; this module renders them
//! with Eve's links, the combined ETag (`"<etag><latest version>"`) and
//! the latest document's `Last-Modified`.

use std::sync::Arc;

use axum::http::header;
use bson::Document;
use eve_core::plan::{VersionPlan, AS_OF_PARAM};
use eve_core::request::{parse_http_date, ApiRequest};
use eve_core::soft_delete::is_deleted;
use eve_core::{ApiError, ApiResult, Resource};
use eve_exec::{ensure_meta, epoch, latest_version, VersionArg};
use eve_query::SortDir;
use serde_json::{json, Map, Value};

use crate::context::{Ctx, Reply};
use crate::document::{build_document, id_string, related_links};
use crate::negotiate::http_date;
use crate::read::{link_max_results, link_query, paging_links, with_query};
use crate::render::doc_to_map;

/// What the request asks for.
#[derive(Debug, Clone, Copy)]
enum Asked {
    /// One version.
    One(i64),
    /// The version current at an instant.
    AsOf(bson::DateTime),
    /// A page of the history.
    History { diffs: bool },
}

fn asked(plan: &VersionPlan) -> ApiResult<Asked> {
    match (&plan.version, &plan.as_of) {
        (Some(_), Some(_)) => Err(ApiError::InvalidAsOf(format!(
            "{AS_OF_PARAM} cannot be combined with a version query"
        ))),
        (None, Some(raw)) => parse_http_date(raw)
            .map(|at| Asked::AsOf(bson::DateTime::from_chrono(at)))
            .ok_or_else(|| {
                ApiError::InvalidAsOf(format!(
                    "{AS_OF_PARAM} must be an RFC 1123 date, e.g. Tue, 01 Dec 2026 10:00:00 GMT"
                ))
            }),
        (Some(raw), None) => Ok(match VersionArg::parse(raw)? {
            VersionArg::Number(n) => Asked::One(n),
            VersionArg::All => Asked::History { diffs: false },
            VersionArg::Diffs => Asked::History { diffs: true },
        }),
        (None, None) => Err(ApiError::Internal(
            "a version plan without a version".into(),
        )),
    }
}

/// Whether a conditional GET is answered `304` (features.md §12.2): every
/// validator sent must say "not modified".
fn not_modified(
    req: &ApiRequest,
    if_match: bool,
    etag: Option<&str>,
    updated: bson::DateTime,
) -> bool {
    let since = req
        .conditions
        .if_modified_since
        .map(|d| updated.to_chrono() <= d + chrono::Duration::seconds(1));
    let same = req
        .conditions
        .if_none_match
        .as_ref()
        .map(|n| if_match && etag == Some(n.as_str()));
    match (same, since) {
        (None, None) => false,
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (Some(a), Some(b)) => a && b,
    }
}

/// `{"title": item_title, "href": "<path>/<id>[?version=N]"}`.
fn item_link(res: &Resource, path: &str, id: &str, version: Option<&str>) -> Value {
    let href = match version {
        Some(v) => format!("{path}/{id}?version={v}"),
        None => format!("{path}/{id}"),
    };
    json!({"title": res.item_title, "href": href})
}

/// `GET /<resource>/<id>?version=…` or `?as_of=…`.
pub(crate) async fn get_version(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Arc<Resource>,
    plan: VersionPlan,
) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let exec = ctx.exec();
    let mut latest = exec
        .fetch_latest(res, &plan.item.query)
        .await?
        .ok_or(ApiError::DocumentNotFound)?;
    ensure_meta(domain, res, &mut latest);
    let wanted = asked(&plan)?;
    let newest = latest_version(domain, &latest);
    // Eve: the latest document's date, because `_latest_version` changes
    // when a version is added.
    let updated = latest
        .get_datetime(&s.meta.last_updated)
        .copied()
        .unwrap_or_else(|_| epoch());
    let projection = plan.item.query.projection.as_ref();
    let one = match wanted {
        Asked::One(n) => Some(
            exec.fetch_version(ctx.access(), res, &latest, n, projection)
                .await?,
        ),
        Asked::AsOf(at) => Some(
            exec.fetch_as_of(ctx.access(), res, &latest, at, projection)
                .await?,
        ),
        Asked::History { .. } => None,
    };
    let served = match &one {
        Some(Some(doc)) => doc,
        Some(None) => return Err(ApiError::DocumentNotFound),
        None => &latest,
    };
    let etag = served
        .get_str(&s.meta.etag)
        .ok()
        .filter(|_| s.if_match)
        .map(|e| format!("{e}{newest}"));
    let last_modified = http_date(updated.to_chrono());
    if not_modified(req, s.if_match, etag.as_deref(), updated) {
        let mut reply = Reply::empty(304);
        if let Some(e) = &etag {
            reply = reply.header(header::ETAG, format!("\"{e}\""));
        }
        return Ok(reply);
    }
    // Soft delete with versioning (features.md §31.3): the deleted version
    // answers as the deleted document does, 404 with the document.
    if let Some(Some(doc)) = &one {
        if is_deleted(domain, res, doc) {
            return Ok(crate::read::deleted_reply(
                ctx,
                res,
                doc.clone(),
                &req.route.resource_path,
                updated,
                etag.map(|e| format!("\"{e}\"")),
            ));
        }
    }
    let id = id_string(latest.get(&res.id_field));
    let body = match (one, wanted) {
        (Some(Some(doc)), _) => {
            let media = crate::media::resolve(ctx, res, std::slice::from_ref(&doc)).await?;
            one_version(ctx, req, res, &plan, doc, &id, &media)
        }
        (_, Asked::History { diffs }) => history(ctx, req, res, &plan, &latest, diffs, &id).await?,
        _ => return Err(ApiError::DocumentNotFound),
    };
    let mut reply = Reply::new(200, body).header(header::LAST_MODIFIED, last_modified);
    if let Some(e) = etag {
        reply = reply.header(header::ETAG, format!("\"{e}\""));
    }
    Ok(reply)
}

/// One version, with Eve's links: `self` names the version, `parent` the
/// item, `collection` its history.
fn one_version(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Resource,
    plan: &VersionPlan,
    doc: Document,
    id: &str,
    media: &crate::media::MediaValues,
) -> Value {
    let domain = ctx.domain();
    let path = &req.route.resource_path;
    let version = doc
        .get(&domain.settings.meta.version)
        .map(|v| id_string(Some(v)))
        .unwrap_or_else(|| "1".into());
    let files = crate::media::media_part(res, &doc);
    let mut map = build_document(domain, res, doc, None, path, true);
    media.apply(res, &files, &mut map);
    if let Some(Value::Object(links)) = map.get_mut(&domain.settings.meta.links) {
        let parent = item_link(res, path, id, None);
        let all = format!("{path}/{id}?version=all");
        links.insert(
            "self".into(),
            item_link(res, path, id, Some(version.as_str())),
        );
        links.insert("parent".into(), parent);
        links.insert(
            "collection".into(),
            json!({"title": res.resource_title, "href": all}),
        );
        let link_max = link_max_results(res.pagination, plan.item.max_results);
        let total = (!res.optimize_pagination_for_speed).then_some(0);
        paging_links(
            ctx,
            req,
            res,
            &format!("{path}/{id}"),
            (plan.item.page, link_max),
            total,
            links,
        );
    }
    Value::Object(map)
}

/// A page of the history (`all` or `diffs`) in Eve's envelope: `_items`,
/// `_links` (`self` the history, `parent` the collection, `collection`
/// the item, paging on the item's path) and `_meta`; a bare list when
/// HATEOAS is off.
async fn history(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Arc<Resource>,
    plan: &VersionPlan,
    latest: &Document,
    diffs: bool,
    id: &str,
) -> ApiResult<Value> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let m = &s.meta;
    let path = &req.route.resource_path;
    let item = &plan.item;
    let paginate = res.pagination;
    let mut query = item.query.clone();
    query.sort = match (&plan.sort, diffs) {
        (Some(sort), false) => sort.clone(),
        _ => vec![(m.version.clone(), SortDir::Asc)],
    };
    query.limit = item.max_results;
    query.skip = match item.max_results {
        Some(max) if paginate => (item.page - 1).saturating_mul(max),
        _ => 0,
    };
    let page = ctx
        .exec()
        .fetch_versions(ctx.access(), res, latest, &query, diffs)
        .await?;
    let media = crate::media::resolve(ctx, res, &page.versions).await?;
    let items: Vec<Value> = page
        .entries
        .into_iter()
        .zip(page.versions)
        .enumerate()
        .map(|(i, (entry, whole))| {
            let version = whole.get(&m.version).map(|v| id_string(Some(v)));
            if diffs && i > 0 {
                // A partial document: no meta defaults, links from the
                // whole version.
                let mut map = doc_to_map(&entry, &s.date_format);
                if res.hateoas {
                    let mut links = Map::new();
                    links.insert("self".into(), item_link(res, path, id, version.as_deref()));
                    if let Some(related) = related_links(domain, res, &whole) {
                        links.insert("related".into(), related);
                    }
                    map.insert(m.links.clone(), Value::Object(links));
                }
                return Value::Object(map);
            }
            let files = crate::media::media_part(res, &entry);
            let mut map = build_document(domain, res, entry, None, path, false);
            media.apply(res, &files, &mut map);
            if let Some(Value::Object(links)) = map.get_mut(&m.links) {
                links.insert("self".into(), item_link(res, path, id, version.as_deref()));
            }
            Value::Object(map)
        })
        .collect();
    if !res.hateoas {
        return Ok(Value::Array(items));
    }
    // Eve drops the sort it set itself (by version) from the links, and
    // the client's for diffs.
    let mut link_req = req.clone();
    if diffs {
        link_req.args.retain(|(k, _)| k != &s.params.sort);
    }
    let item_path = format!("{path}/{id}");
    let link_max = link_max_results(paginate, item.max_results);
    let mut links = Map::new();
    links.insert(
        "parent".into(),
        json!({"title": res.resource_title, "href": path}),
    );
    let self_href = if page.total > 0 {
        with_query(&item_path, &link_query(ctx, &link_req, link_max, item.page))
    } else {
        item_path.clone()
    };
    links.insert(
        "self".into(),
        json!({"title": res.item_title, "href": self_href}),
    );
    links.insert("collection".into(), item_link(res, path, id, None));
    let total = (!res.optimize_pagination_for_speed).then_some(page.total);
    paging_links(
        ctx,
        &link_req,
        res,
        &item_path,
        (item.page, link_max),
        total,
        &mut links,
    );
    let mut body = Map::new();
    body.insert(m.items.clone(), Value::Array(items));
    body.insert(m.links.clone(), Value::Object(links));
    if paginate {
        let mut meta = Map::new();
        meta.insert(s.params.page.clone(), json!(item.page));
        meta.insert(s.params.max_results.clone(), json!(item.max_results));
        meta.insert("total".into(), json!(page.total));
        body.insert(m.meta.clone(), Value::Object(meta));
    }
    Ok(Value::Object(body))
}
