//! Soft delete (features.md §31): DELETE marks documents `_deleted: true`
//! with a new `_updated` and `_etag`; reads hide them unless
//! `?show_deleted` or a `where` on `_deleted`; an item GET answers `404`
//! with the document; PUT and PATCH restore; `unique` and `data_relation`
//! ignore deleted documents; documents without the flag are live; the
//! delete hooks Eve fires. Runs on every data layer (`EVE_TEST_BACKEND`).

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use eve_http::{Hooks, Scope};
use serde_json::{json, Value};

use super::common::{enc, Resp, TestApp};

const SETTINGS: &str = r#"
SOFT_DELETE: true
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  people:
    item_title: person
    cache_control: max-age=20
    additional_lookup: {url: 'regex("[\w]+")', field: lastname}
    schema:
      firstname: {type: string}
      lastname: {type: string, required: true, unique: true}
      age: {type: integer}
  works:
    schema:
      title: {type: string, required: true}
      owner: {type: objectid, data_relation: {resource: people}}
  notes:
    soft_delete: false
    schema: {text: {type: string}}
  invoices:
    url: 'people/<regex("[a-f0-9]{24}"):person>/invoices'
    schema: {person: {type: objectid}, n: {type: integer}}
  adults:
    datasource: {source: grownups, filter: {age: {$gte: 18}}}
    schema: {name: {type: string}, age: {type: integer}}
"#;

/// Eve's `_error.message` of the 404 answering a soft-deleted item.
const DELETED_MESSAGE: &str = "The requested URL was not found on this server.";

/// A DELETE with `If-Match`.
async fn delete(t: &TestApp, url: &str, etag: &str) -> Resp {
    t.send("DELETE", url, &[("if-match", etag)], None).await
}

/// The `_etag` of the document an item URL serves (live or deleted).
async fn etag(t: &TestApp, url: &str) -> String {
    let r = t.get(url).await;
    assert!(
        r.status == StatusCode::OK || r.status == StatusCode::NOT_FOUND,
        "{}",
        r.text
    );
    r.json()["_etag"]
        .as_str()
        .unwrap_or_else(|| panic!("no _etag: {}", r.text))
        .to_string()
}

