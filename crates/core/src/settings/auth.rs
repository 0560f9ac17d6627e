//! `AUTH`, `PUBLIC_METHODS`, `ALLOWED_*ROLES` and their resource-level
//! counterparts (features.md §23, settings.md §1.7), checked with key
//! paths. Whether a provider name is registered from Rust is checked when
//! the application is built (`eve-http`); here only the names and types.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::read::{kind_of, to_map, Ctx, Scope};
use crate::auth::{AccessRules, AuthSettings, JwtSettings, ProviderChoice, BUILT_IN_PROVIDERS};
use crate::domain::{Resource, Settings};

/// Methods a public-methods list may name (OPTIONS is always public).
const PUBLIC_METHOD_NAMES: &[&str] = &["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"];

const AUTH_KEYS: &[&str] = &[
    "type",
    "accounts",
    "username_field",
    "password_field",
    "token_field",
    "secret_field",
    "roles_field",
    "owner_field",
    "realm",
    "jwt",
];
const JWT_KEYS: &[&str] = &[
    "algorithms",
    "secret_env",
    "jwks_file",
    "jwks_url",
    "issuer",
    "audience",
    "user_claim",
    "roles_claim",
    "leeway",
    "jwks_refresh",
];
/// Algorithms the `jwt` provider accepts (`none` never).
pub(crate) const JWT_ALGORITHMS: &[&str] = &[
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA",
];

fn unknown_keys(ctx: &mut Ctx, scope: &Scope<'_>, known: &[&str]) {
    for key in scope.map.keys() {
        if !known.contains(&key.as_str()) {
            ctx.problem(
                scope.path(key),
                format!("unknown key; expected one of: {}", known.join(", ")),
            );
        }
    }
}

/// A provider name: a non-empty string.
fn provider_name(ctx: &mut Ctx, path: &str, v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        other => {
            ctx.problem(
                path,
                format!(
                    "expected a provider name ({}, or one registered from Rust), found {}",
                    BUILT_IN_PROVIDERS.join(", "),
                    kind_of(other)
                ),
            );
            None
        }
    }
}

/// `AUTH`: `null`/absent (no global provider), a provider name, or the
/// §23.7 mapping.
pub(crate) fn read_auth(ctx: &mut Ctx, raw: &IndexMap<String, Value>) -> Option<AuthSettings> {
    let map = match raw.get("AUTH")? {
        Value::Null | Value::Bool(false) => return None,
        Value::String(s) => {
            let mut m = IndexMap::new();
            m.insert("type".to_string(), Value::String(s.clone()));
            m
        }
        Value::Object(m) => to_map(m),
        other => {
            ctx.problem(
                "AUTH",
                format!(
                    "expected a mapping (type, accounts, ...) or a provider name, found {}",
                    kind_of(other)
                ),
            );
            return None;
        }
    };
    let a = Scope {
        map: &map,
        prefix: "AUTH".into(),
    };
    unknown_keys(ctx, &a, AUTH_KEYS);
    let provider = match a.get("type") {
        None => {
            ctx.problem(
                "AUTH.type",
                format!(
                    "required: the provider ({}, or one registered from Rust)",
                    BUILT_IN_PROVIDERS.join(", ")
                ),
            );
            return None;
        }
        Some(v) => provider_name(ctx, "AUTH.type", v)?,
    };
    let field = |ctx: &mut Ctx, key: &str, default: &str| {
        let v = a.string(ctx, key, default);
        if v.is_empty() {
            ctx.problem(a.path(key), "expected a field name, found an empty string");
        }
        v
    };
    let jwt = match a.get("jwt") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => Some(read_jwt(ctx, &to_map(m))),
        Some(other) => {
            ctx.problem(
                "AUTH.jwt",
                format!("expected a mapping, found {}", kind_of(other)),
            );
            None
        }
    };
    if provider == "jwt" && jwt.is_none() {
        ctx.problem(
            "AUTH.jwt",
            "required with type jwt: algorithms and a key (secret_env, jwks_file or jwks_url)",
        );
    }
    let realm = a.string(ctx, "realm", "eve");
    if realm.contains('"') || realm.chars().any(char::is_control) {
        ctx.problem("AUTH.realm", "may not contain quotes or control characters");
    }
    Some(AuthSettings {
        provider,
        accounts: a.opt_string(ctx, "accounts", None),
        username_field: field(ctx, "username_field", "username"),
        password_field: field(ctx, "password_field", "password"),
        token_field: field(ctx, "token_field", "token"),
        secret_field: field(ctx, "secret_field", "secret"),
        roles_field: field(ctx, "roles_field", "roles"),
        owner_field: field(ctx, "owner_field", "_id"),
        realm,
        jwt,
    })
}

