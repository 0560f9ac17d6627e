//! The checked settings model: every global setting and every resource with
//! defaults applied and values validated. Built once at start-up by
//! [`crate::settings::load`] (from a file) or [`crate::settings::check`]
//! (from a raw value), then shared read-only as `Arc<Domain>`.
//!
//! Names follow Eve: wire names (meta fields, query parameters) are read
//! from here, never written as literals elsewhere.

use std::sync::Arc;

use bson::Document;
use eve_query::{DateFormat, Filter, SortSpec};
use eve_schema::Schema;
use eve_store::IndexSpec;
use indexmap::IndexMap;
use regex::Regex;

/// HTTP methods that settings can enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// GET (implies HEAD).
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// PUT.
    Put,
    /// DELETE.
    Delete,
}

impl Method {
    /// The upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// The whole checked configuration.
#[derive(Debug)]
pub struct Domain {
    /// Global settings.
    pub settings: Settings,
    /// Resources, in the order of the settings file (internal ones included).
    pub resources: IndexMap<String, Arc<Resource>>,
    /// Warnings found while checking (unknown keys, risky choices), logged
    /// at start-up and printed by `eve-rs check`.
    pub warnings: Vec<String>,
    /// Every collection (`datasource.source`) with its indexes: the union
    /// of the indexes of every resource stored in it, in file order. The
    /// store is prepared from this, one collection at a time, so resources
    /// sharing a collection never drop each other's indexes.
    pub collections: IndexMap<String, Vec<IndexSpec>>,
}

/// Names of the automatic and envelope fields (all configurable).
#[derive(Debug, Clone)]
pub struct MetaNames {
    /// `ID_FIELD` (global default for resources' `id_field`), default `_id`.
    pub id_field: String,
    /// `LAST_UPDATED`, default `_updated`.
    pub last_updated: String,
    /// `DATE_CREATED`, default `_created`.
    pub date_created: String,
    /// `ETAG`, default `_etag`.
    pub etag: String,
    /// `ITEMS`, default `_items`.
    pub items: String,
    /// `META`, default `_meta`.
    pub meta: String,
    /// `LINKS`, default `_links`.
    pub links: String,
    /// `STATUS`, default `_status`.
    pub status: String,
    /// `STATUS_OK`, default `OK`.
    pub status_ok: String,
    /// `STATUS_ERR`, default `ERR`.
    pub status_err: String,
    /// `ISSUES`, default `_issues`.
    pub issues: String,
    /// `ERROR`, default `_error`.
    pub error: String,
    /// `VERSION`, default `_version`.
    pub version: String,
    /// `LATEST_VERSION`, default `_latest_version`.
    pub latest_version: String,
    /// `VERSION_ID_SUFFIX`, default `_document`.
    pub version_id_suffix: String,
    /// `DELETED`, default `_deleted`.
    pub deleted: String,
}

/// Query parameter names (`QUERY_*` settings and friends).
#[derive(Debug, Clone)]
pub struct QueryParams {
    /// `QUERY_WHERE`, default `where`.
    pub where_: String,
    /// `QUERY_SORT`, default `sort`.
    pub sort: String,
    /// `QUERY_PAGE`, default `page`.
    pub page: String,
    /// `QUERY_MAX_RESULTS`, default `max_results`.
    pub max_results: String,
    /// `QUERY_PROJECTION`, default `projection`.
    pub projection: String,
    /// `QUERY_EMBEDDED`, default `embedded`.
    pub embedded: String,
    /// `QUERY_AGGREGATION`, default `aggregate`.
    pub aggregation: String,
    /// `VERSION_PARAM`, default `version`.
    pub version: String,
    /// `SHOW_DELETED_PARAM`, default `show_deleted`.
    pub show_deleted: String,
    /// `QUERY_TEXT`, default `q`: the full-text search of resources with
    /// `text_query` (docs/search.md).
    pub text: String,
}

/// CORS settings (`X_*`).
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// `X_DOMAINS`: allowed origins (`*` allowed); `None` when unset.
    pub domains: Option<Vec<String>>,
    /// `X_DOMAINS_RE`: compiled origin regexes (invalid ones dropped with a
    /// warning); matched at the start of the origin, like Python's `re.match`.
    pub domains_re: Vec<Regex>,
    /// `X_DOMAINS_RE` is a non-empty string or list, even when none of its
    /// patterns compiled: CORS is then on and no origin matches (as Eve).
    pub domains_re_set: bool,
    /// `X_HEADERS`.
    pub headers: Vec<String>,
    /// `X_EXPOSE_HEADERS`.
    pub expose_headers: Vec<String>,
    /// `X_ALLOW_CREDENTIALS` is exactly `true`.
    pub allow_credentials: bool,
    /// `X_MAX_AGE`, default 21600.
    pub max_age: i64,
}

