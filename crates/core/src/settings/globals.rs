//! Global (upper-case) settings: the known keys, their types, and the
//! checked [`Settings`] with Eve's defaults (settings.md §1).

use indexmap::IndexMap;
use serde_json::Value;

use super::read::{kind_of, str_list, Ctx, Scope};
use super::server::{check_cors, check_data_layer, check_limits, check_renderers};
use super::url::parse_url_rule;
use crate::domain::{MetaNames, Method, QueryParams, Settings, UrlRule};
use eve_query::DateFormat;

/// Methods allowed on collection endpoints.
pub(crate) const RESOURCE_METHODS: &[Method] = &[Method::Get, Method::Post, Method::Delete];
/// Methods allowed on item endpoints.
pub(crate) const ITEM_METHODS: &[Method] =
    &[Method::Get, Method::Patch, Method::Put, Method::Delete];

/// Default of `ITEM_URL` / `MEDIA_URL`.
pub(crate) const DEFAULT_ITEM_URL: &str = r#"regex("[a-f0-9]{24}")"#;

/// The expected type of a setting that is type-checked but not modelled in
/// [`Settings`] (its value is read from `Settings::raw`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Bool,
    Int,
    Str,
    OptStr,
    StrList,
    Methods,
    /// A mapping or null.
    OptMap,
    /// Anything (not checked).
    Any,
    /// A URL rule string.
    Rule,
}

/// Keys handled by [`check_globals`] directly (typed reads).
const MODELLED: &[&str] = &[
    "DOMAIN",
    "DATA_LAYER",
    "POSTGRES_URI",
    "URL_PREFIX",
    "API_VERSION",
    "INFO",
    "RESOURCE_METHODS",
    "ITEM_METHODS",
    "ALLOW_OVERRIDE_HTTP_METHOD",
    "ID_FIELD",
    "LAST_UPDATED",
    "DATE_CREATED",
    "ETAG",
    "ITEMS",
    "META",
    "LINKS",
    "STATUS",
    "STATUS_OK",
    "STATUS_ERR",
    "ISSUES",
    "ERROR",
    "VERSION",
    "LATEST_VERSION",
    "VERSION_ID_SUFFIX",
    "DELETED",
    "QUERY_WHERE",
    "QUERY_SORT",
    "QUERY_PAGE",
    "QUERY_MAX_RESULTS",
    "QUERY_PROJECTION",
    "QUERY_EMBEDDED",
    "QUERY_AGGREGATION",
    "QUERY_TEXT",
    "VERSION_PARAM",
    "SHOW_DELETED_PARAM",
    "DATE_FORMAT",
    "RENDERERS",
    "JSON",
    "XML",
    "JSON_SORT_KEYS",
    "JSON_REQUEST_CONTENT_TYPES",
    "STANDARD_ERRORS",
    "DEBUG",
    "EXTRA_RESPONSE_FIELDS",
    "BANDWIDTH_SAVER",
    "JSONP_ARGUMENT",
    "HEADER_TOTAL_COUNT",
    "PAGINATION_DEFAULT",
    "VALIDATE_FILTERS",
    "MONGO_QUERY_BLACKLIST",
    "IF_MATCH",
    "ENFORCE_IF_MATCH",
    "VALIDATION_ERROR_STATUS",
    "VALIDATION_ERROR_AS_LIST",
    "UPSERT_ON_PUT",
    "AUTO_CREATE_LISTS",
    "AUTO_COLLAPSE_MULTI_KEYS",
    "CACHE_CONTROL",
    "CACHE_EXPIRES",
    "X_DOMAINS",
    "X_DOMAINS_RE",
    "X_HEADERS",
    "X_EXPOSE_HEADERS",
    "X_ALLOW_CREDENTIALS",
    "X_MAX_AGE",
    "HATEOAS",
    "SCHEMA_ENDPOINT",
    // eve-rs request limits (docs/robustness.md)
    "MAX_REQUEST_BODY",
    "MAX_JSON_DEPTH",
    "MAX_BULK_ITEMS",
    "MAX_WHERE_LENGTH",
    "MAX_WHERE_TERMS",
    "MAX_HEADER_SIZE",
    "CLIENT_TIMEOUT",
    "WRITE_TIMEOUT",
    "SHUTDOWN_TIMEOUT",
    "SORT_MEMORY_LIMIT",
    "MAX_VALIDATION_ISSUES",
    "EMBEDDED_MAX_DOCUMENTS",
    "AGGREGATION_MAX_STAGES",
    "AGGREGATION_MAX_DEPTH",
    "AGGREGATION_MEMORY_LIMIT",
    "AGGREGATION_MAX_LOOKUP",
    // media (settings/media.rs)
    "EXTENDED_MEDIA_INFO",
    "RETURN_MEDIA_AS_BASE64_STRING",
    "RETURN_MEDIA_AS_URL",
    "MEDIA_ENDPOINT",
    "MEDIA_BASE_URL",
    "MULTIPART_FORM_FIELDS_AS_JSON",
    "MEDIA_MAX_FILE_SIZE",
    "MEDIA_MAX_REQUEST_SIZE",
    "MEDIA_MAX_FILES",
    "MEDIA_MAX_INLINE_SIZE",
    "MEDIA_STORAGE",
    // resource defaults
    "ITEM_LOOKUP",
    "ITEM_LOOKUP_FIELD",
    "ITEM_URL",
    "INTERNAL_RESOURCE",
    "ALLOWED_FILTERS",
    "SORTING",
    "PAGINATION",
    "PAGINATION_LIMIT",
    "OPTIMIZE_PAGINATION_FOR_SPEED",
    "PROJECTION",
    "EMBEDDING",
    "ALLOW_UNKNOWN",
    "BULK_ENABLED",
    "SOFT_DELETE",
    "VERSIONING",
    "MERGE_NESTED_DOCUMENTS",
    "NORMALIZE_DOTTED_FIELDS",
    "NORMALIZE_ON_PATCH",
    "MONGO_QUERY_WHITELIST",
    "AUTH_FIELD",
];

