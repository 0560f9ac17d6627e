//! Embedded resource serialization (features.md §30, issue #12): `?embedded=`
//! and `embedded_fields` on items, pages and write answers; single ids,
//! lists, dotted paths, DBRefs, relations on another field, nested
//! embedding; missing documents; the related resource's projection and
//! datasource filter; `EMBEDDED_MAX_DOCUMENTS`; one store query per
//! relation and page. Expected payloads follow the oracle (Python Eve
//! 2.3.1, scenarios in `scripts/compare/embedding/`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::http::StatusCode;
use bson::{Bson, Document};
use eve_store::{
    BatchResult, Capabilities, DataLayer, Filter, FindQuery, IndexSpec, StoreResult, WriteBatch,
};
use serde_json::{json, Value};

use super::common::{enc, TestApp};

/// Versioned relations (`data_relation.version: true`).
mod versioned;

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  users:
    datasource: {projection: {secret: 0}}
    schema:
      name: {type: string}
      email: {type: string, unique: true}
      secret: {type: string}
      active: {type: boolean}
      boss: {type: objectid, data_relation: {resource: users, embeddable: true}}
  active_users:
    datasource: {source: users, filter: {active: true}, projection: {name: 1}}
    schema:
      name: {type: string}
      active: {type: boolean}
  posts:
    schema:
      title: {type: string}
      author: {type: objectid, data_relation: {resource: users, embeddable: true}}
      editor: {type: objectid, data_relation: {resource: users}}
      readers: {type: list, schema: {type: objectid, data_relation: {resource: users, embeddable: true}}}
      by_mail: {type: string, data_relation: {resource: users, field: email, embeddable: true}}
      meta:
        type: dict
        schema:
          owner: {type: objectid, data_relation: {resource: users, embeddable: true}}
      lines:
        type: list
        schema:
          type: dict
          schema:
            who: {type: objectid, data_relation: {resource: users, embeddable: true}}
      ref: {type: dbref, data_relation: {resource: users, embeddable: true}}
      fan: {type: objectid, data_relation: {resource: active_users, embeddable: true}}
  defaults:
    datasource: {source: posts}
    embedded_fields: [author]
    schema:
      title: {type: string}
      author: {type: objectid, data_relation: {resource: users, embeddable: true}}
  quiet:
    embedding: false
    datasource: {source: posts}
    embedded_fields: [author]
    schema:
      title: {type: string}
      author: {type: objectid, data_relation: {resource: users, embeddable: true}}
"#;

/// Creates a user; returns its id and the document an embedding shows:
/// the stored fields without `secret` (the users' projection) and without
/// `_links`.
async fn user(t: &TestApp, name: &str, email: &str, extra: Value) -> (String, Value) {
    let mut body = json!({"name": name, "email": email, "secret": "s3cr3t", "active": true});
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    let r = t.post("/users", &body.to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let w = r.json();
    let mut shown = body.clone();
    shown.as_object_mut().unwrap().remove("secret");
    for meta in ["_id", "_created", "_updated", "_etag"] {
        shown[meta] = w[meta].clone();
    }
    (w["_id"].as_str().unwrap().to_string(), shown)
}

async fn post(t: &TestApp, body: Value) -> String {
    let r = t.post("/posts", &body.to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.json()["_id"].as_str().unwrap().to_string()
}

fn embedded(clause: &str) -> String {
    format!("embedded={}", enc(clause))
}

async fn get_ok(t: &TestApp, uri: &str) -> Value {
    let r = t.get(uri).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    r.json()
}

#[tokio::test]
async fn a_reference_embeds_the_document_a_read_of_its_resource_shows() {
    let t = TestApp::new(SETTINGS).await;
    let (a, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "author": a})).await;

    let q = embedded(r#"{"author": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    assert_eq!(item["author"], ann);
    assert!(item["author"].get("secret").is_none());
    assert!(item["author"].get("_links").is_none());
    // Exactly what GET /users/<id> shows, links aside.
    let mut direct = get_ok(&t, &format!("/users/{a}")).await;
    direct.as_object_mut().unwrap().remove("_links");
    assert_eq!(item["author"], direct);
    // The related link still names the reference.
    assert_eq!(
        item["_links"]["related"],
        json!({"author": {"title": "User", "href": format!("users/{a}")}})
    );

    let page = get_ok(&t, &format!("/posts?{q}")).await;
    assert_eq!(page["_items"][0]["author"], ann);
    // `embedded` is not repeated in the page links.
    assert_eq!(page["_links"]["self"]["href"], "posts");

    // Without the argument, the raw id.
    let plain = get_ok(&t, &format!("/posts/{p}")).await;
    assert_eq!(plain["author"], json!(a));
    // HEAD answers as GET does, without a body.
    let head = t.send("HEAD", &format!("/posts/{p}?{q}"), &[], None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.text.is_empty());
}

#[tokio::test]
async fn names_that_are_not_embeddable_relations_are_ignored() {
    let t = TestApp::new(SETTINGS).await;
    let (a, _) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "author": a, "editor": a})).await;
    let q = embedded(r#"{"editor": 1, "title": 1, "nope": 1, "author.name": 1, "author": 2}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    assert_eq!(item["editor"], json!(a));
    assert_eq!(item["author"], json!(a));
    assert_eq!(item["title"], "one");
}

