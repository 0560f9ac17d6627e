//! The `jwt` provider (features.md §23.7): bearer tokens issued elsewhere,
//! checked with the `jsonwebtoken` crate. HS256/384/512 with a secret read
//! from an environment variable; RS256/384/512, ES256/384 and EdDSA with
//! public keys from a JWKS file or URL (fetched on first use, cached,
//! refreshed every `jwks_refresh` seconds and, for an unknown `kid`, at
//! most every 30 seconds). `iss`, `aud`, `exp` (required) and `nbf` are
//! checked with a bounded clock skew (`leeway`); `alg: none` and any
//! algorithm not listed are refused, and a key is only ever used with an
//! algorithm of its own family.

use std::str::FromStr;
use std::time::{Duration, Instant};

use bson::Bson;
use eve_core::auth::JwtSettings;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::{AuthProvider, AuthRequest, Identity, Verdict};

/// The shortest wait between two fetches of a JWKS URL for an unknown
/// key id.
const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(30);

/// Where public keys come from.
enum Keys {
    /// No JWKS (HS* only).
    None,
    /// A JWKS file, read at start-up.
    File(Vec<Jwk>),
    /// A JWKS URL, fetched and cached.
    Url {
        url: String,
        refresh: Duration,
        cache: Mutex<Cached>,
    },
}

/// The keys of a JWKS URL and when they were fetched.
#[derive(Default)]
struct Cached {
    keys: Vec<Jwk>,
    fetched: Option<Instant>,
}

/// The `jwt` provider.
pub(crate) struct JwtProvider {
    cfg: JwtSettings,
    algorithms: Vec<Algorithm>,
    secret: Option<Vec<u8>>,
    keys: Keys,
    realm: String,
}