/// Known settings that are only type-checked here.
const CHECKED_ONLY: &[(&str, Kind)] = &[
    ("ITEM_TITLE", Kind::Str),
    ("ITEM_CACHE_CONTROL", Kind::Str),
    ("PUBLIC_METHODS", Kind::StrList),
    ("PUBLIC_ITEM_METHODS", Kind::StrList),
    // the global provider (settings/auth.rs reads it)
    ("AUTH", Kind::Any),
    ("ALLOWED_ROLES", Kind::StrList),
    ("ALLOWED_READ_ROLES", Kind::StrList),
    ("ALLOWED_WRITE_ROLES", Kind::StrList),
    ("ALLOWED_ITEM_ROLES", Kind::StrList),
    ("ALLOWED_ITEM_READ_ROLES", Kind::StrList),
    ("ALLOWED_ITEM_WRITE_ROLES", Kind::StrList),
    ("VERSIONS", Kind::Str),
    ("VERSION_DIFF_INCLUDE", Kind::StrList),
    ("OPLOG", Kind::Bool),
    ("OPLOG_NAME", Kind::Str),
    ("OPLOG_METHODS", Kind::Methods),
    ("OPLOG_ENDPOINT", Kind::OptStr),
    ("OPLOG_AUDIT", Kind::Bool),
    ("OPLOG_CHANGE_METHODS", Kind::Methods),
    ("OPLOG_RETURN_EXTRA_FIELD", Kind::Bool),
    ("TRUSTED_PROXIES", Kind::Any),
    // read by settings/media.rs, type-checked here
    ("MEDIA_URL", Kind::Rule),
    ("ALLOW_CUSTOM_FIELDS_IN_GEOJSON", Kind::Bool),
    // set by Eve itself from MONGO_OPTIONS (flask-pymongo compatibility)
    ("MONGO_CONNECT", Kind::Bool),
];

/// Connection settings of a MongoDB prefix (`MONGO_HOST`, `USERS_HOST`, ...).
const MONGO_SUFFIXES: &[(&str, Kind)] = &[
    ("URI", Kind::Str),
    ("HOST", Kind::Str),
    ("PORT", Kind::Int),
    ("DBNAME", Kind::Str),
    ("USERNAME", Kind::OptStr),
    ("PASSWORD", Kind::OptStr),
    ("AUTH_SOURCE", Kind::OptStr),
    ("AUTH_MECHANISM", Kind::OptStr),
    ("AUTH_MECHANISM_PROPERTIES", Kind::Any),
    ("REPLICA_SET", Kind::OptStr),
    ("OPTIONS", Kind::OptMap),
    ("WRITE_CONCERN", Kind::OptMap),
    ("DOCUMENT_CLASS", Kind::Any),
];

