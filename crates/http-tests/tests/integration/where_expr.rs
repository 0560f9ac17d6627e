//! `$expr` in `where` (issue #19): an aggregation expression comparing
//! fields of one document, evaluated by the shared expression engine on
//! the embedded and PostgreSQL layers and natively by MongoDB. `$expr`
//! is one of Eve's known operators; the expression operators inside it
//! must be known ones too or listed in `MONGO_QUERY_WHITELIST`, and
//! `MONGO_QUERY_BLACKLIST` can ban `$expr` itself.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::{enc, TestApp};

const SETTINGS: &str = r#"
DEBUG: true
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  budgets:
    schema: {category: {type: string}, budget: {type: integer}, spent: {type: integer}}
  whitelisted:
    mongo_query_whitelist: [$subtract]
    datasource: {source: budgets}
    schema: {category: {type: string}, budget: {type: integer}, spent: {type: integer}}
"#;

async fn app(settings: &str) -> TestApp {
    let t = TestApp::new(settings).await;
    let r = t
        .post(
            "/budgets",
            r#"[
              {"category": "food", "budget": 400, "spent": 450},
              {"category": "drinks", "budget": 100, "spent": 150},
              {"category": "clothes", "budget": 100, "spent": 50},
              {"category": "misc", "budget": 500, "spent": 300},
              {"category": "travel", "budget": 200, "spent": 650}
            ]"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t
}

fn categories(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["_items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {v}"))
        .iter()
        .map(|d| d["category"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn expr_compares_fields_of_a_document() {
    let t = app(SETTINGS).await;
    let w = enc(r#"{"$expr": {"$gt": ["$spent", "$budget"]}}"#);
    let r = t.get(&format!("/budgets?where={w}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(categories(&r.json()), ["drinks", "food", "travel"]);
    assert_eq!(r.json()["_meta"]["total"], json!(3));
    // with other conditions
    let w = enc(r#"{"category": {"$ne": "food"}, "$expr": {"$lt": ["$spent", "$budget"]}}"#);
    let r = t.get(&format!("/budgets?where={w}")).await;
    assert_eq!(categories(&r.json()), ["clothes", "misc"]);
}

#[tokio::test]
async fn expression_operators_need_the_whitelist() {
    let t = app(SETTINGS).await;
    let w = enc(r#"{"$expr": {"$gt": [{"$subtract": ["$spent", "$budget"]}, 100]}}"#);
    let r = t.get(&format!("/budgets?where={w}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json()["_error"]["message"],
        json!("Query contains unknown or unsupported operators: $subtract")
    );
    let r = t.get(&format!("/whitelisted?where={w}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(categories(&r.json()), ["travel"]);
    // an unknown expression operator, even whitelisted: 400
    let t = app(&SETTINGS.replace("[$subtract]", "[$nope]")).await;
    let w = enc(r#"{"$expr": {"$nope": 1}}"#);
    let r = t.get(&format!("/whitelisted?where={w}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn the_blacklist_can_ban_expr() {
    let t = app(&format!(
        "MONGO_QUERY_BLACKLIST: [$where, $regex, $expr]\n{SETTINGS}"
    ))
    .await;
    let w = enc(r#"{"$expr": {"$gt": ["$spent", "$budget"]}}"#);
    let r = t.get(&format!("/budgets?where={w}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json()["_error"]["message"],
        json!("Query contains operators banned in MONGO_QUERY_BLACKLIST")
    );
}
