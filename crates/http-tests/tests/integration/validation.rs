//! Validation through HTTP: statuses, `_issues`, store-backed rules (issue #3).
//!
//! Every expected failure body (status, keys and their order) was first
//! obtained from the oracle (Python Eve 2.3.1) with the same settings and
//! requests, except the `coerce` cases: the oracle cannot express named
//! coercers from a settings file, so those expectations come from the
//! texts of validation.md §7.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::{enc, Resp, TestApp};

/// A resource exercising most rules (the settings replayed on the oracle).
const THINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  owners:
    schema:
      name: {type: string, unique: true}
  things:
    schema:
      name: {type: string, required: true, unique: true, minlength: 2, maxlength: 10}
      code: {type: string, readonly: true}
      status: {type: string, readonly: true, default: draft}
      count: {type: integer, min: 1, max: 100}
      ratio: {type: float}
      active: {type: boolean}
      born: {type: datetime}
      tags: {type: list, maxlength: 3, schema: {type: string, allowed: [a, b, c]}}
      parts:
        type: list
        schema:
          type: dict
          schema:
            sku: {type: string, required: true}
            qty: {type: integer, default: 1}
      address:
        type: dict
        schema:
          street: {type: string}
          city: {type: string, required: true}
          zip: {type: string, regex: '[0-9]{5}'}
          country: {type: string, default: FR}
      note: {type: string, nullable: true}
      label: {type: string, default: none-yet}
      free: {type: dict, allow_unknown: true, schema: {known: {type: integer}}}
      ref: {type: objectid, data_relation: {resource: owners}}
      refs: {type: list, schema: {type: objectid, data_relation: {resource: owners}}}
      owner_name: {type: string, data_relation: {resource: owners, field: name}}
      meta_info:
        type: dict
        schema:
          owner: {type: objectid, data_relation: {resource: owners}}
  members:
    datasource: {source: accounts, filter: {kind: member}}
    schema:
      kind: {type: string, default: member}
      email: {type: string, unique_within_resource: true}
  admins:
    datasource: {source: accounts, filter: {kind: admin}}
    schema:
      kind: {type: string, default: admin}
      email: {type: string, unique_within_resource: true}
"#;

/// `VALIDATION_ERROR_STATUS` and `VALIDATION_ERROR_AS_LIST`.
const CODES: &str = r#"
VALIDATION_ERROR_STATUS: 400
VALIDATION_ERROR_AS_LIST: true
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
DOMAIN:
  codes:
    schema:
      code: {type: string, required: true, maxlength: 3, regex: '[a-z]+'}
      n: {type: integer}
      sub: {type: dict, schema: {a: {type: integer}, b: {type: dict, schema: {c: {type: string, required: true}}}}}
      l: {type: list, maxlength: 2, schema: {type: integer}}
"#;

/// features.md §17.3, with `normalize_on_patch` and
/// `normalize_dotted_fields` switched per resource.
const ACCOUNTS: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH]
DOMAIN:
  accounts:
    schema: &acc
      name: {type: string, required: true}
      contact:
        type: dict
        required: true
        schema:
          phone: {type: string, default: "1234567890"}
          email: {type: string, default: "abc@efg.com"}
      level: {type: integer, default: 1}
      extra: {type: string, default: x}
  rawaccounts:
    normalize_on_patch: false
    schema: *acc
  nodots:
    normalize_dotted_fields: false
    schema: *acc
"#;

/// Global `ALLOW_UNKNOWN` and `AUTO_CREATE_LISTS`.
const OPEN: &str = r#"
ALLOW_UNKNOWN: true
AUTO_CREATE_LISTS: true
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
DOMAIN:
  open:
    schema:
      name: {type: string}
      closed: {type: dict, allow_unknown: false, schema: {a: {type: integer}}}
      tags: {type: list, schema: {type: string}}
      ids: {type: list, schema: {type: objectid}}
      sub: {type: dict, schema: {roles: {type: list, allowed: [x, y]}}}
      items: {type: list, schema: {type: dict, schema: {t: {type: list, schema: {type: integer}}}}}
      maybe: {type: list, nullable: true}
  strict:
    allow_unknown: false
    schema:
      name: {type: string}
