//! Resource modelling (issue #4): custom URLs, sub-resources, lookups,
//! datasources, id types, internal resources, the schema endpoint, indexes,
//! parameter names (features.md §4, §5, §28, §34, §37, §40, §43, §45).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::{enc, TestApp};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
SCHEMA_ENDPOINT: schema
DOMAIN:
  contacts:
    additional_lookup: {url: 'regex("[\w]+")', field: ref}
    schema:
      ref: {type: string, minlength: 5, unique: true}
      name: {type: string}
      userlevel: {type: integer}
  users:
    datasource:
      source: contacts
      filter: {userlevel: 1}
      projection: {name: 1, userlevel: 1}
      default_sort: [[name, -1]]
    schema:
      ref: {type: string}
      name: {type: string}
      userlevel: {type: integer}
  overseas:
    url: contacts/overseas
    datasource: {source: contacts, filter: {userlevel: 9}}
    schema:
      name: {type: string}
      userlevel: {type: integer}
  invoices:
    schema:
      inv_number: {type: string}
      person: {type: objectid, data_relation: {resource: contacts}}
  peopleinvoices:
    url: 'contacts/<regex("[a-f0-9]{24}"):person>/invoices'
    datasource: {source: invoices}
    schema:
      inv_number: {type: string}
      person: {type: objectid}
  products:
    item_lookup_field: sku
    item_url: 'regex("[A-Z]{3}[0-9]{4}")'
    schema:
      sku: {type: string, maxlength: 7, unique: true}
      title: {type: string}
  uuids:
    item_url: uuid
    schema:
      _id: {type: uuid}
      name: {type: string}
  counters:
    item_url: int
    schema:
      _id: {type: integer}
      v: {type: integer}
  names:
    item_url: 'regex("[a-z]+")'
    schema:
      _id: {type: string}
      v: {type: integer}
  audit:
    internal_resource: true
    schema:
      event: {type: string, required: true}
  indexed:
    mongo_indexes:
      code_idx: [[[code, 1]], {unique: true}]
    schema:
      code: {type: string}
"#;

