//! Account secrets (features.md §23.7): passwords and tokens are stored as
//! argon2id hashes, hashed on every write (POST, bulk POST, PUT, PATCH, the
//! data API), and no endpoint answers them: items, pages, projections,
//! write answers, embedded documents, versions, the oplog.

use axum::http::StatusCode;
use bson::Bson;
use eve_store::{Filter, FindQuery};
use serde_json::json;

use super::{send, send_as, settings, ALICE, BOB, ROOT};
use crate::integration::common::{enc, TestApp};

/// The basic settings plus versioned accounts, an oplog endpoint, full
/// write answers and posts embedding their author.
fn yaml() -> String {
    settings("basic")
        .replace(
            "RESOURCE_METHODS:",
            "OPLOG: true\nOPLOG_ENDPOINT: oplog\nOPLOG_CHANGE_METHODS: [POST, PATCH, PUT, DELETE]\nBANDWIDTH_SAVER: false\nRESOURCE_METHODS:",
        )
        .replace(
            "    allowed_roles: [admin]\n",
            "    allowed_roles: [admin]\n    versioning: true\n",
        )
        .replace(
            "      title: {type: string}\n",
            "      title: {type: string}\n      author: {type: objectid, data_relation: {resource: accounts, embeddable: true}}\n",
        )
}

/// The status of `GET /notes` as carl with `password`.
async fn carl_status(t: &TestApp, password: &str) -> StatusCode {
    let c = super::credentials("basic", "carl", password, "GET", "/notes", "");
    send(t, "GET", "/notes", Some(&c), None).await.status
}

async fn app() -> TestApp {
    let t = TestApp::new(&yaml()).await;
    let accounts = t.app.resource("accounts").unwrap();
    for a in [&ALICE, &BOB, &ROOT] {
        accounts.insert(a.doc()).await.unwrap();
    }
    t
}

/// The stored accounts, read from the data layer directly.
async fn stored(t: &TestApp) -> Vec<bson::Document> {
    t.app
        .store()
        .find("accounts", &FindQuery::new(Filter::All))
        .await
        .unwrap()
}

/// Fails when any secret (plain or hashed) appears in `text`.
fn assert_no_secret(text: &str, what: &str) {
    for needle in [
        "alice-pw",
        "bob-pw",
        "root-pw",
        "new-pw",
        "$argon2id$",
        "sec-",
        "tok-",
    ] {
        assert!(!text.contains(needle), "{what} shows {needle}: {text}");
    }
    for field in ["\"password\"", "\"token\"", "\"secret\""] {
        assert!(!text.contains(field), "{what} shows {field}: {text}");
    }
}

