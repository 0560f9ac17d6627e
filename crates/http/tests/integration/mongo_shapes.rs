//! MongoDB-shaped data over HTTP, as Eve handles it: mapping rules
//! (`valuesrules`, `keysrules`), DBRef fields, the ObjectId `_id` kept next
//! to a custom `id_field`. Expected bodies from the oracle
//! (scripts/compare/writes/).

use axum::http::StatusCode;
use serde_json::json;

use super::common::TestApp;

const MAPS: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
DOMAIN:
  maps:
    schema:
      vs: {type: dict, valuesrules: {type: integer, min: 10}}
      vs_old: {type: dict, valueschema: {type: integer}}
      ks: {type: dict, keysrules: {type: string, regex: '[a-z]+'}}
      ks_old: {type: dict, keyschema: {type: string, minlength: 3}}
      vsid: {type: dict, valueschema: {type: objectid}}
"#;

#[tokio::test]
async fn mapping_rules_are_enforced_on_post() {
    let t = TestApp::new(MAPS).await;
    let r = t.post("/maps", r#"{"vs": {"k1": "1"}}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_issues": {"vs": {"k1": "must be of integer type"}}, "_error": {"code": 422, "message": "Insertion failure: 1 document(s) contain(s) error(s)"}})
    );
    let r = t
        .post(
            "/maps",
            r#"{"vs": {"k1": "1", "k2": 5, "k3": 12}, "vs_old": {"a": "2", "b": 3}}"#,
        )
        .await;
    assert_eq!(
        r.json()["_issues"],
        json!({"vs": {"k1": "must be of integer type", "k2": "min value is 10"}, "vs_old": {"a": "must be of integer type"}})
    );
    let r = t
        .post(
            "/maps",
            r#"{"ks": {"AB": 1, "ok": 2}, "ks_old": {"ab": 1, "abc": 2}}"#,
        )
        .await;
    assert_eq!(
        r.json()["_issues"],
        json!({"ks": {"AB": "value does not match regex '[a-z]+'"}, "ks_old": {"ab": "min length is 3"}})
    );
    let r = t
        .post(
            "/maps",
            r#"{"vsid": {"a": "5f0000000000000000000001", "b": "nope"}}"#,
        )
        .await;
    assert_eq!(
        r.json()["_issues"],
        json!({"vsid": {"b": "must be of objectid type"}})
    );
    assert_eq!(t.get("/maps").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn mapping_rules_are_enforced_on_patch_and_put() {
    let t = TestApp::new(MAPS).await;
    let (id, etag) = t
        .create(
            "/maps",
            r#"{"vs": {"k": 11}, "vsid": {"a": "5f0000000000000000000001"}}"#,
        )
        .await;
    let item = t.get(&format!("/maps/{id}")).await.json();
    assert_eq!(item["vsid"], json!({"a": "5f0000000000000000000001"}));
    let r = t
        .edit(
            "PATCH",
            &format!("/maps/{id}"),
            &etag,
            r#"{"vs": {"k": "12"}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"_issues": {"vs": {"k": "must be of integer type"}}, "_status": "ERR"})
    );
    let r = t
        .edit(
            "PUT",
            &format!("/maps/{id}"),
            &etag,
            r#"{"vs_old": {"a": "x"}}"#,
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"_issues": {"vs_old": {"a": "must be of integer type"}}, "_status": "ERR"})
    );
    assert_eq!(t.get(&format!("/maps/{id}")).await.json()["_etag"], etag);
}