fn items(v: &Value) -> Vec<Value> {
    v["_items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn sub_resource_reads_and_writes_are_scoped_by_the_url() {
    let t = TestApp::new(SETTINGS).await;
    let (a, _) = t.create("/contacts", r#"{"ref": "aaaaa"}"#).await;
    let (b, _) = t.create("/contacts", r#"{"ref": "bbbbb"}"#).await;
    let r = t
        .post(
            &format!("/contacts/{a}/invoices"),
            r#"{"inv_number": "1", "person": "5f0000000000000000000009"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let inv = r.json()["_id"].as_str().unwrap().to_string();
    // The URL value overrides the client's and is stored as an ObjectId.
    assert_eq!(
        r.header("location").unwrap(),
        format!("http://localhost:5000/contacts/{a}/invoices/{inv}")
    );
    assert_eq!(
        r.json()["_links"]["self"]["href"],
        format!("contacts/{a}/invoices/{inv}")
    );
    t.create(&format!("/contacts/{b}/invoices"), r#"{"inv_number": "2"}"#)
        .await;

    let j = t.get(&format!("/contacts/{a}/invoices")).await.json();
    assert_eq!(items(&j).len(), 1);
    assert_eq!(j["_items"][0]["person"], a.as_str());
    assert_eq!(
        j["_links"]["self"]["href"],
        format!("contacts/{a}/invoices")
    );
    let w = enc(r#"{"inv_number": "2"}"#);
    assert_eq!(
        items(
            &t.get(&format!("/contacts/{a}/invoices?where={w}"))
                .await
                .json()
        )
        .len(),
        0
    );
    // The flat resource over the same collection sees both, with ObjectIds.
    let w = enc(&format!(r#"{{"person": "{a}"}}"#));
    assert_eq!(
        items(&t.get(&format!("/invoices?where={w}")).await.json()).len(),
        1
    );

    // Items are looked up on both fields.
    assert_eq!(
        t.get(&format!("/contacts/{a}/invoices/{inv}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        t.get(&format!("/contacts/{b}/invoices/{inv}")).await.status,
        StatusCode::NOT_FOUND
    );

    // DELETE on the sub-resource removes only its documents.
    assert_eq!(
        t.send("DELETE", &format!("/contacts/{a}/invoices"), &[], None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.get("/invoices").await.json()["_meta"]["total"], 1);
}

#[tokio::test]
async fn sub_resource_items_accept_put_patch_delete() {
    let t = TestApp::new(SETTINGS).await;
    let (a, _) = t.create("/contacts", r#"{"ref": "aaaaa"}"#).await;
    let (inv, etag) = t
        .create(&format!("/contacts/{a}/invoices"), r#"{"inv_number": "1"}"#)
        .await;
    let url = format!("/contacts/{a}/invoices/{inv}");
    let r = t.edit("PATCH", &url, &etag, r#"{"inv_number": "2"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t.edit("PUT", &url, &etag, r#"{"inv_number": "3"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = t.get(&url).await.json();
    assert_eq!(j["inv_number"], "3");
    assert_eq!(j["person"], a.as_str(), "PUT keeps the URL variable");
    let etag = j["_etag"].as_str().unwrap().to_string();
    assert_eq!(
        t.send("DELETE", &url, &[("if-match", &etag)], None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.get(&url).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sub_resource_url_must_match_its_pattern() {
    let t = TestApp::new(SETTINGS).await;
    assert_eq!(
        t.get("/contacts/nothex/invoices").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn home_lists_sub_resources_without_their_patterns() {
    let t = TestApp::new(SETTINGS).await;
    let children = t.get("/").await.json()["_links"]["child"].clone();
    assert!(children
        .as_array()
        .unwrap()
        .contains(&json!({"href": "contacts/<person>/invoices", "title": "peopleinvoices"})));
    assert!(children
        .as_array()
        .unwrap()
        .contains(&json!({"href": "contacts/overseas", "title": "contacts/overseas"})));
    assert!(children
        .as_array()
        .unwrap()
        .contains(&json!({"href": "schema", "title": "schema"})));
    assert!(!children
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["title"] == "audit"));
}

#[tokio::test]
async fn endpoints_over_one_collection_see_their_own_documents() {
    let t = TestApp::new(SETTINGS).await;
    t.post("/contacts", r#"[{"ref": "user1", "name": "a", "userlevel": 1}, {"ref": "user2", "name": "b", "userlevel": 1}, {"ref": "admin", "name": "z", "userlevel": 2}]"#)
        .await;
    let j = t.get("/users").await.json();
    let names: Vec<&str> = j["_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "a"], "filtered and sorted by the datasource");
    assert!(
        j["_items"][0].get("ref").is_none(),
        "datasource projection hides ref"
    );
    assert_eq!(j["_meta"]["total"], 2);
    // Documents outside the filter are invisible to every item method.
    let admin = t.get("/contacts/admin").await.json();
    let admin_id = admin["_id"].as_str().unwrap();
    let etag = admin["_etag"].as_str().unwrap();
    assert_eq!(
        t.get(&format!("/users/{admin_id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.edit(
            "PATCH",
            &format!("/users/{admin_id}"),
            etag,
            r#"{"name": "x"}"#
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // DELETE on the filtered endpoint removes only its documents.
    assert_eq!(
        t.send("DELETE", "/users", &[], None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.get("/contacts").await.json()["_meta"]["total"], 1);
    // POST is not checked against the filter (stored, then invisible here).
    let r = t.post("/users", r#"{"name": "c", "userlevel": 5}"#).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(t.get("/users").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn multi_segment_urls_are_independent_resources() {
    let t = TestApp::new(SETTINGS).await;
    t.post(
        "/contacts",
        r#"[{"ref": "local", "userlevel": 1}, {"ref": "faraway", "userlevel": 9}]"#,
    )
    .await;
    assert_eq!(
        t.get("/contacts/overseas").await.json()["_meta"]["total"],
        1
    );
    assert_eq!(t.get("/contacts").await.json()["_meta"]["total"], 2);
}

#[tokio::test]
async fn item_lookup_field_and_item_url_shape_item_endpoints() {
    let t = TestApp::new(SETTINGS).await;
    let (id, _) = t
        .create("/products", r#"{"sku": "ABC1234", "title": "Lamp"}"#)
        .await;
    let r = t.get("/products/ABC1234").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["title"], "Lamp");
    assert_eq!(r.json()["_links"]["self"]["href"], format!("products/{id}"));
    assert_eq!(
        t.get("/products/abc1234").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get(&format!("/products/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn additional_lookup_by_a_unique_field() {
    let t = TestApp::new(SETTINGS).await;
    let (id, _) = t
        .create("/contacts", r#"{"ref": "12345", "name": "x"}"#)
        .await;
    let r = t.get("/contacts/12345").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["_id"], id.as_str());
    assert_eq!(
        t.get(&format!("/contacts/{id}")).await.json()["ref"],
        "12345"
    );
}

#[tokio::test]
async fn uuid_ids_are_supplied_by_clients() {
    let t = TestApp::new(SETTINGS).await;
    let id = "48c00ee9-4dbe-413f-9fc3-d5f12a91de1c";
    let r = t
        .post("/uuids", &format!(r#"{{"_id": "{id}", "name": "bill"}}"#))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["_id"], id);
    assert_eq!(
        r.header("location").unwrap(),
        format!("http://localhost:5000/uuids/{id}")
    );
    let j = t.get(&format!("/uuids/{id}")).await.json();
    assert_eq!(j["name"], "bill");
    assert_eq!(j["_id"], id);
    let r = t
        .post("/uuids", r#"{"_id": "not-a-uuid", "name": "x"}"#)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // PUT on a missing id creates it.
    let other = "0d1c6a5e-8b6d-4a7c-9f51-7d5a6b1e2c3f";
    let r = t
        .send(
            "PUT",
            &format!("/uuids/{other}"),
            &[("content-type", "application/json")],
            Some(r#"{"name": "new"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(t.get(&format!("/uuids/{other}")).await.json()["_id"], other);
}

#[tokio::test]
async fn integer_and_string_ids() {
    let t = TestApp::new(SETTINGS).await;
    let r = t.post("/counters", r#"{"_id": 42, "v": 1}"#).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["_links"]["self"]["href"], "counters/42");
    let j = t.get("/counters/42").await.json();
    assert_eq!(j["_id"], 42);
    let etag = j["_etag"].as_str().unwrap().to_string();
    assert_eq!(
        t.edit("PATCH", "/counters/42", &etag, r#"{"v": 2}"#)
            .await
            .status,
        StatusCode::OK
    );

    assert_eq!(
        t.post("/names", r#"{"_id": "alpha", "v": 1}"#).await.status,
        StatusCode::CREATED
    );
    assert_eq!(t.get("/names/alpha").await.json()["v"], 1);
    assert_eq!(
        t.post("/names", r#"{"_id": "alpha", "v": 2}"#).await.status,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn internal_resources_are_reachable_from_code_only() {
    let t = TestApp::new(SETTINGS).await;
    assert_eq!(t.get("/audit").await.status, StatusCode::NOT_FOUND);
    let audit = t.app.resource("audit").expect("audit resource");
    let stored = audit.insert(bson::doc! {"event": "login"}).await.unwrap();
    assert!(
        stored.contains_key("_id")
            && stored.contains_key("_etag")
            && stored.contains_key("_created")
    );
    let found = audit.find(&bson::doc! {"event": "login"}).await.unwrap();
    assert_eq!(found.len(), 1);
    let err = audit.insert(bson::doc! {"nope": 1}).await.unwrap_err();
    assert!(matches!(err, eve_http::DataError::Invalid(_)), "{err}");
    assert_eq!(audit.delete(&bson::doc! {}).await.unwrap(), 1);
    assert!(t.app.resource("nothing").is_none());
}

#[tokio::test]
async fn data_api_respects_datasource_filters() {
    let t = TestApp::new(SETTINGS).await;
    t.post(
        "/contacts",
        r#"[{"ref": "user1", "userlevel": 1}, {"ref": "admin", "userlevel": 2}]"#,
    )
    .await;
    let users = t.app.resource("users").unwrap();
    assert_eq!(users.find(&bson::doc! {}).await.unwrap().len(), 1);
    assert_eq!(users.delete(&bson::doc! {}).await.unwrap(), 1);
    assert_eq!(t.get("/contacts").await.json()["_meta"]["total"], 1);
}

#[tokio::test]
async fn schema_endpoint_serves_public_schemas() {
    let t = TestApp::new(SETTINGS).await;
    let all = t.get("/schema").await.json();
    assert!(all.get("audit").is_none());
    assert_eq!(
        all["contacts"]["ref"],
        json!({"type": "string", "minlength": 5, "unique": true})
    );
    let one = t.get("/schema/products").await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(
        one.json(),
        json!({"sku": {"type": "string", "maxlength": 7, "unique": true}, "title": {"type": "string"}, "_id": {"type": "objectid"}})
    );
    assert_eq!(t.get("/schema/audit").await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/schema/nothing").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.send(
            "POST",
            "/schema",
            &[("content-type", "application/json")],
            Some("{}")
        )
        .await
        .status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn mongo_indexes_are_enforced_by_the_store() {
    let t = TestApp::new(SETTINGS).await;
    assert_eq!(
        t.post("/indexed", r#"{"code": "x"}"#).await.status,
        StatusCode::CREATED
    );
    let r = t.post("/indexed", r#"{"code": "x"}"#).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(t.get("/indexed").await.json()["_meta"]["total"], 1);
}

#[tokio::test]
async fn renamed_parameters_work_everywhere() {
    let yaml =
        format!("QUERY_WHERE: filter\nQUERY_SORT: order\nQUERY_PROJECTION: fields\n{SETTINGS}");
    let t = TestApp::new(&yaml).await;
    t.post(
        "/contacts",
        r#"[{"ref": "aaaaa", "name": "a"}, {"ref": "bbbbb", "name": "b"}]"#,
    )
    .await;
    let j = t
        .get(&format!(
            "/contacts?filter={}&order=-name&fields={}",
            enc(r#"{"ref": {"$in": ["aaaaa", "bbbbb"]}}"#),
            enc(r#"{"name": 1}"#)
        ))
        .await
        .json();
    let names: Vec<&str> = j["_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["b", "a"]);
    assert!(j["_items"][0].get("ref").is_none());
    assert!(j["_links"]["self"]["href"]
        .as_str()
        .unwrap()
        .contains("filter="));
    // The old names are now unknown parameters.
    assert_eq!(
        t.get(&format!("/contacts?where={}", enc(r#"{"name": "a"}"#)))
            .await
            .json()["_meta"]["total"],
        2
    );
}