impl Cors {
    /// CORS is active when `X_DOMAINS` or `X_DOMAINS_RE` is set.
    pub fn is_enabled(&self) -> bool {
        self.domains.is_some() || self.domains_re_set
    }
}

/// A built-in or registered renderer, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RendererName {
    /// `json` (alias `eve.render.JSONRenderer`).
    Json,
    /// `xml` (alias `eve.render.XMLRenderer`).
    Xml,
}

/// Which data layer serves the API (`DATA_LAYER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataLayerKind {
    /// The embedded durable store (default).
    Embedded,
    /// MongoDB (`MONGO_*` settings).
    Mongo,
    /// PostgreSQL (`POSTGRES_URI`).
    Postgres {
        /// Connection URI.
        uri: String,
    },
}

/// The `MONGO_*` connection settings (features.md §42.1), as written:
/// the MongoDB layer applies Eve's defaults and precedence (a URI wins).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MongoSettings {
    /// `MONGO_URI`.
    pub uri: Option<String>,
    /// `MONGO_HOST`.
    pub host: Option<String>,
    /// `MONGO_PORT`.
    pub port: Option<u16>,
    /// `MONGO_DBNAME`.
    pub dbname: Option<String>,
    /// `MONGO_USERNAME`.
    pub username: Option<String>,
    /// `MONGO_PASSWORD`.
    pub password: Option<String>,
    /// `MONGO_AUTH_SOURCE`.
    pub auth_source: Option<String>,
    /// `MONGO_AUTH_MECHANISM`.
    pub auth_mechanism: Option<String>,
    /// `MONGO_REPLICA_SET`.
    pub replica_set: Option<String>,
    /// `MONGO_OPTIONS.appname` (`appName`).
    pub app_name: Option<String>,
    /// `MONGO_WRITE_CONCERN.w`: a number of nodes (at least 1) or a mode
    /// name (`majority`).
    pub write_w: Option<MongoWriteAck>,
    /// `MONGO_WRITE_CONCERN.j` (or `fsync`).
    pub write_journal: Option<bool>,
    /// `MONGO_WRITE_CONCERN.wtimeout`, in milliseconds.
    pub write_timeout_ms: Option<u64>,
}

/// Where the MongoDB layer sends each resource that does not simply use
/// the `MONGO_*` connection and `MONGO_WRITE_CONCERN` (features.md §42.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MongoRoutes {
    /// The connection settings of each other prefix a resource names
    /// (`<PREFIX>_URI`, `<PREFIX>_HOST`, …), by prefix; never `MONGO`.
    pub prefixes: std::collections::BTreeMap<String, MongoSettings>,
    /// By resource name: the resources with a `mongo_prefix` other than
    /// `MONGO` or with their own `mongo_write_concern`.
    pub resources: std::collections::BTreeMap<String, MongoResource>,
}

/// One resource's MongoDB database prefix and write concern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MongoResource {
    /// `mongo_prefix`, `MONGO` when not written.
    pub prefix: String,
    /// `mongo_write_concern`, replacing the prefix's write concern for the
    /// resource's writes.
    pub write_concern: Option<MongoWriteConcern>,
}

