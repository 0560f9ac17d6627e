//! Field-level read and write roles (features.md §23.7, issue #18 item
//! 5): a field whose `allowed_read_roles` the caller lacks never comes
//! back (items, lists, embedded documents, versions, the oplog,
//! aggregations, write answers) and may not be used in `where`, `sort`
//! or `projection` (400); a field whose `allowed_write_roles` the caller
//! lacks answers 422 `field is read-only` when sent, and a `PUT` keeps it.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::super::common::{enc, Resp, TestApp};
use super::{send_as, Account, ALICE, BOB, ROOT};

/// Staff with a salary only editors (ALICE) see and write, and a grade
/// only admins (ROOT) write; teams embed their lead; payroll sums the
/// salaries.
const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
AUTH: {type: basic, accounts: accounts}
OPLOG: true
OPLOG_ENDPOINT: oplog
OPLOG_AUDIT: true
DOMAIN:
  accounts:
    schema:
      username: {type: string, required: true, unique: true}
      password: {type: string}
      token: {type: string}
      secret: {type: string}
      roles: {type: list}
  staff:
    versioning: true
    schema:
      name: {type: string}
      salary: {type: integer, allowed_read_roles: [editor], allowed_write_roles: [editor]}
      grade: {type: string, allowed_write_roles: [admin]}
  teams:
    schema:
      name: {type: string}
      lead: {type: objectid, data_relation: {resource: staff, embeddable: true}}
  payroll:
    pagination: false
    datasource:
      source: staff
      aggregation:
        pipeline:
          - {$group: {_id: null, total: {$sum: $salary}, staff: {$sum: 1}}}
          - {$project: {_id: 0}}
"#;