/// The `field` of each item of a collection page, in order.
fn column(page: &Value, field: &str) -> Vec<Value> {
    page["_items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|d| d[field].clone())
        .collect()
}

#[tokio::test]
async fn delete_marks_the_document_and_collection_reads_hide_it() {
    let t = TestApp::new(SETTINGS).await;
    let (a, a_etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    t.create("/people", r#"{"lastname": "b"}"#).await;
    let r = delete(&t, &format!("/people/{a}"), &a_etag).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(r.text, "");

    let page = t.get("/people").await;
    assert_eq!(page.status, StatusCode::OK);
    let j = page.json();
    assert_eq!(column(&j, "lastname"), [json!("b")]);
    assert_eq!(column(&j, "_deleted"), [json!(false)]);
    assert_eq!(j["_meta"]["total"], 1);
    assert_eq!(page.header("x-total-count"), Some("1"));
    let head = t.send("HEAD", "/people", &[], None).await;
    assert_eq!(head.header("x-total-count"), Some("1"));

    // `show_deleted` with any value (or none) shows every document.
    for query in ["show_deleted", "show_deleted=", "show_deleted=0"] {
        let j = t.get(&format!("/people?{query}")).await.json();
        assert_eq!(column(&j, "lastname"), [json!("a"), json!("b")], "{query}");
        assert_eq!(
            column(&j, "_deleted"),
            [json!(true), json!(false)],
            "{query}"
        );
        assert_eq!(j["_meta"]["total"], 2, "{query}");
    }

    // A `where` naming `_deleted` turns the automatic hiding off.
    let only_deleted = enc(r#"{"_deleted": true}"#);
    let j = t.get(&format!("/people?where={only_deleted}")).await.json();
    assert_eq!(column(&j, "lastname"), [json!("a")]);
    let both = enc(r#"{"$and": [{"_deleted": true}, {"lastname": "a"}]}"#);
    let j = t.get(&format!("/people?where={both}")).await.json();
    assert_eq!(column(&j, "lastname"), [json!("a")]);
    // Inside `$or` it does not count (as Eve): the hiding stays.
    let either = enc(r#"{"$or": [{"_deleted": true}, {"lastname": "b"}]}"#);
    let j = t.get(&format!("/people?where={either}")).await.json();
    assert_eq!(column(&j, "lastname"), [json!("b")]);
    // Any other `where` keeps it.
    let by_name = enc(r#"{"lastname": "a"}"#);
    let j = t.get(&format!("/people?where={by_name}")).await.json();
    assert_eq!(j["_meta"]["total"], 0);
    let python = enc(r#"_deleted == True"#);
    let j = t.get(&format!("/people?where={python}")).await.json();
    assert_eq!(column(&j, "lastname"), [json!("a")]);
}

#[tokio::test]
async fn an_item_get_of_a_deleted_document_is_404_with_the_document() {
    let t = TestApp::new(SETTINGS).await;
    let (id, old_etag) = t
        .create("/people", r#"{"firstname": "x", "lastname": "a"}"#)
        .await;
    let url = format!("/people/{id}");
    let live = t.get(&url).await.json();
    assert_eq!(live["_deleted"], false);
    delete(&t, &url, &old_etag).await;

    let r = t.get(&url).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let j = r.json();
    assert_eq!(j["_status"], json!(["ERR"]));
    assert_eq!(
        j["_error"],
        json!({"code": 404, "message": DELETED_MESSAGE})
    );
    assert_eq!(j["firstname"], "x");
    assert_eq!(j["lastname"], "a");
    assert_eq!(j["_deleted"], true);
    assert_eq!(j["_id"], id.as_str());
    assert_eq!(j["_created"], live["_created"]);
    assert_eq!(
        j["_links"],
        json!({"self": {"title": "person", "href": format!("people/{id}")}})
    );
    let new_etag = j["_etag"].as_str().unwrap();
    assert_eq!(new_etag.len(), 40);
    assert_ne!(
        new_etag, old_etag,
        "the mark is a new version of the document"
    );
    assert_eq!(r.header("etag"), Some(format!("\"{new_etag}\"").as_str()));
    assert!(r.header("last-modified").is_some(), "{:?}", r.headers);
    // An ordinary response in Eve: the resource's cache headers.
    assert_eq!(r.header("cache-control"), Some("max-age=20"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "firstname",
            "lastname",
            "_updated",
            "_created",
            "_deleted",
            "_etag",
            "_id",
            "_links",
            "_status",
            "_error"
        ]
    );

    // The additional lookup finds it too; HEAD answers the same status.
    let by_name = t.get("/people/a").await;
    assert_eq!(by_name.status, StatusCode::NOT_FOUND);
    assert_eq!(by_name.json()["_etag"], new_etag);
    let head = t.send("HEAD", &url, &[], None).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert_eq!(head.text, "");

    // Conditional GETs are answered before the deletion shows (as Eve).
    let quoted = format!("\"{new_etag}\"");
    let r = t
        .send("GET", &url, &[("if-none-match", &quoted)], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn deleting_a_deleted_document_changes_nothing() {
    let t = TestApp::new(SETTINGS).await;
    let (id, first) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let url = format!("/people/{id}");
    delete(&t, &url, &first).await;
    let marked = t.get(&url).await.json();
    let etag = marked["_etag"].as_str().unwrap().to_string();

    let again = delete(&t, &url, &etag).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "{}", again.text);
    let after = t.get(&url).await.json();
    assert_eq!(after["_etag"], marked["_etag"]);
    assert_eq!(after["_updated"], marked["_updated"]);

    // The ETag is still checked (the document is found).
    let stale = delete(&t, &url, &first).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );
    let none = t.send("DELETE", &url, &[], None).await;
    assert_eq!(
        none.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        none.text
    );
}

#[tokio::test]
async fn delete_needs_the_current_etag_and_marks_nothing_without_it() {
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let url = format!("/people/{id}");
    let none = t.send("DELETE", &url, &[], None).await;
    assert_eq!(
        none.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        none.text
    );
    let wrong = delete(&t, &url, "0123456789abcdef0123456789abcdef01234567").await;
    assert_eq!(
        wrong.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        wrong.text
    );
    let live = t.get(&url).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["_etag"], etag.as_str());
    assert_eq!(live.json()["_deleted"], false);
    // A missing document: 204, as for a hard delete.
    let missing = delete(&t, "/people/5f0000000000000000000001", &etag).await;
    assert_eq!(missing.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn patch_restores_a_deleted_document() {
    let t = TestApp::new(SETTINGS).await;
    let (id, first) = t
        .create(
            "/people",
            r#"{"firstname": "x", "lastname": "a", "age": 3}"#,
        )
        .await;
    let url = format!("/people/{id}");
    delete(&t, &url, &first).await;
    let marked = etag(&t, &url).await;

    // The ETag of the deleted state is the one to send.
    let stale = t.edit("PATCH", &url, &first, "{}").await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{}",
        stale.text
    );

    let r = t.edit("PATCH", &url, &marked, "{}").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_status"], "OK");
    let restored = t.get(&url).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
    let j = restored.json();
    assert_eq!(j["_deleted"], false);
    assert_eq!(
        (&j["firstname"], &j["lastname"], &j["age"]),
        (&json!("x"), &json!("a"), &json!(3))
    );
    assert_eq!(j["_etag"], r.json()["_etag"]);
    let page = t.get("/people").await.json();
    assert_eq!(column(&page, "lastname"), [json!("a")]);
}

#[tokio::test]
async fn put_restores_a_deleted_document_with_the_new_content() {
    let t = TestApp::new(SETTINGS).await;
    let (id, first) = t
        .create("/people", r#"{"firstname": "x", "lastname": "a"}"#)
        .await;
    let url = format!("/people/{id}");
    delete(&t, &url, &first).await;
    let marked = etag(&t, &url).await;
    let r = t.edit("PUT", &url, &marked, r#"{"lastname": "b"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = t.get(&url).await.json();
    assert_eq!(j["_deleted"], false);
    assert_eq!(j["lastname"], "b");
    assert!(j.get("firstname").is_none(), "{j}");
}

#[tokio::test]
async fn clients_cannot_send_the_flag() {
    let t = TestApp::new(SETTINGS).await;
    let r = t
        .post("/people", r#"{"lastname": "a", "_deleted": true}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["_issues"], json!({"_deleted": "unknown field"}));
    // Write answers carry the flag, as Eve's.
    let r = t.post("/people", r#"{"lastname": "a"}"#).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let keys: Vec<String> = r.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["_updated", "_created", "_deleted", "_etag", "_id", "_links", "_status"]
    );
    assert_eq!(r.json()["_deleted"], false);
    let (id, etag) = (
        r.json()["_id"].as_str().unwrap().to_string(),
        r.json()["_etag"].as_str().unwrap().to_string(),
    );
    let url = format!("/people/{id}");
    let r = t.edit("PATCH", &url, &etag, r#"{"lastname": "b"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_deleted"], false);
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t.edit("PATCH", &url, &etag, r#"{"_deleted": true}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["_issues"], json!({"_deleted": "unknown field"}));
    assert_eq!(t.get(&url).await.json()["_deleted"], false);
}

#[tokio::test]
async fn unique_ignores_deleted_documents() {
    let t = TestApp::new(SETTINGS).await;
    let (id, first) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let url = format!("/people/{id}");
    delete(&t, &url, &first).await;
    // The value of a deleted document is free again…
    t.create("/people", r#"{"lastname": "a"}"#).await;
    // …so restoring the deleted one duplicates it (as Eve documents).
    let marked = etag(&t, &url).await;
    let r = t.edit("PATCH", &url, &marked, "{}").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let page = t.get("/people").await.json();
    assert_eq!(column(&page, "lastname"), [json!("a"), json!("a")]);
    // Live documents still hold their values.
    let r = t.post("/people", r#"{"lastname": "a"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["_issues"],
        json!({"lastname": "value 'a' is not unique"})
    );
}

#[tokio::test]
async fn data_relations_do_not_reach_deleted_documents() {
    let t = TestApp::new(SETTINGS).await;
    let (person, etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let body = format!(r#"{{"title": "t", "owner": "{person}"}}"#);
    t.create("/works", &body).await;
    delete(&t, &format!("/people/{person}"), &etag).await;
    let r = t.post("/works", &body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["_issues"],
        json!({"owner": format!("value '{person}' must exist in resource 'people', field '_id'.")})
    );
}

#[tokio::test]
async fn a_collection_delete_marks_every_live_document() {
    let t = TestApp::new(SETTINGS).await;
    let (a, a_etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let (b, b_etag) = t.create("/people", r#"{"lastname": "b"}"#).await;
    t.create("/people", r#"{"lastname": "c"}"#).await;
    delete(&t, &format!("/people/{a}"), &a_etag).await;
    let a_marked = etag(&t, &format!("/people/{a}")).await;

    let r = t.send("DELETE", "/people", &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let page = t.get("/people").await.json();
    assert_eq!(page["_meta"]["total"], 0);
    let all = t.get("/people?show_deleted").await.json();
    assert_eq!(
        column(&all, "lastname"),
        [json!("a"), json!("b"), json!("c")]
    );
    assert_eq!(
        column(&all, "_deleted"),
        [json!(true), json!(true), json!(true)]
    );
    // The document deleted before is left as it was; the others got a new
    // ETag.
    assert_eq!(etag(&t, &format!("/people/{a}")).await, a_marked);
    assert_ne!(etag(&t, &format!("/people/{b}")).await, b_etag);
    assert_eq!(
        t.get(&format!("/people/{b}")).await.status,
        StatusCode::NOT_FOUND
    );
    // Nothing left to mark: still 204.
    let again = t.send("DELETE", "/people", &[], None).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn sub_resources_and_datasource_filters_hide_deleted_documents() {
    let t = TestApp::new(SETTINGS).await;
    let (person, _) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let base = format!("/people/{person}/invoices");
    let (inv, inv_etag) = t.create(&base, r#"{"n": 1}"#).await;
    t.create(&base, r#"{"n": 2}"#).await;
    let r = delete(&t, &format!("{base}/{inv}"), &inv_etag).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(column(&t.get(&base).await.json(), "n"), [json!(2)]);
    let all = t.get(&format!("{base}?show_deleted")).await.json();
    assert_eq!(column(&all, "n"), [json!(1), json!(2)]);

    t.create("/adults", r#"{"name": "kid", "age": 9}"#).await;
    t.create("/adults", r#"{"name": "x", "age": 30}"#).await;
    t.create("/adults", r#"{"name": "y", "age": 40}"#).await;
    // The collection DELETE marks only what the datasource filter selects.
    let r = t.send("DELETE", "/adults", &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(t.get("/adults").await.json()["_meta"]["total"], 0);
    let all = t.get("/adults?show_deleted").await.json();
    assert_eq!(column(&all, "name"), [json!("x"), json!("y")]);
    let kid = t
        .app
        .store()
        .find_one("grownups", &eve_query::Filter::eq("name", "kid"))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(kid.get("_deleted"), Some(&bson::Bson::Boolean(false)));
}

#[tokio::test]
async fn the_resource_setting_overrides_the_global_one() {
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = t.create("/notes", r#"{"text": "x"}"#).await;
    let url = format!("/notes/{id}");
    let j = t.get(&url).await.json();
    assert!(j.get("_deleted").is_none(), "{j}");
    let r = delete(&t, &url, &etag).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let gone = t.get(&url).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.json()["_status"], "ERR");
    assert!(gone.json().get("text").is_none(), "{}", gone.text);
    let all = t.get("/notes?show_deleted").await.json();
    assert_eq!(all["_meta"]["total"], 0);
    assert!(t
        .app
        .store()
        .find_one("notes", &eve_query::Filter::All)
        .await
        .unwrap()
        .is_none());
}

/// Enabling soft delete on existing data is safe (features.md §31.5):
/// documents without the flag are live, shown with `_deleted: false`, and
/// can be deleted; disabling it later brings deleted documents back.
#[tokio::test]
async fn documents_without_the_flag_are_live_and_turning_it_off_shows_all() {
    let t = TestApp::new(SETTINGS).await;
    let old = bson::oid::ObjectId::new();
    let doc = bson::doc! {"_id": old, "lastname": "old"};
    t.app.store().insert("people", vec![doc]).await.unwrap();
    let url = format!("/people/{}", old.to_hex());
    let item = t.get(&url).await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.text);
    assert_eq!(item.json()["_deleted"], false);
    let page = t.get("/people").await.json();
    assert_eq!(column(&page, "lastname"), [json!("old")]);
    assert_eq!(column(&page, "_deleted"), [json!(false)]);
    let etag = item.json()["_etag"].as_str().unwrap().to_string();
    let r = delete(&t, &url, &etag).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(t.get(&url).await.status, StatusCode::NOT_FOUND);

    // The same store served with soft delete off: the document is back.
    let off = SETTINGS.replace("SOFT_DELETE: true", "SOFT_DELETE: false");
    let raw = eve_core::settings::parse_str(&off, eve_core::settings::Format::Yaml).unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    let app = eve_http::App::builder()
        .store(t.app.store().clone())
        .domain(domain)
        .await
        .expect("app");
    // Same store (and its directory), another app.
    let mut plain = t;
    plain.app = app;
    let item = plain.get(&url).await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.text);
    assert!(item.json().get("_deleted").is_none(), "{}", item.text);
    assert_eq!(
        column(&plain.get("/people").await.json(), "lastname"),
        [json!("old")]
    );
}

#[tokio::test]
async fn the_data_api_hides_deleted_documents() {
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    t.create("/people", r#"{"lastname": "b"}"#).await;
    delete(&t, &format!("/people/{id}"), &etag).await;
    let people = t.app.resource("people").expect("declared");
    let found = people.find(&bson::doc! {}).await.unwrap();
    let names: Vec<&str> = found
        .iter()
        .map(|d| d.get_str("lastname").unwrap())
        .collect();
    assert_eq!(names, ["b"]);
    assert!(people
        .find_one(&bson::doc! {"lastname": "a"})
        .await
        .unwrap()
        .is_none());
    // A data-API delete marks, too.
    assert_eq!(people.delete(&bson::doc! {}).await.unwrap(), 1);
    let all = t.get("/people?show_deleted").await.json();
    assert_eq!(column(&all, "_deleted"), [json!(true), json!(true)]);
}

type Log = Arc<Mutex<Vec<String>>>;

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// Hooks logging the delete and fetch events of `people`, with the
/// `_deleted` value of the document a hook receives.
fn delete_hooks(log: &Log) -> Hooks {
    let (l1, l2, l3, l4, l5) = (
        log.clone(),
        log.clone(),
        log.clone(),
        log.clone(),
        log.clone(),
    );
    Hooks::new()
        .on_delete_item("people", move |_, doc| {
            let flag = doc.get_bool("_deleted").ok();
            l1.lock().unwrap().push(format!("on_delete_item {flag:?}"));
            Box::pin(async { Ok(()) })
        })
        .on_deleted_item("people", move |_, doc| {
            let flag = doc.get_bool("_deleted").ok();
            l2.lock().unwrap().push(format!("on_deleted_item {flag:?}"));
            Box::pin(async { Ok(()) })
        })
        .on_delete_resource(Scope::All, move |_| {
            l3.lock().unwrap().push("on_delete_resource".into());
            Box::pin(async { Ok(()) })
        })
        .on_deleted_resource(Scope::All, move |_| {
            l4.lock().unwrap().push("on_deleted_resource".into());
            Box::pin(async { Ok(()) })
        })
        .on_fetched_item("people", move |_, _| {
            l5.lock().unwrap().push("on_fetched_item".into());
            Box::pin(async { Ok(()) })
        })
}

#[tokio::test]
async fn soft_deletes_fire_the_delete_hooks_eve_fires() {
    let log: Log = Arc::default();
    let t = TestApp::with_hooks(SETTINGS, delete_hooks(&log)).await;
    let (a, etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    t.create("/people", r#"{"lastname": "b"}"#).await;
    let url = format!("/people/{a}");
    delete(&t, &url, &etag).await;
    // The hooks see the document as it was (live).
    assert_eq!(
        take(&log),
        ["on_delete_item Some(false)", "on_deleted_item Some(false)"]
    );
    // No fetch hook for the 404; deleting again fires nothing.
    let marked = etag_quiet(&t, &url).await;
    assert_eq!(take(&log), Vec::<String>::new());
    delete(&t, &url, &marked).await;
    assert_eq!(take(&log), Vec::<String>::new());
    // A collection DELETE: no item hooks.
    t.send("DELETE", "/people", &[], None).await;
    assert_eq!(take(&log), ["on_delete_resource", "on_deleted_resource"]);
    // Nothing live: Eve stops after loading the documents.
    t.send("DELETE", "/people", &[], None).await;
    assert_eq!(take(&log), ["on_delete_resource"]);
}

/// [`etag`] without asserting the status (the hooks test reads a 404).
async fn etag_quiet(t: &TestApp, url: &str) -> String {
    t.get(url).await.json()["_etag"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn an_aborting_delete_hook_keeps_the_document_live() {
    let hooks = Hooks::new().on_delete_item("people", |_, _| {
        Box::pin(async {
            Err(eve_core::ApiError::Abort {
                status: 403,
                message: Some("kept".into()),
            })
        })
    });
    let t = TestApp::with_hooks(SETTINGS, hooks).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let url = format!("/people/{id}");
    let r = delete(&t, &url, &etag).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let live = t.get(&url).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["_etag"], etag.as_str());
}

/// Eve's ETag of a served document made of its `_created`, `_updated` and
/// the given fields (key, JSON text): SHA-1 of the keys sorted, with
/// Python's JSON separators and dates as `{"$date": ...}`.
fn eve_etag(item: &Value, fields: &[(&str, String)]) -> String {
    use sha1::Digest;
    let iso = |k: &str| {
        let at = chrono::DateTime::parse_from_rfc2822(item[k].as_str().unwrap()).unwrap();
        format!(r#"{{"$date": "{}"}}"#, at.format("%Y-%m-%dT%H:%M:%SZ"))
    };
    let mut all: Vec<(&str, String)> = fields.to_vec();
    all.push(("_created", iso("_created")));
    all.push(("_updated", iso("_updated")));
    all.sort();
    let body: Vec<String> = all.iter().map(|(k, v)| format!(r#""{k}": {v}"#)).collect();
    let text = format!("{{{}}}", body.join(", "));
    hex::encode(sha1::Sha1::digest(text.as_bytes()))
}

#[tokio::test]
async fn the_mark_etag_is_eves_digest_of_the_marked_document() {
    // As Eve: the stored document (its previous `_etag` and `_id`
    // included) with `_deleted: true` and the new `_updated`.
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let url = format!("/people/{id}");
    delete(&t, &url, &etag).await;
    let marked = t.get(&url).await.json();
    assert_eq!(
        marked["_etag"],
        eve_etag(
            &marked,
            &[
                ("_deleted", "true".into()),
                ("_etag", format!(r#""{etag}""#)),
                ("_id", format!(r#"{{"$oid": "{id}"}}"#)),
                ("lastname", r#""a""#.into()),
            ]
        )
    );
}

/// Soft delete with versioning (features.md §31.3), expected answers taken
/// from the reference Eve: the deletion is a new version (`_deleted: true`);
/// `?version=N` of it answers 404 with the document, earlier ones 200;
/// `all` and `diffs` list it; a PATCH restores as the next version; a
/// collection DELETE adds a deleted version to each live document.
#[tokio::test]
async fn with_versioning_the_deletion_is_a_version() {
    let t = TestApp::new(
        r#"
SOFT_DELETE: true
VERSIONING: true
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  notes:
    schema:
      text: {type: string}
      n: {type: integer}
"#,
    )
    .await;
    let (id, e1) = t.create("/notes", r#"{"text": "a", "n": 1}"#).await;
    let url = format!("/notes/{id}");
    let r = t.edit("PATCH", &url, &e1, r#"{"n": 2}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let e2 = r.json()["_etag"].as_str().unwrap().to_string();
    assert_eq!(delete(&t, &url, &e2).await.status, StatusCode::NO_CONTENT);

    let r = t.get(&url).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let b = r.json();
    assert_eq!(
        (
            &b["_deleted"],
            &b["_version"],
            &b["_latest_version"],
            &b["n"]
        ),
        (&json!(true), &json!(3), &json!(3), &json!(2)),
        "{b}"
    );
    let e3 = b["_etag"].as_str().unwrap().to_string();

    for (v, status, deleted, n) in [(1, 200, false, 1), (2, 200, false, 2), (3, 404, true, 2)] {
        let r = t.get(&format!("{url}?version={v}")).await;
        assert_eq!(r.status.as_u16(), status, "version {v}: {}", r.text);
        let b = r.json();
        assert_eq!(
            (
                &b["_version"],
                &b["_deleted"],
                &b["n"],
                &b["_latest_version"]
            ),
            (&json!(v), &json!(deleted), &json!(n), &json!(3)),
            "version {v}: {b}"
        );
    }
    let r = t.get(&format!("{url}?version=3")).await;
    assert_eq!(r.json()["_status"], json!(["ERR"]), "{}", r.text);
    assert_eq!(r.json()["_error"]["message"], json!(DELETED_MESSAGE));
    assert_eq!(
        t.get(&format!("{url}?version=4")).await.status,
        StatusCode::NOT_FOUND
    );

    let all = t.get(&format!("{url}?version=all")).await.json();
    assert_eq!(column(&all, "_version"), [json!(1), json!(2), json!(3)]);
    assert_eq!(
        column(&all, "_deleted"),
        [json!(false), json!(false), json!(true)]
    );
    let diffs = t.get(&format!("{url}?version=diffs")).await.json();
    assert_eq!(diffs["_items"][2]["_deleted"], json!(true), "{diffs}");
    assert_eq!(diffs["_items"][2]["_version"], json!(3), "{diffs}");
    assert_eq!(diffs["_items"][2].get("n"), None, "{diffs}");
    assert_eq!(t.get("/notes").await.json()["_meta"]["total"], json!(0));

    // Restored by PATCH with the deleted version's ETag: version 4.
    let r = t.edit("PATCH", &url, &e3, r#"{"text": "back"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b = t.get(&url).await.json();
    assert_eq!(
        (&b["_deleted"], &b["_version"], &b["text"]),
        (&json!(false), &json!(4), &json!("back")),
        "{b}"
    );

    // A collection DELETE adds a deleted version to every live document.
    let (id2, _) = t.create("/notes", r#"{"text": "b", "n": 5}"#).await;
    assert_eq!(
        t.send("DELETE", "/notes", &[], None).await.status,
        StatusCode::NO_CONTENT
    );
    let all = t.get(&format!("/notes/{id2}?version=all")).await.json();
    assert_eq!(
        column(&all, "_deleted"),
        [json!(false), json!(true)],
        "{all}"
    );
    assert_eq!(column(&all, "text"), [json!("b"), json!("b")], "{all}");
    let all = t.get(&format!("{url}?version=all")).await.json();
    assert_eq!(
        column(&all, "_version"),
        [json!(1), json!(2), json!(3), json!(4), json!(5)],
        "{all}"
    );
    assert_eq!(column(&all, "_latest_version")[0], json!(5), "{all}");
}