fn read_jwt(ctx: &mut Ctx, map: &IndexMap<String, Value>) -> JwtSettings {
    let j = Scope {
        map,
        prefix: "AUTH.jwt".into(),
    };
    unknown_keys(ctx, &j, JWT_KEYS);
    let algorithms = j.str_list(ctx, "algorithms", &[], false);
    if algorithms.is_empty() {
        ctx.problem(
            "AUTH.jwt.algorithms",
            format!("required: a list of {}", JWT_ALGORITHMS.join(", ")),
        );
    }
    for alg in &algorithms {
        if !JWT_ALGORITHMS.contains(&alg.as_str()) {
            ctx.problem(
                "AUTH.jwt.algorithms",
                format!(
                    "unsupported algorithm '{alg}'; supported: {}",
                    JWT_ALGORITHMS.join(", ")
                ),
            );
        }
    }
    let s = JwtSettings {
        algorithms,
        secret_env: j.opt_string(ctx, "secret_env", None),
        jwks_file: j.opt_string(ctx, "jwks_file", None),
        jwks_url: j.opt_string(ctx, "jwks_url", None),
        issuer: j.opt_string(ctx, "issuer", None),
        audience: j.opt_string(ctx, "audience", None),
        user_claim: j.string(ctx, "user_claim", "sub"),
        roles_claim: j.string(ctx, "roles_claim", "roles"),
        leeway: j.u64(ctx, "leeway", 60),
        jwks_refresh: j.u64(ctx, "jwks_refresh", 300),
    };
    if s.leeway > 300 {
        ctx.problem("AUTH.jwt.leeway", "at most 300 seconds of clock skew");
    }
    let hs = s.algorithms.iter().any(|a| a.starts_with("HS"));
    let public = s.algorithms.iter().any(|a| !a.starts_with("HS"));
    if hs && s.secret_env.is_none() {
        ctx.problem(
            "AUTH.jwt.secret_env",
            "required for HS256/384/512: the environment variable holding the secret",
        );
    }
    if public && s.jwks_file.is_none() && s.jwks_url.is_none() {
        ctx.problem(
            "AUTH.jwt",
            "RS*, ES* and EdDSA need public keys: set jwks_file or jwks_url",
        );
    }
    if s.jwks_file.is_some() && s.jwks_url.is_some() {
        ctx.problem("AUTH.jwt.jwks_url", "set jwks_file or jwks_url, not both");
    }
    s
}

/// A public-methods list: upper case, each a known method.
fn public_methods(ctx: &mut Ctx, scope: &Scope<'_>, key: &str, default: &[String]) -> Vec<String> {
    let list = scope.str_list(ctx, key, default, true);
    let mut out = Vec::new();
    for m in list {
        let up = m.trim().to_ascii_uppercase();
        if up == "OPTIONS" {
            continue;
        }
        if !PUBLIC_METHOD_NAMES.contains(&up.as_str()) {
            ctx.problem(
                scope.path(key),
                format!(
                    "unsupported method '{m}'; supported: {} (OPTIONS is always public)",
                    PUBLIC_METHOD_NAMES.join(", ")
                ),
            );
        } else if !out.contains(&up) {
            out.push(up);
        }
    }
    out
}

/// Reads public methods and roles from `scope` (keys in `case`), each
/// defaulting to `d`.
fn access_rules(ctx: &mut Ctx, scope: &Scope<'_>, upper: bool, d: &AccessRules) -> AccessRules {
    let k = |name: &str| {
        if upper {
            name.to_ascii_uppercase()
        } else {
            name.to_string()
        }
    };
    let roles = |ctx: &mut Ctx, name: &str, default: &[String]| {
        scope.str_list(ctx, &k(name), default, true)
    };
    AccessRules {
        allowed_roles: roles(ctx, "allowed_roles", &d.allowed_roles),
        allowed_read_roles: roles(ctx, "allowed_read_roles", &d.allowed_read_roles),
        allowed_write_roles: roles(ctx, "allowed_write_roles", &d.allowed_write_roles),
        allowed_item_roles: roles(ctx, "allowed_item_roles", &d.allowed_item_roles),
        allowed_item_read_roles: roles(ctx, "allowed_item_read_roles", &d.allowed_item_read_roles),
        allowed_item_write_roles: roles(
            ctx,
            "allowed_item_write_roles",
            &d.allowed_item_write_roles,
        ),
        public_methods: public_methods(ctx, scope, &k("public_methods"), &d.public_methods),
        public_item_methods: public_methods(
            ctx,
            scope,
            &k("public_item_methods"),
            &d.public_item_methods,
        ),
    }
}

