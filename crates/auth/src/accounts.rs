//! The built-in providers over an accounts resource (features.md §23.7):
//! `basic` (user name and argon2id password), `token` (argon2id token) and
//! `hmac` (a signature made with the account's shared secret), and the
//! hooks that hash passwords and tokens on every write of that resource.
//!
//! Accounts are read through the executor's data API (the resource's
//! datasource filter and soft delete apply), never from the store
//! directly.

use std::sync::Arc;

use base64::prelude::{Engine, BASE64_STANDARD};
use bson::{doc, Bson, Document};
use eve_core::auth::AuthSettings;
use eve_core::{ApiError, Domain};
use eve_exec::{BoxFuture, HookContext, Hooks};
use hmac::{KeyInit, Mac};

use crate::secret::{self, blocking};
use crate::{AuthProvider, AuthRequest, Identity, Verdict};

/// Which built-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Basic,
    Token,
    Hmac,
}

/// A built-in provider over the accounts resource.
#[derive(Debug, Clone)]
struct AccountsProvider {
    kind: Kind,
    cfg: AuthSettings,
    accounts: String,
}

/// The built-in named `name` (`Ok(None)`: no such built-in).
pub(crate) fn built_in(
    domain: &Domain,
    name: &str,
) -> Result<Option<Arc<dyn AuthProvider>>, String> {
    let kind = match name {
        "basic" => Kind::Basic,
        "token" => Kind::Token,
        "hmac" => Kind::Hmac,
        "jwt" => return Err("the jwt provider is not available yet".into()),
        _ => return Ok(None),
    };
    let Some(cfg) = domain.settings.auth.clone() else {
        return Err(format!("the {name} provider needs AUTH.accounts"));
    };
    let Some(accounts) = cfg.accounts.clone() else {
        return Err(format!("the {name} provider needs AUTH.accounts"));
    };
    Ok(Some(Arc::new(AccountsProvider {
        kind,
        cfg,
        accounts,
    })))
}

/// `Authorization: Basic base64(user:password)`.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = BASE64_STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The token of a request as Eve's token helper reads it: the Basic user
/// name, else the header without a `Token `/`Bearer ` prefix.
pub fn token_of(header: &str) -> Option<String> {
    if let Some((user, _)) = basic_credentials(header) {
        return (!user.is_empty()).then_some(user);
    }
    let h = header.trim();
    let lower = h.to_ascii_lowercase();
    if lower == "token" || lower == "bearer" {
        return None;
    }
    let token = ["token ", "bearer "]
        .iter()
        .find_map(|p| lower.starts_with(p).then(|| h[p.len()..].trim()))
        .unwrap_or(h);
    (!token.is_empty()).then(|| token.to_string())
}

