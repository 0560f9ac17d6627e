//! One resource of `DOMAIN`: every resource-level setting resolved (own
//! value, else the global one, else Eve's default) and checked
//! (settings.md §2, §3).

use std::sync::Arc;

use bson::{Bson, Document};
use indexmap::IndexMap;
use serde_json::Value;

use super::globals::{self, check_kind, Kind, ResourceDefaults, ITEM_METHODS, RESOURCE_METHODS};
use super::indexes;
use super::read::{join, kind_of, to_map, Ctx, Scope};
use super::schema_checks::{self, SchemaEnv};
use super::url::{parse_url, parse_url_rule};
use crate::domain::{
    AdditionalLookup, Aggregation, Datasource, Method, Resource, Settings, UrlPart, UrlRule,
};
use eve_query::{json_to_bson, SortDir, SortSpec};
use eve_schema::Schema;

/// Resource keys that are only type-checked here: the public methods,
/// roles and `authentication` are read by `settings::auth`, the MongoDB
/// keys by `settings::mongo`.
const CHECKED_ONLY: &[(&str, Kind)] = &[
    ("public_methods", Kind::StrList),
    ("public_item_methods", Kind::StrList),
    ("allowed_roles", Kind::StrList),
    ("allowed_read_roles", Kind::StrList),
    ("allowed_write_roles", Kind::StrList),
    ("allowed_item_roles", Kind::StrList),
    ("allowed_item_read_roles", Kind::StrList),
    ("allowed_item_write_roles", Kind::StrList),
    ("authentication", Kind::Any),
    ("mongo_write_concern", Kind::OptMap),
    ("mongo_prefix", Kind::Str),
];

/// Resource keys read into [`Resource`] fields.
const MODELLED: &[&str] = &[
    "url",
    "resource_title",
    "item_title",
    "schema",
    "datasource",
    "resource_methods",
    "item_methods",
    "auth_field",
    "cache_control",
    "cache_expires",
    "id_field",
    "item_lookup",
    "item_lookup_field",
    "item_url",
    "additional_lookup",
    "allowed_filters",
    "sorting",
    "pagination",
    "pagination_limit",
    "optimize_pagination_for_speed",
    "projection",
    "embedding",
    "embedded_fields",
    "hateoas",
    "allow_unknown",
    "extra_response_fields",
    "bulk_enabled",
    "soft_delete",
    "versioning",
    "internal_resource",
    "merge_nested_documents",
    "normalize_dotted_fields",
    "normalize_on_patch",
    "etag_ignore_fields",
    "query_objectid_as_string",
    "mongo_query_whitelist",
    "mongo_indexes",
    "text_query",
];

/// Keys of `datasource`.
const DATASOURCE_KEYS: &[&str] = &[
    "source",
    "filter",
    "projection",
    "default_sort",
    "aggregation",
];

/// What every resource check shares.
pub(crate) struct Env<'a> {
    pub settings: &'a Settings,
    pub defaults: &'a ResourceDefaults,
    pub registry: &'a eve_schema::Registry,
    pub resource_names: &'a [&'a str],
}