"#;

/// Built-in coercers (not expressible on the oracle; texts from validation.md).
const COERCED: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH]
DOMAIN:
  coerced:
    schema:
      badco: {type: integer, coerce: int}
      s: {type: string, coerce: str}
      slug: {type: string, coerce: [strip, lower], regex: '[a-z]+'}
      flag: {type: boolean, coerce: to_bool}
      f: {type: float, coerce: float}
"#;

/// Asserts the status and the whole body, key order included (Eve's order).
fn assert_body(r: &Resp, status: u16, expected: Value) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.json().to_string(), expected.to_string(), "{}", r.text);
}

/// The POST failure body (features.md §15.1).
fn insert_failure(issues: Value) -> Value {
    insert_failure_with(issues, 422)
}

fn insert_failure_with(issues: Value, code: u16) -> Value {
    json!({"_status": "ERR", "_issues": issues, "_error": {"code": code,
        "message": "Insertion failure: 1 document(s) contain(s) error(s)"}})
}

/// The PATCH/PUT failure body (features.md §15.2).
fn edit_failure(issues: Value) -> Value {
    json!({"_issues": issues, "_status": "ERR"})
}

/// The stored document without its meta fields (`_id`, `_etag`, ...).
async fn stored(t: &TestApp, uri: &str) -> Value {
    let r = t.get(uri).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut j = r.json();
    j.as_object_mut()
        .expect("object")
        .retain(|k, _| !k.starts_with('_'));
    j
}

async fn count(t: &TestApp, uri: &str) -> u64 {
    t.get(uri).await.json()["_meta"]["total"]
        .as_u64()
        .expect("total")
}

// ---------------------------------------------------------------- POST

#[tokio::test]
async fn post_reports_every_type_error_by_field() {
    let t = TestApp::new(THINGS).await;
    let r = t
        .post(
            "/things",
            r#"{"name": 5, "count": "x", "ratio": "y", "active": "maybe", "born": "yesterday", "tags": "a"}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({
            "active": "must be of boolean type",
            "born": "must be of datetime type",
            "count": "must be of integer type",
            "name": "must be of string type",
            "ratio": "must be of float type",
            "tags": "must be of list type",
        })),
    );
    assert_eq!(count(&t, "/things").await, 0);
}

#[tokio::test]
async fn post_without_a_required_field_is_refused() {
    let t = TestApp::new(THINGS).await;
    let r = t.post("/things", r#"{"count": 5}"#).await;
    assert_body(&r, 422, insert_failure(json!({"name": "required field"})));
}

#[tokio::test]
async fn post_cannot_set_readonly_fields_even_with_a_default() {
    let t = TestApp::new(THINGS).await;
    let r = t.post("/things", r#"{"name": "ok", "code": "X1"}"#).await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"code": "field is read-only"})),
    );
    let r = t
        .post("/things", r#"{"name": "ok", "status": "published"}"#)
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"status": "field is read-only"})),
    );
    // The server sets the readonly default itself.
    let (id, _) = t.create("/things", r#"{"name": "ok"}"#).await;
    assert_eq!(
        stored(&t, &format!("/things/{id}")).await["status"],
        "draft"
    );
}

#[tokio::test]
async fn several_failures_on_one_field_and_on_list_items_accumulate() {
    let t = TestApp::new(THINGS).await;
    let r = t
        .post(
            "/things",
            r#"{"name": "x", "count": 500, "tags": ["a", "z", "b", "q"]}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({
            "count": "max value is 100",
            "name": "min length is 2",
            "tags": ["max length is 3", {"1": "unallowed value z", "3": "unallowed value q"}],
        })),
    );
}