impl JwtProvider {
    /// Builds the provider from `AUTH.jwt`: reads the secret and a JWKS
    /// file now (an error names the key).
    pub(crate) fn new(cfg: &JwtSettings, realm: &str) -> Result<JwtProvider, String> {
        let algorithms = cfg
            .algorithms
            .iter()
            .map(|a| Algorithm::from_str(a).map_err(|_| format!("unsupported algorithm '{a}'")))
            .collect::<Result<Vec<_>, _>>()?;
        let secret = match &cfg.secret_env {
            Some(var) => {
                let value = std::env::var(var).map_err(|_| {
                    format!("AUTH.jwt.secret_env: the environment variable {var} is not set")
                })?;
                if value.len() < 32 {
                    return Err(format!(
                        "AUTH.jwt.secret_env: the secret in {var} is shorter than 32 bytes"
                    ));
                }
                Some(value.into_bytes())
            }
            None => None,
        };
        let keys = match (&cfg.jwks_file, &cfg.jwks_url) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("AUTH.jwt.jwks_file: cannot read {path}: {e}"))?;
                let set: JwkSet = serde_json::from_str(&text)
                    .map_err(|e| format!("AUTH.jwt.jwks_file: {path} is not a JWKS: {e}"))?;
                Keys::File(set.keys)
            }
            (None, Some(url)) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err("AUTH.jwt.jwks_url: expected an http:// or https:// URL".into());
                }
                Keys::Url {
                    url: url.clone(),
                    refresh: Duration::from_secs(cfg.jwks_refresh.max(1)),
                    cache: Mutex::new(Cached::default()),
                }
            }
            (None, None) => Keys::None,
        };
        Ok(JwtProvider {
            cfg: cfg.clone(),
            algorithms,
            secret,
            keys,
            realm: realm.to_string(),
        })
    }

    /// The public keys, fetching a JWKS URL when the cache is stale (or,
    /// with `unknown_kid`, older than [`UNKNOWN_KID_REFETCH`]). A failed
    /// fetch keeps the keys cached before.
    async fn public_keys(&self, unknown_kid: bool) -> Vec<Jwk> {
        match &self.keys {
            Keys::None => Vec::new(),
            Keys::File(keys) => keys.clone(),
            Keys::Url {
                url,
                refresh,
                cache,
            } => {
                let mut c = cache.lock().await;
                let age = c.fetched.map(|t| t.elapsed());
                let stale = match age {
                    None => true,
                    Some(age) => age >= *refresh || (unknown_kid && age >= UNKNOWN_KID_REFETCH),
                };
                if stale {
                    match crate::fetch::get(url).await {
                        Ok(body) => match serde_json::from_slice::<JwkSet>(&body) {
                            Ok(set) => c.keys = set.keys,
                            Err(e) => tracing::warn!("JWKS at {url} is not a key set: {e}"),
                        },
                        Err(e) => tracing::warn!("cannot fetch the JWKS at {url}: {e}"),
                    }
                    c.fetched = Some(Instant::now());
                }
                c.keys.clone()
            }
        }
    }

    /// The keys that may check a token signed with `alg` (and `kid`).
    async fn keys_for(&self, alg: Algorithm, kid: Option<&str>) -> Vec<DecodingKey> {
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return self
                .secret
                .iter()
                .map(|s| DecodingKey::from_secret(s))
                .collect();
        }
        let family = |jwk: &Jwk| {
            matches!(
                (&jwk.algorithm, alg),
                (
                    AlgorithmParameters::RSA(_),
                    Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
                ) | (
                    AlgorithmParameters::EllipticCurve(_),
                    Algorithm::ES256 | Algorithm::ES384
                ) | (AlgorithmParameters::OctetKeyPair(_), Algorithm::EdDSA)
            )
        };
        let select = |keys: &[Jwk]| -> Vec<DecodingKey> {
            keys.iter()
                .filter(|k| family(k))
                .filter(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
                .filter_map(|k| DecodingKey::from_jwk(k).ok())
                .collect()
        };
        let found = select(&self.public_keys(false).await);
        if found.is_empty() && kid.is_some() {
            // A key rotated in since the last fetch.
            return select(&self.public_keys(true).await);
        }
        found
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.algorithms = vec![alg];
        v.leeway = self.cfg.leeway;
        v.validate_nbf = true;
        v.validate_exp = true;
        v.set_required_spec_claims(&["exp"]);
        match &self.cfg.audience {
            Some(aud) => v.set_audience(&[aud]),
            None => v.validate_aud = false,
        }
        if let Some(iss) = &self.cfg.issuer {
            v.set_issuer(&[iss]);
        }
        v
    }

    fn identity(&self, claims: &Value) -> Option<Identity> {
        let user = match claims.get(&self.cfg.user_claim)? {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let roles = match claims.get(&self.cfg.roles_claim) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            // An OAuth2 `scope`-like string: space-separated.
            Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
            _ => Vec::new(),
        };
        Some(Identity {
            auth_value: Some(Bson::String(user.clone())),
            user,
            roles,
            db_prefix: None,
        })
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[async_trait::async_trait]
impl AuthProvider for JwtProvider {
    async fn check(&self, req: &AuthRequest<'_>) -> Verdict {
        let Some(raw) = req.headers.get("authorization") else {
            return Verdict::Anonymous;
        };
        let Some(token) = raw.to_str().ok().and_then(bearer) else {
            return Verdict::Refused;
        };
        // `alg: none` and unknown algorithms fail to parse here.
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Verdict::Refused;
        };
        if !self.algorithms.contains(&header.alg) {
            return Verdict::Refused;
        }
        let validation = self.validation(header.alg);
        for key in self.keys_for(header.alg, header.kid.as_deref()).await {
            if let Ok(data) = jsonwebtoken::decode::<Value>(token, &key, &validation) {
                return match self.identity(&data.claims) {
                    Some(identity) => Verdict::for_roles(identity, req.allowed_roles),
                    None => Verdict::Refused,
                };
            }
        }
        Verdict::Refused
    }

    fn realm(&self) -> &str {
        &self.realm
    }
}