/// A write concern as written (`MONGO_WRITE_CONCERN`, `mongo_write_concern`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MongoWriteConcern {
    /// `w`: a number of nodes (at least 1) or a mode name.
    pub w: Option<MongoWriteAck>,
    /// `j` (or `fsync`).
    pub journal: Option<bool>,
    /// `wtimeout`, in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// The `w` of `MONGO_WRITE_CONCERN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MongoWriteAck {
    /// A number of nodes.
    Nodes(u32),
    /// `majority` or a tag set name.
    Named(String),
}

/// The password and a URI (which may hold one) never reach logs.
impl std::fmt::Debug for MongoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoSettings")
            .field("uri", &self.uri.as_ref().map(|_| "…"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("replica_set", &self.replica_set)
            .finish_non_exhaustive()
    }
}

/// Global settings (upper-case keys), checked, with Eve's defaults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATA_LAYER`.
    pub data_layer: DataLayerKind,
    /// `AUTH`: the global provider and the built-ins' settings (none: no
    /// global provider).
    pub auth: Option<crate::auth::AuthSettings>,
    /// `PUBLIC_METHODS`, `PUBLIC_ITEM_METHODS` and `ALLOWED_*ROLES`.
    pub access: crate::auth::AccessRules,
    /// The `MONGO_*` connection settings (used when `data_layer` is
    /// MongoDB).
    pub mongo: MongoSettings,
    /// The other databases (`mongo_prefix`) and the per-resource write
    /// concerns (`mongo_write_concern`) of the MongoDB layer.
    pub mongo_routes: MongoRoutes,
    /// `URL_PREFIX`, without slashes, default empty.
    pub url_prefix: String,
    /// `API_VERSION`, without slashes, default empty.
    pub api_version: String,
    /// `INFO`: key of the info block on the home page, default none.
    pub info: Option<String>,
    /// `RESOURCE_METHODS`, default `[GET]`.
    pub resource_methods: Vec<Method>,
    /// `ITEM_METHODS`, default `[GET]`.
    pub item_methods: Vec<Method>,
    /// `ALLOW_OVERRIDE_HTTP_METHOD`, default true.
    pub allow_override_http_method: bool,
    /// Meta and envelope field names.
    pub meta: MetaNames,
    /// Query parameter names.
    pub params: QueryParams,
    /// `DATE_FORMAT`, default RFC 1123.
    pub date_format: DateFormat,
    /// `RENDERERS` in preference order (never empty).
    pub renderers: Vec<RendererName>,
    /// `JSON_SORT_KEYS`, default false.
    pub json_sort_keys: bool,
    /// `JSON_REQUEST_CONTENT_TYPES`, default `[application/json]`, lower case.
    pub json_request_content_types: Vec<String>,
    /// `STANDARD_ERRORS`.
    pub standard_errors: Vec<u16>,
    /// `DEBUG`, default false.
    pub debug: bool,
    /// `EXTRA_RESPONSE_FIELDS` (resource default).
    pub extra_response_fields: Vec<String>,
    /// `BANDWIDTH_SAVER`, default true.
    pub bandwidth_saver: bool,
    /// `JSONP_ARGUMENT`, default none.
    pub jsonp_argument: Option<String>,
    /// `HEADER_TOTAL_COUNT`, default `X-Total-Count`.
    pub header_total_count: String,
    /// `PAGINATION_DEFAULT`, default 25.
    pub pagination_default: u64,
    /// `VALIDATE_FILTERS`, default false.
    pub validate_filters: bool,
    /// `MONGO_QUERY_BLACKLIST`, default `[$where, $regex]`.
    pub mongo_query_blacklist: Vec<String>,
    /// `IF_MATCH`, default true.
    pub if_match: bool,
    /// `ENFORCE_IF_MATCH`, default true.
    pub enforce_if_match: bool,
    /// `VALIDATION_ERROR_STATUS`, default 422.
    pub validation_error_status: u16,
    /// `VALIDATION_ERROR_AS_LIST`, default false.
    pub validation_error_as_list: bool,
    /// `UPSERT_ON_PUT`, default true.
    pub upsert_on_put: bool,
    /// `AUTO_CREATE_LISTS`, default false.
    pub auto_create_lists: bool,
    /// `AUTO_COLLAPSE_MULTI_KEYS`, default false.
    pub auto_collapse_multi_keys: bool,
    /// `CACHE_CONTROL` (global; for home and errors without a resource).
    pub cache_control: String,
    /// `CACHE_EXPIRES` seconds (global).
    pub cache_expires: i64,
    /// CORS.
    pub cors: Cors,
    /// `HATEOAS`, default true.
    pub hateoas: bool,
    /// `SCHEMA_ENDPOINT`, default none.
    pub schema_endpoint: Option<String>,
    /// Request limits (eve-rs extensions, docs/robustness.md).
    pub limits: RequestLimits,
    /// `VERSIONS` and `VERSION_DIFF_INCLUDE` (document versioning, §22).
    pub versions: crate::settings::VersionSettings,
    /// `EMBEDDED_MAX_DOCUMENTS`: the most documents one response embeds
    /// (an eve-rs extension, docs/embedding.md), default 1000; a request
    /// that would embed more gets `400`.
    pub embedded_max_documents: usize,
    /// The operations log settings (`OPLOG*`, §39).
    pub oplog: crate::settings::OplogSettings,
    /// `TRUSTED_PROXIES` (an eve-rs setting, docs/oplog.md): the peers
    /// whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<crate::proxy::Cidr>,
    /// Rate limits and the per-client cap on requests in flight (§33,
    /// docs/rate-limiting.md).
    pub rate_limit: crate::settings::RateLimitSettings,
    /// Media settings (`MEDIA_*`, `RETURN_MEDIA_AS_*`, docs/media.md).
    pub media: crate::settings::MediaSettings,
}

