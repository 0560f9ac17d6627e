//! Read handlers: the home and schema endpoints, collection GET and item
//! GET. Each takes the typed request and its plan, runs the plan's query
//! on the data layer (which applies the projection) and renders the
//! result (envelope, HATEOAS links, ETag and Last-Modified, 304).

use std::sync::Arc;

use axum::http::header;
use eve_core::plan::{ItemPlan, ReadPlan};
use eve_core::request::ApiRequest;
use eve_core::soft_delete::is_deleted;
use eve_core::{ApiError, ApiResult, Resource};
use serde_json::{json, Map, Value};

use crate::context::{Ctx, Reply};
use crate::document::{build_document, relink};
use crate::negotiate::http_date;
use eve_exec::{embedded_last_updated, ensure_meta, epoch};

/// `GET /`: child links (features.md §10.2).
pub(crate) fn get_home(ctx: &Ctx) -> Reply {
    let domain = ctx.domain();
    let s = &domain.settings;
    let mut body = Map::new();
    if s.hateoas {
        let mut children: Vec<Value> = domain
            .resources
            .values()
            .filter(|r| !r.internal_resource)
            .map(|r| json!({"href": home_href(r), "title": r.resource_title}))
            .collect();
        if let Some(schema) = &s.schema_endpoint {
            children.push(json!({"href": schema, "title": schema}));
        }
        body.insert(s.meta.links.clone(), json!({ "child": children }));
    }
    if let Some(info) = &s.info {
        let mut i = Map::new();
        i.insert("server".into(), json!("Eve"));
        i.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        if !s.api_version.is_empty() {
            i.insert("api_version".into(), json!(s.api_version));
        }
        body.insert(info.clone(), Value::Object(i));
    }
    Reply::new(200, Value::Object(body))
}

/// `GET /<SCHEMA_ENDPOINT>[/<resource>]` (features.md §40): schemas as
/// configured, with the automatic id field; internal resources are hidden.
pub(crate) fn get_schema(ctx: &Ctx, name: Option<&str>) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let schema_of =
        |r: &Resource| Value::Object(r.schema_as_written().clone().into_iter().collect());
    match name {
        None => {
            let all: Map<String, Value> = domain
                .resources
                .values()
                .filter(|r| schema_visible(ctx, r))
                .map(|r| (r.name.clone(), schema_of(r)))
                .collect();
            Ok(Reply::new(200, Value::Object(all)))
        }
        Some(name) => {
            let res = domain
                .resources
                .get(name)
                .filter(|r| schema_visible(ctx, r))
                .ok_or(ApiError::UrlNotFound)?;
            Ok(Reply::new(200, schema_of(res)))
        }
    }
}

/// Whether the schema endpoint shows a resource's schema to this request:
/// never for internal resources; for a resource whose reads need
/// credentials, only to an identified caller holding one of its read
/// roles (as Eve's schema endpoint skips what the caller cannot read).
fn schema_visible(ctx: &Ctx, res: &Arc<Resource>) -> bool {
    if res.internal_resource {
        return false;
    }
    let route = eve_core::Route {
        kind: eve_core::EndpointKind::Collection,
        resource: Some(res.clone()),
        url_vars: Vec::new(),
        lookup: None,
        resource_path: String::new(),
    };
    let need = eve_core::auth::requirement(ctx.domain(), &route, &eve_core::HttpMethod::Get);
    !need.needs_credentials()
        || (ctx.access.user.is_some()
            && (need.allowed_roles.is_empty()
                || need
                    .allowed_roles
                    .iter()
                    .any(|r| ctx.access.roles.contains(r))))
}

