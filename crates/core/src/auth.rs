//! Authentication and roles as the settings give them (features.md §23):
//! the `AUTH` block (§23.7), which provider protects an endpoint, which
//! methods are public and which roles a request needs (§23.3). The
//! providers themselves live in `eve-auth`; this module only answers
//! "who decides, and with which roles" for a route and a method.

use crate::request::{EndpointKind, HttpMethod, Route};
use crate::Domain;

/// The names of the built-in providers (§23.7).
pub const BUILT_IN_PROVIDERS: &[&str] = &["basic", "token", "hmac", "jwt"];

/// The `AUTH` block: the global provider and how the built-ins find and
/// check accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    /// `type`: a built-in (`basic`, `token`, `hmac`, `jwt`) or the name of
    /// a provider registered from Rust.
    pub provider: String,
    /// `accounts`: the resource holding the accounts (basic, token, hmac).
    pub accounts: Option<String>,
    /// `username_field` (default `username`).
    pub username_field: String,
    /// `password_field` (default `password`): argon2id hash, write-only.
    pub password_field: String,
    /// `token_field` (default `token`): argon2id hash, write-only.
    pub token_field: String,
    /// `secret_field` (default `secret`): the HMAC shared secret, write-only.
    pub secret_field: String,
    /// `roles_field` (default `roles`): the account's roles.
    pub roles_field: String,
    /// `owner_field` (default the accounts resource's `id_field`): the
    /// account value stored in a resource's `auth_field`.
    pub owner_field: String,
    /// `realm` (default `eve`): the `WWW-Authenticate` realm.
    pub realm: String,
    /// `jwt`: the settings of the `jwt` provider.
    pub jwt: Option<JwtSettings>,
}

/// `AUTH.jwt`: bearer tokens issued elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// `algorithms`: the accepted `alg` values (never `none`).
    pub algorithms: Vec<String>,
    /// `secret_env`: the environment variable holding the HMAC secret.
    pub secret_env: Option<String>,
    /// `jwks_file`: a JWKS file with the public keys.
    pub jwks_file: Option<String>,
    /// `jwks_url`: a JWKS URL (fetched, cached, refreshed).
    pub jwks_url: Option<String>,
    /// `issuer`: the required `iss`.
    pub issuer: Option<String>,
    /// `audience`: the required `aud`.
    pub audience: Option<String>,
    /// `user_claim` (default `sub`).
    pub user_claim: String,
    /// `roles_claim` (default `roles`).
    pub roles_claim: String,
    /// `leeway` seconds of clock skew allowed on `exp`/`nbf` (default 60,
    /// at most 300).
    pub leeway: u64,
    /// `jwks_refresh` seconds between JWKS fetches (default 300).
    pub jwks_refresh: u64,
}

/// A resource's `authentication`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProviderChoice {
    /// Not set (or `null`): the global provider, if any.
    #[default]
    Global,
    /// `none`: a public resource.
    Public,
    /// A provider name: a built-in or one registered from Rust.
    Named(String),
}

/// Public methods and role lists, global (`PUBLIC_METHODS`, `ALLOWED_*ROLES`)
/// or resolved for one resource (own value, else the global one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    /// `public_methods` (upper case; `HEAD` only when listed).
    pub public_methods: Vec<String>,
    /// `public_item_methods`.
    pub public_item_methods: Vec<String>,
    /// `allowed_roles`.
    pub allowed_roles: Vec<String>,
    /// `allowed_read_roles`.
    pub allowed_read_roles: Vec<String>,
    /// `allowed_write_roles`.
    pub allowed_write_roles: Vec<String>,
    /// `allowed_item_roles`.
    pub allowed_item_roles: Vec<String>,
    /// `allowed_item_read_roles`.
    pub allowed_item_read_roles: Vec<String>,
    /// `allowed_item_write_roles`.
    pub allowed_item_write_roles: Vec<String>,
}

