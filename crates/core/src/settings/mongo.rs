//! The `MONGO_*` connection settings (features.md §42.1): read and
//! type-checked here; the MongoDB layer applies them. What eve-rs cannot
//! honour is refused with its key path (fail closed), and the keys are a
//! warning when another data layer is named explicitly.

use serde_json::Value;

use super::read::{kind_of, Ctx, Scope};
use crate::{MongoResource, MongoRoutes, MongoSettings, MongoWriteAck, MongoWriteConcern};

/// The database prefix of the `MONGO_*` keys (a resource's `mongo_prefix`
/// default).
const DEFAULT_PREFIX: &str = "MONGO";

/// Every `MONGO_*` connection key, for the "ignored" warning.
const KEYS: &[&str] = &[
    "MONGO_URI",
    "MONGO_HOST",
    "MONGO_PORT",
    "MONGO_DBNAME",
    "MONGO_USERNAME",
    "MONGO_PASSWORD",
    "MONGO_AUTH_SOURCE",
    "MONGO_AUTH_MECHANISM",
    "MONGO_AUTH_MECHANISM_PROPERTIES",
    "MONGO_REPLICA_SET",
    "MONGO_OPTIONS",
    "MONGO_WRITE_CONCERN",
    "MONGO_CONNECT",
];

/// `MONGO_OPTIONS` keys eve-rs honours or that change nothing for it.
/// `connect` (clients connect lazily anyway), `tz_aware` (dates are always
/// UTC) and `uuidRepresentation: standard` are Eve's defaults.
const OPTIONS_ACCEPTED: &[&str] = &[
    "connect",
    "tz_aware",
    "uuidRepresentation",
    "appname",
    "appName",
];

/// Reads the `MONGO_*` keys of the global scope, and the connection keys
/// of every other prefix the resources name (`mongo_prefix`) with their
/// own write concerns (`mongo_write_concern`).
pub(crate) fn check_mongo(ctx: &mut Ctx, g: &Scope<'_>) -> (MongoSettings, MongoRoutes) {
    let other = g
        .get("DATA_LAYER")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .filter(|s| !matches!(s.as_str(), "mongo" | "mongodb"));
    if let Some(layer) = other {
        for key in KEYS {
            if g.get(key).is_some_and(|v| !v.is_null()) {
                ctx.warn(format!(
                    "{key} is ignored: DATA_LAYER is {layer}, the data is stored in the {layer} \
                     store, not in MongoDB"
                ));
            }
        }
        refuse_routes(ctx, g, &layer, &format!("DATA_LAYER is {layer}"));
        return (MongoSettings::default(), MongoRoutes::default());
    }
    let implied = g.get("MONGO_URI").is_some() || g.get("MONGO_HOST").is_some();
    if !implied && g.get("DATA_LAYER").is_none_or(Value::is_null) {
        // Eve would connect to localhost:27017 with these; eve-rs would
        // silently store the data elsewhere.
        for key in KEYS {
            if g.get(key).is_some_and(|v| !is_empty(v)) {
                ctx.problem(
                    *key,
                    "names MongoDB, but without MONGO_URI or MONGO_HOST the data layer is the \
                     embedded store: add DATA_LAYER: mongo to use MongoDB (localhost:27017 by \
                     default), or DATA_LAYER: embedded to ignore the key",
                );
            }
        }
        refuse_routes(
            ctx,
            g,
            "embedded",
            "without DATA_LAYER, MONGO_URI or MONGO_HOST the data layer is the embedded store",
        );
        return (MongoSettings::default(), MongoRoutes::default());
    }
    let s = check_connection(ctx, g, DEFAULT_PREFIX);
    let routes = check_routes(ctx, g);
    (s, routes)
}

/// The resources' `(name, definition)` pairs as written.
fn resources<'a>(
    g: &Scope<'a>,
) -> impl Iterator<Item = (&'a String, &'a serde_json::Map<String, Value>)> {
    g.get("DOMAIN")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, def)| Some((name, def.as_object()?)))
}

/// The `mongo_prefix` of a resource definition, when it names another
/// prefix than `MONGO`.
fn other_prefix(def: &serde_json::Map<String, Value>) -> Option<&str> {
    def.get("mongo_prefix")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty() && *p != DEFAULT_PREFIX)
}