#[tokio::test]
async fn an_embedded_argument_that_is_not_a_json_object_is_400() {
    let t = TestApp::new(SETTINGS).await;
    let (a, _) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "author": a})).await;
    for clause in ["[1]", "x", r#"{"author": 1"#, "1", "null", r#""author""#] {
        for uri in [
            format!("/posts?{}", embedded(clause)),
            format!("/posts/{p}?{}", embedded(clause)),
        ] {
            let r = t.get(&uri).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text);
            assert_eq!(
                r.json(),
                json!({"_status": "ERR", "_error": {"code": 400, "message": "Unable to parse `embedded` clause"}}),
                "{uri}"
            );
        }
    }
    // An empty argument asks for nothing.
    let item = get_ok(&t, &format!("/posts/{p}?embedded=")).await;
    assert_eq!(item["author"], json!(a));
}

#[tokio::test]
async fn embedded_fields_embed_by_default_and_the_client_opts_out() {
    let t = TestApp::new(SETTINGS).await;
    let (a, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "author": a})).await;
    assert_eq!(get_ok(&t, &format!("/defaults/{p}")).await["author"], ann);
    assert_eq!(get_ok(&t, "/defaults").await["_items"][0]["author"], ann);
    let off = embedded(r#"{"author": 0}"#);
    assert_eq!(
        get_ok(&t, &format!("/defaults/{p}?{off}")).await["author"],
        json!(a)
    );
    // `embedding: false`: the defaults and the argument are ignored, even
    // one that does not parse.
    for q in ["", &embedded(r#"{"author": 1}"#), &embedded("[")] {
        let item = get_ok(&t, &format!("/quiet/{p}?{q}")).await;
        assert_eq!(item["author"], json!(a), "{q}");
    }
}

#[tokio::test]
async fn lists_keep_their_order_and_repeats_and_missing_documents_go() {
    let t = TestApp::new(SETTINGS).await;
    let (a, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let (b, bob) = user(&t, "Bob", "bob@x.org", json!({})).await;
    let (c, _) = user(&t, "Cy", "cy@x.org", json!({})).await;
    let p = post(
        &t,
        json!({"title": "one", "author": c, "readers": [b, a, b, c]}),
    )
    .await;
    let e = post(&t, json!({"title": "empty", "readers": []})).await;
    let q = embedded(r#"{"readers": 1, "author": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    assert_eq!(item["readers"][0], bob);
    assert_eq!(item["readers"][1], ann);
    assert_eq!(item["readers"][2], bob);
    assert_eq!(item["readers"][3]["name"], "Cy");
    assert_eq!(
        get_ok(&t, &format!("/posts/{e}?{q}")).await["readers"],
        json!([])
    );

    // Cy is deleted: a single reference to it embeds null, and a list
    // leaves it out (as Eve does); the related links still name it.
    let etag = get_ok(&t, &format!("/users/{c}")).await["_etag"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .send(
            "DELETE",
            &format!("/users/{c}"),
            &[("if-match", etag.as_str())],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    assert_eq!(item["author"], Value::Null);
    assert_eq!(item["readers"], json!([bob, ann, bob]));
    assert_eq!(
        item["_links"]["related"]["author"],
        json!({"title": "User", "href": format!("users/{c}")})
    );
    assert_eq!(
        item["_links"]["related"]["readers"]
            .as_array()
            .map(Vec::len),
        Some(4)
    );
}

#[tokio::test]
async fn dotted_paths_reach_into_sub_documents_and_lists_of_them() {
    let t = TestApp::new(SETTINGS).await;
    let (a, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let (b, bob) = user(&t, "Bob", "bob@x.org", json!({})).await;
    let p = post(
        &t,
        json!({"title": "one", "meta": {"owner": a}, "lines": [{"who": b}, {"who": a}, {}]}),
    )
    .await;
    let q = embedded(r#"{"meta.owner": 1, "lines.who": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    assert_eq!(item["meta"], json!({"owner": ann}));
    assert_eq!(item["lines"], json!([{"who": bob}, {"who": ann}, {}]));
    let page = get_ok(&t, &format!("/posts?{q}")).await;
    assert_eq!(page["_items"][0]["meta"], json!({"owner": ann}));
}

#[tokio::test]
async fn a_dbref_embeds_from_the_resource_it_names() {
    let t = TestApp::new(SETTINGS).await;
    let (a, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(
        &t,
        json!({"title": "one", "ref": {"$col": "users", "$id": a}}),
    )
    .await;
    let item = get_ok(&t, &format!("/posts/{p}?{}", embedded(r#"{"ref": 1}"#))).await;
    assert_eq!(item["ref"], ann);
    assert_eq!(
        item["_links"]["related"]["ref"],
        json!({"title": "User", "href": format!("users/{a}")})
    );
}

#[tokio::test]
async fn a_relation_on_another_field_embeds_by_that_field() {
    let t = TestApp::new(SETTINGS).await;
    let (_, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "by_mail": "ann@x.org"})).await;
    let item = get_ok(&t, &format!("/posts/{p}?{}", embedded(r#"{"by_mail": 1}"#))).await;
    assert_eq!(item["by_mail"], ann);
    // The related link names the value as stored.
    assert_eq!(
        item["_links"]["related"]["by_mail"],
        json!({"title": "User", "href": "users/ann@x.org"})
    );
}

#[tokio::test]
async fn the_related_resource_filter_and_projection_apply() {
    let t = TestApp::new(SETTINGS).await;
    let (a, _) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "fan": a})).await;
    let q = embedded(r#"{"fan": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    let direct = get_ok(&t, &format!("/active_users/{a}")).await;
    let fan = &item["fan"];
    assert_eq!(fan["name"], "Ann");
    for hidden in ["email", "active", "secret"] {
        assert!(fan.get(hidden).is_none(), "{hidden}: {fan}");
    }
    for meta in ["_id", "_created", "_updated", "_etag"] {
        assert_eq!(fan[meta], direct[meta], "{meta}");
    }
    // Ann leaves the active users: the filter hides her, as GET does.
    let etag = direct["_etag"].as_str().unwrap().to_string();
    let r = t
        .edit(
            "PATCH",
            &format!("/users/{a}"),
            &etag,
            r#"{"active": false}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        t.get(&format!("/active_users/{a}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_ok(&t, &format!("/posts/{p}?{q}")).await["fan"],
        Value::Null
    );
}

#[tokio::test]
async fn nested_embedding_walks_into_documents_embedded_first() {
    let t = TestApp::new(SETTINGS).await;
    let (boss, boss_doc) = user(&t, "Boss", "boss@x.org", json!({})).await;
    let (a, _) = user(&t, "Ann", "ann@x.org", json!({"boss": boss})).await;
    let p = post(&t, json!({"title": "one", "author": a})).await;
    let item = get_ok(
        &t,
        &format!(
            "/posts/{p}?{}",
            embedded(r#"{"author.boss": 1, "author": 1}"#)
        ),
    )
    .await;
    assert_eq!(item["author"]["name"], "Ann");
    assert_eq!(item["author"]["boss"], boss_doc);
    // Through a plain id (the author not embedded): ignored.
    let item = get_ok(
        &t,
        &format!("/posts/{p}?{}", embedded(r#"{"author.boss": 1}"#)),
    )
    .await;
    assert_eq!(item["author"], json!(a));
}

#[tokio::test]
async fn an_item_is_as_new_as_its_newest_embedded_document() {
    let t = TestApp::new(SETTINGS).await;
    let (a, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "author": a})).await;
    let posted = t.get(&format!("/posts/{p}")).await;
    let post_date = posted.header("last-modified").unwrap().to_string();
    // Two seconds later (dates have a one-second resolution, and
    // If-Modified-Since adds one), Ann changes.
    tokio::time::sleep(std::time::Duration::from_millis(2050)).await;
    let etag = ann["_etag"].as_str().unwrap();
    let r = t
        .edit("PATCH", &format!("/users/{a}"), etag, r#"{"name": "Anna"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ann_date = r.json()["_updated"].as_str().unwrap().to_string();
    assert_ne!(ann_date, post_date);

    let q = embedded(r#"{"author": 1}"#);
    let item = t.get(&format!("/posts/{p}?{q}")).await;
    assert_eq!(item.header("last-modified"), Some(ann_date.as_str()));
    assert_eq!(item.json()["_updated"], json!(post_date));
    // Not modified since the post was written: only without embedding.
    let since = [("if-modified-since", post_date.as_str())];
    let plain = t.send("GET", &format!("/posts/{p}"), &since, None).await;
    assert_eq!(plain.status, StatusCode::NOT_MODIFIED);
    let with = t
        .send("GET", &format!("/posts/{p}?{q}"), &since, None)
        .await;
    assert_eq!(with.status, StatusCode::OK);
    assert_eq!(with.json()["author"]["name"], "Anna");
}

#[tokio::test]
async fn a_response_embeds_at_most_embedded_max_documents() {
    let t = TestApp::new(&format!("EMBEDDED_MAX_DOCUMENTS: 3\n{SETTINGS}")).await;
    let (a, _) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let (b, _) = user(&t, "Bob", "bob@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "author": a, "readers": [a, b]})).await;
    post(&t, json!({"title": "two", "author": b})).await;
    // Three references on the item: allowed.
    let both = embedded(r#"{"author": 1, "readers": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{both}")).await;
    assert_eq!(item["readers"][1]["name"], "Bob");
    // Four on the page: refused before the references past the limit are
    // read.
    let r = t.get(&format!("/posts?{both}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json()["_error"]["message"],
        "a response may embed at most 3 documents (EMBEDDED_MAX_DOCUMENTS)"
    );
    // Each path alone fits.
    let authors = get_ok(&t, &format!("/posts?{}", embedded(r#"{"author": 1}"#))).await;
    assert_eq!(authors["_items"][1]["author"]["name"], "Bob");
}

#[tokio::test]
async fn write_answers_embed_only_without_bandwidth_saver() {
    let t = TestApp::new(SETTINGS).await;
    let (a, _) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let q = embedded(r#"{"author": 1}"#);
    // BANDWIDTH_SAVER (the default): the argument is not even read.
    let r = t
        .post(
            &format!("/posts?{}", embedded("[")),
            &json!({"title": "one", "author": a}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.json().get("author").is_none());

    let t = TestApp::new(&format!("BANDWIDTH_SAVER: false\n{SETTINGS}")).await;
    let (a, ann) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let (b, bob) = user(&t, "Bob", "bob@x.org", json!({})).await;
    let r = t
        .post(
            &format!("/posts?{q}"),
            &json!({"title": "one", "author": a}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let created = r.json();
    assert_eq!(created["author"], ann);
    assert_eq!(
        created["_links"]["related"]["author"],
        json!({"title": "User", "href": format!("users/{a}")})
    );
    let p = created["_id"].as_str().unwrap().to_string();
    let etag = created["_etag"].as_str().unwrap().to_string();
    // Bulk inserts embed in each document.
    let r = t
        .post(
            &format!("/posts?{q}"),
            &json!([{"title": "x", "author": b}, {"title": "y", "author": a}]).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["_items"][0]["author"], bob);
    assert_eq!(r.json()["_items"][1]["author"], ann);
    // PATCH and PUT.
    let r = t
        .edit(
            "PATCH",
            &format!("/posts/{p}?{q}"),
            &etag,
            &json!({"author": b}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["author"], bob);
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t
        .edit(
            "PUT",
            &format!("/posts/{p}?{q}"),
            &etag,
            &json!({"title": "put", "author": a}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["author"], ann);
    // A bad argument is refused before anything is written.
    let r = t
        .post(
            &format!("/posts?{}", embedded("[")),
            &json!({"title": "no", "author": a}).to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(get_ok(&t, "/posts").await["_meta"]["total"], 3);
}

/// A data layer that records the collection of every read.
struct Counting {
    inner: Arc<dyn DataLayer>,
    reads: Arc<Mutex<Vec<String>>>,
}

impl Counting {
    fn record(&self, collection: &str) {
        self.reads.lock().unwrap().push(collection.to_string());
    }
}

#[async_trait]
impl DataLayer for Counting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    async fn prepare_collection(&self, collection: &str, indexes: &[IndexSpec]) -> StoreResult<()> {
        self.inner.prepare_collection(collection, indexes).await
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn find(&self, collection: &str, query: &FindQuery) -> StoreResult<Vec<Document>> {
        self.record(collection);
        self.inner.find(collection, query).await
    }
    async fn count(&self, collection: &str, filter: &Filter) -> StoreResult<u64> {
        self.record(collection);
        self.inner.count(collection, filter).await
    }
    async fn find_page(
        &self,
        collection: &str,
        query: &FindQuery,
        count: bool,
    ) -> StoreResult<(Vec<Document>, Option<u64>)> {
        self.record(collection);
        self.inner.find_page(collection, query, count).await
    }
    async fn find_one(&self, collection: &str, filter: &Filter) -> StoreResult<Option<Document>> {
        self.record(collection);
        self.inner.find_one(collection, filter).await
    }
    async fn apply(&self, batch: WriteBatch) -> StoreResult<BatchResult> {
        self.inner.apply(batch).await
    }
    async fn insert(&self, collection: &str, docs: Vec<Document>) -> StoreResult<Vec<Bson>> {
        self.inner.insert(collection, docs).await
    }
}

#[tokio::test]
async fn a_page_costs_one_query_per_embedded_relation() {
    let reads = Arc::new(Mutex::new(Vec::new()));
    let counter = reads.clone();
    let t = TestApp::with_store(SETTINGS, move |inner| {
        Arc::new(Counting {
            inner,
            reads: counter,
        })
    })
    .await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(user(&t, &format!("u{i}"), &format!("u{i}@x.org"), json!({})).await);
    }
    for i in 0..25 {
        let author = &users[i % 5].0;
        let readers: Vec<&String> = (0..3).map(|k| &users[(i + k) % 5].0).collect();
        post(
            &t,
            json!({"title": format!("p{i}"), "author": author, "readers": readers}),
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
        assert_eq!(item["author"], users[i % 5].1, "item {i}");
        for k in 0..3 {
            assert_eq!(
                item["readers"][k],
                users[(i + k) % 5].1,
                "item {i} reader {k}"
            );
        }
    }
    let reads = reads.lock().unwrap().clone();
    assert_eq!(
        reads.iter().filter(|c| *c == "users").count(),
        2,
        "one query per relation: {reads:?}"
    );
    assert_eq!(
        reads.iter().filter(|c| *c == "posts").count(),
        1,
        "{reads:?}"
    );
}

#[tokio::test]
async fn soft_deleted_documents_embed_as_missing_and_a_deleted_item_embeds_nothing() {
    let t = TestApp::new(&format!("SOFT_DELETE: true\n{SETTINGS}")).await;
    let (a, _) = user(&t, "Ann", "ann@x.org", json!({})).await;
    let (b, _) = user(&t, "Bob", "bob@x.org", json!({})).await;
    let p = post(&t, json!({"title": "one", "author": a, "readers": [a, b]})).await;
    let delete = |uri: String| {
        let t = &t;
        async move {
            let etag = get_ok(t, &uri).await["_etag"].as_str().unwrap().to_string();
            let r = t
                .send("DELETE", &uri, &[("if-match", etag.as_str())], None)
                .await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        }
    };
    delete(format!("/users/{a}")).await;
    let q = embedded(r#"{"author": 1, "readers": 1}"#);
    let item = get_ok(&t, &format!("/posts/{p}?{q}")).await;
    assert_eq!(item["author"], Value::Null);
    let readers = item["readers"].as_array().unwrap();
    assert_eq!(readers.len(), 1, "{item}");
    assert_eq!(readers[0]["name"], "Bob");
    assert_eq!(readers[0]["_deleted"], false);
    // The post itself deleted: its 404 body shows the references as stored.
    delete(format!("/posts/{p}")).await;
    let r = t.get(&format!("/posts/{p}?{q}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let body = r.json();
    assert_eq!(body["_deleted"], true);
    assert_eq!(body["author"], json!(a));
    assert_eq!(body["readers"], json!([a, b]));
}