/// Limits on what one request may ask of the server. These settings are
/// eve-rs extensions (Eve has none); docs/robustness.md lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// `MAX_REQUEST_BODY`: largest request body in bytes, default 16 MiB;
    /// larger bodies get `413`.
    pub max_request_body: u64,
    /// `MAX_JSON_DEPTH`: deepest nesting of arrays and objects in a JSON
    /// body, dotted keys counting one level per segment, default 64, at
    /// most [`JSON_DEPTH_CEILING`]; deeper bodies get `400`.
    pub max_json_depth: usize,
    /// `MAX_BULK_ITEMS`: most documents in one bulk POST, default 1000;
    /// more get `400`.
    pub max_bulk_items: usize,
    /// `MAX_WHERE_LENGTH`: longest `where` argument in bytes, default
    /// 32768; longer ones get `400`.
    pub max_where_length: usize,
    /// `MAX_WHERE_TERMS`: most keys and list elements in a parsed `where`
    /// (a measure of its complexity), default 500; more get `400`.
    pub max_where_terms: usize,
    /// `MAX_HEADER_SIZE`: largest request head (request line and headers)
    /// in bytes, default 64 KiB, at least 8 KiB; larger heads get `431`.
    pub max_header_size: usize,
    /// `CLIENT_TIMEOUT`: seconds a client may take to send a complete
    /// request head, counted from the accept (or from the previous answer
    /// on a kept-alive connection), and again its body, default 30; a slow
    /// body gets `408`, a slow head a closed connection. A connection with
    /// no request in progress for this long (HTTP/1.1 keep-alive, HTTP/2)
    /// is closed.
    pub client_timeout: u64,
    /// `WRITE_TIMEOUT`: seconds a write to the client may make no
    /// progress (a client that does not read its answer), and an HTTP/2
    /// keep-alive ping may stay unanswered, default 30; then the
    /// connection is closed.
    pub write_timeout: u64,
    /// `SHUTDOWN_TIMEOUT`: seconds a graceful shutdown waits for the
    /// requests in flight, default 30; then the remaining connections are
    /// closed.
    pub shutdown_timeout: u64,
    /// `SORT_MEMORY_LIMIT`: bytes of stored documents an in-memory sort
    /// may hold at once, default 100 MiB (MongoDB's blocking-sort limit);
    /// a read whose sort needs more (a deep page, or no limit, over large
    /// matches with no index on the sort) gets `400`. A sort keeps only
    /// `skip + limit` documents, so a small page never reaches it.
    pub sort_memory_limit: u64,
    /// `MAX_VALIDATION_ISSUES`: most validation issues reported for one
    /// document, default 100; the first ones in Eve's order are reported.
    pub max_validation_issues: usize,
    /// `AGGREGATION_MAX_STAGES`: most stages of an aggregation pipeline
    /// after `?aggregate` substitution (paging not counted), default 100;
    /// more get `400` (docs/aggregation.md).
    pub aggregation_max_stages: usize,
    /// `AGGREGATION_MAX_DEPTH`: deepest nesting (mappings and lists) of
    /// an aggregation pipeline after substitution, default 32, at most
    /// [`JSON_DEPTH_CEILING`]; deeper ones get `400`.
    pub aggregation_max_depth: usize,
    /// `AGGREGATION_MEMORY_LIMIT`: bytes the in-memory aggregation engine
    /// (embedded and PostgreSQL layers) may hold in one blocking stage
    /// (`$group`, `$sort`, `$facet`, ...), the documents it reads and its
    /// result, default 100 MiB; more gets `400`. MongoDB applies its own
    /// limits.
    pub aggregation_memory_limit: u64,
    /// `AGGREGATION_MAX_LOOKUP`: most documents one `$lookup` joins to one
    /// document on the in-memory engine, default 1000; more gets `400`.
    pub aggregation_max_lookup: usize,
}