/// The message an HMAC signature covers: method, path (with its query)
/// and body, separated by newlines.
pub fn hmac_message(method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(method.len() + path.len() + body.len() + 2);
    m.extend_from_slice(method.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(path.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    m
}

/// The hex HMAC-SHA256 of `message` with `secret` (what a client sends
/// after `userid:`).
pub fn hmac_sign(secret: &[u8], message: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
        .expect("HMAC accepts keys of any length");
    mac.update(message);
    let tag = mac.finalize().into_bytes();
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl AccountsProvider {
    async fn account(
        &self,
        req: &AuthRequest<'_>,
        query: Document,
    ) -> Result<Option<Document>, String> {
        let Some(data) = req.executor.resource(&self.accounts) else {
            return Err(format!("no accounts resource '{}'", self.accounts));
        };
        data.find_one(&query).await.map_err(|e| e.to_string())
    }

    fn identity(&self, account: &Document, user: Option<String>) -> Identity {
        let roles = match account.get(&self.cfg.roles_field) {
            Some(Bson::Array(a)) => a
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            Some(Bson::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let auth_value = account.get(&self.cfg.owner_field).cloned();
        let user = user
            .or_else(|| {
                account
                    .get_str(&self.cfg.username_field)
                    .ok()
                    .map(str::to_string)
            })
            .or_else(|| auth_value.as_ref().map(bson_text))
            .unwrap_or_default();
        Identity {
            user,
            roles,
            auth_value,
            db_prefix: None,
        }
    }

    async fn check_basic(&self, req: &AuthRequest<'_>, header: &str) -> Result<Verdict, String> {
        let Some((user, password)) = basic_credentials(header) else {
            return Ok(Verdict::Refused);
        };
        let account = self
            .account(req, doc! {self.cfg.username_field.clone(): user.clone()})
            .await?;
        let stored = account
            .as_ref()
            .and_then(|a| a.get_str(&self.cfg.password_field).ok())
            .map(str::to_string);
        // An unknown user is checked against the dummy hash: same time.
        let ok = blocking(move || secret::verify_password(&password, stored.as_deref())).await;
        Ok(match account {
            Some(a) if ok => Verdict::for_roles(self.identity(&a, Some(user)), req.allowed_roles),
            _ => Verdict::Refused,
        })
    }

    async fn check_token(&self, req: &AuthRequest<'_>, header: &str) -> Result<Verdict, String> {
        let Some(token) = token_of(header) else {
            return Ok(Verdict::Refused);
        };
        let hash = blocking(move || secret::hash_token(&token)).await;
        let account = self
            .account(req, doc! {self.cfg.token_field.clone(): hash.clone()})
            .await?;
        Ok(match account {
            Some(a)
                if a.get_str(&self.cfg.token_field).is_ok_and(|stored| {
                    secret::constant_time_eq(stored.as_bytes(), hash.as_bytes())
                }) =>
            {
                Verdict::for_roles(self.identity(&a, None), req.allowed_roles)
            }
            _ => Verdict::Refused,
        })
    }

    async fn check_hmac(&self, req: &AuthRequest<'_>, header: &str) -> Result<Verdict, String> {
        let Some((user, signature)) = header.trim().split_once(':') else {
            return Ok(Verdict::Refused);
        };
        let account = self
            .account(
                req,
                doc! {self.cfg.username_field.clone(): user.to_string()},
            )
            .await?;
        let stored = account
            .as_ref()
            .and_then(|a| a.get_str(&self.cfg.secret_field).ok());
        // An unknown user signs with a dummy secret: same work, no match.
        let key = stored.unwrap_or("eve-rs: no such account").as_bytes();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
            .expect("HMAC accepts keys of any length");
        mac.update(&hmac_message(req.method, req.path, req.body));
        let sent = hex_decode(&signature.trim().to_ascii_lowercase()).unwrap_or_default();
        let ok = mac.verify_slice(&sent).is_ok() && stored.is_some();
        Ok(match account {
            Some(a) if ok => {
                Verdict::for_roles(self.identity(&a, Some(user.to_string())), req.allowed_roles)
            }
            _ => Verdict::Refused,
        })
    }
}

fn bson_text(v: &Bson) -> String {
    match v {
        Bson::String(s) => s.clone(),
        Bson::ObjectId(o) => o.to_hex(),
        other => other.to_string(),
    }
}

#[async_trait::async_trait]
impl AuthProvider for AccountsProvider {
    async fn check(&self, req: &AuthRequest<'_>) -> Verdict {
        let Some(header) = req.header("authorization") else {
            return match req.headers.get("authorization") {
                // Present but not text: malformed.
                Some(_) => Verdict::Refused,
                None => Verdict::Anonymous,
            };
        };
        let header = header.to_string();
        let result = match self.kind {
            Kind::Basic => self.check_basic(req, &header).await,
            Kind::Token => self.check_token(req, &header).await,
            Kind::Hmac => self.check_hmac(req, &header).await,
        };
        result.unwrap_or_else(Verdict::Failed)
    }

    fn realm(&self) -> &str {
        &self.cfg.realm
    }
}

/// How a write-only field is stored.
#[derive(Debug, Clone, Copy)]
enum Store {
    /// argon2id, random salt.
    Password,
    /// argon2id, the token salt.
    Token,
    /// As written (HMAC secrets must stay checkable).
    AsIs,
}

/// The write-only fields of the accounts resource and how each is stored.
fn secret_fields(domain: &Domain) -> Option<(String, Vec<(String, Store)>)> {
    let auth = domain.settings.auth.as_ref()?;
    let accounts = auth.accounts.as_ref()?;
    let res = domain.resources.get(accounts)?;
    let fields: Vec<(String, Store)> = res
        .secret_fields
        .iter()
        .map(|f| {
            let how = if *f == auth.password_field {
                Store::Password
            } else if *f == auth.token_field {
                Store::Token
            } else {
                Store::AsIs
            };
            (f.clone(), how)
        })
        .collect();
    (!fields.is_empty()).then(|| (accounts.clone(), fields))
}

/// Hashes the write-only fields of one document (or PATCH updates).
async fn hash_fields(
    fields: Arc<Vec<(String, Store)>>,
    doc: &mut Document,
) -> Result<(), ApiError> {
    for (field, how) in fields.iter() {
        let plain = match doc.get(field) {
            None | Some(Bson::Null) => continue,
            Some(Bson::String(s)) => s.clone(),
            Some(_) => {
                return Err(ApiError::Abort {
                    status: 422,
                    message: Some(format!("{field} must be a string")),
                })
            }
        };
        let stored = match how {
            Store::Password => blocking(move || secret::hash_password(&plain)).await,
            Store::Token => blocking(move || secret::hash_token(&plain)).await,
            Store::AsIs => continue,
        };
        doc.insert(field.clone(), stored);
    }
    Ok(())
}

/// Adds to `hooks` the hooks that hash the accounts' passwords and tokens
/// on every write (POST, bulk POST, PUT, PATCH and the data API), after
/// validation. Nothing is added when the settings name no accounts.
pub fn account_hooks(hooks: Hooks, domain: &Domain) -> Hooks {
    let Some((accounts, fields)) = secret_fields(domain) else {
        return hooks;
    };
    let fields = Arc::new(fields);
    let (f1, f2, f3) = (fields.clone(), fields.clone(), fields);
    hooks
        .on_insert(
            accounts.as_str(),
            move |_: &HookContext, docs: &mut [Document]| -> BoxFuture<'_, Result<(), ApiError>> {
                let fields = f1.clone();
                Box::pin(async move {
                    for d in docs.iter_mut() {
                        hash_fields(fields.clone(), d).await?;
                    }
                    Ok(())
                })
            },
        )
        .on_replace(
            accounts.as_str(),
            move |_: &HookContext,
                  doc: &mut Document,
                  _: &Document|
                  -> BoxFuture<'_, Result<(), ApiError>> {
                let fields = f2.clone();
                Box::pin(async move { hash_fields(fields, doc).await })
            },
        )
        .on_update(
            accounts.as_str(),
            move |_: &HookContext,
                  doc: &mut Document,
                  _: &Document|
                  -> BoxFuture<'_, Result<(), ApiError>> {
                let fields = f3.clone();
                Box::pin(async move { hash_fields(fields, doc).await })
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_and_token_headers() {
        let h = format!("Basic {}", BASE64_STANDARD.encode("ann:pw:x"));
        assert_eq!(basic_credentials(&h), Some(("ann".into(), "pw:x".into())));
        assert_eq!(basic_credentials("Basic !!"), None);
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(token_of("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token_of("token abc").as_deref(), Some("abc"));
        assert_eq!(token_of("abc").as_deref(), Some("abc"));
        assert_eq!(token_of(&h).as_deref(), Some("ann"));
        assert_eq!(token_of("Bearer  "), None);
    }

    #[test]
    fn hmac_signatures_are_hex_sha256() {
        let sig = hmac_sign(b"key", &hmac_message("GET", "/a", b""));
        assert_eq!(sig.len(), 64);
        assert_eq!(hex_decode(&sig).map(|v| v.len()), Some(32));
        assert_eq!(hex_decode("zz"), None);
    }
}
