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
      vsd: {type: dict, valueschema: {type: dict, schema: {n: {type: integer}}}}
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
    // Nor are the fields of a dict value converted.
    let r = t.post("/maps", r#"{"vsd": {"a": {"n": "5"}}}"#).await;
    assert_eq!(
        r.json()["_issues"],
        json!({"vsd": {"a": {"n": "must be of integer type"}}})
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
    // Stored as sent (a string), as Eve does: a `where` naming an
    // ObjectId-like string looks for an ObjectId and finds nothing.
    let url = format!(
        "/maps?where={}",
        super::common::enc(r#"{"vsid.a": "5f0000000000000000000001"}"#)
    );
    assert_eq!(t.get(&url).await.json()["_meta"]["total"], 0);
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

const PRODUCTS: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
DOMAIN:
  products:
    id_field: sku
    item_lookup_field: sku
    item_url: 'regex("[A-Z0-9-]+")'
    schema:
      sku: {type: string, required: true, unique: true}
      name: {type: string}
"#;

fn object_id(v: &serde_json::Value) -> String {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("_id is not a string: {v}"));
    assert!(eve_core::plan::is_object_id(s), "{s}");
    s.to_string()
}

/// Eve's ETag of a served document made of its `_created`, `_updated` and
/// the given fields (key, JSON text): SHA-1 of the keys sorted, with
/// Python's JSON separators and dates as `{"$date": ...}`.
fn eve_etag(item: &serde_json::Value, fields: &[(&str, String)]) -> String {
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
async fn custom_id_field_documents_keep_an_object_id() {
    // As Eve on MongoDB (oracle: scripts/compare/writes/id_field.json): the
    // write answer names the document by `sku` only; reads also return the
    // ObjectId `_id`, whatever the projection.
    let t = TestApp::new(PRODUCTS).await;
    let r = t.post("/products", r#"{"sku": "AB-1", "name": "x"}"#).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let posted = r.json();
    assert_eq!(posted["sku"], "AB-1");
    assert!(posted.get("_id").is_none(), "{posted}");
    assert_eq!(posted["_links"]["self"]["href"], "products/AB-1");
    let item = t.get("/products/AB-1").await.json();
    let id = object_id(&item["_id"]);
    assert_eq!(item["_etag"], posted["_etag"]);
    let list = t.get("/products").await.json();
    assert_eq!(list["_items"][0]["_id"], id.as_str());
    // Even `{"_id": 0}` keeps it, as in Eve.
    for projection in [r#"{"name": 1}"#, r#"{"name": 0}"#, r#"{"_id": 0}"#] {
        let url = format!("/products?projection={}", super::common::enc(projection));
        let j = t.get(&url).await.json();
        assert_eq!(j["_items"][0]["_id"], id.as_str(), "{projection}");
        assert_eq!(j["_items"][0]["sku"], "AB-1", "{projection}");
    }
    // The client cannot set `_id` (not in the schema).
    let r = t
        .post(
            "/products",
            r#"{"sku": "AB-4", "_id": "5f0000000000000000000001"}"#,
        )
        .await;
    assert_eq!(r.json()["_issues"], json!({"_id": "unknown field"}));
}

#[tokio::test]
async fn custom_id_field_edits_keep_the_object_id_and_may_change_the_field() {
    // Only `_id` is immutable (as in MongoDB): Eve lets PATCH and PUT
    // change `sku`, and the document keeps its `_id`.
    let t = TestApp::new(PRODUCTS).await;
    let posted = t
        .post("/products", r#"{"sku": "AB-1", "name": "x"}"#)
        .await
        .json();
    let id = object_id(&t.get("/products/AB-1").await.json()["_id"]);
    let etag = posted["_etag"].as_str().unwrap();
    let r = t
        .edit("PATCH", "/products/AB-1", etag, r#"{"name": "y"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json().get("_id").is_none());
    // A PATCH digests the stored document with the changes: `_id` and the
    // previous ETag included (as Eve; checked on the oracle).
    let patched = t.get("/products/AB-1").await.json();
    assert_eq!(
        r.json()["_etag"],
        eve_etag(
            &patched,
            &[
                ("_etag", format!(r#""{etag}""#)),
                ("_id", format!(r#"{{"$oid": "{id}"}}"#)),
                ("name", r#""y""#.into()),
                ("sku", r#""AB-1""#.into()),
            ]
        )
    );
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t
        .edit(
            "PUT",
            "/products/AB-1",
            &etag,
            r#"{"sku": "AB-1", "name": "z"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let item = t.get("/products/AB-1").await.json();
    assert_eq!(
        (item["name"].as_str(), item["_id"].as_str()),
        (Some("z"), Some(id.as_str()))
    );
    // A PUT's ETag does not cover `_id` (Eve builds it from the body; checked
    // on the oracle): the digest of the document's own fields and dates.
    assert_eq!(
        item["_etag"],
        eve_etag(
            &item,
            &[("name", r#""z""#.into()), ("sku", r#""AB-1""#.into())]
        )
    );
    let etag = item["_etag"].as_str().unwrap().to_string();
    let r = t
        .edit("PATCH", "/products/AB-1", &etag, r#"{"sku": "AB-X"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_links"]["self"]["href"], "products/AB-X");
    assert_eq!(t.get("/products/AB-1").await.status, StatusCode::NOT_FOUND);
    let item = t.get("/products/AB-X").await.json();
    assert_eq!(item["_id"], id.as_str());
    let etag = item["_etag"].as_str().unwrap().to_string();
    let r = t
        .edit(
            "PUT",
            "/products/AB-X",
            &etag,
            r#"{"sku": "AB-Z", "name": "w"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(t.get("/products/AB-Z").await.json()["_id"], id.as_str());
    assert_eq!(t.get("/products").await.json()["_meta"]["total"], 1);
}

const LINKS: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH]
DOMAIN:
  people:
    schema:
      lastname: {type: string}
  books:
    schema:
      title: {type: string}
  links:
    schema:
      ref: {type: dbref, data_relation: {resource: people}}
      refs: {type: list, schema: {type: dbref, data_relation: {resource: people}}}
      plain: {type: dbref}
"#;

#[tokio::test]
async fn dbref_fields_are_checked_by_their_id_and_linked() {
    // Bodies and messages from the oracle (scripts/compare/writes/dbref.json).
    let t = TestApp::new(LINKS).await;
    let (p, _) = t.create("/people", r#"{"lastname": "Ref"}"#).await;
    for body in [
        format!(r#"{{"ref": {{"$col": "people", "$id": "{p}"}}}}"#),
        format!(r#"{{"ref": {{"$ref": "people", "$id": "{p}", "$db": "eve"}}}}"#),
    ] {
        let r = t.post("/links", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.text);
        assert_eq!(
            r.json()["_links"]["related"],
            json!({"ref": {"title": "People", "href": format!("people/{p}")}}),
        );
    }
    // The ETag covers the DBRef as stored, `$id` as sent (checked against
    // the oracle's digest of the same document).
    let last = t.get("/links?sort=-_id&max_results=1").await.json()["_items"][0].clone();
    assert_eq!(
        last["_etag"],
        eve_etag(
            &last,
            &[(
                "ref",
                format!(r#"{{"$db": "eve", "$id": "{p}", "$ref": "people"}}"#)
            )]
        )
    );
    let missing = "5f0000000000000000000001";
    let must_exist = format!("value '{missing}' must exist in resource 'people', field '_id'.");
    let r = t
        .post(
            "/links",
            &format!(r#"{{"ref": {{"$col": "people", "$id": "{missing}"}}}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["_issues"], json!({"ref": must_exist}));
    let r = t
        .post(
            "/links",
            &format!(r#"{{"refs": [{{"$col": "people", "$id": "{p}"}}, {{"$col": "people", "$id": "{missing}"}}]}}"#),
        )
        .await;
    assert_eq!(r.json()["_issues"], json!({"refs": {"1": must_exist}}));
    for bad in [
        format!(r#"{{"ref": "{p}"}}"#),
        r#"{"ref": {"$col": "people"}}"#.to_string(),
        format!(r#"{{"ref": {{"$id": "{p}"}}}}"#),
        format!(r#"{{"ref": {{"$col": 5, "$id": "{p}"}}}}"#),
    ] {
        let r = t.post("/links", &bad).await;
        assert_eq!(
            r.json()["_issues"],
            json!({"ref": "must be of dbref type"}),
            "{bad}"
        );
    }
    assert_eq!(t.get("/links").await.json()["_meta"]["total"], 2);
}

#[tokio::test]
async fn dbref_values_are_rendered_and_linked_by_their_collection() {
    let t = TestApp::new(LINKS).await;
    let (p, _) = t.create("/people", r#"{"lastname": "Ref"}"#).await;
    // No relation: any id, rendered as a string (Python's `str()`).
    let (id, _) = t
        .create(
            "/links",
            r#"{"plain": {"$col": "x", "$id": 5, "$db": "d"}}"#,
        )
        .await;
    let item = t.get(&format!("/links/{id}")).await.json();
    assert_eq!(item["plain"], json!({"$ref": "x", "$id": "5", "$db": "d"}));
    assert!(item["_links"].get("related").is_none());
    // The link goes to the resource `$ref` names (the `$id` is checked
    // against the relation's resource).
    let (id, _) = t
        .create(
            "/links",
            &format!(r#"{{"ref": {{"$col": "books", "$id": "{p}"}}}}"#),
        )
        .await;
    let item = t.get(&format!("/links/{id}")).await.json();
    assert_eq!(item["ref"], json!({"$ref": "books", "$id": p}));
    assert_eq!(
        item["_links"]["related"],
        json!({"ref": {"title": "Book", "href": format!("books/{p}")}})
    );
    // Safer than Eve (500 on every answer showing it): a `$ref` naming no
    // resource gets no link.
    let r = t
        .post(
            "/links",
            &format!(r#"{{"ref": {{"$col": "nowhere", "$id": "{p}"}}}}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.json()["_links"].get("related").is_none());
    let list = t.get("/links").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json()["_meta"]["total"], 3);
    // Queries reach into the reference. As in Eve, `$id` is stored as sent
    // (here a string) while `where` turns ObjectId-like strings into
    // ObjectIds, so such a string finds nothing.
    for (filter, expected) in [
        (r#"{"plain.$id": 5}"#.to_string(), 1),
        (r#"{"ref.$ref": "books"}"#.to_string(), 1),
        (format!(r#"{{"ref.$id": "{p}"}}"#), 0),
    ] {
        let url = format!("/links?where={}", super::common::enc(&filter));
        assert_eq!(
            t.get(&url).await.json()["_meta"]["total"],
            expected,
            "{filter}"
        );
    }
}

#[tokio::test]
async fn dbref_field_as_sub_resource_variable_behaves_as_in_eve() {
    // Eve (oracle: scripts/compare/writes/dbref_sub.json) filters and fills
    // the field with the URL's plain id, which is not a DBRef: the
    // sub-resource lists nothing and POST is refused. eve-rs does the same.
    let yaml = r#"
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  people:
    schema:
      lastname: {type: string}
  links:
    schema:
      ref: {type: dbref, data_relation: {resource: people}}
  people_links:
    url: 'people/<regex("[a-f0-9]{24}"):ref>/links'
    datasource: {source: links}
    schema:
      ref: {type: dbref, data_relation: {resource: people}}
"#;
    let t = TestApp::new(yaml).await;
    let (p, _) = t.create("/people", r#"{"lastname": "Ref"}"#).await;
    let body = format!(r#"{{"ref": {{"$col": "people", "$id": "{p}"}}}}"#);
    t.create("/links", &body).await;
    let sub = format!("/people/{p}/links");
    assert_eq!(t.get(&sub).await.json()["_meta"]["total"], 0);
    for body in ["{}", body.as_str()] {
        let r = t.post(&sub, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.json()["_issues"], json!({"ref": "must be of dbref type"}));
    }
    assert_eq!(t.get("/links").await.json()["_meta"]["total"], 1);
}