/// The deepest nesting (arrays and objects) a request body may have and a
/// document may be stored with, whatever `MAX_JSON_DEPTH` says: settings
/// above it are refused, and the store refuses and will not read deeper
/// documents.
pub const JSON_DEPTH_CEILING: usize = eve_store::MAX_DOCUMENT_DEPTH;

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_request_body: 16 * 1024 * 1024,
            max_json_depth: 64,
            max_bulk_items: 1000,
            max_where_length: 32 * 1024,
            max_where_terms: 500,
            max_header_size: 64 * 1024,
            client_timeout: 30,
            write_timeout: 30,
            shutdown_timeout: 30,
            sort_memory_limit: 100 * 1024 * 1024,
            max_validation_issues: 100,
            aggregation_max_stages: 100,
            aggregation_max_depth: 32,
            aggregation_memory_limit: 100 * 1024 * 1024,
            aggregation_max_lookup: 1000,
        }
    }
}

/// One segment of a URL rule (`url`, `item_url`, `additional_lookup.url`).
#[derive(Debug, Clone)]
pub enum UrlRule {
    /// `regex("<pattern>")`: the whole segment(s) must match (anchored).
    Regex(Regex),
    /// `int`: digits only; the captured value is an integer.
    Int,
    /// `float`: a decimal number.
    Float,
    /// `path`: one or more segments, slashes included.
    Path,
    /// `string` / default converter: any non-empty segment without `/`.
    String,
}

/// A piece of a resource `url`.
#[derive(Debug, Clone)]
pub enum UrlPart {
    /// A literal path segment.
    Literal(String),
    /// `<regex("..."):field>`: a sub-resource variable.
    Var {
        /// How the segment is matched.
        rule: UrlRule,
        /// Field the captured value filters on and is written into.
        field: String,
    },
}

/// `datasource` of a resource.
#[derive(Debug, Clone)]
pub struct Datasource {
    /// `source`: the collection, default the resource name.
    pub source: String,
    /// `filter` as written: a MongoDB query ANDed into every read and edit.
    pub filter: Option<Document>,
    /// `filter` compiled at start-up (values converted as a client `where`
    /// is: dates, ObjectIds): what every request merges, never re-parsed.
    pub compiled_filter: Option<Filter>,
    /// `projection` as written (field → 0/1).
    pub projection: Option<Document>,
    /// `default_sort`.
    pub default_sort: Option<SortSpec>,
    /// `aggregation` (served by a later issue, #19; refused until then).
    pub aggregation: Option<Aggregation>,
}

/// `additional_lookup`.
#[derive(Debug, Clone)]
pub struct AdditionalLookup {
    /// URL rule for the value.
    pub rule: UrlRule,
    /// Field looked up.
    pub field: String,
}