#[tokio::test]
async fn nested_dict_and_list_item_issues_nest_like_the_document() {
    let t = TestApp::new(THINGS).await;
    let r = t
        .post(
            "/things",
            r#"{"name": "nested", "address": {"zip": "1234x", "extra": 1},
                "parts": [{"qty": 2}, {"sku": "s", "qty": "many"}, 5]}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({
            "address": {
                "city": "required field",
                "extra": "unknown field",
                "zip": "value does not match regex '[0-9]{5}'",
            },
            "parts": {
                "0": {"sku": "required field"},
                "1": {"qty": "must be of integer type"},
                "2": "must be of dict type",
            },
        })),
    );
}

#[tokio::test]
async fn defaults_fill_missing_fields_in_documents_sub_documents_and_list_items() {
    let t = TestApp::new(THINGS).await;
    let (id, _) = t
        .create(
            "/things",
            r#"{"name": "dflt", "address": {"city": "Paris"}, "parts": [{"sku": "a"}, {"sku": "b", "qty": 3}]}"#,
        )
        .await;
    assert_eq!(
        stored(&t, &format!("/things/{id}")).await,
        json!({
            "name": "dflt",
            "address": {"city": "Paris", "country": "FR"},
            "parts": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 3}],
            "status": "draft",
            "label": "none-yet",
        })
    );
}

#[tokio::test]
async fn null_is_stored_for_nullable_fields_and_never_replaced_by_a_default() {
    let t = TestApp::new(THINGS).await;
    let r = t
        .post("/things", r#"{"name": "nul", "note": null, "label": null}"#)
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"label": "null value not allowed"})),
    );
    let (id, _) = t
        .create("/things", r#"{"name": "nul2", "note": null}"#)
        .await;
    assert_eq!(
        stored(&t, &format!("/things/{id}")).await,
        json!({"name": "nul2", "note": null, "status": "draft", "label": "none-yet"})
    );
}

#[tokio::test]
async fn unknown_fields_are_refused_except_inside_an_allow_unknown_dict() {
    let t = TestApp::new(THINGS).await;
    let r = t
        .post(
            "/things",
            r#"{"name": "unk", "other": 1, "free": {"known": "k", "anything": 1}}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({
            "free": {"known": "must be of integer type"},
            "other": "unknown field",
        })),
    );
    let (id, _) = t
        .create(
            "/things",
            r#"{"name": "fr", "free": {"known": 3, "anything": {"x": 1}}}"#,
        )
        .await;
    assert_eq!(
        stored(&t, &format!("/things/{id}")).await["free"],
        json!({"known": 3, "anything": {"x": 1}})
    );
}

#[tokio::test]
async fn unique_value_already_stored_is_refused_on_post() {
    let t = TestApp::new(THINGS).await;
    t.create("/things", r#"{"name": "dflt"}"#).await;
    let r = t.post("/things", r#"{"name": "dflt"}"#).await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"name": "value 'dflt' is not unique"})),
    );
}

#[tokio::test]
async fn data_relations_accept_existing_references_single_listed_and_nested() {
    let t = TestApp::new(THINGS).await;
    let (owner, _) = t.create("/owners", r#"{"name": "alice"}"#).await;
    let body = format!(
        r#"{{"name": "rel1", "ref": "{owner}", "refs": ["{owner}"], "owner_name": "alice",
            "meta_info": {{"owner": "{owner}"}}}}"#
    );
    let (id, _) = t.create("/things", &body).await;
    let doc = stored(&t, &format!("/things/{id}")).await;
    assert_eq!(doc["refs"], json!([owner]));
    assert_eq!(doc["meta_info"], json!({ "owner": owner }));
}

#[tokio::test]
async fn data_relations_report_each_missing_reference_where_it_is() {
    let t = TestApp::new(THINGS).await;
    let (owner, _) = t.create("/owners", r#"{"name": "alice"}"#).await;
    let missing = "5f0000000000000000000009";
    let body = format!(
        r#"{{"name": "rel2", "ref": "{missing}", "refs": ["{owner}", "{missing}"], "owner_name": "bob",
            "meta_info": {{"owner": "{missing}"}}}}"#
    );
    let r = t.post("/things", &body).await;
    let gone = format!("value '{missing}' must exist in resource 'owners', field '_id'.");
    assert_body(
        &r,
        422,
        insert_failure(json!({
            "meta_info": {"owner": gone},
            "owner_name": "value 'bob' must exist in resource 'owners', field 'name'.",
            "ref": gone,
            "refs": {"1": gone},
        })),
    );
}

