//! The `jwt` provider (features.md §23.7): HS256, RS256, ES256 and EdDSA
//! tokens from a secret and a JWKS file, expired / not yet valid / forged
//! / `alg: none` / unlisted algorithm / wrong audience or issuer tokens
//! refused with Eve's 401, roles from a claim, and a JWKS URL fetched once,
//! cached and refreshed. The keys in `keys/` are test keys only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use base64::prelude::{Engine, BASE64_URL_SAFE_NO_PAD};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::{assert_401, assert_403, send};
use crate::integration::common::TestApp;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/auth/keys");
const SECRET: &str = "a test secret of at least thirty-two bytes";

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).expect("test key")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The settings: every key kind, issuer and audience; `{KEYS}` is the JWKS
/// source (`jwks_file: ...` or `jwks_url: ...`), `{VAR}` the secret's
/// variable.
const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
AUTH:
  type: jwt
  realm: blog
  jwt:
    algorithms: [HS256, RS256, ES256, EdDSA]
    secret_env: {VAR}
    {KEYS}
    issuer: https://id.example.com
    audience: my-api
    leeway: 60
    jwks_refresh: 1
DOMAIN:
  notes:
    allowed_write_roles: [writer]
    schema: {text: {type: string}}
"#;

/// An app with the JWKS file, its secret in a variable of its own.
async fn app(keys: &str) -> TestApp {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let var = format!(
        "EVE_TEST_JWT_SECRET_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    // SAFETY of the test: each app reads a variable no other test sets.
    std::env::set_var(&var, SECRET);
    TestApp::new(&SETTINGS.replace("{VAR}", &var).replace("{KEYS}", keys)).await
}

fn jwks_file() -> String {
    format!("jwks_file: {KEYS}/jwks.json")
}

/// Valid claims for `sub`, with `roles`.
fn claims(sub: &str, roles: &[&str]) -> Value {
    json!({
        "sub": sub, "roles": roles, "iss": "https://id.example.com",
        "aud": "my-api", "exp": now() + 600, "iat": now(),
    })
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value) -> String {
    let key = match alg {
        Algorithm::HS256 | Algorithm::HS512 => EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&key("rsa.pem")).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&key("ec.pem")).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&key("ed25519.pem")).unwrap(),
        other => panic!("{other:?}"),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    encode(&header, claims, &key).unwrap()
}

async fn get_notes(t: &TestApp, token: &str) -> crate::integration::common::Resp {
    send(t, "GET", "/notes", Some(&format!("Bearer {token}")), None).await
}