/// One resource of `DOMAIN`, with every resource-level setting resolved
/// (own value, else the global one, else Eve's default).
#[derive(Debug)]
pub struct Resource {
    /// Resource name (key in `DOMAIN`).
    pub name: String,
    /// `url` as written (no leading/trailing slash).
    pub url: String,
    /// `url` split into parts.
    pub url_parts: Vec<UrlPart>,
    /// `resource_title` (the resource name when `url` has variables).
    pub resource_title: String,
    /// `item_title`.
    pub item_title: String,
    /// The compiled `schema` (with `id_field` added when missing).
    pub schema: Schema,
    /// The schema as written (see [`Resource::schema_as_written`]).
    pub(crate) schema_def: IndexMap<String, serde_json::Value>,
    /// `datasource`.
    pub datasource: Datasource,
    /// `resource_methods`.
    pub resource_methods: Vec<Method>,
    /// `item_methods`.
    pub item_methods: Vec<Method>,
    /// `cache_control`.
    pub cache_control: String,
    /// `cache_expires` seconds.
    pub cache_expires: i64,
    /// `id_field`.
    pub id_field: String,
    /// `item_lookup`.
    pub item_lookup: bool,
    /// `item_lookup_field`.
    pub item_lookup_field: String,
    /// `item_url`.
    pub item_url: UrlRule,
    /// `additional_lookup`.
    pub additional_lookup: Option<AdditionalLookup>,
    /// `allowed_filters` (`["*"]` = all, `[]` = filtering off).
    pub allowed_filters: Vec<String>,
    /// `sorting`.
    pub sorting: bool,
    /// `pagination`.
    pub pagination: bool,
    /// `pagination_limit`.
    pub pagination_limit: u64,
    /// `optimize_pagination_for_speed`.
    pub optimize_pagination_for_speed: bool,
    /// `projection` (client projections enabled).
    pub projection: bool,
    /// `embedding`.
    pub embedding: bool,
    /// `embedded_fields`.
    pub embedded_fields: Vec<String>,
    /// `hateoas`.
    pub hateoas: bool,
    /// `allow_unknown` is truthy (a rules mapping also counts as true).
    pub allow_unknown: bool,
    /// `extra_response_fields`.
    pub extra_response_fields: Vec<String>,
    /// `bulk_enabled`.
    pub bulk_enabled: bool,
    /// `soft_delete`.
    pub soft_delete: bool,
    /// `versioning`.
    pub versioning: bool,
    /// `internal_resource`.
    pub internal_resource: bool,
    /// `merge_nested_documents`.
    pub merge_nested_documents: bool,
    /// `normalize_dotted_fields`.
    pub normalize_dotted_fields: bool,
    /// `normalize_on_patch`.
    pub normalize_on_patch: bool,
    /// `etag_ignore_fields` (dotted paths).
    pub etag_ignore_fields: Vec<String>,
    /// `query_objectid_as_string`.
    pub query_objectid_as_string: bool,
    /// `mongo_query_whitelist` (plus the global `MONGO_QUERY_WHITELIST`).
    pub mongo_query_whitelist: Vec<String>,
    /// Indexes: the unique ones implied by the schema (`unique` fields and a
    /// custom `id_field`) followed by `mongo_indexes`.
    pub indexes: Vec<IndexSpec>,
    /// `text_query`: the `QUERY_TEXT` parameter (`?q=`) searches the
    /// resource's text index (docs/search.md). Default `false`.
    pub text_query: bool,
    /// `auth_field`.
    pub auth_field: Option<String>,
    /// `authentication`: the provider protecting this resource.
    pub authentication: crate::auth::ProviderChoice,
    /// Public methods and role lists, resolved (features.md §23.3).
    pub access: crate::auth::AccessRules,
    /// Write-only fields (the accounts' password, token and secret): left
    /// out of every read, embedded document, version and oplog entry.
    pub secret_fields: Vec<String>,
    /// Field-level roles of the schema's top-level fields (features.md
    /// §23.7): [`crate::Access::hidden_fields`] and
    /// [`crate::Access::unwritable_fields`] read them.
    pub field_roles: Vec<crate::auth::FieldRoles>,
    /// The `data_relation` of each top-level field that has one (on the
    /// field, or on the items of a list field), in schema order.
    pub relations: IndexMap<String, Relation>,
    /// The projection every read uses when the client sends none
    /// ([`crate::plan::projection_for`] with no client projection): built
    /// once, on first use, not per request.
    pub(crate) default_projection: std::sync::OnceLock<Option<Document>>,
}

