//! The `MONGO_*` connection settings (features.md §42.1): read and
//! type-checked here; the MongoDB layer applies them. What eve-rs cannot
//! honour is refused with its key path (fail closed), and the keys are a
//! warning when another data layer is named explicitly.

use serde_json::Value;

use super::read::{kind_of, Ctx, Scope};
use crate::{MongoSettings, MongoWriteAck};

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

/// Reads the `MONGO_*` keys of the global scope.
pub(crate) fn check_mongo(ctx: &mut Ctx, g: &Scope<'_>) -> MongoSettings {
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
        return MongoSettings::default();
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
        return MongoSettings::default();
    }
    let mut s = MongoSettings {
        uri: g.opt_string(ctx, "MONGO_URI", None),
        host: g.opt_string(ctx, "MONGO_HOST", None),
        dbname: g.opt_string(ctx, "MONGO_DBNAME", None),
        username: g.opt_string(ctx, "MONGO_USERNAME", None),
        password: g.opt_string(ctx, "MONGO_PASSWORD", None),
        auth_source: g.opt_string(ctx, "MONGO_AUTH_SOURCE", None),
        auth_mechanism: g.opt_string(ctx, "MONGO_AUTH_MECHANISM", None),
        replica_set: g.opt_string(ctx, "MONGO_REPLICA_SET", None),
        ..MongoSettings::default()
    };
    if let Some(uri) = &s.uri {
        let lower = uri.to_ascii_lowercase();
        if !lower.starts_with("mongodb://") && !lower.starts_with("mongodb+srv://") {
            ctx.problem(
                "MONGO_URI",
                "expected a mongodb:// or mongodb+srv:// connection string",
            );
        }
    }
    match g.get("MONGO_PORT") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some_and(|p| (1..=65535).contains(&p)) => {
            s.port = n.as_u64().and_then(|p| u16::try_from(p).ok());
        }
        Some(v) => ctx.problem(
            "MONGO_PORT",
            format!("expected a port number (1 to 65535), found {}", describe(v)),
        ),
    }
    if s.username.is_some() != s.password.is_some() {
        let missing = if s.username.is_some() {
            "MONGO_PASSWORD"
        } else {
            "MONGO_USERNAME"
        };
        ctx.problem(
            missing,
            "MONGO_USERNAME and MONGO_PASSWORD are given together or not at all",
        );
    }
    if let Some(m) = &s.auth_mechanism {
        const KNOWN: &[&str] = &["SCRAM-SHA-1", "SCRAM-SHA-256", "MONGODB-X509", "PLAIN"];
        if !KNOWN.contains(&m.as_str()) {
            ctx.problem(
                "MONGO_AUTH_MECHANISM",
                format!(
                    "'{m}' is not supported by eve-rs (supported: {})",
                    KNOWN.join(", ")
                ),
            );
        }
    }
    if g.get("MONGO_AUTH_MECHANISM_PROPERTIES")
        .is_some_and(|v| !is_empty(v))
    {
        ctx.problem(
            "MONGO_AUTH_MECHANISM_PROPERTIES",
            "not supported by eve-rs yet (issue #10): put authMechanismProperties in MONGO_URI, \
             or remove the setting",
        );
    }
    if let Some(v) = g.get("MONGO_CONNECT") {
        if !matches!(v, Value::Bool(_) | Value::Null) {
            ctx.problem(
                "MONGO_CONNECT",
                format!("expected a boolean, found {}", kind_of(v)),
            );
        }
    }
    check_options(ctx, g, &mut s);
    check_write_concern(ctx, g, &mut s);
    for (name, def) in g
        .get("DOMAIN")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if def.get("mongo_write_concern").is_some_and(|v| !is_empty(v)) {
            ctx.problem(
                format!("DOMAIN.{name}.mongo_write_concern"),
                "a per-resource write concern is not applied by eve-rs yet (issue #10): every \
                 write uses MONGO_WRITE_CONCERN; set that to what this resource needs and remove \
                 the setting",
            );
        }
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

fn check_options(ctx: &mut Ctx, g: &Scope<'_>, s: &mut MongoSettings) {
    let options = match g.get("MONGO_OPTIONS") {
        None | Some(Value::Null) => return,
        Some(Value::Object(m)) => m,
        Some(v) => {
            ctx.problem(
                "MONGO_OPTIONS",
                format!("expected a mapping, found {}", kind_of(v)),
            );
            return;
        }
    };
    for (key, value) in options {
        let path = format!("MONGO_OPTIONS.{key}");
        if !OPTIONS_ACCEPTED.contains(&key.as_str()) {
            ctx.problem(
                path,
                "this client option is not applied by eve-rs yet (issue #10): put it in \
                 MONGO_URI's query string (?option=value), or remove it",
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

fn check_write_concern(ctx: &mut Ctx, g: &Scope<'_>, s: &mut MongoSettings) {
    let wc = match g.get("MONGO_WRITE_CONCERN") {
        None | Some(Value::Null) => return,
        Some(Value::Object(m)) => m,
        Some(v) => {
            ctx.problem(
                "MONGO_WRITE_CONCERN",
                format!("expected a mapping such as {{w: 1}}, found {}", kind_of(v)),
            );
            return;
        }
    };
    for (key, value) in wc {
        let path = format!("MONGO_WRITE_CONCERN.{key}");
        match (key.as_str(), value) {
            ("w", Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(0) => ctx.problem(
                    path,
                    "w: 0 (unacknowledged writes) is refused: eve-rs answers 2xx only for writes \
                     MongoDB acknowledged; use w: 1 or more",
                ),
                Some(n) => s.write_w = Some(MongoWriteAck::Nodes(n)),
                None => ctx.problem(path, "expected a number of nodes or a mode name"),
            },
            ("w", Value::String(mode)) => s.write_w = Some(MongoWriteAck::Named(mode.clone())),
            ("j" | "fsync", Value::Bool(b)) => {
                s.write_journal = Some(s.write_journal.unwrap_or(false) || *b)
            }
            ("wtimeout" | "wtimeoutMS", Value::Number(n)) if n.as_u64().is_some() => {
                s.write_timeout_ms = n.as_u64()
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
}
