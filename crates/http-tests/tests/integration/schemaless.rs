//! Resources with an empty (or no) schema and writes enabled (features.md
//! §26, issue #20): with `allow_unknown` they store any document, without it
//! only an empty one. Replayed against the oracle in
//! `scripts/compare/schemaless.{yaml,json}` (no difference).

use axum::http::StatusCode;
use serde_json::json;

use super::common::{enc, TestApp};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  free:
    schema: {}
    allow_unknown: true
  strict:
    schema: {}
  bare: {}
"#;

/// The stored fields of a document, without the automatic ones.
fn own_fields(doc: &serde_json::Value) -> serde_json::Value {
    let mut doc = doc.clone();
    let map = doc.as_object_mut().expect("a document");
    map.retain(|k, _| !k.starts_with('_'));
    doc
}

#[tokio::test]
async fn a_schemaless_resource_stores_reads_edits_and_deletes_any_document() {
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = t.create("/free", r#"{"a": 1, "b": {"c": "x"}}"#).await;
    let item = format!("/free/{id}");

    let got = t.get(&item).await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    assert_eq!(own_fields(&got.json()), json!({"a": 1, "b": {"c": "x"}}));

    let patched = t
        .edit("PATCH", &item, &etag, r#"{"a": 2, "d": [1, 2]}"#)
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json()["_status"], "OK");
    let etag = patched.json()["_etag"].as_str().expect("_etag").to_string();
    assert_eq!(
        own_fields(&t.get(&item).await.json()),
        json!({"a": 2, "b": {"c": "x"}, "d": [1, 2]})
    );

    let put = t.edit("PUT", &item, &etag, r#"{"z": true}"#).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let etag = put.json()["_etag"].as_str().expect("_etag").to_string();
    assert_eq!(own_fields(&t.get(&item).await.json()), json!({"z": true}));

    // fields outside any schema can be filtered on
    let found = t
        .get(&format!("/free?where={}", enc(r#"{"z": true}"#)))
        .await;
    assert_eq!(found.json()["_meta"]["total"], 1, "{}", found.text);
    let gone = t.get(&format!("/free?where={}", enc(r#"{"a": 2}"#))).await;
    assert_eq!(gone.json()["_meta"]["total"], 0, "{}", gone.text);

    let deleted = t.send("DELETE", &item, &[("if-match", &etag)], None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(t.get(&item).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_schemaless_resource_takes_bulk_posts_and_collection_deletes() {
    let t = TestApp::new(SETTINGS).await;
    let r = t
        .post("/free", r#"[{"x": 1}, {"y": {"n": [1, {"m": null}]}}, {}]"#)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["_items"].as_array().map(Vec::len), Some(3));
    let page = t.get("/free?sort=x").await.json();
    let docs: Vec<serde_json::Value> = page["_items"]
        .as_array()
        .expect("_items")
        .iter()
        .map(own_fields)
        .collect();
    assert_eq!(docs.len(), 3);
    assert!(
        docs.contains(&json!({"y": {"n": [1, {"m": null}]}})),
        "{docs:?}"
    );
    assert!(docs.contains(&json!({"x": 1})) && docs.contains(&json!({})));

    let r = t.send("DELETE", "/free", &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(t.get("/free").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn an_empty_schema_without_allow_unknown_takes_only_empty_documents() {
    let t = TestApp::new(SETTINGS).await;
    for resource in ["strict", "bare"] {
        let r = t.post(&format!("/{resource}"), r#"{"a": 1}"#).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert_eq!(
            r.json(),
            json!({
                "_status": "ERR",
                "_issues": {"a": "unknown field"},
                "_error": {"code": 422, "message": "Insertion failure: 1 document(s) contain(s) error(s)"}
            })
        );
        let (id, etag) = t.create(&format!("/{resource}"), "{}").await;
        let item = format!("/{resource}/{id}");
        for method in ["PATCH", "PUT"] {
            let r = t.edit(method, &item, &etag, r#"{"a": 1}"#).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
            assert_eq!(r.json()["_issues"], json!({"a": "unknown field"}));
        }
        let got = t.get(&item).await.json();
        let mut keys: Vec<&String> = got.as_object().expect("document").keys().collect();
        keys.sort();
        assert_eq!(keys, ["_created", "_etag", "_id", "_links", "_updated"]);
        let r = t.send("DELETE", &item, &[("if-match", &etag)], None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    }
}