/// `item_title` default: the name without **all** trailing `s`, then
/// capitalised (first character upper case, the rest lower case), like
/// Python's `name.rstrip("s").capitalize()`.
pub(crate) fn default_item_title(name: &str) -> String {
    let stem = name.trim_end_matches('s');
    let mut chars = stem.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Checks one resource; `None` only when its definition is not a mapping.
pub(crate) fn check_resource(
    ctx: &mut Ctx,
    env: &Env<'_>,
    name: &str,
    def: &Value,
) -> Option<Resource> {
    let prefix = format!("DOMAIN.{name}");
    let raw = match def {
        Value::Object(m) => to_map(m),
        // `people:` with nothing after it in YAML: an empty definition.
        Value::Null => IndexMap::new(),
        other => {
            ctx.problem(
                prefix,
                format!(
                    "expected a mapping (the resource definition), found {}",
                    kind_of(other)
                ),
            );
            return None;
        }
    };
    let r = Scope {
        map: &raw,
        prefix: prefix.clone(),
    };
    let s = env.settings;
    let d = env.defaults;

    for (key, value) in &raw {
        if MODELLED.contains(&key.as_str()) {
            continue;
        }
        match CHECKED_ONLY.iter().find(|(k, _)| k == key) {
            Some((_, kind)) => check_kind(ctx, &r.path(key), *kind, value),
            None => ctx.warn(format!(
                "{prefix}: unknown resource setting '{key}' is ignored"
            )),
        }
    }

    // url and titles
    let url_text = r.string(ctx, "url", name);
    let (url, url_parts) = parse_url(&url_text).unwrap_or_else(|e| {
        ctx.problem(r.path("url"), e);
        (name.to_string(), vec![UrlPart::Literal(name.to_string())])
    });
    let has_vars = url_parts.iter().any(|p| matches!(p, UrlPart::Var { .. }));
    let resource_title = r.string(ctx, "resource_title", if has_vars { name } else { &url });
    let item_title = r.string(ctx, "item_title", &default_item_title(name));

    // lookups
    let id_field = r.string(ctx, "id_field", &s.meta.id_field);
    let mut item_lookup = r.bool(ctx, "item_lookup", d.item_lookup);
    let item_lookup_field = r.string(ctx, "item_lookup_field", &d.item_lookup_field);
    let item_url = match r.get("item_url") {
        None => d.item_url.clone(),
        Some(Value::String(text)) => parse_url_rule(text).unwrap_or_else(|e| {
            ctx.problem(r.path("item_url"), e);
            UrlRule::String
        }),
        Some(v) => {
            ctx.problem(
                r.path("item_url"),
                format!("expected a URL rule string, found {}", kind_of(v)),
            );
            UrlRule::String
        }
    };

    // methods
    let mut resource_methods = r.methods(
        ctx,
        "resource_methods",
        RESOURCE_METHODS,
        &s.resource_methods,
    );
    let default_item_methods: &[Method] = if item_lookup {
        &s.item_methods
    } else {
        &[Method::Get]
    };
    let item_methods = r.methods(ctx, "item_methods", ITEM_METHODS, default_item_methods);

    let datasource = check_datasource(ctx, &r, name);
    if datasource.aggregation.is_some() {
        // aggregation endpoints are read-only and have no item endpoint
        resource_methods = vec![Method::Get];
        item_lookup = false;
    }

    let soft_delete = r.bool(ctx, "soft_delete", d.soft_delete);
    let versioning = r.bool(ctx, "versioning", d.versioning);

    // schema
    let written = match r.get("schema") {
        None | Some(Value::Null) => IndexMap::new(),
        Some(Value::Object(m)) => to_map(m),
        Some(v) => {
            ctx.problem(
                r.path("schema"),
                format!(
                    "expected a mapping of field names to rules, found {}",
                    kind_of(v)
                ),
            );
            IndexMap::new()
        }
    };
    // An empty schema is valid even with writes enabled (features.md §26):
    // with allow_unknown the resource is schemaless, without it only an
    // empty document validates.
    let schema_path = r.path("schema");
    let mut automatic = vec![
        s.meta.date_created.clone(),
        s.meta.last_updated.clone(),
        s.meta.etag.clone(),
    ];
    if versioning {
        automatic.push(s.meta.version.clone());
        automatic.push(s.meta.latest_version.clone());
        automatic.push(format!("{id_field}{}", s.meta.version_id_suffix));
    }
    if soft_delete {
        automatic.push(s.meta.deleted.clone());
    }
    schema_checks::check_meta_fields(ctx, &schema_path, &written, &automatic);
    let schema_env = SchemaEnv {
        prefix: schema_path.clone(),
        resource_names: env.resource_names,
    };
    let flagged = schema_checks::check_fields(ctx, &schema_env, &written);

    let mut schema_def = written.clone();
    let field_roles = crate::auth::field_roles(&written);
    if !schema_def.contains_key(&id_field) {
        schema_def.insert(id_field.clone(), serde_json::json!({"type": "objectid"}));
    }
    let schema = match Schema::compile(&schema_def, env.registry, &s.date_format) {
        Ok(schema) => schema,
        Err(errors) => {
            for e in errors {
                // eve-schema reports bad field names too: keep ours only
                let dup = flagged.contains(&e.path) && e.message.contains('$');
                if !dup {
                    ctx.problem(join(&schema_path, &e.path), e.message);
                }
            }
            Schema::default()
        }
    };

    // auth
    let auth_field = r.opt_string(ctx, "auth_field", d.auth_field.as_deref());
    if auth_field.as_deref() == Some(id_field.as_str()) {
        ctx.problem(
            r.path("auth_field"),
            format!("auth_field cannot be the id_field ('{id_field}')"),
        );
    }

    let additional_lookup = match r.get("additional_lookup") {
        None | Some(Value::Null) => None,
        Some(_) if !item_lookup => {
            ctx.warn(format!(
                "{prefix}: additional_lookup is ignored because item_lookup is false"
            ));
            None
        }
        Some(v) => check_additional_lookup(ctx, &r.path("additional_lookup"), v, &schema_def),
    };

    let mongo_indexes = r
        .get("mongo_indexes")
        .map(|v| indexes::parse_mongo_indexes(ctx, &r.path("mongo_indexes"), v))
        .unwrap_or_default();
    let mut all_indexes = indexes::implied(&written, &id_field, soft_delete);
    all_indexes.retain(|i| !mongo_indexes.iter().any(|m| m.name == i.name));
    all_indexes.extend(mongo_indexes);
    let text_query = r.bool(ctx, "text_query", false);
    if text_query && !all_indexes.iter().any(|i| i.text.is_some()) {
        ctx.problem(
            r.path("text_query"),
            "needs a text index in mongo_indexes (keys of kind \"text\")",
        );
    }

    let mut mongo_query_whitelist = d.mongo_query_whitelist.clone();
    for op in r.str_list(ctx, "mongo_query_whitelist", &[], true) {
        if !mongo_query_whitelist.contains(&op) {
            mongo_query_whitelist.push(op);
        }
    }

    Some(Resource {
        name: name.to_string(),
        url,
        url_parts,
        resource_title,
        item_title,
        schema,
        schema_def,
        datasource,
        resource_methods,
        item_methods,
        cache_control: r.string(ctx, "cache_control", &s.cache_control),
        cache_expires: r.i64(ctx, "cache_expires", s.cache_expires),
        id_field,
        item_lookup,
        item_lookup_field,
        item_url,
        additional_lookup,
        allowed_filters: r.str_list(ctx, "allowed_filters", &d.allowed_filters, false),
        sorting: r.bool(ctx, "sorting", d.sorting),
        pagination: r.bool(ctx, "pagination", d.pagination),
        pagination_limit: r.u64(ctx, "pagination_limit", d.pagination_limit),
        optimize_pagination_for_speed: r.bool(
            ctx,
            "optimize_pagination_for_speed",
            d.optimize_pagination_for_speed,
        ),
        projection: r.bool(ctx, "projection", d.projection),
        embedding: r.bool(ctx, "embedding", d.embedding),
        embedded_fields: r.str_list(ctx, "embedded_fields", &[], true),
        hateoas: r.bool(ctx, "hateoas", s.hateoas),
        allow_unknown: globals::allow_unknown(ctx, &r, "allow_unknown", d.allow_unknown),
        extra_response_fields: r.str_list(
            ctx,
            "extra_response_fields",
            &s.extra_response_fields,
            true,
        ),
        bulk_enabled: r.bool(ctx, "bulk_enabled", d.bulk_enabled),
        soft_delete,
        versioning,
        internal_resource: r.bool(ctx, "internal_resource", d.internal_resource),
        merge_nested_documents: r.bool(ctx, "merge_nested_documents", d.merge_nested_documents),
        normalize_dotted_fields: r.bool(ctx, "normalize_dotted_fields", d.normalize_dotted_fields),
        normalize_on_patch: r.bool(ctx, "normalize_on_patch", d.normalize_on_patch),
        etag_ignore_fields: r.str_list(ctx, "etag_ignore_fields", &[], true),
        query_objectid_as_string: r.bool(ctx, "query_objectid_as_string", false),
        mongo_query_whitelist,
        indexes: all_indexes,
        text_query,
        auth_field,
        // Read by `settings::auth` once the resource is checked.
        authentication: Default::default(),
        access: Default::default(),
        secret_fields: Vec::new(),
        field_roles,
        // Filled once every resource is known (`field` defaults to the
        // related resource's id_field).
        relations: IndexMap::new(),
        default_projection: Default::default(),
    })
}

/// `datasource.aggregation`: `{pipeline: [stage, ...], options: {...}}`.
fn check_aggregation(
    ctx: &mut Ctx,
    path: &str,
    agg: &serde_json::Map<String, Value>,
) -> Option<Aggregation> {
    let pipeline = match agg.get("pipeline") {
        Some(Value::Array(stages)) => {
            let mut pipeline = Vec::with_capacity(stages.len());
            for (i, stage) in stages.iter().enumerate() {
                match json_to_bson(stage) {
                    Bson::Document(d) => pipeline.push(d),
                    _ => ctx.problem(
                        format!("{path}.pipeline.{i}"),
                        format!("expected a stage mapping, found {}", kind_of(stage)),
                    ),
                }
            }
            pipeline
        }
        _ => {
            ctx.problem(format!("{path}.pipeline"), "required: a list of stages");
            Vec::new()
        }
    };
    let options = match agg.get("options") {
        None | Some(Value::Null) => None,
        Some(v) => match json_to_bson(v) {
            Bson::Document(d) => Some(d),
            _ => {
                ctx.problem(
                    format!("{path}.options"),
                    format!("expected a mapping, found {}", kind_of(v)),
                );
                None
            }
        },
    };
    Some(Aggregation { pipeline, options })
}

fn check_additional_lookup(
    ctx: &mut Ctx,
    path: &str,
    v: &Value,
    schema: &IndexMap<String, Value>,
) -> Option<AdditionalLookup> {
    let Value::Object(lookup) = v else {
        ctx.problem(
            path,
            format!("expected a mapping {{url, field}}, found {}", kind_of(v)),
        );
        return None;
    };
    for key in lookup.keys() {
        if key != "url" && key != "field" {
            ctx.problem(
                format!("{path}.{key}"),
                "unknown key (expected url and field)",
            );
        }
    }
    let field = match lookup.get("field") {
        Some(Value::String(f)) => f.clone(),
        Some(other) => {
            ctx.problem(
                format!("{path}.field"),
                format!("expected a field name, found {}", kind_of(other)),
            );
            return None;
        }
        None => {
            ctx.problem(format!("{path}.field"), "required: the field looked up");
            return None;
        }
    };
    let Some(rules) = schema.get(&field) else {
        ctx.problem(
            format!("{path}.field"),
            format!("field '{field}' is not in the schema"),
        );
        return None;
    };
    // As in Eve: an `integer` field always gets the int converter.
    if rules.get("type").and_then(Value::as_str) == Some("integer") {
        return Some(AdditionalLookup {
            rule: UrlRule::Int,
            field,
        });
    }
    let rule = match lookup.get("url") {
        Some(Value::String(text)) => parse_url_rule(text)
            .map_err(|e| ctx.problem(format!("{path}.url"), e))
            .ok()?,
        Some(other) => {
            ctx.problem(
                format!("{path}.url"),
                format!("expected a URL rule string, found {}", kind_of(other)),
            );
            return None;
        }
        None => {
            ctx.problem(
                format!("{path}.url"),
                "required unless the field is of type integer",
            );
            return None;
        }
    };
    Some(AdditionalLookup { rule, field })
}

fn check_datasource(ctx: &mut Ctx, r: &Scope<'_>, name: &str) -> Datasource {
    let path = r.path("datasource");
    let mut ds = Datasource {
        source: name.to_string(),
        filter: None,
        compiled_filter: None,
        projection: None,
        default_sort: None,
        aggregation: None,
    };
    let map = match r.get("datasource") {
        None | Some(Value::Null) => return ds,
        Some(Value::Object(m)) => to_map(m),
        Some(v) => {
            ctx.problem(path, format!("expected a mapping, found {}", kind_of(v)));
            return ds;
        }
    };
    let scope = Scope {
        map: &map,
        prefix: path.clone(),
    };
    for key in map.keys() {
        if !DATASOURCE_KEYS.contains(&key.as_str()) {
            ctx.warn(format!("{path}: unknown datasource key '{key}' is ignored"));
        }
    }
    ds.source = scope.string(ctx, "source", name);
    ds.filter = match scope.get("filter") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => match json_to_bson(v) {
            // Checked here so that an invalid filter stops the start-up with
            // its key path instead of answering 500 to every request.
            Bson::Document(d) => match eve_query::Filter::parse(&d) {
                Ok(_) => Some(d),
                Err(e) => {
                    ctx.problem(scope.path("filter"), format!("invalid query: {e}"));
                    None
                }
            },
            _ => None,
        },
        Some(v) => {
            ctx.problem(
                scope.path("filter"),
                format!("expected a query mapping, found {}", kind_of(v)),
            );
            None
        }
    };
    ds.projection = match scope.get("projection") {
        None | Some(Value::Null) => None,
        Some(Value::Object(fields)) => {
            let mut doc = Document::new();
            for (field, v) in fields {
                let flag = match v {
                    Value::Number(n) if n.as_i64() == Some(1) => Some(1),
                    Value::Number(n) if n.as_i64() == Some(0) => Some(0),
                    Value::Bool(b) => Some(i32::from(*b)),
                    _ => None,
                };
                match flag {
                    Some(f) => {
                        doc.insert(field.clone(), f);
                    }
                    None => ctx.problem(
                        format!("{}.{field}", scope.path("projection")),
                        format!("expected 0 or 1, found {v}"),
                    ),
                }
            }
            Some(doc)
        }
        Some(v) => {
            ctx.problem(
                scope.path("projection"),
                format!(
                    "expected a mapping of fields to 0 or 1, found {}",
                    kind_of(v)
                ),
            );
            None
        }
    };
    ds.default_sort = match scope.get("default_sort") {
        None | Some(Value::Null) => None,
        Some(v) => parse_default_sort(ctx, &scope.path("default_sort"), v),
    };
    ds.aggregation = match scope.get("aggregation") {
        None | Some(Value::Null) => None,
        Some(Value::Object(agg)) => check_aggregation(ctx, &scope.path("aggregation"), agg),
        Some(v) => {
            ctx.problem(
                scope.path("aggregation"),
                format!(
                    "expected a mapping {{pipeline, options}}, found {}",
                    kind_of(v)
                ),
            );
            None
        }
    };
    ds
}