/// `PUBLIC_METHODS`, `PUBLIC_ITEM_METHODS` and the `ALLOWED_*ROLES`.
pub(crate) fn global_access(ctx: &mut Ctx, g: &Scope<'_>) -> AccessRules {
    access_rules(ctx, g, true, &AccessRules::default())
}

/// Fills a checked resource's `authentication` and access rules.
pub(crate) fn resource_access(ctx: &mut Ctx, settings: &Settings, res: &mut Resource, def: &Value) {
    let Some(map) = def.as_object().map(to_map) else {
        return;
    };
    let r = Scope {
        map: &map,
        prefix: format!("DOMAIN.{}", res.name),
    };
    res.access = access_rules(ctx, &r, false, &settings.access);
    res.authentication = match r.get("authentication") {
        // `false` asks for nothing: the global provider still applies.
        None | Some(Value::Null | Value::Bool(false)) => ProviderChoice::Global,
        Some(v) => match provider_name(ctx, &r.path("authentication"), v) {
            Some(n) if n.eq_ignore_ascii_case("none") => ProviderChoice::Public,
            Some(n) => ProviderChoice::Named(n),
            None => ProviderChoice::Global,
        },
    };
}

/// The built-in account providers used anywhere (global or per resource).
fn account_providers_used(
    settings: &Settings,
    resources: &IndexMap<String, Arc<Resource>>,
) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        if ["basic", "token", "hmac"].contains(&n) && !used.iter().any(|u| u == n) {
            used.push(n.to_string());
        }
    };
    if let Some(a) = &settings.auth {
        add(&a.provider);
    }
    for r in resources.values() {
        if let ProviderChoice::Named(n) = &r.authentication {
            add(n);
        }
    }
    used
}

/// Checks the accounts resource the built-ins read and marks its
/// password, token and secret fields write-only. Runs once every resource
/// is checked.
pub(crate) fn check_accounts(
    ctx: &mut Ctx,
    settings: &Settings,
    resources: &mut IndexMap<String, Arc<Resource>>,
) {
    let used = account_providers_used(settings, resources);
    for r in resources.values() {
        if let ProviderChoice::Named(n) = &r.authentication {
            if n == "jwt"
                && settings
                    .auth
                    .as_ref()
                    .and_then(|a| a.jwt.as_ref())
                    .is_none()
            {
                ctx.problem(
                    format!("DOMAIN.{}.authentication", r.name),
                    "the jwt provider needs AUTH.jwt (algorithms and keys)",
                );
            }
        }
    }
    if used.is_empty() {
        return;
    }
    let Some(auth) = &settings.auth else {
        for r in resources.values() {
            if let ProviderChoice::Named(n) = &r.authentication {
                if used.contains(n) {
                    ctx.problem(
                        format!("DOMAIN.{}.authentication", r.name),
                        format!("the {n} provider needs AUTH.accounts (the accounts resource)"),
                    );
                }
            }
        }
        return;
    };
    let Some(accounts) = &auth.accounts else {
        ctx.problem(
            "AUTH.accounts",
            format!(
                "required by the {} provider: the resource holding the accounts",
                used.join(", ")
            ),
        );
        return;
    };
    let Some(res) = resources.get_mut(accounts) else {
        ctx.problem(
            "AUTH.accounts",
            format!("'{accounts}' is not a resource of DOMAIN"),
        );
        return;
    };
    let mut needed: Vec<(&str, &String)> = Vec::new();
    for p in &used {
        match p.as_str() {
            "basic" => {
                needed.push(("username_field", &auth.username_field));
                needed.push(("password_field", &auth.password_field));
            }
            "token" => needed.push(("token_field", &auth.token_field)),
            _ => {
                needed.push(("username_field", &auth.username_field));
                needed.push(("secret_field", &auth.secret_field));
            }
        }
    }
    let names: Vec<String> = res
        .schema
        .field_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (key, field) in &needed {
        if !names.contains(field) {
            ctx.problem(
                format!("AUTH.{key}"),
                format!("'{field}' is not a field of the schema of '{accounts}'"),
            );
        }
    }
    // Every password, token and secret field of the accounts is
    // write-only, whichever built-in reads it.
    let secrets: Vec<String> = [&auth.password_field, &auth.token_field, &auth.secret_field]
        .into_iter()
        .filter(|f| names.contains(f) || res.allow_unknown)
        .cloned()
        .collect();
    if let Some(res) = Arc::get_mut(res) {
        for s in secrets {
            if !res.secret_fields.contains(&s) {
                res.secret_fields.push(s);
            }
        }
    }
}
