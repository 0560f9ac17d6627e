//! The typed request: what a client asked for, parsed once from the method,
//! the matched route, the query arguments and the conditional headers,
//! before any planning. Transport-free: the HTTP crate extracts the pieces
//! from the wire and calls [`ApiRequest::parse`]; nothing here sees a
//! header map or a status code.
//!
//! Input errors surface here with Eve's rules: a bad `where`, `sort` or
//! `projection` is a 400; a bad `page` or `max_results` is not an error
//! (Eve falls back to its defaults).

use std::sync::Arc;

use bson::{Bson, Document};
use chrono::{DateTime, Utc};
use eve_query::{
    check_allowed_filters, check_operators, lift_searches, parse_projection, parse_sort,
    parse_where, Filter, Near, SortSpec, TextSearch,
};

use crate::convert::convert_query;
use crate::domain::{Domain, Method, Resource};
use crate::embed::{parse_embedded, EmbedPath};
use crate::error::{ApiError, ApiResult};

/// The request method, after `X-HTTP-Method-Override`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET.
    Get,
    /// HEAD (served as GET without a body).
    Head,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
    /// OPTIONS.
    Options,
    /// Any other method, upper case (an empty override is the empty
    /// method, refused with 405 as in Eve).
    Other(String),
}

impl HttpMethod {
    /// Parses a method name, case-insensitively.
    pub fn parse(name: &str) -> HttpMethod {
        match name.trim().to_ascii_uppercase().as_str() {
            "GET" => HttpMethod::Get,
            "HEAD" => HttpMethod::Head,
            "POST" => HttpMethod::Post,
            "PATCH" => HttpMethod::Patch,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            "OPTIONS" => HttpMethod::Options,
            other => HttpMethod::Other(other.to_string()),
        }
    }

    /// The upper-case method name.
    pub fn as_str(&self) -> &str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Post => "POST",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Other(name) => name,
        }
    }

    /// GET or HEAD.
    pub fn is_read(&self) -> bool {
        matches!(self, HttpMethod::Get | HttpMethod::Head)
    }
}

/// Which kind of endpoint a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// The API entry point.
    Home,
    /// A resource (collection) endpoint.
    Collection,
    /// An item endpoint looked up by `item_lookup_field`.
    Item,
    /// The read-only `additional_lookup` item endpoint.
    AdditionalItem,
    /// `SCHEMA_ENDPOINT`: all schemas, or one (`lookup` holds its name).
    Schema,
    /// `MEDIA_ENDPOINT/<id>` (with `RETURN_MEDIA_AS_URL`): a stored file
    /// (`lookup` holds its id).
    Media,
}

/// A matched URL: the first thing known about a request, so that later
/// stages (and rate-limit or auth layers) see the resource.
#[derive(Debug, Clone)]
pub struct Route {
    /// Endpoint kind.
    pub kind: EndpointKind,
    /// The resource (none for home and schema).
    pub resource: Option<Arc<Resource>>,
    /// Sub-resource variables captured from the URL: (field, raw value).
    pub url_vars: Vec<(String, String)>,
    /// Item lookup: (field, raw value).
    pub lookup: Option<(String, String)>,
    /// The resource path of this request, relative to the API root, with
    /// variables filled in (e.g. `people/5f…/invoices`).
    pub resource_path: String,
}

impl Route {
    /// Methods routed for this URL, as listed in `Allow`.
    pub fn allowed_methods(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let push_enabled = |out: &mut Vec<&'static str>, methods: &[Method]| {
            for m in methods {
                out.push(m.as_str());
                if *m == Method::Get {
                    out.push("HEAD");
                }
            }
        };
        match (self.kind, &self.resource) {
            (
                EndpointKind::Home
                | EndpointKind::AdditionalItem
                | EndpointKind::Schema
                | EndpointKind::Media,
                _,
            )
            | (_, None) => out.extend(["GET", "HEAD"]),
            (EndpointKind::Collection, Some(res)) => push_enabled(&mut out, &res.resource_methods),
            (EndpointKind::Item, Some(res)) => {
                push_enabled(&mut out, &res.item_methods);
                if res.item_methods.contains(&Method::Patch) {
                    out.push("POST");
                }
            }
        }
        out.push("OPTIONS");
        out
    }

    /// Whether `method` (upper case) is routed for this URL.
    pub fn allows(&self, method: &str) -> bool {
        self.allowed_methods().contains(&method)
    }
}

