//! Operations log settings (features.md §39, settings.md §1.10): `OPLOG`,
//! `OPLOG_NAME`, `OPLOG_METHODS`, `OPLOG_ENDPOINT`, `OPLOG_AUDIT`,
//! `OPLOG_CHANGE_METHODS`, `OPLOG_RETURN_EXTRA_FIELD`, the oplog resource
//! they add to `DOMAIN` (Eve's `_init_oplog`), and `TRUSTED_PROXIES` (an
//! eve-rs setting: the peers whose `X-Forwarded-For` names the client).

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::read::Ctx;
use crate::domain::Method;
use crate::proxy::Cidr;

/// The checked oplog settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OplogSettings {
    /// `OPLOG`, default `false`.
    pub enabled: bool,
    /// `OPLOG_NAME`, default `oplog`: the resource (and, unless its
    /// `datasource` says otherwise, the collection) of the entries.
    pub name: String,
    /// `OPLOG_METHODS`: the methods whose writes are logged.
    pub methods: Vec<Method>,
    /// `OPLOG_ENDPOINT`, default none (the oplog resource is internal).
    pub endpoint: Option<String>,
    /// `OPLOG_AUDIT`, default `true`: entries carry `ip`, `u` and `c`.
    pub audit: bool,
    /// `OPLOG_CHANGE_METHODS`: the methods whose entries carry `c`.
    pub change_methods: Vec<Method>,
    /// `OPLOG_RETURN_EXTRA_FIELD`, default `false`.
    pub return_extra: bool,
}

impl Default for OplogSettings {
    fn default() -> Self {
        OplogSettings {
            enabled: false,
            name: "oplog".into(),
            methods: vec![Method::Delete, Method::Post, Method::Patch, Method::Put],
            endpoint: None,
            audit: true,
            change_methods: vec![Method::Delete, Method::Patch, Method::Put],
            return_extra: false,
        }
    }
}

fn method_list(raw: &IndexMap<String, Value>, key: &str) -> Option<Vec<Method>> {
    let Value::Array(items) = raw.get(key)? else {
        return None;
    };
    Some(
        items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(super::read::parse_method)
            .collect(),
    )
}

/// Reads the oplog settings. Types are checked with the other global keys
/// (a wrong type is reported there); here it falls back to the default.
pub(crate) fn read(ctx: &mut Ctx, raw: &IndexMap<String, Value>) -> OplogSettings {
    let mut out = OplogSettings::default();
    if let Some(Value::Bool(b)) = raw.get("OPLOG") {
        out.enabled = *b;
    }
    if let Some(Value::String(s)) = raw.get("OPLOG_NAME") {
        if s.is_empty() {
            ctx.problem(
                "OPLOG_NAME",
                "must not be empty: it names the oplog resource",
            );
        } else {
            out.name = s.clone();
        }
    }
    if let Some(m) = method_list(raw, "OPLOG_METHODS") {
        out.methods = m;
    }
    if let Some(m) = method_list(raw, "OPLOG_CHANGE_METHODS") {
        out.change_methods = m;
    }
    if let Some(Value::String(s)) = raw.get("OPLOG_ENDPOINT") {
        if !s.is_empty() {
            out.endpoint = Some(s.clone());
        }
    }
    if let Some(Value::Bool(b)) = raw.get("OPLOG_AUDIT") {
        out.audit = *b;
    }
    if let Some(Value::Bool(b)) = raw.get("OPLOG_RETURN_EXTRA_FIELD") {
        out.return_extra = *b;
    }
    out
}

/// Reads `TRUSTED_PROXIES` (default `[]`): a list of addresses or CIDR
/// blocks; a malformed entry is a problem at `TRUSTED_PROXIES`.
pub(crate) fn trusted_proxies(ctx: &mut Ctx, raw: &IndexMap<String, Value>) -> Vec<Cidr> {
    let mut out = Vec::new();
    match raw.get("TRUSTED_PROXIES") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str().map(str::parse::<Cidr>) {
                    Some(Ok(c)) => out.push(c),
                    Some(Err(e)) => ctx.problem("TRUSTED_PROXIES", e),
                    None => ctx.problem(
                        "TRUSTED_PROXIES",
                        "expected a list of IP addresses or CIDR blocks (strings)",
                    ),
                }
            }
        }
        Some(_) => ctx.problem(
            "TRUSTED_PROXIES",
            "expected a list of IP addresses or CIDR blocks, e.g. [10.0.0.0/8]",
        ),
    }
    out
}

/// `domain` with the oplog resource added (Eve's `_init_oplog`): the
/// `DOMAIN[OPLOG_NAME]` entry the file may give (authentication, cache
/// control, `url`, ...) completed with a `datasource` on `OPLOG_NAME`,
/// read-only methods, the fixed schema (`r`, `o`, `i`; `extra` with
/// `OPLOG_RETURN_EXTRA_FIELD`; `ip`, `c`, `u` with `OPLOG_AUDIT`) and,
/// without `OPLOG_ENDPOINT`, `internal_resource: true`.
pub(crate) fn with_oplog_resource(
    o: &OplogSettings,
    domain: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = domain.clone();
    let entry = out
        .entry(o.name.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        // Reported by the resource check of the entry as written.
        return out;
    }
    let def = entry.as_object_mut().expect("checked");
    def.entry("datasource")
        .or_insert_with(|| json!({"source": o.name}));
    def.insert("resource_methods".into(), json!(["GET"]));
    def.insert("item_methods".into(), json!(["GET"]));
    match &o.endpoint {
        Some(endpoint) => {
            def.entry("url").or_insert_with(|| json!(endpoint));
            def.insert("internal_resource".into(), json!(false));
        }
        None => {
            def.insert("url".into(), json!(o.name));
            def.insert("internal_resource".into(), json!(true));
        }
    }
    let mut schema = Map::new();
    for f in ["r", "o", "i"] {
        schema.insert(f.into(), json!({}));
    }
    if o.return_extra {
        schema.insert("extra".into(), json!({}));
    }
    if o.audit {
        for f in ["ip", "c", "u"] {
            schema.insert(f.into(), json!({}));
        }
    }
    def.insert("schema".into(), Value::Object(schema));
    out
}

/// Warns when the oplog endpoint would show every reader the changes of
/// user-restricted resources: some resource has an `auth_field` but the
/// oplog resource has none (set `AUTH_FIELD`, or `auth_field` in
/// `DOMAIN.<OPLOG_NAME>`, so that each user reads their own entries).
pub(crate) fn warn_unrestricted(
    ctx: &mut Ctx,
    o: &OplogSettings,
    resources: &IndexMap<String, std::sync::Arc<crate::domain::Resource>>,
) {
    if !o.enabled || o.endpoint.is_none() {
        return;
    }
    let Some(oplog) = resources.get(&o.name) else {
        return;
    };
    if oplog.auth_field.is_some() {
        return;
    }
    let restricted: Vec<&str> = resources
        .values()
        .filter(|r| r.auth_field.is_some())
        .map(|r| r.name.as_str())
        .collect();
    if !restricted.is_empty() {
        ctx.warn(format!(
            "DOMAIN.{}: the oplog endpoint shows every reader the changes of the \
             user-restricted resources {}; give the oplog an auth_field \
             (AUTH_FIELD, or auth_field in DOMAIN.{}) so that each user reads \
             their own entries",
            o.name,
            restricted.join(", "),
            o.name
        ));
    }
}
