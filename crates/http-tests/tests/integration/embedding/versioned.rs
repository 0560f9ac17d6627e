//! Embedding of versioned relations (features.md §30, `data_relation.version:
//! true`): the version a reference names, with the related resource's
//! projection and filter; missing versions; one live and one shadow query
//! per relation and page. Expected payloads follow the oracle (Python Eve
//! 2.3.1, `scripts/compare/embedding/versioned.json`): a reference whose
//! version cannot be read answers 404 for the whole request.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{embedded, get_ok, post, Counting};
use crate::integration::common::TestApp;
/// Settings with a versioned `users` resource and versioned references to
/// it (`scripts/compare/embedding/versioned.yaml`).
const VERSIONED: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  users:
    versioning: true
    datasource: {projection: {secret: 0}}
    schema:
      name: {type: string}
      secret: {type: string}
      note: {type: string, versioned: false}
      active: {type: boolean}
  active_users:
    versioning: true
    datasource: {source: users, filter: {active: true}}
    schema:
      name: {type: string}
      active: {type: boolean}
  posts:
    schema:
      title: {type: string}
      author:
        type: dict
        schema: {_id: {type: objectid}, _version: {type: integer}}
        data_relation: {resource: users, field: _id, embeddable: true, version: true}
      readers:
        type: list
        schema:
          type: dict
          schema: {_id: {type: objectid}, _version: {type: integer}}
          data_relation: {resource: users, field: _id, embeddable: true, version: true}
      meta:
        type: dict
        schema:
          by:
            type: dict
            schema: {_id: {type: objectid}, _version: {type: integer}}
            data_relation: {resource: users, field: _id, embeddable: true, version: true}
      fan:
        type: dict
        schema: {_id: {type: objectid}, _version: {type: integer}}
        data_relation: {resource: active_users, field: _id, embeddable: true, version: true}
  defaults:
    datasource: {source: posts}
    embedded_fields: [author]
    schema:
      title: {type: string}
      author:
        type: dict
        schema: {_id: {type: objectid}, _version: {type: integer}}
        data_relation: {resource: users, field: _id, embeddable: true, version: true}
"#;

/// A versioned reference as stored and sent.
fn vref(id: &str, n: i64) -> Value {
    json!({"_id": id, "_version": n})
}

/// PATCHes a document with its ETag; returns the answer.
async fn patch(t: &TestApp, uri: &str, etag: &str, body: Value) -> Value {
    let r = t.edit("PATCH", uri, etag, &body.to_string()).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    r.json()
}