/// Flask's own settings: accepted, not applicable, ignored.
const FLASK_KEYS: &[&str] = &[
    "APPLICATION_ROOT",
    "ENV",
    "EXPLAIN_TEMPLATE_LOADING",
    "JSONIFY_MIMETYPE",
    "JSONIFY_PRETTYPRINT_REGULAR",
    "JSON_AS_ASCII",
    "MAX_CONTENT_LENGTH",
    "MAX_COOKIE_SIZE",
    "MAX_FORM_MEMORY_SIZE",
    "MAX_FORM_PARTS",
    "PERMANENT_SESSION_LIFETIME",
    "PREFERRED_URL_SCHEME",
    "PRESERVE_CONTEXT_ON_EXCEPTION",
    "PROPAGATE_EXCEPTIONS",
    "PROVIDE_AUTOMATIC_OPTIONS",
    "SECRET_KEY",
    "SECRET_KEY_FALLBACKS",
    "SEND_FILE_MAX_AGE_DEFAULT",
    "SERVER_NAME",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_PARTITIONED",
    "SESSION_COOKIE_PATH",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_SECURE",
    "SESSION_REFRESH_EACH_REQUEST",
    "TEMPLATES_AUTO_RELOAD",
    "TESTING",
    "TRAP_BAD_REQUEST_ERRORS",
    "TRAP_HTTP_EXCEPTIONS",
    "TRUSTED_HOSTS",
    "USE_X_SENDFILE",
];