#[tokio::test]
async fn bulk_post_reports_each_item_and_writes_nothing_when_one_fails() {
    let t = TestApp::new(THINGS).await;
    t.create("/things", r#"{"name": "dflt"}"#).await;
    let r = t
        .post(
            "/things",
            r#"[{"name": "b1"}, {"name": "dflt"}, {"count": 0}, {"name": "b4"}]"#,
        )
        .await;
    assert_body(
        &r,
        422,
        json!({
            "_status": "ERR",
            "_items": [
                {"_status": "OK"},
                {"_status": "ERR", "_issues": {"name": "value 'dflt' is not unique"}},
                {"_status": "ERR", "_issues": {"count": "min value is 1", "name": "required field"}},
                {"_status": "OK"},
            ],
            "_error": {"code": 422, "message": "Insertion failure: 2 document(s) contain(s) error(s)"},
        }),
    );
    assert_eq!(count(&t, "/things").await, 1);
    let where_b1 = enc(r#"{"name": "b1"}"#);
    assert_eq!(count(&t, &format!("/things?where={where_b1}")).await, 0);
}

#[tokio::test]
async fn unique_within_resource_only_compares_documents_of_the_datasource_filter() {
    let t = TestApp::new(THINGS).await;
    let (mid, metag) = t.create("/members", r#"{"email": "a@x"}"#).await;
    // Same collection, other filter: not a duplicate.
    t.create("/admins", r#"{"email": "a@x"}"#).await;
    let r = t.post("/members", r#"{"email": "a@x"}"#).await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"email": "value 'a@x' is not unique"})),
    );
    // The document itself does not count.
    let r = t
        .edit(
            "PATCH",
            &format!("/members/{mid}"),
            &metag,
            r#"{"email": "a@x"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

// ---------------------------------------------------------------- PUT

/// Stores `{"name": "dflt", address, parts}` and another document named
/// `nul2`; returns (id, etag) of the first.
async fn two_things(t: &TestApp) -> (String, String) {
    let ids = t
        .create(
            "/things",
            r#"{"name": "dflt", "address": {"city": "Paris"}, "parts": [{"sku": "a"}]}"#,
        )
        .await;
    t.create("/things", r#"{"name": "nul2"}"#).await;
    ids
}

#[tokio::test]
async fn put_enforces_required_readonly_unknown_and_types() {
    let t = TestApp::new(THINGS).await;
    let (id, etag) = two_things(&t).await;
    let uri = format!("/things/{id}");
    let r = t.edit("PUT", &uri, &etag, r#"{"count": 3}"#).await;
    assert_body(&r, 422, edit_failure(json!({"name": "required field"})));
    let r = t
        .edit(
            "PUT",
            &uri,
            &etag,
            r#"{"name": "dflt", "status": "published", "code": "z"}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        edit_failure(json!({"code": "field is read-only", "status": "field is read-only"})),
    );
    let r = t
        .edit(
            "PUT",
            &uri,
            &etag,
            r#"{"name": "dflt", "status": "draft", "count": "x", "bogus": 1}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        edit_failure(json!({"bogus": "unknown field", "count": "must be of integer type"})),
    );
}

#[tokio::test]
async fn put_checks_unique_against_other_documents_only() {
    let t = TestApp::new(THINGS).await;
    let (id, etag) = two_things(&t).await;
    let uri = format!("/things/{id}");
    let r = t.edit("PUT", &uri, &etag, r#"{"name": "nul2"}"#).await;
    assert_body(
        &r,
        422,
        edit_failure(json!({"name": "value 'nul2' is not unique"})),
    );
    // Its own name and an unchanged readonly value are accepted; defaults
    // are applied again and omitted fields disappear.
    let r = t
        .edit("PUT", &uri, &etag, r#"{"name": "dflt", "status": "draft"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        stored(&t, &uri).await,
        json!({"name": "dflt", "status": "draft", "label": "none-yet"})
    );
}

#[tokio::test]
async fn put_upsert_validates_like_post() {
    let t = TestApp::new(THINGS).await;
    let uri = "/things/5f00000000000000000000aa";
    let r = t
        .send(
            "PUT",
            uri,
            &[("content-type", "application/json")],
            Some(r#"{"count": 0, "code": "x"}"#),
        )
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({
            "code": "field is read-only",
            "count": "min value is 1",
            "name": "required field",
        })),
    );
    let r = t
        .send(
            "PUT",
            uri,
            &[("content-type", "application/json")],
            Some(r#"{"name": "up"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        stored(&t, uri).await,
        json!({"name": "up", "status": "draft", "label": "none-yet"})
    );
}

// ---------------------------------------------------------------- PATCH

#[tokio::test]
async fn patch_does_not_enforce_required_but_applies_every_other_rule() {
    let t = TestApp::new(THINGS).await;
    let (id, etag) = two_things(&t).await;
    let uri = format!("/things/{id}");
    let r = t
        .edit(
            "PATCH",
            &uri,
            &etag,
            r#"{"status": "final", "count": 0, "address": {"zip": "x"}}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        edit_failure(json!({
            "address": {"zip": "value does not match regex '[0-9]{5}'"},
            "count": "min value is 1",
            "status": "field is read-only",
        })),
    );
    let missing = "5f0000000000000000000009";
    let body =
        format!(r#"{{"ref": "{missing}", "meta_info": {{"owner": "{missing}"}}, "tags": ["x"]}}"#);
    let r = t.edit("PATCH", &uri, &etag, &body).await;
    let gone = format!("value '{missing}' must exist in resource 'owners', field '_id'.");
    assert_body(
        &r,
        422,
        edit_failure(json!({
            "meta_info": {"owner": gone},
            "ref": gone,
            "tags": {"0": "unallowed value x"},
        })),
    );
}

#[tokio::test]
async fn patch_checks_unique_but_accepts_its_own_values() {
    let t = TestApp::new(THINGS).await;
    let (id, etag) = two_things(&t).await;
    let uri = format!("/things/{id}");
    let r = t.edit("PATCH", &uri, &etag, r#"{"name": "nul2"}"#).await;
    assert_body(
        &r,
        422,
        edit_failure(json!({"name": "value 'nul2' is not unique"})),
    );
    let r = t
        .edit(
            "PATCH",
            &uri,
            &etag,
            r#"{"status": "draft", "name": "dflt", "count": 7}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let doc = stored(&t, &uri).await;
    assert_eq!(doc["count"], 7);
    assert_eq!(doc["status"], "draft");
}

// ------------------------------------------- VALIDATION_ERROR_STATUS / AS_LIST

#[tokio::test]
async fn validation_error_status_and_as_list_shape_post_failures() {
    let t = TestApp::new(CODES).await;
    let r = t
        .post("/codes", r#"{"code": "ABCDE", "n": "x", "zzz": 1}"#)
        .await;
    assert_body(
        &r,
        400,
        insert_failure_with(
            json!({
                "code": ["max length is 3", "value does not match regex '[a-z]+'"],
                "n": ["must be of integer type"],
                "zzz": ["unknown field"],
            }),
            400,
        ),
    );
    let r = t
        .post(
            "/codes",
            r#"{"code": "ab", "sub": {"a": "x", "b": {}}, "l": [1, "two", 3]}"#,
        )
        .await;
    assert_body(
        &r,
        400,
        insert_failure_with(
            json!({
                "l": ["max length is 2", {"1": ["must be of integer type"]}],
                "sub": [{"a": ["must be of integer type"], "b": [{"c": ["required field"]}]}],
            }),
            400,
        ),
    );
    let r = t.post("/codes", r#"[{"code": "ok"}, {"n": 1}]"#).await;
    assert_body(
        &r,
        400,
        json!({
            "_status": "ERR",
            "_items": [{"_status": "OK"}, {"_status": "ERR", "_issues": {"code": ["required field"]}}],
            "_error": {"code": 400, "message": "Insertion failure: 1 document(s) contain(s) error(s)"},
        }),
    );
}

#[tokio::test]
async fn validation_error_status_and_as_list_shape_patch_and_put_failures() {
    let t = TestApp::new(CODES).await;
    let (id, etag) = t.create("/codes", r#"{"code": "ok"}"#).await;
    let uri = format!("/codes/{id}");
    let r = t.edit("PATCH", &uri, &etag, r#"{"code": "TOOLONG"}"#).await;
    assert_body(
        &r,
        400,
        edit_failure(json!({"code": ["max length is 3", "value does not match regex '[a-z]+'"]})),
    );
    let r = t.edit("PUT", &uri, &etag, r#"{"n": 1}"#).await;
    assert_body(&r, 400, edit_failure(json!({"code": ["required field"]})));
}

// ------------------------------------------------ normalization on PATCH

const STORED_ACCOUNT: &str =
    r#"{"name": "test account", "contact": {"email": "123@yahoo.com", "phone": "9876543210"}}"#;

#[tokio::test]
async fn normalize_on_patch_resets_sub_fields_with_defaults() {
    // features.md §17.3, normalize_on_patch: true (the default).
    let t = TestApp::new(ACCOUNTS).await;
    let (id, etag) = t
        .create(
            "/accounts",
            r#"{"name": "test account", "contact": {"email": "123@yahoo.com", "phone": "9876543210"}, "level": 5}"#,
        )
        .await;
    let uri = format!("/accounts/{id}");
    let r = t
        .edit(
            "PATCH",
            &uri,
            &etag,
            r#"{"contact.email": "xyz@gmail.com"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Top-level fields already stored keep their value (level stays 5).
    assert_eq!(
        stored(&t, &uri).await,
        json!({"name": "test account", "contact": {"email": "xyz@gmail.com", "phone": "1234567890"},
               "level": 5, "extra": "x"})
    );
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t
        .edit("PATCH", &uri, &etag, r#"{"contact": {"email": "q@q"}}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        stored(&t, &uri).await["contact"],
        json!({"email": "q@q", "phone": "1234567890"})
    );
}

#[tokio::test]
async fn without_normalize_on_patch_stored_sub_fields_survive() {
    let t = TestApp::new(ACCOUNTS).await;
    let (id, etag) = t.create("/rawaccounts", STORED_ACCOUNT).await;
    let uri = format!("/rawaccounts/{id}");
    let r = t
        .edit(
            "PATCH",
            &uri,
            &etag,
            r#"{"contact.email": "xyz@gmail.com"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        stored(&t, &uri).await,
        json!({"name": "test account", "contact": {"email": "xyz@gmail.com", "phone": "9876543210"},
               "level": 1, "extra": "x"})
    );
}

#[tokio::test]
async fn dotted_keys_are_expanded_on_post() {
    let t = TestApp::new(ACCOUNTS).await;
    let (id, _) = t
        .create("/accounts", r#"{"name": "dotted", "contact.email": "d@d"}"#)
        .await;
    assert_eq!(
        stored(&t, &format!("/accounts/{id}")).await,
        json!({"name": "dotted", "contact": {"email": "d@d", "phone": "1234567890"},
               "level": 1, "extra": "x"})
    );
}

#[tokio::test]
async fn without_normalize_dotted_fields_dotted_keys_are_unknown_fields() {
    let t = TestApp::new(ACCOUNTS).await;
    let r = t
        .post("/nodots", r#"{"name": "dotted", "contact.email": "d@d"}"#)
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"contact": "required field", "contact.email": "unknown field"})),
    );
    let (id, etag) = t
        .create(
            "/nodots",
            r#"{"name": "dotted", "contact": {"email": "d@d"}}"#,
        )
        .await;
    let r = t
        .edit(
            "PATCH",
            &format!("/nodots/{id}"),
            &etag,
            r#"{"contact.email": "xyz@gmail.com"}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        edit_failure(json!({"contact.email": "unknown field"})),
    );
}

// ------------------------------------------- ALLOW_UNKNOWN, AUTO_CREATE_LISTS

#[tokio::test]
async fn global_allow_unknown_is_overridden_by_resource_and_nested_dict() {
    let t = TestApp::new(OPEN).await;
    let r = t
        .post(
            "/open",
            r#"{"name": "a", "whatever": {"x": 1}, "closed": {"a": 1, "b": 2}}"#,
        )
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"closed": {"b": "unknown field"}})),
    );
    let (id, _) = t
        .create("/open", r#"{"name": "a", "whatever": {"x": 1}}"#)
        .await;
    assert_eq!(
        stored(&t, &format!("/open/{id}")).await,
        json!({"name": "a", "whatever": {"x": 1}})
    );
    let r = t.post("/strict", r#"{"name": "a", "whatever": 1}"#).await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"whatever": "unknown field"})),
    );
}

#[tokio::test]
async fn auto_create_lists_wraps_single_values_at_any_depth() {
    let t = TestApp::new(OPEN).await;
    let (id, etag) = t
        .create(
            "/open",
            r#"{"tags": "solo", "ids": "5f0000000000000000000009", "sub": {"roles": "x"},
                "items": [{"t": 5}], "maybe": null}"#,
        )
        .await;
    let uri = format!("/open/{id}");
    // The wrapped string is still converted to an ObjectId by the list's
    // item serializer (it renders as its hex form).
    assert_eq!(
        stored(&t, &uri).await,
        json!({"tags": ["solo"], "ids": ["5f0000000000000000000009"], "sub": {"roles": ["x"]},
               "items": [{"t": [5]}], "maybe": null})
    );
    let r = t.edit("PATCH", &uri, &etag, r#"{"tags": "again"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(stored(&t, &uri).await["tags"], json!(["again"]));
}

#[tokio::test]
async fn auto_create_lists_validates_the_wrapped_list() {
    let t = TestApp::new(OPEN).await;
    let r = t
        .post("/open", r#"{"tags": 5, "sub": {"roles": "z"}}"#)
        .await;
    assert_body(
        &r,
        422,
        insert_failure(json!({
            "sub": {"roles": "unallowed values ('z',)"},
            "tags": {"0": "must be of string type"},
        })),
    );
}

#[tokio::test]
async fn auto_create_lists_applies_to_form_bodies() {
    let t = TestApp::new(OPEN).await;
    let r = t
        .send(
            "POST",
            "/open",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("tags=one&name=n"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        stored(&t, &format!("/open/{id}")).await,
        json!({"tags": ["one"], "name": "n"})
    );
}

#[tokio::test]
async fn without_auto_create_lists_a_single_value_is_not_a_list() {
    let t = TestApp::new(THINGS).await;
    let r = t.post("/things", r#"{"name": "ok", "tags": "a"}"#).await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"tags": "must be of list type"})),
    );
}

// ---------------------------------------------------------------- coerce

#[tokio::test]
async fn built_in_coercers_transform_values_before_validation() {
    let t = TestApp::new(COERCED).await;
    let (id, _) = t
        .create(
            "/coerced",
            r#"{"badco": "42", "s": 5, "slug": "  MiXed ", "flag": "TRUE", "f": "2.5"}"#,
        )
        .await;
    assert_eq!(
        stored(&t, &format!("/coerced/{id}")).await,
        json!({"badco": 42, "s": "5", "slug": "mixed", "flag": true, "f": 2.5})
    );
}

#[tokio::test]
async fn a_failed_coercion_is_reported_before_the_type_error() {
    let t = TestApp::new(COERCED).await;
    let r = t.post("/coerced", r#"{"badco": "abc"}"#).await;
    assert_body(
        &r,
        422,
        insert_failure(json!({"badco": [
            "field 'badco' cannot be coerced: invalid literal for int() with base 10: 'abc'",
            "must be of integer type",
        ]})),
    );
}