#[tokio::test]
async fn a_versioned_reference_embeds_that_version() {
    let t = TestApp::new(VERSIONED).await;
    let r = t
        .post(
            "/users",
            r#"{"name": "Ann", "secret": "s", "note": "n1", "active": true}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v1 = r.json();
    let a = v1["_id"].as_str().unwrap().to_string();
    let v2 = patch(
        &t,
        &format!("/users/{a}"),
        v1["_etag"].as_str().unwrap(),
        json!({"name": "Ann2", "note": "n2"}),
    )
    .await;
    let r = t
        .post(
            "/users",
            r#"{"name": "Bob", "secret": "s", "active": true}"#,
        )
        .await;
    let bob = r.json();
    let b = bob["_id"].as_str().unwrap().to_string();
    let link = json!({"self": {"title": "User", "href": format!("users/{a}")}});
    // What the oracle embeds (scripts/compare/embedding/versioned.json):
    // the version's fields, the live document's unversioned `note`, no
    // `secret` (the users' projection), `_latest_version` and a self link.
    let ann1 = json!({
        "_id": a, "name": "Ann", "note": "n2", "active": true,
        "_created": v1["_created"], "_updated": v1["_updated"], "_etag": v1["_etag"],
        "_version": 1, "_latest_version": 2, "_links": link,
    });
    let ann2 = json!({
        "_id": a, "name": "Ann2", "note": "n2", "active": true,
        "_created": v1["_created"], "_updated": v2["_updated"], "_etag": v2["_etag"],
        "_version": 2, "_latest_version": 2, "_links": link,
    });
    let bob1 = json!({
        "_id": b, "name": "Bob", "active": true,
        "_created": bob["_created"], "_updated": bob["_updated"], "_etag": bob["_etag"],
        "_version": 1, "_latest_version": 1,
        "_links": {"self": {"title": "User", "href": format!("users/{b}")}},
    });
    let p = post(
        &t,
        json!({
            "title": "one",
            "author": vref(&a, 1),
            "readers": [vref(&a, 2), vref(&b, 1), vref(&a, 1)],
            "meta": {"by": vref(&a, 2)},
            "fan": vref(&a, 1),
        }),
    )
    .await;

    let q = embedded(r#"{"author": 1, "readers": 1, "meta.by": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    assert_eq!(item["author"], ann1);
    assert_eq!(item["readers"], json!([ann2, bob1, ann1]));
    assert_eq!(item["meta"]["by"], ann2);
    // Not asked: as stored.
    assert_eq!(item["fan"], vref(&a, 1));
    // The related links name the referenced documents.
    assert_eq!(
        item["_links"]["related"]["author"],
        json!({"title": "User", "href": format!("users/{a}")})
    );
    let page = get_ok(&t, &format!("/posts?{q}")).await;
    assert_eq!(page["_items"][0]["author"], ann1);
    assert_eq!(page["_items"][0]["readers"], json!([ann2, bob1, ann1]));
    // Through a filtered resource: its link and its projection (its
    // schema: no `note`).
    let fan = get_ok(&t, &format!("/posts/{p}?{}", embedded(r#"{"fan": 1}"#))).await;
    assert_eq!(
        fan["fan"],
        json!({
            "_id": a, "name": "Ann", "active": true,
            "_created": v1["_created"], "_updated": v1["_updated"], "_etag": v1["_etag"],
            "_version": 1, "_latest_version": 2,
            "_links": {"self": {"title": "Active_user", "href": format!("active_users/{a}")}},
        })
    );
    // Without the argument, the references as stored; `embedded_fields`
    // embeds by default.
    let plain = get_ok(&t, &format!("/posts/{p}")).await;
    assert_eq!(plain["author"], vref(&a, 1));
    assert_eq!(get_ok(&t, &format!("/defaults/{p}")).await["author"], ann1);
    let off = embedded(r#"{"author": 0}"#);
    assert_eq!(
        get_ok(&t, &format!("/defaults/{p}?{off}")).await["author"],
        vref(&a, 1)
    );
    // A version that does not exist is refused on write (the oracle's
    // message).
    let r = t
        .post(
            "/posts",
            &json!({"title": "bad", "author": vref(&a, 3)}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["_issues"],
        json!({"author": format!("value '{a}' must exist in resource 'users', field '_id' at version '3'.")})
    );
}

#[tokio::test]
async fn a_version_that_cannot_be_read_is_404() {
    let t = TestApp::new(VERSIONED).await;
    let (a, a_etag) = t
        .create("/users", r#"{"name": "Ann", "active": true}"#)
        .await;
    let (b, b_etag) = t
        .create("/users", r#"{"name": "Bob", "active": true}"#)
        .await;
    let p = post(
        &t,
        json!({
            "title": "one",
            "author": vref(&b, 1),
            "readers": [vref(&b, 1), vref(&a, 1)],
            "fan": vref(&a, 1),
        }),
    )
    .await;
    let p2 = post(&t, json!({"title": "two", "readers": [vref(&a, 1)]})).await;
    // Ann leaves `active_users` (the filter hides her live document).
    patch(
        &t,
        &format!("/users/{a}"),
        &a_etag,
        json!({"active": false}),
    )
    .await;
    // Bob is deleted, with his history.
    let r = t
        .send(
            "DELETE",
            &format!("/users/{b}"),
            &[("if-match", b_etag.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    // Deleted (author, one reader of the list) or outside the filter (fan):
    // the whole request is 404, on an item and on a page.
    for fields in [r#"{"author": 1}"#, r#"{"readers": 1}"#, r#"{"fan": 1}"#] {
        let q = embedded(fields);
        let r = t.get(&format!("/posts/{p}?{q}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{fields}: {}", r.text);
        let r = t.get(&format!("/posts?{q}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{fields}: {}", r.text);
    }
    // Without embedding the references are served as stored.
    let item = get_ok(&t, &format!("/posts/{p}")).await;
    assert_eq!(item["author"], vref(&b, 1));
    // Readable versions still embed: Ann's first version, now outdated.
    let q = embedded(r#"{"readers": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p2}?{q}")).await;
    let readers = item["readers"].as_array().unwrap();
    assert_eq!(readers.len(), 1, "{item}");
    assert_eq!(readers[0]["name"], "Ann");
    assert_eq!(readers[0]["active"], true);
    assert_eq!(readers[0]["_version"], 1);
    assert_eq!(readers[0]["_latest_version"], 2);
}

#[tokio::test]
async fn versioned_references_cost_one_query_per_relation_and_collection() {
    let reads = Arc::new(Mutex::new(Vec::new()));
    let counter = reads.clone();
    let t = TestApp::with_store(VERSIONED, move |inner| {
        Arc::new(Counting {
            inner,
            reads: counter,
        })
    })
    .await;
    let mut users = Vec::new();
    for i in 0..5 {
        let (id, etag) = t
            .create("/users", &json!({"name": format!("u{i}")}).to_string())
            .await;
        patch(
            &t,
            &format!("/users/{id}"),
            &etag,
            json!({"name": format!("u{i} v2")}),
        )
        .await;
        users.push(id);
    }
    for i in 0..25 {
        let readers: Vec<Value> = (0..3)
            .map(|k| vref(&users[(i + k) % 5], 1 + (k as i64 % 2)))
            .collect();
        post(
            &t,
            json!({"title": format!("p{i}"), "author": vref(&users[i % 5], 1), "readers": readers}),
        )
        .await;
    }
    reads.lock().unwrap().clear();
    let page = get_ok(
        &t,
        &format!(
            "/posts?max_results=25&{}",
            embedded(r#"{"author": 1, "readers": 1}"#)
        ),
    )
    .await;
    let items = page["_items"].as_array().unwrap();
    assert_eq!(items.len(), 25);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["author"]["_id"], json!(users[i % 5]), "item {i}");
        assert_eq!(
            item["author"]["name"],
            json!(format!("u{}", i % 5)),
            "item {i}"
        );
        for k in 0..3 {
            let name = match k % 2 {
                0 => format!("u{}", (i + k) % 5),
                _ => format!("u{} v2", (i + k) % 5),
            };
            assert_eq!(
                item["readers"][k]["name"],
                json!(name),
                "item {i} reader {k}"
            );
            assert_eq!(
                item["readers"][k]["_latest_version"], 2,
                "item {i} reader {k}"
            );
        }
    }
    let reads = reads.lock().unwrap().clone();
    let count = |c: &str| reads.iter().filter(|r| *r == c).count();
    assert_eq!(count("users"), 2, "one live query per relation: {reads:?}");
    assert_eq!(
        count("users_versions"),
        2,
        "one shadow query per relation: {reads:?}"
    );
    assert_eq!(count("posts"), 1, "{reads:?}");
}