#[tokio::test]
async fn secrets_are_stored_as_argon2id_hashes() {
    let t = app().await;
    let docs = stored(&t).await;
    assert_eq!(docs.len(), 3);
    for d in &docs {
        let pw = d.get_str("password").unwrap();
        assert!(pw.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{pw}");
        let token = d.get_str("token").unwrap();
        assert!(token.starts_with("$argon2id$"), "{token}");
        // HMAC secrets must stay checkable: kept as written, write-only.
        assert!(d.get_str("secret").unwrap().starts_with("sec-"));
    }
    // Two accounts never share a password hash (random salts).
    assert_ne!(
        docs[0].get_str("password").ok(),
        docs[1].get_str("password").ok()
    );
}

#[tokio::test]
async fn reads_never_show_secrets() {
    let t = app().await;
    let r = send_as(&t, "basic", &ROOT, "GET", "/accounts", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_items"].as_array().unwrap().len(), 3);
    assert_no_secret(&r.text, "page");
    let id = r.json()["_items"][0]["_id"].as_str().unwrap().to_string();
    for path in [
        format!("/accounts/{id}"),
        format!(
            "/accounts?projection={}",
            enc(r#"{"password": 1, "token": 1}"#)
        ),
        format!("/accounts?projection={}", enc(r#"{"username": 0}"#)),
        format!("/accounts/{id}?projection={}", enc(r#"{"secret": 1}"#)),
        format!("/accounts/{id}?version=all"),
        format!("/accounts/{id}?version=1"),
        format!("/accounts/{id}?version=diffs"),
    ] {
        let r = send_as(&t, "basic", &ROOT, "GET", &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_no_secret(&r.text, &path);
    }
    // A client `where` on a secret finds nothing useful either way; the
    // answer still shows no secret.
    let r = send_as(
        &t,
        "basic",
        &ROOT,
        "GET",
        "/accounts?where=%7B%22username%22%3A%22bob%22%7D",
        None,
    )
    .await;
    assert_eq!(r.json()["_items"][0]["username"], json!("bob"));
    assert_no_secret(&r.text, "where");
}

#[tokio::test]
async fn writes_hash_secrets_and_answer_without_them() {
    let t = app().await;
    // POST (bulk) answers the stored documents (BANDWIDTH_SAVER off).
    let body = r#"[{"username": "carl", "password": "carl-pw", "roles": []},
                   {"username": "dora", "password": "dora-pw", "token": "tok-dora"}]"#;
    let r = send_as(&t, "basic", &ROOT, "POST", "/accounts", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(
        !r.text.contains("carl-pw") && !r.text.contains("$argon2id$"),
        "{}",
        r.text
    );
    let carl_id = r.json()["_items"][0]["_id"].as_str().unwrap().to_string();
    assert_eq!(carl_status(&t, "carl-pw").await, StatusCode::OK);
    // PATCH a new password: hashed, the old one stops working.
    let etag = send_as(
        &t,
        "basic",
        &ROOT,
        "GET",
        &format!("/accounts/{carl_id}"),
        None,
    )
    .await
    .json()["_etag"]
        .as_str()
        .unwrap()
        .to_string();
    let c = super::credentials("basic", ROOT.name, ROOT.password, "", "", "");
    let path = format!("/accounts/{carl_id}");
    let r = super::edit_as(&t, &c, "PATCH", &path, &etag, r#"{"password": "new-pw"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_no_secret(&r.text, "PATCH answer");
    assert_eq!(carl_status(&t, "carl-pw").await, StatusCode::UNAUTHORIZED);
    assert_eq!(carl_status(&t, "new-pw").await, StatusCode::OK);
    // PUT replaces it again.
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = super::edit_as(
        &t,
        &c,
        "PUT",
        &path,
        &etag,
        r#"{"username": "carl", "password": "put-pw"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains("put-pw"), "{}", r.text);
    assert_eq!(carl_status(&t, "new-pw").await, StatusCode::UNAUTHORIZED);
    assert_eq!(carl_status(&t, "put-pw").await, StatusCode::OK);
    // Every stored password is a hash; no plain text anywhere.
    for d in stored(&t).await {
        if let Some(Bson::String(pw)) = d.get("password") {
            assert!(pw.starts_with("$argon2id$"), "{d}");
        }
    }
    // A password that is not a string is refused, never stored in clear.
    let r = send_as(
        &t,
        "basic",
        &ROOT,
        "POST",
        "/accounts",
        Some(r#"{"username": "eve", "password": 123}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // The oplog has the changes, not the secrets.
    let r = send_as(&t, "basic", &ROOT, "GET", "/oplog", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.json()["_items"].as_array().unwrap().len() >= 3,
        "{}",
        r.text
    );
    assert!(
        r.text.contains("\"u\": \"root\"") || r.text.contains("\"u\":\"root\""),
        "{}",
        r.text
    );
    assert_no_secret(&r.text, "oplog");
}

#[tokio::test]
async fn embedded_accounts_show_no_secret() {
    let t = app().await;
    let alice_id = stored(&t)
        .await
        .iter()
        .find(|d| d.get_str("username").ok() == Some("alice"))
        .and_then(|d| d.get_object_id("_id").ok())
        .unwrap()
        .to_hex();
    let body = format!(r#"{{"title": "t", "author": "{alice_id}"}}"#);
    let r = send_as(&t, "basic", &ALICE, "POST", "/posts", Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["_id"].as_str().unwrap().to_string();
    let embedded = enc(r#"{"author": 1}"#);
    for path in [
        format!("/posts?embedded={embedded}"),
        format!("/posts/{id}?embedded={embedded}"),
    ] {
        let r = send(&t, "GET", &path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert!(r.text.contains("\"username\""), "embedded: {}", r.text);
        assert_no_secret(&r.text, &path);
    }
}