impl Resource {
    /// The collection holding the versions of this resource's documents
    /// (`<source><VERSIONS>`, features.md §22.1); `None` when the resource
    /// is not versioned.
    pub fn versions_collection(&self, settings: &Settings) -> Option<String> {
        self.versioning
            .then(|| format!("{}{}", self.datasource.source, settings.versions.suffix))
    }

    /// The field of a shadow entry holding the document id
    /// (`id_field` + `VERSION_ID_SUFFIX`, `_id_document` by default).
    pub fn version_id_field(&self, settings: &Settings) -> String {
        format!("{}{}", self.id_field, settings.meta.version_id_suffix)
    }

    /// Whether `field` (top level) is kept in the version history: schema
    /// fields unless `versioned: false`, except `id_field`, plus
    /// `LAST_UPDATED`, `ETAG` and `DELETED` (Eve's `versioned_fields`).
    pub fn is_versioned_field(&self, settings: &Settings, field: &str) -> bool {
        let m = &settings.meta;
        if field == m.last_updated || field == m.etag || field == m.deleted {
            return true;
        }
        if field == self.id_field {
            return false;
        }
        self.schema_def
            .get(field)
            .is_some_and(|rules| rules.get("versioned") != Some(&serde_json::Value::Bool(false)))
    }

    /// The schema as written, in file order, with the automatic `id_field`
    /// (`{type: objectid}`) appended when the schema does not declare it.
    ///
    /// Kept because two things need the rules exactly as configured: the
    /// schema endpoint (`SCHEMA_ENDPOINT`) shows them, and
    /// `VALIDATE_FILTERS` compiles a one-field schema from them to check a
    /// `where` value. Everything else reads the compiled [`Resource::schema`]
    /// or a typed field ([`Resource::relations`]).
    pub fn schema_as_written(&self) -> &IndexMap<String, serde_json::Value> {
        &self.schema_def
    }

    /// The top-level fields holding files (features.md §35): `{type:
    /// media}` (`list` false) and `{type: list, schema: {type: media}}`
    /// (`list` true), in schema order.
    pub fn media_fields(&self) -> Vec<MediaField> {
        let is_media =
            |rules: &serde_json::Value| rules.get("type").and_then(|t| t.as_str()) == Some("media");
        self.schema_def
            .iter()
            .filter_map(|(name, rules)| {
                let list = if is_media(rules) {
                    false
                } else if rules.get("type").and_then(|t| t.as_str()) == Some("list")
                    && rules.get("schema").is_some_and(is_media)
                {
                    true
                } else {
                    return None;
                };
                Some(MediaField {
                    name: name.clone(),
                    list,
                })
            })
            .collect()
    }
}

/// A field of a resource holding files ([`Resource::media_fields`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaField {
    /// The field name.
    pub name: String,
    /// A list of files rather than one.
    pub list: bool,
}

/// A `data_relation`, checked at start-up: the field holds references to
/// documents of another resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// `resource`: the related resource (a name in `DOMAIN`).
    pub resource: String,
    /// `field`: the field of the related resource the value matches; the
    /// related resource's `id_field` when not written.
    pub field: String,
    /// `embeddable`, default false.
    pub embeddable: bool,
    /// `version`: the value is `{field: id, _version: n}`, default false.
    pub version: bool,
}

/// `datasource.aggregation`: a pipeline and its options, as BSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// `pipeline`: the stages, in order.
    pub pipeline: Vec<Document>,
    /// `options`, when written.
    pub options: Option<Document>,
}