/// Global values that resources inherit but [`Settings`] does not model.
#[derive(Debug, Clone)]
pub(crate) struct ResourceDefaults {
    pub item_lookup: bool,
    pub item_lookup_field: String,
    pub item_url: UrlRule,
    pub internal_resource: bool,
    pub allowed_filters: Vec<String>,
    pub sorting: bool,
    pub pagination: bool,
    pub pagination_limit: u64,
    pub optimize_pagination_for_speed: bool,
    pub projection: bool,
    pub embedding: bool,
    pub allow_unknown: bool,
    pub bulk_enabled: bool,
    pub soft_delete: bool,
    pub versioning: bool,
    pub merge_nested_documents: bool,
    pub normalize_dotted_fields: bool,
    pub normalize_on_patch: bool,
    pub mongo_query_whitelist: Vec<String>,
    pub auth_field: Option<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `true` when `v` is a bool `true` or a mapping (an `allow_unknown` rules
/// mapping counts as true); problem otherwise.
pub(crate) fn allow_unknown(ctx: &mut Ctx, scope: &Scope<'_>, key: &str, default: bool) -> bool {
    match scope.get(key) {
        None => default,
        Some(Value::Bool(b)) => *b,
        Some(Value::Object(_)) => true,
        Some(v) => {
            ctx.problem(
                scope.path(key),
                format!(
                    "expected a boolean or a rules mapping, found {}",
                    kind_of(v)
                ),
            );
            default
        }
    }
}

/// Checks one value against a [`Kind`].
pub(crate) fn check_kind(ctx: &mut Ctx, path: &str, kind: Kind, v: &Value) {
    let ok = match (kind, v) {
        (Kind::Any, _) => true,
        (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Int, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Kind::Str, Value::String(_)) => true,
        (Kind::OptStr, Value::String(_) | Value::Null) => true,
        (Kind::OptMap, Value::Object(_) | Value::Null) => true,
        (Kind::StrList, _) => {
            str_list(ctx, path, v);
            true
        }
        (Kind::Methods, _) => {
            let all = [
                Method::Get,
                Method::Post,
                Method::Patch,
                Method::Put,
                Method::Delete,
            ];
            super::read::methods(ctx, path, v, &all);
            true
        }
        (Kind::Rule, Value::String(s)) => {
            if let Err(e) = parse_url_rule(s) {
                ctx.problem(path, e);
            }
            true
        }
        _ => false,
    };
    if !ok {
        let expected = match kind {
            Kind::Bool => "a boolean (true or false)",
            Kind::Int => "an integer",
            Kind::Str | Kind::Rule => "a string",
            Kind::OptStr => "a string or null",
            Kind::OptMap => "a mapping or null",
            Kind::StrList | Kind::Methods | Kind::Any => "a list of strings",
        };
        ctx.problem(path, format!("expected {expected}, found {}", kind_of(v)));
    }
}

/// Classifies and type-checks the top-level keys that are not modelled;
/// warns about unknown ones.
fn check_other_keys(ctx: &mut Ctx, raw: &IndexMap<String, Value>) {
    for (key, value) in raw {
        let k = key.as_str();
        if MODELLED.contains(&k) {
            continue;
        }
        if let Some((_, kind)) = CHECKED_ONLY.iter().find(|(name, _)| *name == k) {
            check_kind(ctx, k, *kind, value);
            continue;
        }
        if super::rate_limit::owns(k) {
            // Read and checked by `rate_limit::read`.
            continue;
        }
        if k == "VALIDATE_FILTERING" {
            ctx.warn(
                "VALIDATE_FILTERING is ignored (as by Eve): the setting is named VALIDATE_FILTERS",
            );
            continue;
        }
        if FLASK_KEYS.contains(&k) {
            ctx.warn(format!(
                "{k} is a Flask setting; it does not apply here and is ignored"
            ));
            continue;
        }
        if let Some(kind) = mongo_family(k) {
            if k.ends_with("_DOCUMENT_CLASS") {
                ctx.warn(format!("{k} is Python-specific and is ignored"));
            } else {
                check_kind(ctx, k, kind, value);
            }
            continue;
        }
        if k.chars().any(|c| c.is_ascii_lowercase()) {
            ctx.warn(format!(
                "unknown setting '{k}' is ignored (top-level setting names are upper case)"
            ));
        } else {
            ctx.warn(format!("unknown setting '{k}' is ignored (a typo?)"));
        }
    }
}

/// The expected kind of `<PREFIX>_<SUFFIX>`, a MongoDB connection setting
/// under any prefix (`MONGO`, a resource's `mongo_prefix`, or one chosen
/// at run time by an authentication provider).
fn mongo_family(key: &str) -> Option<Kind> {
    MONGO_SUFFIXES.iter().find_map(|(suffix, kind)| {
        let prefix = key.strip_suffix(suffix)?.strip_suffix('_')?;
        let valid = !prefix.is_empty()
            && prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        valid.then_some(*kind)
    })
}

fn status_code(ctx: &mut Ctx, path: &str, v: &Value) -> Option<u16> {
    match v.as_u64().filter(|n| (100..=599).contains(n)) {
        Some(n) => Some(n as u16),
        None => {
            ctx.problem(
                path,
                format!("expected an HTTP status code (100-599), found {v}"),
            );
            None
        }
    }
}

/// Checks the global settings. Returns the checked [`Settings`] (with
/// defaults for any wrong value, the problem recorded) and the global
/// values that resources inherit.
pub(crate) fn check_globals(
    ctx: &mut Ctx,
    raw: &IndexMap<String, Value>,
) -> (Settings, ResourceDefaults) {
    let g = Scope {
        map: raw,
        prefix: String::new(),
    };
    check_other_keys(ctx, raw);

    let id_field = g.string(ctx, "ID_FIELD", "_id");
    let meta = MetaNames {
        last_updated: g.string(ctx, "LAST_UPDATED", "_updated"),
        date_created: g.string(ctx, "DATE_CREATED", "_created"),
        etag: g.string(ctx, "ETAG", "_etag"),
        items: g.string(ctx, "ITEMS", "_items"),
        meta: g.string(ctx, "META", "_meta"),
        links: g.string(ctx, "LINKS", "_links"),
        status: g.string(ctx, "STATUS", "_status"),
        status_ok: g.string(ctx, "STATUS_OK", "OK"),
        status_err: g.string(ctx, "STATUS_ERR", "ERR"),
        issues: g.string(ctx, "ISSUES", "_issues"),
        error: g.string(ctx, "ERROR", "_error"),
        version: g.string(ctx, "VERSION", "_version"),
        latest_version: g.string(ctx, "LATEST_VERSION", "_latest_version"),
        version_id_suffix: g.string(ctx, "VERSION_ID_SUFFIX", "_document"),
        deleted: g.string(ctx, "DELETED", "_deleted"),
        id_field: id_field.clone(),
    };
    let params = QueryParams {
        where_: g.string(ctx, "QUERY_WHERE", "where"),
        sort: g.string(ctx, "QUERY_SORT", "sort"),
        page: g.string(ctx, "QUERY_PAGE", "page"),
        max_results: g.string(ctx, "QUERY_MAX_RESULTS", "max_results"),
        projection: g.string(ctx, "QUERY_PROJECTION", "projection"),
        embedded: g.string(ctx, "QUERY_EMBEDDED", "embedded"),
        aggregation: g.string(ctx, "QUERY_AGGREGATION", "aggregate"),
        version: g.string(ctx, "VERSION_PARAM", "version"),
        show_deleted: g.string(ctx, "SHOW_DELETED_PARAM", "show_deleted"),
        text: g.string(ctx, "QUERY_TEXT", "q"),
    };

    let date_format = match g.get("DATE_FORMAT") {
        None => DateFormat::rfc1123(),
        Some(Value::String(p)) => DateFormat::new(p).unwrap_or_else(|e| {
            ctx.problem("DATE_FORMAT", e);
            DateFormat::rfc1123()
        }),
        Some(v) => {
            ctx.problem(
                "DATE_FORMAT",
                format!("expected a strftime pattern string, found {}", kind_of(v)),
            );
            DateFormat::rfc1123()
        }
    };

    let standard_errors = match g.get("STANDARD_ERRORS") {
        None => vec![400, 401, 403, 404, 405, 406, 409, 410, 412, 422, 428, 429],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| status_code(ctx, &format!("STANDARD_ERRORS.{i}"), v))
            .collect(),
        Some(v) => {
            ctx.problem(
                "STANDARD_ERRORS",
                format!("expected a list of status codes, found {}", kind_of(v)),
            );
            Vec::new()
        }
    };
    let validation_error_status = match g.get("VALIDATION_ERROR_STATUS") {
        None => 422,
        Some(v) => status_code(ctx, "VALIDATION_ERROR_STATUS", v).unwrap_or(422),
    };

    let mongo_query_blacklist = g.str_list(
        ctx,
        "MONGO_QUERY_BLACKLIST",
        &strings(&["$where", "$regex"]),
        true,
    );
    if g.get("MONGO_QUERY_BLACKLIST").is_some() {
        for op in ["$where", "$regex"] {
            if !mongo_query_blacklist.iter().any(|o| o == op) {
                let why = if op == "$where" {
                    "clients can run server-side JavaScript"
                } else {
                    "clients can submit expensive patterns (ReDoS, full scans)"
                };
                ctx.warn(format!(
                    "MONGO_QUERY_BLACKLIST does not contain {op}: {why}"
                ));
            }
        }
    }

    let item_url = match g.get("ITEM_URL") {
        None => parse_url_rule(DEFAULT_ITEM_URL).expect("default ITEM_URL"),
        Some(Value::String(s)) => parse_url_rule(s).unwrap_or_else(|e| {
            ctx.problem("ITEM_URL", e);
            UrlRule::String
        }),
        Some(v) => {
            ctx.problem(
                "ITEM_URL",
                format!("expected a URL rule string, found {}", kind_of(v)),
            );
            UrlRule::String
        }
    };

    let defaults = ResourceDefaults {
        item_lookup: g.bool(ctx, "ITEM_LOOKUP", true),
        item_lookup_field: g.string(ctx, "ITEM_LOOKUP_FIELD", &id_field),
        item_url,
        internal_resource: g.bool(ctx, "INTERNAL_RESOURCE", false),
        allowed_filters: g.str_list(ctx, "ALLOWED_FILTERS", &strings(&["*"]), false),
        sorting: g.bool(ctx, "SORTING", true),
        pagination: g.bool(ctx, "PAGINATION", true),
        pagination_limit: g.u64(ctx, "PAGINATION_LIMIT", 50),
        optimize_pagination_for_speed: g.bool(ctx, "OPTIMIZE_PAGINATION_FOR_SPEED", false),
        projection: g.bool(ctx, "PROJECTION", true),
        embedding: g.bool(ctx, "EMBEDDING", true),
        allow_unknown: allow_unknown(ctx, &g, "ALLOW_UNKNOWN", false),
        bulk_enabled: g.bool(ctx, "BULK_ENABLED", true),
        soft_delete: g.bool(ctx, "SOFT_DELETE", false),
        versioning: g.bool(ctx, "VERSIONING", false),
        merge_nested_documents: g.bool(ctx, "MERGE_NESTED_DOCUMENTS", true),
        normalize_dotted_fields: g.bool(ctx, "NORMALIZE_DOTTED_FIELDS", true),
        normalize_on_patch: g.bool(ctx, "NORMALIZE_ON_PATCH", true),
        mongo_query_whitelist: g.str_list(ctx, "MONGO_QUERY_WHITELIST", &[], true),
        auth_field: g.opt_string(ctx, "AUTH_FIELD", None),
    };

    let data_layer = check_data_layer(ctx, &g);
    let (mongo, mongo_routes) = super::mongo::check_mongo(ctx, &g);
    let settings = Settings {
        data_layer,
        auth: super::auth::read_auth(ctx, raw),
        access: super::auth::global_access(ctx, &g),
        mongo,
        mongo_routes,
        url_prefix: g
            .string(ctx, "URL_PREFIX", "")
            .trim_matches('/')
            .to_string(),
        api_version: g
            .string(ctx, "API_VERSION", "")
            .trim_matches('/')
            .to_string(),
        info: g.opt_string(ctx, "INFO", None),
        resource_methods: g.methods(ctx, "RESOURCE_METHODS", RESOURCE_METHODS, &[Method::Get]),
        item_methods: g.methods(ctx, "ITEM_METHODS", ITEM_METHODS, &[Method::Get]),
        allow_override_http_method: g.bool(ctx, "ALLOW_OVERRIDE_HTTP_METHOD", true),
        meta,
        params,
        date_format,
        renderers: check_renderers(ctx, &g),
        json_sort_keys: g.bool(ctx, "JSON_SORT_KEYS", false),
        json_request_content_types: g
            .str_list(
                ctx,
                "JSON_REQUEST_CONTENT_TYPES",
                &strings(&["application/json"]),
                false,
            )
            .into_iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .collect(),
        standard_errors,
        debug: g.bool(ctx, "DEBUG", false),
        extra_response_fields: g.str_list(ctx, "EXTRA_RESPONSE_FIELDS", &[], true),
        bandwidth_saver: g.bool(ctx, "BANDWIDTH_SAVER", true),
        jsonp_argument: g.opt_string(ctx, "JSONP_ARGUMENT", None),
        header_total_count: g.string(ctx, "HEADER_TOTAL_COUNT", "X-Total-Count"),
        pagination_default: g.u64(ctx, "PAGINATION_DEFAULT", 25),
        validate_filters: g.bool(ctx, "VALIDATE_FILTERS", false),
        mongo_query_blacklist,
        if_match: g.bool(ctx, "IF_MATCH", true),
        enforce_if_match: g.bool(ctx, "ENFORCE_IF_MATCH", true),
        validation_error_status,
        validation_error_as_list: g.bool(ctx, "VALIDATION_ERROR_AS_LIST", false),
        upsert_on_put: g.bool(ctx, "UPSERT_ON_PUT", true),
        auto_create_lists: g.bool(ctx, "AUTO_CREATE_LISTS", false),
        auto_collapse_multi_keys: g.bool(ctx, "AUTO_COLLAPSE_MULTI_KEYS", false),
        cache_control: g.string(ctx, "CACHE_CONTROL", ""),
        cache_expires: g.i64(ctx, "CACHE_EXPIRES", 0),
        cors: check_cors(ctx, &g),
        hateoas: g.bool(ctx, "HATEOAS", true),
        schema_endpoint: g.opt_string(ctx, "SCHEMA_ENDPOINT", None),
        limits: check_limits(ctx, &g),
        versions: super::versioning::read(ctx, raw),
        embedded_max_documents: super::embedding::max_documents(ctx, &g),
        oplog: super::oplog::read(ctx, raw),
        trusted_proxies: super::oplog::trusted_proxies(ctx, raw),
        rate_limit: super::rate_limit::read(ctx, raw),
        media: super::media::read(ctx, &g),
    };
    (settings, defaults)
}
