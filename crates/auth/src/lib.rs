//! Authentication for eve-rs (features.md §23).
//!
//! A provider ([`AuthProvider`]) is transport-free: it receives the
//! request's method, path, headers and raw body, the resource and the
//! roles the endpoint requires ([`AuthRequest`]), and answers with a
//! [`Verdict`]: no credentials, an identified caller (user or token,
//! roles, the auth value for `auth_field`, a database prefix), a known
//! caller without a required role, or credentials that do not check.
//! The HTTP pipeline turns verdicts into `401`/`403`.
//!
//! Providers are registered by name ([`Providers`]); the built-ins
//! `basic`, `token` and `hmac` ([`accounts`]) read an accounts resource
//! through the executor's data API, with passwords and tokens stored as
//! argon2id hashes ([`secret`]). A provider registered from Rust under a
//! built-in's name overrides it.

use std::collections::BTreeMap;
use std::sync::Arc;

use bson::Bson;
use eve_core::Domain;
use eve_exec::Executor;

pub mod accounts;
pub mod secret;

pub use accounts::account_hooks;

/// What a provider sees of a request.
pub struct AuthRequest<'a> {
    /// The HTTP method (after `X-HTTP-Method-Override`), upper case.
    pub method: &'a str,
    /// The request path with its query string, as sent.
    pub path: &'a str,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The raw request body (empty for methods without one).
    pub body: &'a [u8],
    /// The resource the endpoint serves (`None`: home, schema of every
    /// resource).
    pub resource: Option<&'a str>,
    /// The roles the endpoint requires, one of which the caller must hold
    /// (empty: any identified caller), as features.md §23.3 lists them.
    pub allowed_roles: &'a [String],
    /// The executor, for providers that read accounts through the data API.
    pub executor: &'a Executor,
}

impl std::fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the headers or the body: they carry credentials.
        f.debug_struct("AuthRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("resource", &self.resource)
            .field("allowed_roles", &self.allowed_roles)
            .finish()
    }
}

impl AuthRequest<'_> {
    /// A header's value as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A verified caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// The user or token recorded for the request (the oplog's `u`).
    pub user: String,
    /// The roles the caller holds.
    pub roles: Vec<String>,
    /// The auth value stored in and matched against a resource's
    /// `auth_field` (features.md §23.6).
    pub auth_value: Option<Bson>,
    /// The database prefix the request uses (`None`: the default one).
    pub db_prefix: Option<String>,
}

impl Identity {
    /// Whether the caller holds one of `allowed` (always, when `allowed`
    /// is empty).
    pub fn holds_any(&self, allowed: &[String]) -> bool {
        allowed.is_empty() || allowed.iter().any(|r| self.roles.contains(r))
    }
}

/// A provider's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The request carries no credentials this provider reads.
    Anonymous,
    /// The credentials check and the caller may proceed.
    Allowed(Identity),
    /// The credentials check but the caller lacks a required role (`403`).
    Forbidden(Identity),
    /// The credentials are malformed, wrong or unknown (`401`).
    Refused,
    /// The check could not be made (the accounts could not be read): an
    /// internal error, logged, never an open door.
    Failed(String),
}

impl Verdict {
    /// [`Verdict::Allowed`] when `identity` holds one of `allowed`, else
    /// [`Verdict::Forbidden`].
    pub fn for_roles(identity: Identity, allowed: &[String]) -> Verdict {
        if identity.holds_any(allowed) {
            Verdict::Allowed(identity)
        } else {
            Verdict::Forbidden(identity)
        }
    }

    /// The verified caller, if any (also when a role is missing).
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Verdict::Allowed(i) | Verdict::Forbidden(i) => Some(i),
            Verdict::Anonymous | Verdict::Refused | Verdict::Failed(_) => None,
        }
    }
}

/// An authentication provider (object safe; register it with
/// [`Providers::register`]).
#[async_trait::async_trait]
pub trait AuthProvider: Send + Sync + 'static {
    /// Checks the request's credentials against `req.allowed_roles`.
    async fn check(&self, req: &AuthRequest<'_>) -> Verdict;

    /// The realm of the `WWW-Authenticate: Basic realm="..."` challenge
    /// sent with a `401`.
    fn realm(&self) -> &str {
        "eve"
    }
}

/// Providers by name: the built-ins the settings ask for and those
/// registered from Rust (which override a built-in of the same name).
#[derive(Clone, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<dyn AuthProvider>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

/// Why providers could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ProviderError {
    /// The settings key.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Providers {
    /// No provider.
    pub fn new() -> Providers {
        Providers::default()
    }

    /// Registers `provider` under `name` (replacing one of that name).
    pub fn register(mut self, name: impl Into<String>, provider: impl AuthProvider) -> Providers {
        self.by_name.insert(name.into(), Arc::new(provider));
        self
    }

    /// The provider named `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn AuthProvider>> {
        self.by_name.get(name)
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&str> {
        self.by_name.keys().map(String::as_str).collect()
    }

    /// Adds the built-ins the settings name (unless registered already)
    /// and checks that every name the settings use resolves: an unknown
    /// name is an error, never an open resource.
    pub fn resolve(mut self, domain: &Domain) -> Result<Providers, Vec<ProviderError>> {
        let mut wanted: Vec<(String, String)> = Vec::new();
        if let Some(a) = &domain.settings.auth {
            wanted.push(("AUTH.type".into(), a.provider.clone()));
        }
        for r in domain.resources.values() {
            if let eve_core::auth::ProviderChoice::Named(n) = &r.authentication {
                wanted.push((format!("DOMAIN.{}.authentication", r.name), n.clone()));
            }
        }
        let mut errors = Vec::new();
        for (path, name) in wanted {
            if self.by_name.contains_key(&name) {
                continue;
            }
            match accounts::built_in(domain, &name) {
                Ok(Some(p)) => {
                    self.by_name.insert(name, p);
                }
                Ok(None) => errors.push(ProviderError {
                    path,
                    message: unknown_message(&name, &self.names()),
                }),
                Err(message) => errors.push(ProviderError { path, message }),
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }
}

/// The message for a provider name that is neither built in nor
/// registered.
pub fn unknown_message(name: &str, registered: &[&str]) -> String {
    let mut known: Vec<&str> = eve_core::auth::BUILT_IN_PROVIDERS.to_vec();
    for n in registered {
        if !known.contains(n) {
            known.push(n);
        }
    }
    format!(
        "unknown authentication provider '{name}': expected {}, a provider registered \
         from Rust, or none (a public resource)",
        known.join(", ")
    )
}

/// Checks provider names without building providers (for `eve-rs check`,
/// which registers none): every name must be a built-in.
pub fn check_names(domain: &Domain) -> Vec<ProviderError> {
    match Providers::new().resolve(domain) {
        Ok(_) => Vec::new(),
        Err(e) => e,
    }
}