/// The app with ALICE, BOB and ROOT, and zoe (salary 100, grade A)
/// written by ALICE and ROOT: zoe's id and ETag.
async fn app() -> (TestApp, String, String) {
    let t = TestApp::new(SETTINGS).await;
    let accounts = t.app.resource("accounts").expect("accounts");
    for a in [&ALICE, &BOB, &ROOT] {
        accounts.insert(a.doc()).await.expect("account inserted");
    }
    let r = as_(
        &t,
        &ALICE,
        "POST",
        "/staff",
        Some(r#"{"name": "zoe", "salary": 100}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["_id"].as_str().expect("_id").to_string();
    let etag = r.json()["_etag"].as_str().expect("_etag").to_string();
    let r = edit(
        &t,
        &ROOT,
        "PATCH",
        &format!("/staff/{id}"),
        &etag,
        r#"{"grade": "A"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let etag = r.json()["_etag"].as_str().expect("_etag").to_string();
    (t, id, etag)
}

async fn as_(t: &TestApp, who: &Account, method: &str, path: &str, body: Option<&str>) -> Resp {
    send_as(t, "basic", who, method, path, body).await
}

/// A PATCH/PUT as `who` with `If-Match`.
async fn edit(
    t: &TestApp,
    who: &Account,
    method: &str,
    path: &str,
    etag: &str,
    body: &str,
) -> Resp {
    let auth = super::credentials("basic", who.name, who.password, method, path, body);
    super::edit_as(t, &auth, method, path, etag, body).await
}

/// A GET as `who` answering 200, as JSON.
async fn read(t: &TestApp, who: &Account, path: &str) -> Value {
    let r = as_(t, who, "GET", path, None).await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    r.json()
}

fn assert_no_salary(v: &Value, what: &str) {
    assert!(!v.to_string().contains("salary"), "{what}: {v}");
    assert!(!v.to_string().contains(":100"), "{what}: {v}");
}

#[tokio::test]
async fn a_hidden_field_never_comes_back_to_a_caller_without_the_role() {
    let (t, id, _) = app().await;
    let item = format!("/staff/{id}");
    for path in [
        "/staff".to_string(),
        item.clone(),
        format!("{item}?version=1"),
        format!("{item}?version=all"),
        format!("{item}?version=diffs"),
    ] {
        let body = read(&t, &BOB, &path).await;
        assert_no_salary(&body, &path);
        assert!(body.to_string().contains("zoe"), "{path}: {body}");
        let body = read(&t, &ALICE, &path).await;
        assert!(body.to_string().contains("salary"), "{path}: {body}");
    }
    assert_eq!(read(&t, &BOB, &item).await["grade"], json!("A"));
    // embedded documents
    let r = as_(
        &t,
        &ALICE,
        "POST",
        "/teams",
        Some(&json!({"name": "core", "lead": id}).to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let embedded = format!("/teams?embedded={}", enc(r#"{"lead": 1}"#));
    let body = read(&t, &BOB, &embedded).await;
    assert_eq!(body["_items"][0]["lead"]["name"], json!("zoe"));
    assert_no_salary(&body, "embedded");
    let body = read(&t, &ALICE, &embedded).await;
    assert_eq!(body["_items"][0]["lead"]["salary"], json!(100));
    // aggregations never see it for BOB
    let body = read(&t, &BOB, "/payroll").await;
    assert_eq!(body["_items"], json!([{"total": 0, "staff": 1}]));
    let body = read(&t, &ALICE, "/payroll").await;
    assert_eq!(body["_items"], json!([{"total": 100, "staff": 1}]));
    // nor the oplog, whoever reads it
    for who in [&ALICE, &ROOT] {
        let body = read(&t, who, "/oplog").await;
        assert!(
            body["_items"].as_array().is_some_and(|i| !i.is_empty()),
            "{body}"
        );
        assert_no_salary(&body, "oplog");
    }
}

#[tokio::test]
async fn a_hidden_field_cannot_be_filtered_sorted_or_projected() {
    let (t, _, _) = app().await;
    let refused = |param: &str| {
        json!({"_status": "ERR", "_error": {"code": 400,
            "message": format!("the field 'salary' may not be used in {param}")}})
    };
    for (query, param) in [
        (format!("where={}", enc(r#"{"salary": 100}"#)), "where"),
        (
            format!(
                "where={}",
                enc(r#"{"$or": [{"name": "x"}, {"salary": {"$gt": 1}}]}"#)
            ),
            "where",
        ),
        (
            format!("where={}", enc(r#"{"$expr": {"$gt": ["$salary", 1]}}"#)),
            "where",
        ),
        ("sort=-salary".to_string(), "sort"),
        (
            format!("projection={}", enc(r#"{"salary": 1}"#)),
            "projection",
        ),
    ] {
        let path = format!("/staff?{query}");
        let r = as_(&t, &BOB, "GET", &path, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{path}: {}", r.text);
        assert_eq!(r.json(), refused(param), "{path}");
        // the role holder may
        let r = as_(&t, &ALICE, "GET", &path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    // an exclusive projection of other fields does not bring it back
    let body = read(
        &t,
        &BOB,
        &format!("/staff?projection={}", enc(r#"{"name": 0}"#)),
    )
    .await;
    assert_no_salary(&body, "projection");
}

#[tokio::test]
async fn a_field_the_caller_may_not_write_answers_422() {
    let (t, id, etag) = app().await;
    let item = format!("/staff/{id}");
    let read_only = |field: &str| json!({field: "field is read-only"});
    let r = as_(
        &t,
        &BOB,
        "POST",
        "/staff",
        Some(r#"{"name": "max", "salary": 5}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["_issues"], read_only("salary"));
    let r = edit(&t, &ALICE, "PATCH", &item, &etag, r#"{"grade": "B"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["_issues"], read_only("grade"));
    let r = edit(
        &t,
        &BOB,
        "PUT",
        &item,
        &etag,
        r#"{"name": "zoe", "salary": 1}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.json()["_issues"], read_only("salary"));
    // nothing changed
    let body = read(&t, &ALICE, &item).await;
    assert_eq!(
        (body["salary"].clone(), body["grade"].clone()),
        (json!(100), json!("A"))
    );
    // a PUT without them keeps them; its answer does not show the salary
    let r = edit(&t, &BOB, "PUT", &item, &etag, r#"{"name": "zoë"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_no_salary(&r.json(), "PUT answer");
    let body = read(&t, &ALICE, &item).await;
    assert_eq!(
        (
            body["name"].clone(),
            body["salary"].clone(),
            body["grade"].clone()
        ),
        (json!("zoë"), json!(100), json!("A"))
    );
    // the role holder writes
    let etag = body["_etag"].as_str().expect("_etag");
    let r = edit(&t, &ALICE, "PATCH", &item, etag, r#"{"salary": 120}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