#[tokio::test]
async fn valid_tokens_of_every_algorithm_are_accepted() {
    let t = app(&jwks_file()).await;
    let c = claims("ann", &[]);
    for (alg, kid) in [
        (Algorithm::HS256, None),
        (Algorithm::RS256, Some("rsa-1")),
        (Algorithm::RS256, None),
        (Algorithm::ES256, Some("ec-1")),
        (Algorithm::EdDSA, Some("ed-1")),
    ] {
        let r = get_notes(&t, &sign(alg, kid, &c)).await;
        assert_eq!(r.status, StatusCode::OK, "{alg:?}: {}", r.text);
    }
    // Within the clock skew: accepted.
    let mut c = claims("ann", &[]);
    c["exp"] = json!(now() - 30);
    assert_eq!(
        get_notes(&t, &sign(Algorithm::RS256, Some("rsa-1"), &c))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_tokens_get_401() {
    let t = app(&jwks_file()).await;
    assert_401(
        &send(&t, "GET", "/notes", None, None).await,
        "no credentials",
    );
    assert_401(&get_notes(&t, "not.a.jwt").await, "malformed");
    assert_401(
        &send(&t, "GET", "/notes", Some("Basic YTpi"), None).await,
        "another scheme",
    );
    let tweak = |f: &dyn Fn(&mut Value)| {
        let mut c = claims("ann", &[]);
        f(&mut c);
        sign(Algorithm::RS256, Some("rsa-1"), &c)
    };
    let cases = [
        ("expired", tweak(&|c| c["exp"] = json!(now() - 3600))),
        ("not yet valid", tweak(&|c| c["nbf"] = json!(now() + 3600))),
        (
            "wrong audience",
            tweak(&|c| c["aud"] = json!("another-api")),
        ),
        (
            "wrong issuer",
            tweak(&|c| c["iss"] = json!("https://evil.example.com")),
        ),
        (
            "no exp",
            tweak(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        (
            "no user claim",
            tweak(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
        ),
    ];
    for (case, token) in cases {
        assert_401(&get_notes(&t, &token).await, case);
    }
    // Forged: signed by a key that is not in the JWKS, claiming its kid.
    let other = EncodingKey::from_rsa_pem(&key("rsa-other.pem")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    let forged = encode(&header, &claims("ann", &[]), &other).unwrap();
    assert_401(&get_notes(&t, &forged).await, "forged");
    // A valid signature with a tampered payload.
    let good = sign(Algorithm::RS256, Some("rsa-1"), &claims("ann", &[]));
    let parts: Vec<&str> = good.split('.').collect();
    let payload = BASE64_URL_SAFE_NO_PAD.encode(claims("root", &["writer"]).to_string());
    assert_401(
        &get_notes(&t, &format!("{}.{payload}.{}", parts[0], parts[2])).await,
        "tampered",
    );
    // HS256 with another secret.
    let wrong = encode(
        &Header::new(Algorithm::HS256),
        &claims("ann", &[]),
        &EncodingKey::from_secret(b"another secret of at least thirty-two bytes!"),
    )
    .unwrap();
    assert_401(&get_notes(&t, &wrong).await, "wrong secret");
    // `alg: none`, unsigned.
    let head = BASE64_URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let body = BASE64_URL_SAFE_NO_PAD.encode(claims("ann", &[]).to_string());
    assert_401(&get_notes(&t, &format!("{head}.{body}.")).await, "alg none");
    // An algorithm not listed, even with the right secret.
    let hs512 = sign(Algorithm::HS512, None, &claims("ann", &[]));
    assert_401(&get_notes(&t, &hs512).await, "HS512 not listed");
    // The RSA public key used as an HMAC secret (algorithm confusion).
    let jwks: Value = serde_json::from_slice(&key("jwks.json")).unwrap();
    let n = jwks["keys"][0]["n"].as_str().unwrap();
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims("ann", &[]),
        &EncodingKey::from_secret(n.as_bytes()),
    )
    .unwrap();
    assert_401(&get_notes(&t, &confused).await, "algorithm confusion");
}

#[tokio::test]
async fn roles_come_from_the_roles_claim() {
    let t = app(&jwks_file()).await;
    let post = |token: String| {
        let t = &t;
        async move {
            t.send(
                "POST",
                "/notes",
                &[
                    ("authorization", &format!("Bearer {token}")),
                    ("content-type", "application/json"),
                ],
                Some(r#"{"text": "x"}"#),
            )
            .await
        }
    };
    let r = post(sign(
        Algorithm::EdDSA,
        Some("ed-1"),
        &claims("ann", &["reader"]),
    ))
    .await;
    assert_403(&r, "no writer role");
    let r = post(sign(
        Algorithm::EdDSA,
        Some("ed-1"),
        &claims("ann", &["writer"]),
    ))
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A space-separated string also lists roles (OAuth2 scopes).
    let mut c = claims("ann", &[]);
    c["roles"] = json!("reader writer");
    let r = post(sign(Algorithm::HS256, None, &c)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn a_jwks_url_is_fetched_once_cached_and_refreshed() {
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let jwks = key("jwks.json");
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let counter = counter.clone();
            let jwks = jwks.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                ([("content-type", "application/json")], jwks)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let t = app(&format!("jwks_url: http://{addr}/jwks")).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 0, "fetched on first use");
    let token = sign(Algorithm::RS256, Some("rsa-1"), &claims("ann", &[]));
    for _ in 0..3 {
        assert_eq!(get_notes(&t, &token).await.status, StatusCode::OK);
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "cached");
    // An unknown kid does not refetch within 30 seconds of the last fetch.
    let unknown = sign(Algorithm::RS256, Some("rsa-9"), &claims("ann", &[]));
    assert_401(&get_notes(&t, &unknown).await, "unknown kid");
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    // jwks_refresh: 1 second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get_notes(&t, &token).await.status, StatusCode::OK);
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "refreshed");
}

#[tokio::test]
async fn a_missing_secret_variable_is_a_start_up_error() {
    let yaml = SETTINGS
        .replace("{VAR}", "EVE_TEST_JWT_NEVER_SET")
        .replace("{KEYS}", &jwks_file());
    let raw = eve_core::settings::parse_str(&yaml, eve_core::settings::Format::Yaml).unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    let errors = eve_http::check_provider_names(&domain);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "AUTH.jwt.secret_env: the environment variable EVE_TEST_JWT_NEVER_SET is not set"
    );
}