/// The `If-Match` condition a client sent with an edit or a delete.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IfMatch {
    /// No `If-Match` (or an empty one).
    #[default]
    Absent,
    /// The ETag sent, normalised (no `W/`, no quotes).
    Etag(String),
}

impl IfMatch {
    /// Reads an `If-Match` header value: a blank one counts as absent.
    pub fn from_header(raw: Option<&[u8]>) -> IfMatch {
        match raw.map(String::from_utf8_lossy) {
            Some(v) if !v.trim().is_empty() => IfMatch::Etag(normalize_etag(&v)),
            _ => IfMatch::Absent,
        }
    }
}

/// The conditional headers of a request, typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// `If-Match` (edits and deletes).
    pub if_match: IfMatch,
    /// `If-None-Match`, normalised (item reads).
    pub if_none_match: Option<String>,
    /// `If-Modified-Since` (item reads); `None` when absent or not an
    /// RFC 1123 date (Eve ignores such a value).
    pub if_modified_since: Option<DateTime<Utc>>,
}

impl Conditions {
    /// Reads the three headers (`None` for a missing one; `If-Match` as
    /// raw bytes, the others as text).
    pub fn from_headers(
        if_match: Option<&[u8]>,
        if_none_match: Option<&str>,
        if_modified_since: Option<&str>,
    ) -> Conditions {
        Conditions {
            if_match: IfMatch::from_header(if_match),
            if_none_match: if_none_match.map(normalize_etag),
            if_modified_since: if_modified_since.and_then(parse_http_date),
        }
    }
}

/// Parses an RFC 1123 date (`Sun, 06 Dec 2026 04:00:00 GMT`).
pub fn parse_http_date(raw: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(raw.trim(), "%a, %d %b %Y %H:%M:%S GMT")
        .ok()
        .map(|d| d.and_utc())
}

/// A client `where`, parsed and checked once.
#[derive(Debug, Clone, PartialEq)]
pub struct Where {
    /// The query as the client wrote it (JSON or Python-like), as a
    /// document, before value conversion (`VALIDATE_FILTERS` validates it
    /// against the schema).
    pub document: Document,
    /// The filter the store runs: operators checked against the
    /// whitelist/blacklist and `allowed_filters`, dates and ObjectIds
    /// converted; without the searches below.
    pub filter: Filter,
    /// A `$near`/`$nearSphere` lifted out of the query (the planner hands
    /// it to the data layer, which runs or refuses it).
    pub near: Option<Near>,
    /// A `$text` lifted out of the query.
    pub text: Option<TextSearch>,
}

/// The query arguments of a request, parsed with the configured parameter
/// names. Arguments an endpoint does not use are not parsed (a bad `where`
/// on an item GET is ignored, as in Eve).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryArgs {
    /// The client `where` (collection reads of a resource that allows
    /// filters).
    pub where_: Option<Where>,
    /// The client `sort` (collection reads of a sortable resource); `None`
    /// when absent or blank (the default sort applies).
    pub sort: Option<SortSpec>,
    /// The client `projection` (reads of a resource that allows it),
    /// checked not to mix inclusion and exclusion.
    pub projection: Option<Document>,
    /// Requested page (1-based), already normalised (`abs`, `0` → 1).
    pub page: u64,
    /// Requested page size, `None` when absent or not a positive number.
    pub max_results: Option<u64>,
    /// Raw `embedded`, as sent.
    pub embedded: Option<String>,
    /// What the response embeds (features.md §30): `embedded_fields` and
    /// `embedded` resolved to embeddable relations, shortest paths first
    /// ([`crate::embed::parse_embedded`]); reads, and writes whose answer
    /// carries the document (`BANDWIDTH_SAVER: false`).
    pub embed: Vec<EmbedPath>,
    /// Raw `version` (versioning is refused at start-up until built).
    pub version: Option<String>,
    /// Raw `aggregate`: the client's pipeline variables (features.md §41).
    pub aggregate: Option<String>,
    /// `SHOW_DELETED_PARAM` (default `show_deleted`) is in the query string,
    /// with any value: collection reads show soft-deleted documents too.
    pub show_deleted: bool,
}

