//! The user-restricted matrix over HTTP, with the built-in `basic`
//! provider (the account's `username` is the auth value): user ann can
//! neither read, list, count, embed, version, edit, replace nor delete
//! bob's documents by any endpoint, and `_meta.total` does not count them.

use axum::http::StatusCode;
use base64::prelude::{Engine, BASE64_STANDARD};
use bson::doc;
use serde_json::{json, Value};

use super::super::common::{enc, Resp, TestApp};
use super::settings;

/// An app whose accounts are ann and bob, owner values their user names.
async fn app() -> TestApp {
    app_with("username").await
}

async fn app_with(owner_field: &str) -> TestApp {
    let t = TestApp::new(&settings(owner_field)).await;
    let accounts = t.app.resource("accounts").expect("accounts");
    for name in ["ann", "bob"] {
        let account = doc! {"username": name, "password": format!("{name}-pw")};
        accounts.insert(account).await.expect("account");
    }
    t
}

/// A request as `user` (password `<user>-pw`), with a JSON body if any.
pub(super) async fn as_user(
    t: &TestApp,
    user: &str,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> Resp {
    let auth = format!(
        "Basic {}",
        BASE64_STANDARD.encode(format!("{user}:{user}-pw"))
    );
    let mut headers = vec![("authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    t.send(method, uri, &headers, body).await
}

/// A write as `user` with `If-Match`.
async fn edit_as(t: &TestApp, user: &str, method: &str, uri: &str, etag: &str, body: &str) -> Resp {
    let auth = format!(
        "Basic {}",
        BASE64_STANDARD.encode(format!("{user}:{user}-pw"))
    );
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("if-match", etag),
    ];
    t.send(method, uri, &headers, Some(body)).await
}

/// POSTs one document as `user`: (id, etag).
pub(super) async fn create(t: &TestApp, user: &str, uri: &str, body: &str) -> (String, String) {
    let r = as_user(t, user, "POST", uri, Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let j = r.json();
    (
        j["_id"].as_str().expect("_id").to_string(),
        j["_etag"].as_str().expect("_etag").to_string(),
    )
}

/// The `_items` field `field` of a collection GET as `user`, and its
/// `_meta.total`.
async fn listed(t: &TestApp, user: &str, uri: &str, field: &str) -> (Vec<Value>, Value) {
    let r = as_user(t, user, "GET", uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = r.json();
    let items = j["_items"].as_array().expect("_items");
    (
        items.iter().map(|i| i[field].clone()).collect(),
        j["_meta"]["total"].clone(),
    )
}

/// Eve's 404 body.
fn not_found() -> Value {
    json!({"_status": "ERR", "_error": {"code": 404, "message":
        "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."}})
}

fn assert_404(r: &Resp, what: &str) {
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}: {}", r.text);
    if !r.text.is_empty() {
        assert_eq!(r.json(), not_found(), "{what}");
    }
}

/// The documents of a collection as stored, whoever owns them:
/// (text, owner).
async fn stored(t: &TestApp, collection: &str) -> Vec<(String, String)> {
    let docs = t
        .app
        .store()
        .find(
            collection,
            &eve_store::FindQuery::new(eve_query::Filter::All),
        )
        .await
        .expect("find");
    docs.iter()
        .map(|d| {
            (
                d.get_str("text").unwrap_or_default().to_string(),
                d.get_str("owner").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn posts_stamp_the_owner_and_answers_do_not_show_it() {
    let t = app().await;
    let r = as_user(
        &t,
        "ann",
        "POST",
        "/notes",
        Some(r#"[{"text": "a1"}, {"text": "a2"}]"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    for item in r.json()["_items"].as_array().expect("_items") {
        assert_eq!(item["_status"], "OK");
        assert!(item.get("owner").is_none(), "{item}");
    }
    create(&t, "bob", "/notes", r#"{"text": "b1"}"#).await;
    assert_eq!(
        stored(&t, "notes").await,
        [
            ("a1".into(), "ann".into()),
            ("a2".into(), "ann".into()),
            ("b1".into(), "bob".into())
        ]
    );
    // The owner field is not in the schema: clients cannot send it.
    let r = as_user(&t, "ann", "POST", "/notes", Some(r#"{"owner": "bob"}"#)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Reads do not show it either.
    let r = as_user(&t, "ann", "GET", "/notes", None).await;
    assert!(!r.text.contains("\"owner\""), "{}", r.text);
}

#[tokio::test]
async fn lists_and_totals_hold_only_the_users_documents() {
    let t = app().await;
    create(&t, "ann", "/notes", r#"{"text": "a1"}"#).await;
    create(&t, "bob", "/notes", r#"{"text": "b1"}"#).await;
    create(&t, "bob", "/notes", r#"{"text": "b2"}"#).await;
    assert_eq!(
        listed(&t, "ann", "/notes", "text").await,
        (vec![json!("a1")], json!(1))
    );
    assert_eq!(
        listed(&t, "bob", "/notes", "text").await,
        (vec![json!("b1"), json!("b2")], json!(2))
    );
    // A `where` that would widen the scope finds nothing more.
    let w = enc(r#"{"$or": [{"owner": "bob"}, {"text": "b1"}]}"#);
    assert_eq!(
        listed(&t, "ann", &format!("/notes?where={w}"), "text").await,
        (vec![], json!(0))
    );
    // HEAD: the same answer without a body.
    let r = as_user(&t, "ann", "HEAD", "/notes", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.is_empty());
}

#[tokio::test]
async fn another_users_item_is_not_found_and_cannot_be_changed() {
    let t = app().await;
    let (id, etag) = create(&t, "bob", "/notes", r#"{"text": "b1"}"#).await;
    let uri = format!("/notes/{id}");
    assert_404(&as_user(&t, "ann", "GET", &uri, None).await, "GET");
    assert_404(&as_user(&t, "ann", "HEAD", &uri, None).await, "HEAD");
    let r = edit_as(&t, "ann", "PATCH", &uri, &etag, r#"{"text": "x"}"#).await;
    assert_404(&r, "PATCH");
    // PUT: 403, with or without the right ETag, never an upsert.
    let r = edit_as(&t, "ann", "PUT", &uri, &etag, r#"{"text": "x"}"#).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_error": {"code": 403, "message":
            "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server."}})
    );
    let r = as_user(&t, "ann", "PUT", &uri, Some(r#"{"text": "x"}"#)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // DELETE: 204, as for a missing document, and nothing changes.
    let r = as_user(&t, "ann", "DELETE", &uri, None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = edit_as(&t, "ann", "DELETE", &uri, &etag, "").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(stored(&t, "notes").await, [("b1".into(), "bob".into())]);
    let r = as_user(&t, "bob", "GET", &uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_etag"], etag.as_str());
}

#[tokio::test]
async fn the_owner_replaces_updates_and_upserts_their_own() {
    let t = app().await;
    let (id, etag) = create(&t, "ann", "/notes", r#"{"text": "a1"}"#).await;
    let uri = format!("/notes/{id}");
    let r = edit_as(&t, "ann", "PUT", &uri, &etag, r#"{"text": "A1"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json().get("owner").is_none());
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = edit_as(&t, "ann", "PATCH", &uri, &etag, r#"{"text": "A2"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A PUT on a new id creates the document, owned by its author.
    let new = "5f00000000000000000000aa";
    let r = as_user(
        &t,
        "ann",
        "PUT",
        &format!("/notes/{new}"),
        Some(r#"{"text": "up"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        stored(&t, "notes").await,
        [("A2".into(), "ann".into()), ("up".into(), "ann".into())]
    );
    // ... and bob then cannot replace it.
    let r = as_user(
        &t,
        "bob",
        "PUT",
        &format!("/notes/{new}"),
        Some(r#"{"text": "x"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn a_collection_delete_deletes_only_the_users_documents() {
    let t = app().await;
    create(&t, "ann", "/notes", r#"{"text": "a1"}"#).await;
    create(&t, "bob", "/notes", r#"{"text": "b1"}"#).await;
    let r = as_user(&t, "ann", "DELETE", "/notes", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(stored(&t, "notes").await, [("b1".into(), "bob".into())]);
    // Soft delete: only the user's documents are marked.
    create(&t, "ann", "/drafts", r#"{"text": "a"}"#).await;
    let (bob_draft, bob_etag) = create(&t, "bob", "/drafts", r#"{"text": "b"}"#).await;
    let r = as_user(&t, "ann", "DELETE", "/drafts", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        listed(&t, "ann", "/drafts", "text").await,
        (vec![], json!(0))
    );
    assert_eq!(
        listed(&t, "bob", "/drafts", "text").await,
        (vec![json!("b")], json!(1))
    );
    // Bob's soft-deleted draft is a plain 404 for ann (Eve's 404 of a
    // soft-deleted document carries it; hers would not be found at all).
    let uri = format!("/drafts/{bob_draft}");
    let r = edit_as(&t, "bob", "DELETE", &uri, &bob_etag, "").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_404(&as_user(&t, "ann", "GET", &uri, None).await, "soft-deleted");
    let r = as_user(&t, "bob", "GET", &uri, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["text"], "b", "{}", r.text);
}

#[tokio::test]
async fn a_where_naming_another_owner_is_refused_with_401() {
    let t = app().await;
    create(&t, "ann", "/notes", r#"{"text": "a1"}"#).await;
    for w in [
        r#"{"owner": "bob"}"#,
        r#"{"owner": {"$ne": "ann"}}"#,
        r#"{"$and": [{"owner": "bob"}]}"#,
    ] {
        let r = as_user(&t, "ann", "GET", &format!("/notes?where={}", enc(w)), None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{w}: {}", r.text);
        assert_eq!(r.header("www-authenticate"), None, "{w}");
        assert_eq!(
            r.json(),
            json!({"_status": "ERR", "_error": {"code": 401, "message":
                "Incompatible User-Restricted Resource request."}}),
            "{w}"
        );
    }
    let w = enc(r#"{"owner": "ann"}"#);
    assert_eq!(
        listed(&t, "ann", &format!("/notes?where={w}"), "text").await,
        (vec![json!("a1")], json!(1))
    );
}

#[tokio::test]
async fn versions_of_another_users_document_are_not_found() {
    let t = app().await;
    let (id, etag) = create(&t, "bob", "/notes", r#"{"text": "b1"}"#).await;
    let uri = format!("/notes/{id}");
    let r = edit_as(&t, "bob", "PATCH", &uri, &etag, r#"{"text": "b2"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let as_of = enc("Tue, 01 Jan 2030 00:00:00 GMT");
    for q in [
        "version=1",
        "version=all",
        "version=diffs",
        &format!("as_of={as_of}"),
    ] {
        let at = format!("{uri}?{q}");
        assert_404(&as_user(&t, "ann", "GET", &at, None).await, q);
        let r = as_user(&t, "bob", "GET", &at, None).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text);
        assert!(!r.text.contains("\"owner\""), "{q}: {}", r.text);
    }
}

#[tokio::test]
async fn embedded_and_referenced_documents_of_another_user_are_not_revealed() {
    let t = app().await;
    let (bob_topic, _) = create(&t, "bob", "/topics", r#"{"name": "bob's"}"#).await;
    let (ann_topic, _) = create(&t, "ann", "/topics", r#"{"name": "ann's"}"#).await;
    // A reference to bob's topic does not validate for ann: it does not
    // exist for her.
    let body = format!(r#"{{"topic": "{bob_topic}"}}"#);
    let r = as_user(&t, "ann", "POST", "/notes", Some(&body)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["_issues"]["topic"],
        json!(format!(
            "value '{bob_topic}' must exist in resource 'topics', field '_id'."
        ))
    );
    let (mine, _) = create(
        &t,
        "ann",
        "/notes",
        &format!(r#"{{"topic": "{ann_topic}"}}"#),
    )
    .await;
    // A note of ann's naming bob's topic (written outside the API):
    // embedding shows it as a missing document.
    let oid = |hex: &str| bson::oid::ObjectId::parse_str(hex).unwrap();
    t.app
        .store()
        .insert(
            "notes",
            vec![
                doc! {"_id": oid("5f00000000000000000000bb"), "text": "planted",
                "topic": oid(&bob_topic), "owner": "ann"},
            ],
        )
        .await
        .expect("insert");
    let embedded = enc(r#"{"topic": 1}"#);
    let r = as_user(
        &t,
        "ann",
        "GET",
        &format!("/notes?embedded={embedded}"),
        None,
    )
    .await;
    let topics: Vec<Value> = r.json()["_items"]
        .as_array()
        .expect("_items")
        .iter()
        .map(|i| i["topic"].clone())
        .collect();
    assert_eq!(topics.len(), 2, "{}", r.text);
    assert_eq!(topics[0]["name"], "ann's", "{}", r.text);
    assert_eq!(topics[1], Value::Null, "{}", r.text);
    let r = as_user(
        &t,
        "ann",
        "GET",
        &format!("/notes/5f00000000000000000000bb?embedded={embedded}"),
        None,
    )
    .await;
    assert_eq!(r.json()["topic"], Value::Null, "{}", r.text);
    let r = as_user(
        &t,
        "ann",
        "GET",
        &format!("/notes/{mine}?embedded={embedded}"),
        None,
    )
    .await;
    assert_eq!(r.json()["topic"]["name"], "ann's", "{}", r.text);
}

#[tokio::test]
async fn unique_to_user_holds_per_user() {
    let t = app().await;
    create(&t, "ann", "/notes", r#"{"code": "x"}"#).await;
    create(&t, "bob", "/notes", r#"{"code": "x"}"#).await;
    let r = as_user(&t, "ann", "POST", "/notes", Some(r#"{"code": "x"}"#)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["_issues"],
        json!({"code": "value 'x' is not unique"})
    );
}

#[tokio::test]
async fn the_oplog_endpoint_shows_each_user_their_own_entries() {
    let t = app().await;
    let (id, _) = create(&t, "ann", "/notes", r#"{"text": "a1"}"#).await;
    create(&t, "bob", "/notes", r#"{"text": "b1"}"#).await;
    create(&t, "bob", "/topics", r#"{"name": "t"}"#).await;
    assert_eq!(
        listed(&t, "ann", "/oplog", "i").await,
        (vec![json!(id)], json!(1))
    );
    let (entries, total) = listed(&t, "bob", "/oplog", "r").await;
    assert_eq!(
        (entries, total),
        (vec![json!("notes"), json!("topics")], json!(2))
    );
    // The owner field is not in the oplog's schema: not shown.
    let r = as_user(&t, "ann", "GET", "/oplog", None).await;
    assert!(!r.text.contains("\"owner\""), "{}", r.text);
}

#[tokio::test]
async fn public_methods_are_not_restricted() {
    let t = app().await;
    create(&t, "ann", "/posts", r#"{"title": "hello"}"#).await;
    // GET is public on posts: anyone (and bob) lists every post.
    let r = t.get("/posts").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_meta"]["total"], 1);
    assert_eq!(
        listed(&t, "bob", "/posts", "title").await,
        (vec![json!("hello")], json!(1))
    );
    // Writes are not public: the post is ann's.
    assert_eq!(stored(&t, "posts").await, [(String::new(), "ann".into())]);
    let r = as_user(&t, "bob", "DELETE", "/posts", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(listed(&t, "ann", "/posts", "title").await.1, json!(1));
}

#[tokio::test]
async fn an_objectid_owner_value_is_matched_by_its_hex_string() {
    // AUTH.owner_field `_id`: the account's ObjectId is the owner value.
    let t = app_with("_id").await;
    create(&t, "ann", "/notes", r#"{"text": "a1"}"#).await;
    create(&t, "bob", "/notes", r#"{"text": "b1"}"#).await;
    let accounts = t.app.resource("accounts").expect("accounts");
    let ann = accounts
        .find_one(&doc! {"username": "ann"})
        .await
        .unwrap()
        .expect("ann");
    let ann_id = ann.get_object_id("_id").unwrap().to_hex();
    let w = enc(&format!(r#"{{"owner": "{ann_id}"}}"#));
    assert_eq!(
        listed(&t, "ann", &format!("/notes?where={w}"), "text").await,
        (vec![json!("a1")], json!(1))
    );
    let r = as_user(&t, "bob", "GET", &format!("/notes?where={w}"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}
