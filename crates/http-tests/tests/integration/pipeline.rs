//! The stages of issue #9 item 3 through HTTP: one typed request parsed
//! per request (only the arguments its endpoint uses, in Eve's order), one
//! plan per endpoint kind, reads projected by the data layer.

use axum::http::StatusCode;
use serde_json::Value;

use super::common::{enc, TestApp, PEOPLE};

fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().expect("a document").keys().cloned().collect();
    keys.sort();
    keys
}

/// Eve parses `projection` before it looks the item up
/// (`_client_projection` runs inside `find_one`): a bad one is a 400 even
/// for a missing item.
#[tokio::test]
async fn a_bad_projection_is_refused_before_the_item_is_looked_up() {
    let t = TestApp::new(PEOPLE).await;
    let missing = "/people/5f0000000000000000000001";
    assert_eq!(t.get(missing).await.status, StatusCode::NOT_FOUND);
    let r = t
        .get(&format!("{missing}?projection={}", enc("{not json")))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

/// Arguments an endpoint does not use are never parsed, so a bad one is
/// not an error there.
#[tokio::test]
async fn arguments_an_endpoint_does_not_use_are_ignored() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "Kafka"}"#).await;
    let bad = enc("{not json");
    let r = t.get(&format!("/people/{id}?where={bad}&sort={bad}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = t
        .post(&format!("/people?where={bad}"), r#"{"lastname": "Mann"}"#)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .send("DELETE", &format!("/people?where={bad}"), &[], None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

/// A collection read parses `where` first: with a bad `where` and a bad
/// `sort`, the answer names the `where`.
#[tokio::test]
async fn a_collection_read_reports_the_where_before_the_sort() {
    let t = TestApp::new("DEBUG: true\nDOMAIN: {people: {schema: {a: {type: string}}}}").await;
    let sort_only = t.get(&format!("/people?sort={}", enc("[[[["))).await;
    assert_eq!(
        sort_only.status,
        StatusCode::BAD_REQUEST,
        "{}",
        sort_only.text
    );
    let sort_message = sort_only.json()["_error"]["message"].to_string();
    assert!(!sort_message.contains("$bogus"), "{sort_message}");
    let r = t
        .get(&format!(
            "/people?sort={}&where={}",
            enc("[[[["),
            enc(r#"{"a": {"$bogus": 1}}"#)
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let message = r.json()["_error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("$bogus"), "{message}");
}

/// The data layer applies the projection the plan computed; an item and
/// the same document in a page carry the same fields.
#[tokio::test]
async fn items_and_pages_are_projected_alike_by_the_data_layer() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t
        .create(
            "/people",
            r#"{"firstname": "Franz", "lastname": "Kafka", "age": 40}"#,
        )
        .await;
    let projection = enc(r#"{"age": 1}"#);
    let item = t
        .get(&format!("/people/{id}?projection={projection}"))
        .await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.text);
    let expected = ["_created", "_etag", "_id", "_links", "_updated", "age"];
    assert_eq!(keys(&item.json()), expected);
    let page = t.get(&format!("/people?projection={projection}")).await;
    let first = page.json()["_items"][0].clone();
    assert_eq!(keys(&first), expected);
    assert_eq!(first["_etag"], item.json()["_etag"]);
    let excluded = enc(r#"{"firstname": 0}"#);
    let item = t.get(&format!("/people/{id}?projection={excluded}")).await;
    assert!(item.json().get("firstname").is_none(), "{}", item.text);
    assert_eq!(item.json()["lastname"], "Kafka");
}

/// A document written outside the API, with a field the schema does not
/// know (projected away by the data layer): the ETag a read shows is the
/// one an edit checks, in an item read and in a page.
#[tokio::test]
async fn outside_documents_show_the_etag_edits_check() {
    let t = TestApp::new(PEOPLE).await;
    let id = bson::oid::ObjectId::new();
    let doc = bson::doc! {"_id": id, "lastname": "Legacy", "extra": 1};
    t.app.store().insert("people", vec![doc]).await.unwrap();
    t.create("/people", r#"{"lastname": "Stamped"}"#).await;
    let url = format!("/people/{}", id.to_hex());
    let item = t.get(&url).await.json();
    assert!(item.get("extra").is_none(), "{item}");
    let etag = item["_etag"].as_str().unwrap().to_string();
    let page = t.get("/people").await.json();
    let listed = page["_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["lastname"] == "Legacy")
        .expect("the outside document is listed")
        .clone();
    assert_eq!(listed["_etag"], etag.as_str());
    let r = t.edit("PATCH", &url, &etag, r#"{"firstname": "x"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// The data API merges its access's owner filter at the same point as
/// HTTP requests (`plan::scope_filter`).
#[tokio::test]
async fn the_data_api_is_scoped_by_its_access() {
    let t = TestApp::new(
        "DOMAIN: {notes: {schema: {text: {type: string}, owner: {type: string}}, auth_field: owner, resource_methods: [GET, POST]}}",
    )
    .await;
    let r = t
        .post(
            "/notes",
            r#"[{"text": "a", "owner": "ann"}, {"text": "b", "owner": "bob"}]"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let notes = t.app.resource("notes").expect("notes");
    assert_eq!(notes.find(&bson::doc! {}).await.unwrap().len(), 2);
    let ann = eve_core::Access {
        user: Some("ann".into()),
        owner_value: Some(bson::Bson::String("ann".into())),
        ..eve_core::Access::default()
    };
    let mine = notes.with_access(ann).find(&bson::doc! {}).await.unwrap();
    let texts: Vec<&str> = mine.iter().map(|d| d.get_str("text").unwrap()).collect();
    assert_eq!(texts, ["a"]);
}