/// One request as the pipeline sees it after parsing.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The method (after override).
    pub method: HttpMethod,
    /// The matched route.
    pub route: Route,
    /// The parsed query arguments.
    pub query: QueryArgs,
    /// The conditional headers.
    pub conditions: Conditions,
    /// The decoded query arguments as sent, in order (links repeat them).
    pub args: Vec<(String, String)>,
}

impl ApiRequest {
    /// Parses a routed request: the query arguments the endpoint uses (see
    /// [`QueryArgs`]) with the configured names and limits.
    pub fn parse(
        domain: &Domain,
        method: HttpMethod,
        route: Route,
        args: Vec<(String, String)>,
        conditions: Conditions,
    ) -> ApiResult<ApiRequest> {
        let p = &domain.settings.params;
        let arg = |name: &str| {
            args.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut query = QueryArgs {
            page: parse_page(arg(&p.page)),
            max_results: parse_max_results(arg(&p.max_results)),
            embedded: arg(&p.embedded).map(str::to_string),
            version: arg(&p.version).map(str::to_string),
            aggregate: arg(&p.aggregation).map(str::to_string),
            show_deleted: arg(&p.show_deleted).is_some(),
            ..QueryArgs::default()
        };
        // Eve resolves the embedding before it runs the query.
        // An aggregation endpoint reads none of `where`, `sort`,
        // `projection`, `embedded` (features.md §41): Eve only carries them
        // into the links, as sent.
        let aggregation = route
            .resource
            .as_deref()
            .is_some_and(|r| r.datasource.aggregation.is_some());
        let embedding = embeds(domain, &method, route.kind) && !aggregation;
        if let (true, Some(res)) = (embedding, route.resource.as_deref()) {
            query.embed = parse_embedded(domain, res, arg(&p.embedded))?;
        }
        if let (true, Some(res)) = (method.is_read() && !aggregation, route.resource.as_deref()) {
            if route.kind == EndpointKind::Collection {
                // Eve's order: `where`, then `sort`, then `projection`.
                if let Some(raw) = arg(&p.where_).filter(|_| !res.allowed_filters.is_empty()) {
                    query.where_ = Some(parse_client_where(domain, res, raw)?);
                }
                if let Some(raw) = arg(&p.sort).filter(|s| res.sorting && !s.trim().is_empty()) {
                    query.sort = Some(parse_sort(raw)?);
                }
                if let Some(raw) = arg(&p.text) {
                    crate::text_query::apply_q(res, raw, &mut query)?;
                }
            }
            if let Some(raw) = arg(&p.projection).filter(|_| res.projection) {
                let mut projection = parse_projection(raw)?;
                let score = crate::text_query::take_score_field(&mut projection)?;
                if let Some(field) = score {
                    crate::text_query::set_score_field(&mut query, field)?;
                }
                if !projection.is_empty() || score_free(raw) {
                    query.projection = Some(checked_projection(projection)?);
                }
            }
        }
        Ok(ApiRequest {
            method,
            route,
            query,
            conditions,
            args,
        })
    }

    /// The first value of a query argument.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The resource the route names, if any.
    pub fn resource(&self) -> Option<&Arc<Resource>> {
        self.route.resource.as_ref()
    }
}

/// Whether a request's answer may embed documents: reads of collections
/// and items, and writes whose answer is the whole document
/// (`BANDWIDTH_SAVER: false`; Eve does not even read `embedded` otherwise).
fn embeds(domain: &Domain, method: &HttpMethod, kind: EndpointKind) -> bool {
    use EndpointKind as K;
    use HttpMethod as M;
    match (method, kind) {
        (M::Get | M::Head, K::Collection | K::Item | K::AdditionalItem) => true,
        (M::Post, K::Collection) | (M::Patch | M::Put, K::Item) => !domain.settings.bandwidth_saver,
        _ => false,
    }
}

/// Parses and checks a client `where` for `res`: size and term limits,
/// operator whitelist/blacklist, `allowed_filters`, the geo and text
/// searches lifted out ([`lift_searches`]), then value conversion.
pub fn parse_client_where(domain: &Domain, res: &Resource, raw: &str) -> ApiResult<Where> {
    let settings = &domain.settings;
    let limits = &settings.limits;
    if raw.len() > limits.max_where_length {
        return Err(ApiError::WhereTooLong {
            limit: limits.max_where_length,
        });
    }
    let document = parse_where(raw)?;
    if count_terms(&document, limits.max_where_terms) > limits.max_where_terms {
        return Err(ApiError::WhereTooManyTerms {
            limit: limits.max_where_terms,
        });
    }
    check_operators(
        &document,
        &res.mongo_query_whitelist,
        &settings.mongo_query_blacklist,
    )?;
    check_allowed_filters(&document, &res.allowed_filters)?;
    check_secret_filters(&document, &res.secret_fields)?;
    let mut converted = document.clone();
    let searches = lift_searches(&mut converted)?;
    if let Some(near) = &searches.near {
        check_geo_index(res, &near.field)?;
    }
    convert_query(domain, res, &mut converted);
    let filter = Filter::parse(&converted)?;
    Ok(Where {
        document,
        filter,
        near: searches.near,
        text: searches.text,
    })
}

/// A `$near`/`$nearSphere` needs a `2dsphere` or `2d` index on its field
/// among the resource's indexes, as MongoDB's `$geoNear` does; every layer
/// answers the same 400 without one.
fn check_geo_index(res: &Resource, field: &str) -> ApiResult<()> {
    let indexed = res.indexes.iter().any(|spec| {
        spec.keys.iter().any(|(f, k)| {
            f == field && matches!(k, eve_store::IndexKey::Special(kind) if kind == "2dsphere" || kind == "2d")
        })
    });
    if indexed {
        return Ok(());
    }
    Err(ApiError::InvalidQuery(eve_query::QueryError::Invalid(format!(
        "unable to find index for $geoNear query: declare a 2dsphere (or 2d) index on '{field}' in mongo_indexes"
    ))))
}

/// Counts the keys and list elements of a query, stopping early once the
/// count passes `limit`.
fn count_terms(query: &Document, limit: usize) -> usize {
    fn value(v: &Bson, n: &mut usize, limit: usize) {
        match v {
            Bson::Document(d) => doc(d, n, limit),
            Bson::Array(items) => {
                for item in items {
                    if *n > limit {
                        return;
                    }
                    *n += 1;
                    value(item, n, limit);
                }
            }
            _ => {}
        }
    }
    fn doc(d: &Document, n: &mut usize, limit: usize) {
        for (_, v) in d {
            if *n > limit {
                return;
            }
            *n += 1;
            value(v, n, limit);
        }
    }
    let mut n = 0;
    doc(query, &mut n, limit);
    n
}

/// Parses a client `projection`. Mixing inclusion and exclusion is refused
/// with 400, as issue #2 asks and MongoDB does (Eve silently lets the
/// inclusions win).
pub fn parse_client_projection(raw: &str) -> ApiResult<Document> {
    checked_projection(parse_projection(raw)?)
}

/// A projection without `$meta` entries: an empty one still counts as
/// given (`{}`), one that only held the text score does not.
fn score_free(raw: &str) -> bool {
    !raw.contains("$meta")
}

fn checked_projection(projection: Document) -> ApiResult<Document> {
    let (inc, exc) = split_projection(&projection);
    if !inc.is_empty() && !exc.is_empty() {
        return Err(ApiError::ProjectionMixesInclusionAndExclusion);
    }
    Ok(projection)
}

/// Splits a projection document into included and excluded field names.
pub(crate) fn split_projection(projection: &Document) -> (Vec<String>, Vec<String>) {
    let mut inc = Vec::new();
    let mut exc = Vec::new();
    for (k, v) in projection {
        let on = match v {
            Bson::Int32(i) => *i != 0,
            Bson::Int64(i) => *i != 0,
            Bson::Double(f) => *f != 0.0,
            Bson::Boolean(b) => *b,
            _ => true,
        };
        if on {
            inc.push(k.clone());
        } else {
            exc.push(k.clone());
        }
    }
    (inc, exc)
}

/// Parses a page number as Eve does: integer, absolute value, `0` and
/// non-numbers become 1.
pub fn parse_page(raw: Option<&str>) -> u64 {
    raw.and_then(|s| s.trim().parse::<i64>().ok())
        .map(|n| n.unsigned_abs())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

/// Parses `max_results` as Eve does: a number truncated to an integer;
/// missing, non-numeric, zero or negative → `None` (use the default).
pub fn parse_max_results(raw: Option<&str>) -> Option<u64> {
    let s = raw?.trim();
    let n = s.parse::<i64>().ok().or_else(|| {
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f.trunc() as i64)
    })?;
    (n > 0).then_some(n as u64)
}

/// Normalises an `If-Match`/`If-None-Match` value: a leading `W/` is dropped
/// and every double quote removed.
pub fn normalize_etag(raw: &str) -> String {
    let s = raw.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.replace('"', "")
}

/// Refuses a `where` on a write-only field (an account's password, token
/// or secret): matching on a hash would reveal it bit by bit.
fn check_secret_filters(query: &Document, secrets: &[String]) -> Result<(), eve_query::QueryError> {
    if secrets.is_empty() {
        return Ok(());
    }
    for (key, value) in query {
        let top = key.split('.').next().unwrap_or(key);
        if secrets.iter().any(|s| s == top) {
            return Err(eve_query::QueryError::FilterNotAllowed(key.clone()));
        }
        if let Bson::Array(items) = value {
            for item in items {
                if let Bson::Document(sub) = item {
                    check_secret_filters(sub, secrets)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_takes_absolute_value_and_defaults_to_one() {
        assert_eq!(parse_page(Some("-2")), 2);
        assert_eq!(parse_page(Some("0")), 1);
        assert_eq!(parse_page(Some("abc")), 1);
        assert_eq!(parse_page(None), 1);
        assert_eq!(parse_page(Some("3")), 3);
    }

    #[test]
    fn max_results_truncates_and_rejects_non_positive() {
        assert_eq!(parse_max_results(Some("2.7")), Some(2));
        assert_eq!(parse_max_results(Some("0")), None);
        assert_eq!(parse_max_results(Some("-1")), None);
        assert_eq!(parse_max_results(Some("x")), None);
        assert_eq!(parse_max_results(Some("10")), Some(10));
    }

    #[test]
    fn etags_are_normalised() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
        assert_eq!(normalize_etag("abc"), "abc");
    }

    #[test]
    fn methods_parse_case_insensitively_and_keep_unknown_names() {
        assert_eq!(HttpMethod::parse("get"), HttpMethod::Get);
        assert_eq!(HttpMethod::parse(" Patch "), HttpMethod::Patch);
        assert_eq!(
            HttpMethod::parse("brew"),
            HttpMethod::Other("BREW".to_string())
        );
        assert_eq!(HttpMethod::parse("").as_str(), "");
        assert!(HttpMethod::Head.is_read());
        assert!(!HttpMethod::Post.is_read());
    }

    #[test]
    fn conditional_headers_are_typed() {
        let c = Conditions::from_headers(
            Some(b"W/\"abc\""),
            Some("\"def\""),
            Some("Sun, 06 Dec 2026 04:00:00 GMT"),
        );
        assert_eq!(c.if_match, IfMatch::Etag("abc".into()));
        assert_eq!(c.if_none_match.as_deref(), Some("def"));
        assert_eq!(
            c.if_modified_since.map(|d| d.to_rfc3339()),
            Some("2026-12-06T04:00:00+00:00".to_string())
        );
        let blank = Conditions::from_headers(Some(b"  "), None, Some("yesterday"));
        assert_eq!(blank, Conditions::default());
    }
}