/// On another data layer than MongoDB: a `mongo_prefix` would silently
/// share the one store, so it is refused; `mongo_write_concern` changes
/// nothing there and is a warning.
fn refuse_routes(ctx: &mut Ctx, g: &Scope<'_>, layer: &str, why: &str) {
    for (name, def) in resources(g) {
        if let Some(prefix) = other_prefix(def) {
            ctx.problem(
                format!("DOMAIN.{name}.mongo_prefix"),
                format!(
                    "names the MongoDB database prefix {prefix}, but {why}: every resource \
                     would share that one store; use DATA_LAYER: mongo, or remove the setting"
                ),
            );
        }
        if def.get("mongo_write_concern").is_some_and(|v| !is_empty(v)) {
            ctx.warn(format!(
                "DOMAIN.{name}.mongo_write_concern: ignored: the {layer} store commits every \
                 write durably"
            ));
        }
    }
}

/// The other prefixes and per-resource write concerns, on MongoDB.
fn check_routes(ctx: &mut Ctx, g: &Scope<'_>) -> MongoRoutes {
    let mut routes = MongoRoutes::default();
    for (name, def) in resources(g) {
        let path = format!("DOMAIN.{name}.mongo_prefix");
        let prefix = match other_prefix(def) {
            None => DEFAULT_PREFIX.to_string(),
            Some(p) => {
                if !p
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    ctx.problem(
                        path,
                        format!(
                            "'{p}' is not a settings prefix (upper-case letters, digits and _, \
                             as in MONGO2): its {p}_URI, {p}_HOST, ... keys could not be written"
                        ),
                    );
                    continue;
                }
                let named = ["URI", "HOST", "PORT", "DBNAME"]
                    .iter()
                    .any(|k| g.get(&format!("{p}_{k}")).is_some_and(|v| !v.is_null()));
                if !named {
                    ctx.problem(
                        path,
                        format!(
                            "names the database prefix {p}, but none of {p}_URI, {p}_HOST, \
                             {p}_PORT or {p}_DBNAME is set: the documents would go to the \
                             default database; set {p}_URI (or {p}_HOST and {p}_DBNAME)"
                        ),
                    );
                    continue;
                }
                if !routes.prefixes.contains_key(p) {
                    let settings = check_connection(ctx, g, p);
                    routes.prefixes.insert(p.to_string(), settings);
                }
                p.to_string()
            }
        };
        let write_concern = match def.get("mongo_write_concern") {
            Some(v) if !is_empty(v) => Some(check_write_concern(
                ctx,
                &format!("DOMAIN.{name}.mongo_write_concern"),
                v,
            )),
            _ => None,
        };
        if prefix != DEFAULT_PREFIX || write_concern.is_some() {
            routes.resources.insert(
                name.clone(),
                MongoResource {
                    prefix,
                    write_concern,
                },
            );
        }
    }
    routes
}

/// Reads the connection keys of one prefix (`<P>_URI`, `<P>_HOST`, …).
fn check_connection(ctx: &mut Ctx, g: &Scope<'_>, p: &str) -> MongoSettings {
    let key = |suffix: &str| format!("{p}_{suffix}");
    let mut s = MongoSettings {
        uri: g.opt_string(ctx, &key("URI"), None),
        host: g.opt_string(ctx, &key("HOST"), None),
        dbname: g.opt_string(ctx, &key("DBNAME"), None),
        username: g.opt_string(ctx, &key("USERNAME"), None),
        password: g.opt_string(ctx, &key("PASSWORD"), None),
        auth_source: g.opt_string(ctx, &key("AUTH_SOURCE"), None),
        auth_mechanism: g.opt_string(ctx, &key("AUTH_MECHANISM"), None),
        replica_set: g.opt_string(ctx, &key("REPLICA_SET"), None),
        ..MongoSettings::default()
    };
    if let Some(uri) = &s.uri {
        let lower = uri.to_ascii_lowercase();
        if !lower.starts_with("mongodb://") && !lower.starts_with("mongodb+srv://") {
            ctx.problem(
                key("URI"),
                "expected a mongodb:// or mongodb+srv:// connection string",
            );
        }
    }
    match g.get(&key("PORT")) {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) => {
            s.port = n.as_u64().and_then(|p| u16::try_from(p).ok());
        }
        Some(v) => ctx.problem(
            key("PORT"),
            format!("expected a port number (1 to 65535), found {}", describe(v)),
        ),
    }
    if s.username.is_some() != s.password.is_some() {
        let missing = if s.username.is_some() {
            key("PASSWORD")
        } else {
            key("USERNAME")
        };
        ctx.problem(
            missing,
            format!(
                "{} and {} are given together or not at all",
                key("USERNAME"),
                key("PASSWORD")
            ),
        );
    }
    if let Some(m) = &s.auth_mechanism {
        const KNOWN: &[&str] = &["SCRAM-SHA-1", "SCRAM-SHA-256", "MONGODB-X509", "PLAIN"];
        if !KNOWN.contains(&m.as_str()) {
            ctx.problem(
                key("AUTH_MECHANISM"),
                format!(
                    "'{m}' is not supported by eve-rs (supported: {})",
                    KNOWN.join(", ")
                ),
            );
        }
    }
    if g.get(&key("AUTH_MECHANISM_PROPERTIES"))
        .is_some_and(|v| !is_empty(v))
    {
        ctx.problem(
            key("AUTH_MECHANISM_PROPERTIES"),
            format!(
                "not supported by eve-rs yet (issue #10): put authMechanismProperties in {}, \
                 or remove the setting",
                key("URI")
            ),
        );
    }
    if let Some(v) = g.get(&key("CONNECT")) {
        if !matches!(v, Value::Bool(_) | Value::Null) {
            ctx.problem(
                key("CONNECT"),
                format!("expected a boolean, found {}", kind_of(v)),
            );
        }
    }
    check_options(ctx, g, p, &mut s);
    if let Some(v) = g.get(&key("WRITE_CONCERN")).filter(|v| !v.is_null()) {
        let wc = check_write_concern(ctx, &key("WRITE_CONCERN"), v);
        s.write_w = wc.w;
        s.write_journal = wc.journal;
        s.write_timeout_ms = wc.timeout_ms;
    }
    s
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::String(t) => t.is_empty(),
        _ => false,
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        other => kind_of(other).to_string(),
    }
}