/// `[["name", 1], ["age", -1]]`; also the `sort` query syntax
/// (`name,-age`) as a string.
fn parse_default_sort(ctx: &mut Ctx, path: &str, v: &Value) -> Option<SortSpec> {
    match v {
        Value::String(s) => eve_query::parse_sort(s)
            .map_err(|e| ctx.problem(path, e.to_string()))
            .ok(),
        Value::Array(pairs) => {
            let mut out = Vec::new();
            for (i, pair) in pairs.iter().enumerate() {
                let dir = match pair.get(1).and_then(Value::as_i64) {
                    Some(1) => Some(SortDir::Asc),
                    Some(-1) => Some(SortDir::Desc),
                    _ => None,
                };
                match (
                    pair.get(0).and_then(Value::as_str),
                    dir,
                    pair.as_array().map(Vec::len),
                ) {
                    (Some(field), Some(dir), Some(2)) => out.push((field.to_string(), dir)),
                    _ => {
                        ctx.problem(
                            format!("{path}.{i}"),
                            format!("expected a [field, 1 or -1] pair, found {pair}"),
                        );
                        return None;
                    }
                }
            }
            Some(out)
        }
        other => {
            ctx.problem(
                path,
                format!(
                    "expected a list of [field, direction] pairs, found {}",
                    kind_of(other)
                ),
            );
            None
        }
    }
}

/// Two routed resources with the same `url` would clash.
pub(crate) fn check_url_clashes(ctx: &mut Ctx, resources: &IndexMap<String, Arc<Resource>>) {
    let routed: Vec<&Resource> = resources
        .values()
        .map(Arc::as_ref)
        .filter(|r| !r.internal_resource)
        .collect();
    for (i, r) in routed.iter().enumerate() {
        if let Some(first) = routed[..i].iter().find(|o| o.url == r.url) {
            ctx.problem(
                format!("DOMAIN.{}.url", r.name),
                format!(
                    "url '{}' is already used by resource '{}'",
                    r.url, first.name
                ),
            );
        }
    }
}