/// What a request needs, once its route and method are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The provider that identifies the caller (`None`: no provider, the
    /// endpoint is public).
    pub provider: Option<String>,
    /// Whether the method is public here (OPTIONS always is).
    pub public: bool,
    /// The roles the caller must hold one of (empty: any identified
    /// caller), as §23.3 lists them.
    pub allowed_roles: Vec<String>,
}

impl Requirement {
    /// Whether credentials are needed: a provider protects the endpoint
    /// and the method is not public.
    pub fn needs_credentials(&self) -> bool {
        self.provider.is_some() && !self.public
    }
}

fn cat(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().chain(b).cloned().collect()
}

/// The provider, public flag and roles of a request (§23.2, §23.3).
pub fn requirement(domain: &Domain, route: &Route, method: &HttpMethod) -> Requirement {
    let g = &domain.settings.access;
    let global = domain.settings.auth.as_ref().map(|a| a.provider.clone());
    let is_read = matches!(method, HttpMethod::Get | HttpMethod::Options);
    let is_read_with_head = is_read || *method == HttpMethod::Head;
    // The schema of one resource is a read of that resource.
    let resource = match (route.kind, &route.lookup) {
        (EndpointKind::Schema, Some((_, name))) => domain.resources.get(name).map(|r| &**r),
        _ => route.resource.as_deref(),
    };
    let provider = match resource.map(|r| &r.authentication) {
        None | Some(ProviderChoice::Global) => global,
        Some(ProviderChoice::Public) => None,
        Some(ProviderChoice::Named(n)) => Some(n.clone()),
    };
    let (public_list, roles) = match (route.kind, resource) {
        (EndpointKind::Collection, Some(r)) => (
            &r.access.public_methods,
            if is_read_with_head {
                cat(&r.access.allowed_roles, &r.access.allowed_read_roles)
            } else {
                cat(&r.access.allowed_roles, &r.access.allowed_write_roles)
            },
        ),
        (EndpointKind::Item | EndpointKind::AdditionalItem, Some(r)) => (
            &r.access.public_item_methods,
            if is_read_with_head {
                cat(
                    &r.access.allowed_item_roles,
                    &r.access.allowed_item_read_roles,
                )
            } else {
                cat(
                    &r.access.allowed_item_roles,
                    &r.access.allowed_item_write_roles,
                )
            },
        ),
        (EndpointKind::Schema, Some(r)) => (
            &r.access.public_methods,
            cat(&r.access.allowed_roles, &r.access.allowed_read_roles),
        ),
        // Home, the schema of every resource (and media): the globals;
        // HEAD counts as a write there, as in Eve (§23.3).
        _ => (
            &g.public_methods,
            if is_read {
                cat(&g.allowed_roles, &g.allowed_read_roles)
            } else {
                cat(&g.allowed_roles, &g.allowed_write_roles)
            },
        ),
    };
    Requirement {
        provider,
        public: *method == HttpMethod::Options
            // The lists are upper case; no per-request allocation.
            || public_list
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method.as_str())),
        allowed_roles: roles,
    }
}

/// The roles a schema field asks for (features.md §23.7, product
/// addition): `allowed_read_roles` and `allowed_write_roles` of a
/// top-level field. An empty list asks for nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldRoles {
    /// The (top-level) field.
    pub field: String,
    /// `allowed_read_roles`: the caller must hold one to see the field.
    pub read: Vec<String>,
    /// `allowed_write_roles`: the caller must hold one to send the field.
    pub write: Vec<String>,
}

/// The field roles of a schema as written (its top-level fields'
/// `allowed_read_roles`/`allowed_write_roles`, a name or a list of names;
/// the schema compiler has checked their shape).
pub fn field_roles(schema: &indexmap::IndexMap<String, serde_json::Value>) -> Vec<FieldRoles> {
    let names = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    schema
        .iter()
        .filter_map(|(field, def)| {
            let roles = FieldRoles {
                field: field.clone(),
                read: names(def.get("allowed_read_roles")),
                write: names(def.get("allowed_write_roles")),
            };
            (!roles.read.is_empty() || !roles.write.is_empty()).then_some(roles)
        })
        .collect()
}