fn check_options(ctx: &mut Ctx, g: &Scope<'_>, p: &str, s: &mut MongoSettings) {
    let options_key = format!("{p}_OPTIONS");
    let options = match g.get(&options_key) {
        None | Some(Value::Null) => return,
        Some(Value::Object(m)) => m,
        Some(v) => {
            ctx.problem(
                options_key,
                format!("expected a mapping, found {}", kind_of(v)),
            );
            return;
        }
    };
    for (key, value) in options {
        let path = format!("{options_key}.{key}");
        if !OPTIONS_ACCEPTED.contains(&key.as_str()) {
            ctx.problem(
                path,
                format!(
                    "this client option is not applied by eve-rs yet (issue #10): put it in \
                     {p}_URI's query string (?option=value), or remove it"
                ),
            );
            continue;
        }
        match (key.as_str(), value) {
            ("uuidRepresentation", Value::String(r)) if r.eq_ignore_ascii_case("standard") => {}
            ("uuidRepresentation", _) => ctx.problem(
                path,
                "eve-rs stores UUIDs in the standard representation only (binary subtype 4); \
                 use standard or remove the option",
            ),
            ("appname" | "appName", Value::String(name)) => s.app_name = Some(name.clone()),
            ("appname" | "appName", v) => {
                ctx.problem(path, format!("expected a string, found {}", kind_of(v)))
            }
            (_, Value::Bool(_) | Value::Null) => {}
            (_, v) => ctx.problem(path, format!("expected a boolean, found {}", kind_of(v))),
        }
    }
}

/// Reads a write concern mapping (`MONGO_WRITE_CONCERN`, a resource's
/// `mongo_write_concern`); `path` is its key path.
fn check_write_concern(ctx: &mut Ctx, path: &str, value: &Value) -> MongoWriteConcern {
    let mut out = MongoWriteConcern::default();
    let wc = match value {
        Value::Object(m) => m,
        v => {
            ctx.problem(
                path,
                format!("expected a mapping such as {{w: 1}}, found {}", kind_of(v)),
            );
            return out;
        }
    };
    for (key, value) in wc {
        let path = format!("{path}.{key}");
        match (key.as_str(), value) {
            ("w", Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(0) => ctx.problem(
                    path,
                    "w: 0 (unacknowledged writes) is refused: eve-rs answers 2xx only for writes \
                     MongoDB acknowledged; use w: 1 or more",
                ),
                Some(n) => out.w = Some(MongoWriteAck::Nodes(n)),
                None => ctx.problem(path, "expected a number of nodes or a mode name"),
            },
            ("w", Value::String(mode)) => out.w = Some(MongoWriteAck::Named(mode.clone())),
            ("j" | "fsync", Value::Bool(b)) => {
                out.journal = Some(out.journal.unwrap_or(false) || *b)
            }
            ("wtimeout" | "wtimeoutMS", Value::Number(n)) if n.as_u64().is_some() => {
                out.timeout_ms = n.as_u64()
            }
            ("w" | "j" | "fsync" | "wtimeout" | "wtimeoutMS", v) => {
                ctx.problem(path, format!("unexpected {}", kind_of(v)))
            }
            _ => ctx.problem(
                path,
                "unknown write concern option (expected w, j, fsync or wtimeout)",
            ),
        }
    }
    out
}
