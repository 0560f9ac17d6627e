//! Every built-in provider × (no credentials, malformed header, wrong
//! secret, unknown user, valid) × (public method, protected method, role
//! required), and where authentication comes in the pipeline.

use axum::http::StatusCode;
use serde_json::json;

use super::{
    app, assert_401, assert_403, credentials, send, send_as, settings, ALICE, BOB, PROVIDERS,
};
use crate::integration::common::TestApp;

/// The credential cases other than a valid one: (name, header).
fn bad_headers(
    provider: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Vec<(&'static str, Option<String>)> {
    let malformed = match provider {
        "basic" => "Basic !!not-base64!!".to_string(),
        "token" => "Bearer ".to_string(),
        _ => "no-colon-here".to_string(),
    };
    vec![
        ("no credentials", None),
        ("malformed header", Some(malformed)),
        (
            "wrong secret",
            Some(credentials(provider, "alice", "wrong", method, path, body)),
        ),
        (
            "unknown user",
            Some(credentials(
                provider,
                "nobody",
                "nobody-pw",
                method,
                path,
                body,
            )),
        ),
    ]
}

#[tokio::test]
async fn public_methods_answer_whatever_the_credentials() {
    for provider in PROVIDERS {
        let t = app(provider).await;
        for (case, header) in bad_headers(provider, "GET", "/posts", "") {
            let r = send(&t, "GET", "/posts", header.as_deref(), None).await;
            assert_eq!(r.status, StatusCode::OK, "{provider} {case}: {}", r.text);
            assert_eq!(r.json()["_items"], json!([]), "{provider} {case}");
        }
        let r = send_as(&t, provider, &BOB, "GET", "/posts", None).await;
        assert_eq!(r.status, StatusCode::OK, "{provider} valid: {}", r.text);
    }
}

#[tokio::test]
async fn protected_methods_need_valid_credentials() {
    for provider in PROVIDERS {
        let t = app(provider).await;
        let body = r#"{"text": "hi"}"#;
        for (method, payload) in [("GET", None), ("POST", Some(body))] {
            for (case, header) in bad_headers(provider, method, "/notes", payload.unwrap_or("")) {
                let r = send(&t, method, "/notes", header.as_deref(), payload).await;
                assert_401(&r, &format!("{provider} {method} {case}"));
            }
        }
        let r = send_as(&t, provider, &BOB, "POST", "/notes", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{provider}: {}", r.text);
        let r = send_as(&t, provider, &BOB, "GET", "/notes", None).await;
        assert_eq!(r.status, StatusCode::OK, "{provider}: {}", r.text);
        assert_eq!(r.json()["_meta"]["total"], json!(1), "{provider}");
    }
}

#[tokio::test]
async fn a_required_role_is_403_for_a_known_account_without_it() {
    let body = r#"{"title": "t"}"#;
    for provider in PROVIDERS {
        let t = app(provider).await;
        for (case, header) in bad_headers(provider, "POST", "/posts", body) {
            let r = send(&t, "POST", "/posts", header.as_deref(), Some(body)).await;
            assert_401(&r, &format!("{provider} {case}"));
        }
        let r = send_as(&t, provider, &BOB, "POST", "/posts", Some(body)).await;
        assert_403(&r, &format!("{provider} bob"));
        let r = send_as(&t, provider, &ALICE, "POST", "/posts", Some(body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{provider}: {}", r.text);
        // Item roles are their own lists: editors may patch, bob may not.
        let id = r.json()["_id"].as_str().unwrap().to_string();
        let etag = r.json()["_etag"].as_str().unwrap().to_string();
        let path = format!("/posts/{id}");
        let patch = r#"{"title": "u"}"#;
        let c = credentials(provider, BOB.name, BOB.password, "PATCH", &path, patch);
        let r = super::edit_as(&t, &c, "PATCH", &path, &etag, patch).await;
        assert_403(&r, &format!("{provider} bob patch"));
        let c = credentials(provider, ALICE.name, ALICE.password, "PATCH", &path, patch);
        let r = super::edit_as(&t, &c, "PATCH", &path, &etag, patch).await;
        assert_eq!(r.status, StatusCode::OK, "{provider}: {}", r.text);
        // Public item reads.
        let r = send(&t, "GET", &path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{provider}: {}", r.text);
        assert_eq!(r.json()["title"], json!("u"));
    }
}

#[tokio::test]
async fn head_is_checked_as_head_and_options_is_always_public() {
    let t = app("basic").await;
    // public_methods: [GET] does not make HEAD public (§23.2).
    let r = send(&t, "HEAD", "/posts", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"blog\""));
    assert!(r.text.is_empty());
    let r = send_as(&t, "basic", &BOB, "HEAD", "/posts", None).await;
    assert_eq!(r.status, StatusCode::OK);
    for path in ["/notes", "/posts", "/accounts", "/"] {
        let r = send(&t, "OPTIONS", path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
    }
    // Listing HEAD makes it public.
    let t = TestApp::new(
        &settings("basic").replace("public_methods: [GET]", "public_methods: [GET, HEAD]"),
    )
    .await;
    let r = send(&t, "HEAD", "/posts", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_urls_and_disabled_methods_answer_before_authentication() {
    let t = app("basic").await;
    // 404 and 405 come from routing, before the provider (as in Flask).
    let r = send(&t, "GET", "/nowhere", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&t, "PUT", "/notes", None, Some("{}")).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("www-authenticate"), None);
    // A missing item is looked up only once authenticated.
    let r = send(&t, "GET", "/notes/5f0000000000000000000001", None, None).await;
    assert_401(&r, "missing item");
    let r = send_as(
        &t,
        "basic",
        &BOB,
        "GET",
        "/notes/5f0000000000000000000001",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn accounts_need_the_admin_role_and_home_follows_the_globals() {
    let t = app("basic").await;
    let r = send_as(&t, "basic", &BOB, "GET", "/accounts", None).await;
    assert_403(&r, "bob reads accounts");
    let r = send_as(&t, "basic", &super::ROOT, "GET", "/accounts", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_meta"]["total"], json!(3));
    // Home: the global provider, no public methods.
    let r = send(&t, "GET", "/", None, None).await;
    assert_401(&r, "home");
    let r = send_as(&t, "basic", &BOB, "GET", "/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    // The schema endpoint shows what the caller may read.
    assert_401(&send(&t, "GET", "/schema", None, None).await, "schema");
    let r = send_as(&t, "basic", &BOB, "GET", "/schema", None).await;
    let names: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(names, ["posts", "notes"]);
    let r = send_as(&t, "basic", &super::ROOT, "GET", "/schema", None).await;
    assert_eq!(r.json().as_object().unwrap().len(), 3);
    assert_403(
        &send_as(&t, "basic", &BOB, "GET", "/schema/accounts", None).await,
        "bob reads the accounts schema",
    );
    let r = send(&t, "GET", "/schema/posts", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "public posts schema: {}", r.text);
}

#[tokio::test]
async fn resources_choose_their_provider_or_none() {
    let yaml = settings("basic")
        .replace("  notes:\n", "  notes:\n    authentication: token\n")
        .replace("  posts:\n", "  posts:\n    authentication: none\n");
    let t = TestApp::new(&yaml).await;
    let accounts = t.app.resource("accounts").unwrap();
    accounts.insert(BOB.doc()).await.unwrap();
    // `none`: public, even for writes.
    let r = send(&t, "POST", "/posts", None, Some(r#"{"title": "x"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // `token` on notes: basic credentials carry the token as user name.
    let r = send_as(&t, "basic", &BOB, "GET", "/notes", None).await;
    assert_401(&r, "basic on a token resource");
    let r = send_as(&t, "token", &BOB, "GET", "/notes", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn unknown_provider_names_are_refused_at_start_up() {
    let yaml = settings("basic").replace("  notes:\n", "  notes:\n    authentication: ldap\n");
    let raw = eve_core::settings::parse_str(&yaml, eve_core::settings::Format::Yaml).unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = crate::integration::common::test_store(&domain, dir.path()).await;
    let err = eve_http::App::builder()
        .store(store)
        .domain(domain)
        .await
        .expect_err("unknown provider");
    assert!(
        err.to_string()
            .starts_with("DOMAIN.notes.authentication: unknown authentication provider 'ldap'"),
        "{err}"
    );
}

/// A provider registered from Rust: `X-Api-Key: k-<user>` for any user,
/// role `reader`.
struct ApiKeys;

#[async_trait::async_trait]
impl eve_http::AuthProvider for ApiKeys {
    async fn check(&self, req: &eve_http::AuthRequest<'_>) -> eve_http::Verdict {
        match req.header("x-api-key").and_then(|k| k.strip_prefix("k-")) {
            None => eve_http::Verdict::Anonymous,
            Some("") => eve_http::Verdict::Refused,
            Some(user) => eve_http::Verdict::for_roles(
                eve_http::Identity {
                    user: user.to_string(),
                    roles: vec!["reader".into()],
                    auth_value: Some(user.into()),
                    db_prefix: None,
                },
                req.allowed_roles,
            ),
        }
    }

    fn realm(&self) -> &str {
        "keys"
    }
}

#[tokio::test]
async fn providers_registered_from_rust_override_built_ins() {
    let yaml = settings("basic")
        .replace("  notes:\n", "  notes:\n    authentication: keys\n")
        .replace(
            "allowed_write_roles: [editor]",
            "allowed_write_roles: [reader]",
        );
    let raw = eve_core::settings::parse_str(&yaml, eve_core::settings::Format::Yaml).unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = crate::integration::common::test_store(&domain, dir.path()).await;
    // `basic` overridden too: the global provider is the key provider.
    let app = eve_http::App::builder()
        .store(store)
        .auth_provider("keys", ApiKeys)
        .auth_provider("basic", ApiKeys)
        .domain(domain)
        .await
        .expect("app");
    let t = TestApp::from_app(app, dir);
    let r = t.send("GET", "/notes", &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.header("www-authenticate"), Some("Basic realm=\"keys\""));
    let r = t
        .send("GET", "/notes", &[("x-api-key", "k-ann")], None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t
        .send(
            "POST",
            "/posts",
            &[("x-api-key", "k-ann"), ("content-type", "application/json")],
            Some(r#"{"title": "x"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