/// The home link of a resource: its url with variable patterns removed.
fn home_href(res: &Resource) -> String {
    res.url_parts
        .iter()
        .map(|p| match p {
            eve_core::UrlPart::Literal(l) => l.clone(),
            eve_core::UrlPart::Var { field, .. } => format!("<{field}>"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `GET /<resource>`.
pub(crate) async fn get_collection(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Arc<Resource>,
    plan: ReadPlan,
) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let route = &req.route;
    if s.validate_filters {
        if let Some(w) = &req.query.where_ {
            crate::filters::validate_filters(ctx, res, &w.document).await?;
        }
    }
    // The page and its total come from one snapshot, so they agree; the
    // data layer applies the projection; the executor runs the
    // `on_fetched_resource` hooks.
    let (docs, total, replaced) = ctx
        .exec()
        .fetch_page(ctx.access(), res, &plan.query, plan.count, &req.query.embed)
        .await?;

    let media = crate::media::resolve(ctx, res, &docs).await?;
    let mut last_modified: Option<bson::DateTime> = None;
    let items: Vec<Value> = docs
        .into_iter()
        .map(|doc| {
            if let Ok(updated) = doc.get_datetime(&s.meta.last_updated) {
                last_modified = Some(last_modified.map_or(*updated, |m| m.max(*updated)));
            }
            let stored = replaced.restore(&doc);
            let files = crate::media::media_part(res, &doc);
            let mut map = build_document(domain, res, doc, None, &route.resource_path, false);
            media.apply(res, &files, &mut map);
            if let Some(stored) = stored {
                relink(domain, res, &mut map, &stored);
            }
            Value::Object(map)
        })
        .collect();

    let mut body = Map::new();
    body.insert(s.meta.items.clone(), Value::Array(items));
    if res.hateoas {
        let link_max = link_max_results(plan.paginate, plan.max_results);
        let matched = total.is_some_and(|t| t > 0);
        let links = collection_links(ctx, req, res, (plan.page, link_max), matched, total);
        body.insert(s.meta.links.clone(), Value::Object(links));
    }
    let mut reply_headers = Vec::new();
    if plan.paginate {
        let mut meta = Map::new();
        meta.insert(s.params.page.clone(), json!(plan.page));
        meta.insert(s.params.max_results.clone(), json!(plan.max_results));
        if let Some(t) = total {
            meta.insert("total".into(), json!(t));
        }
        body.insert(s.meta.meta.clone(), Value::Object(meta));
    }
    if let Some(t) = total {
        if let Ok(name) = axum::http::HeaderName::from_bytes(s.header_total_count.as_bytes()) {
            reply_headers.push((name, t.to_string()));
        }
    }
    if let Some(lm) = last_modified {
        reply_headers.push((header::LAST_MODIFIED, http_date(lm.to_chrono())));
    }
    let mut reply = Reply::new(200, Value::Object(body));
    reply.headers = reply_headers;
    Ok(reply)
}

/// The `_links` of a collection answer: `parent`, `self` (Eve keeps the
/// query string on it whenever the query matched something, also on a
/// page past the last one) and the paging links ([`paging_links`]).
pub(crate) fn collection_links(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Resource,
    (page, link_max): (u64, Option<u64>),
    matched: bool,
    total: Option<u64>,
) -> Map<String, Value> {
    let path = &req.route.resource_path;
    let mut links = Map::new();
    links.insert("parent".into(), json!({"title": "home", "href": "/"}));
    let self_href = if matched {
        with_query(path, &link_query(ctx, req, link_max, page))
    } else {
        path.clone()
    };
    links.insert(
        "self".into(),
        json!({"title": res.resource_title, "href": self_href}),
    );
    paging_links(ctx, req, res, path, (page, link_max), total, &mut links);
    links
}

pub(crate) fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// The `max_results` that pagination links carry: Eve's parsed value,
/// which is 0 when pagination is off and the client sent none.
pub(crate) fn link_max_results(paginate: bool, max_results: Option<u64>) -> Option<u64> {
    if paginate {
        max_results
    } else {
        Some(max_results.unwrap_or(0))
    }
}

/// Adds the `next`, `last` and `prev` links (features.md §10.3) when the
/// resource paginates: `next` when a later page holds documents or the
/// total is not counted (`OPTIMIZE_PAGINATION_FOR_SPEED`), `last` with a
/// counted total, `prev` past the first page.
pub(crate) fn paging_links(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Resource,
    collection: &str,
    (page, max_results): (u64, Option<u64>),
    total: Option<u64>,
    links: &mut Map<String, Value>,
) {
    if !res.pagination {
        return;
    }
    let href = |page: u64| with_query(collection, &link_query(ctx, req, max_results, page));
    let max = max_results.unwrap_or(1).max(1);
    let has_next = match total {
        Some(t) => page.saturating_mul(max) < t,
        None => true,
    };
    if has_next {
        links.insert(
            "next".into(),
            json!({"title": "next page", "href": href(page + 1)}),
        );
        if let Some(t) = total {
            let last = t.div_ceil(max).max(1);
            links.insert(
                "last".into(),
                json!({"title": "last page", "href": href(last)}),
            );
        }
    }
    if page > 1 {
        links.insert(
            "prev".into(),
            json!({"title": "previous page", "href": href(page - 1)}),
        );
    }
}

/// The query string of pagination links (features.md §10.3): values are
/// inserted unencoded, as Eve does.
pub(crate) fn link_query(
    ctx: &Ctx,
    req: &ApiRequest,
    max_results: Option<u64>,
    page: u64,
) -> String {
    let s = &ctx.domain().settings;
    let p = &s.params;
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = max_results.filter(|m| *m != s.pagination_default) {
        parts.push(format!("{}={m}", p.max_results));
    }
    for name in [&p.where_, &p.sort, &p.version] {
        if let Some(v) = req.arg(name) {
            parts.push(format!("{name}={v}"));
        }
    }
    if page > 1 {
        parts.push(format!("{}={page}", p.page));
    }
    let known = [
        &p.max_results,
        &p.where_,
        &p.sort,
        &p.version,
        &p.page,
        &p.embedded,
        &p.projection,
    ];
    for (k, v) in &req.args {
        if !known.contains(&k) {
            parts.push(format!("{k}={v}"));
        }
    }
    parts.join("&")
}

/// The answer to an item GET of a soft-deleted document (features.md
/// §31.1), as Eve builds it: `404` with the document (its `_links.self`
/// only) plus `_status: ["ERR"]` (a one-element list, Eve's quirk) and
/// `_error`, and the document's `ETag` and `Last-Modified`.
pub(crate) fn deleted_reply(
    ctx: &Ctx,
    res: &Resource,
    doc: bson::Document,
    resource_path: &str,
    updated: bson::DateTime,
    etag_header: Option<String>,
) -> Reply {
    let domain = ctx.domain();
    let m = &domain.settings.meta;
    let mut map = build_document(domain, res, doc, None, resource_path, false);
    map.insert(m.status.clone(), json!([m.status_err]));
    map.insert(
        m.error.clone(),
        json!({"code": 404, "message": "The requested URL was not found on this server."}),
    );
    let mut reply = Reply::new(404, Value::Object(map))
        .header(header::LAST_MODIFIED, http_date(updated.to_chrono()));
    // An ordinary response in Eve (not an abort): the resource's cache
    // headers, and JSON or XML whatever `STANDARD_ERRORS` lists.
    reply.document = true;
    if let Some(e) = etag_header {
        reply = reply.header(header::ETAG, e);
    }
    reply
}

/// `GET /<resource>/<id>` (and the additional lookup).
pub(crate) async fn get_item(
    ctx: &Ctx,
    req: &ApiRequest,
    res: &Arc<Resource>,
    plan: ItemPlan,
) -> ApiResult<Reply> {
    let domain = ctx.domain();
    let s = &domain.settings;
    let route = &req.route;
    // The plan's query names one document and its projection; the executor
    // runs the `on_fetched_item` hooks.
    let (mut doc, replaced) = ctx
        .exec()
        .fetch_item(ctx.access(), res, &plan.query, &req.query.embed)
        .await?
        .ok_or(ApiError::DocumentNotFound)?;
    ensure_meta(domain, res, &mut doc);
    // On a versioned resource the ETag header carries the latest version
    // (features.md §22.4); the body `_etag` stays the stored one.
    let etag = doc.get_str(&s.meta.etag).ok().map(|e| {
        if res.versioning {
            format!("{e}{}", eve_exec::latest_version(domain, &doc))
        } else {
            e.to_string()
        }
    });
    let updated = doc
        .get_datetime(&s.meta.last_updated)
        .ok()
        .copied()
        .unwrap_or_else(epoch);
    // As in Eve, a newer document embedded in a top-level field makes the
    // item newer (Last-Modified, If-Modified-Since); the ETag stays the
    // stored one.
    let updated =
        embedded_last_updated(domain, &req.query.embed, &doc).map_or(updated, |e| e.max(updated));

    // Eve compares at a one-second resolution: a document updated within
    // the second of `If-Modified-Since` is not modified.
    let modified_since = req
        .conditions
        .if_modified_since
        .map(|d| d + chrono::Duration::seconds(1));
    let etag_says_same = req
        .conditions
        .if_none_match
        .as_ref()
        .map(|n| s.if_match && etag.as_deref() == Some(n.as_str()));
    let date_says_same = modified_since.map(|since| updated.to_chrono() <= since);
    let not_modified = match (etag_says_same, date_says_same) {
        (None, None) => false,
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (Some(a), Some(b)) => a && b,
    };
    let etag_header = etag
        .as_ref()
        .filter(|_| s.if_match)
        .map(|e| format!("\"{e}\""));
    if not_modified {
        let mut reply = Reply::empty(304);
        if let Some(e) = etag_header {
            reply = reply.header(header::ETAG, e);
        }
        return Ok(reply);
    }
    if is_deleted(domain, res, &doc) {
        return Ok(deleted_reply(
            ctx,
            res,
            doc,
            &route.resource_path,
            updated,
            etag_header,
        ));
    }
    let stored = replaced.restore(&doc);
    let media = crate::media::resolve(ctx, res, std::slice::from_ref(&doc)).await?;
    let files = crate::media::media_part(res, &doc);
    let mut map = build_document(domain, res, doc, None, &route.resource_path, true);
    media.apply(res, &files, &mut map);
    if let Some(stored) = stored {
        relink(domain, res, &mut map, &stored);
    }
    if let Some(Value::Object(links)) = map.get_mut(&s.meta.links) {
        // Eve builds an item's links with the collection's paging rules:
        // the collection link keeps the query, and `next`/`prev` follow the
        // page arguments (`next` always with OPTIMIZE_PAGINATION_FOR_SPEED).
        let (page, max) = (plan.page, plan.max_results);
        let link_max = link_max_results(res.pagination, max);
        links.insert(
            "collection".into(),
            json!({
                "title": res.resource_title,
                "href": with_query(&route.resource_path, &link_query(ctx, req, link_max, page)),
            }),
        );
        let total = (!res.optimize_pagination_for_speed).then_some(0);
        paging_links(
            ctx,
            req,
            res,
            &route.resource_path,
            (page, link_max),
            total,
            links,
        );
    }
    let mut reply = Reply::new(200, Value::Object(map))
        .header(header::LAST_MODIFIED, http_date(updated.to_chrono()));
    if let Some(e) = etag_header {
        reply = reply.header(header::ETAG, e);
    }
    Ok(reply)
}
