//! Authentication and roles from the settings file (features.md §23.1–
//! §23.5, §23.7; issue #18): the built-in `basic`, `token` and `hmac`
//! providers over an accounts resource, public methods, role lists, the
//! `401`/`403` answers and where they come in the pipeline, providers
//! registered from Rust, and account secrets stored hashed and never
//! answered.
//!
//! The oracle cannot serve authentication (it drops Python-only
//! settings); the order of the answers (404 and 405 before 401; 401
//! before a missing item's 404) follows Eve's code: Flask routes and
//! checks the method before the view's `requires_auth` runs, and the
//! lookup happens inside the view.

use axum::http::StatusCode;
use base64::prelude::{Engine, BASE64_STANDARD};
use bson::{doc, Document};
use serde_json::{json, Value};

use super::common::{Resp, TestApp};

mod field_roles;
mod jwt;
mod matrix;
mod secrets;

/// Accounts, `posts` (public reads, writes for editors) and `notes`
/// (private, any account). `{TYPE}` is the provider.
const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
AUTH: {type: {TYPE}, accounts: accounts, realm: blog}
SCHEMA_ENDPOINT: schema
DOMAIN:
  accounts:
    allowed_roles: [admin]
    allowed_item_roles: [admin]
    schema:
      username: {type: string, required: true, unique: true}
      password: {type: string}
      token: {type: string}
      secret: {type: string}
      roles: {type: list}
  posts:
    public_methods: [GET]
    public_item_methods: [GET]
    allowed_write_roles: [editor]
    allowed_item_write_roles: [editor]
    schema:
      title: {type: string}
  notes:
    schema:
      text: {type: string}
"#;

/// The built-ins under test.
pub(super) const PROVIDERS: &[&str] = &["basic", "token", "hmac"];

/// The settings for one provider.
pub(super) fn settings(provider: &str) -> String {
    SETTINGS.replace("{TYPE}", provider)
}

/// Eve's 401 body (§23.4).
pub(super) fn unauthorized() -> Value {
    json!({"_status": "ERR", "_error": {"code": 401, "message": "Please provide proper credentials"}})
}

/// Eve's 403 body.
pub(super) fn forbidden() -> Value {
    json!({"_status": "ERR", "_error": {"code": 403, "message":
        "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server."}})
}

/// Asserts a 401 with the challenge and Eve's body.
pub(super) fn assert_401(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}: {}", r.text);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"blog\""),
        "{what}"
    );
    assert_eq!(r.json(), unauthorized(), "{what}");
}

/// Asserts a 403 with Eve's body and no challenge.
pub(super) fn assert_403(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text);
    assert_eq!(r.header("www-authenticate"), None, "{what}");
    assert_eq!(r.json(), forbidden(), "{what}");
}

/// An account: user name, password (also its token and HMAC secret, with
/// a prefix) and roles.
pub(super) struct Account {
    pub name: &'static str,
    pub password: &'static str,
    pub roles: &'static [&'static str],
}

pub(super) const ALICE: Account = Account {
    name: "alice",
    password: "alice-pw",
    roles: &["editor"],
};
pub(super) const BOB: Account = Account {
    name: "bob",
    password: "bob-pw",
    roles: &[],
};
pub(super) const ROOT: Account = Account {
    name: "root",
    password: "root-pw",
    roles: &["admin"],
};

impl Account {
    pub fn token(&self) -> String {
        format!("tok-{}", self.password)
    }
    pub fn secret(&self) -> String {
        format!("sec-{}", self.password)
    }
    pub fn doc(&self) -> Document {
        doc! {
            "username": self.name,
            "password": self.password,
            "token": self.token(),
            "secret": self.secret(),
            "roles": self.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        }
    }
}

/// An app for `provider` with ALICE, BOB and ROOT created through the
/// data API (so their secrets go through the same hashing hooks).
pub(super) async fn app(provider: &str) -> TestApp {
    let t = TestApp::new(&settings(provider)).await;
    let accounts = t.app.resource("accounts").expect("accounts");
    for a in [&ALICE, &BOB, &ROOT] {
        accounts.insert(a.doc()).await.expect("account inserted");
    }
    t
}

/// The `Authorization` header `provider` expects for `user` with
/// `password` (the password also derives the token and secret), for a
/// request `method path` with `body`.
pub(super) fn credentials(
    provider: &str,
    user: &str,
    password: &str,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    match provider {
        "basic" => format!(
            "Basic {}",
            BASE64_STANDARD.encode(format!("{user}:{password}"))
        ),
        "token" => format!("Bearer tok-{password}"),
        _ => {
            let msg = eve_auth::accounts::hmac_message(method, path, body.as_bytes());
            format!(
                "{user}:{}",
                eve_auth::accounts::hmac_sign(format!("sec-{password}").as_bytes(), &msg)
            )
        }
    }
}

/// Sends a request with `authorization` (if any) and a JSON body (if any).
pub(super) async fn send(
    t: &TestApp,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    body: Option<&str>,
) -> Resp {
    let mut headers: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = authorization {
        headers.push(("authorization", a));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    t.send(method, path, &headers, body).await
}

/// Sends a request signed as `who` for `provider`.
pub(super) async fn send_as(
    t: &TestApp,
    provider: &str,
    who: &Account,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Resp {
    let c = credentials(
        provider,
        who.name,
        who.password,
        method,
        path,
        body.unwrap_or(""),
    );
    send(t, method, path, Some(&c), body).await
}

/// A write with `authorization` and `If-Match`.
pub(super) async fn edit_as(
    t: &TestApp,
    authorization: &str,
    method: &str,
    path: &str,
    etag: &str,
    body: &str,
) -> Resp {
    t.send(
        method,
        path,
        &[
            ("authorization", authorization),
            ("content-type", "application/json"),
            ("if-match", etag),
        ],
        Some(body),
    )
    .await
}
