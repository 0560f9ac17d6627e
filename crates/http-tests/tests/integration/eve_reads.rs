//! Read-side Eve behaviours of issue #20: bitwise query operators, paging
//! links on items and past the last page, `X-Total-Count` without
//! pagination, related links of empty lists, ETags of pre-1970 dates,
//! projections into lists of sub-documents, and `VALIDATE_FILTERS` on
//! fixed-length lists. Expected payloads come from the oracle (Python Eve
//! 2.3.1; scenarios in `scripts/compare/reads/`), except the bitwise
//! operators, which mongomock cannot run: those follow MongoDB's manual.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::{enc, TestApp};

const SETTINGS: &str = r#"
DEBUG: true
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  users:
    schema:
      name: {type: string}
  posts:
    schema:
      title: {type: string}
      flags: {}
      owner: {type: objectid, data_relation: {resource: users}}
      authors: {type: list, schema: {type: objectid, data_relation: {resource: users}}}
      pair:
        type: list
        items:
          - {type: dict, schema: {x: {type: integer}}}
          - {type: string}
      lines:
        type: list
        schema: {type: dict, schema: {price: {type: integer}, sku: {type: string}}}
  events:
    etag_ignore_fields: [_id, _created, _updated]
    schema:
      title: {type: string}
      at: {type: datetime}
      when: {type: list, schema: {type: datetime}}
"#;

fn titles(v: &Value) -> Vec<String> {
    v["_items"]
        .as_array()
        .unwrap_or_else(|| panic!("no _items: {v}"))
        .iter()
        .map(|d| d["title"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn where_titles(t: &TestApp, resource: &str, query: &str) -> Vec<String> {
    let r = t.get(&format!("/{resource}?where={}", enc(query))).await;
    assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text);
    titles(&r.json())
}

/// The collection of MongoDB's manual (`a: 54, 20, 20.0`), with a negative
/// number, a fraction, a string and a missing field added.
async fn flagged() -> TestApp {
    let t = TestApp::new(SETTINGS).await;
    let r = t
        .post(
            "/posts",
            r#"[{"title": "54", "flags": 54}, {"title": "20", "flags": 20},
                {"title": "20.0", "flags": 20.0}, {"title": "-5", "flags": -5},
                {"title": "20.5", "flags": 20.5}, {"title": "str", "flags": "54"},
                {"title": "list", "flags": [1, 32]}, {"title": "none"}]"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t
}

#[tokio::test]
async fn bitwise_operators_follow_mongodb() {
    let t = flagged().await;
    let cases: [(&str, &[&str]); 7] = [
        // The manual's examples: positions 1 and 5, bitmask 50.
        (r#"{"flags": {"$bitsAllSet": [1, 5]}}"#, &["54", "-5"]),
        (r#"{"flags": {"$bitsAllSet": 50}}"#, &["54", "-5"]),
        // 1, an element of the list, has both bits clear.
        (
            r#"{"flags": {"$bitsAllClear": [1, 5]}}"#,
            &["20", "20.0", "list"],
        ),
        // Position 200 of a negative number is its (extended) sign bit.
        (r#"{"flags": {"$bitsAnySet": [200]}}"#, &["-5"]),
        // 35 selects bits 0, 1 and 5; -5 has all three set.
        (
            r#"{"flags": {"$bitsAnyClear": 35}}"#,
            &["54", "20", "20.0", "list"],
        ),
        // Arrays match by element: 32 has bit 5.
        (r#"{"flags": {"$bitsAnySet": [5]}}"#, &["54", "-5", "list"]),
        (
            r#"{"flags": {"$not": {"$bitsAnySet": 1}}}"#,
            &["54", "20", "20.0", "20.5", "str", "none"],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(where_titles(&t, "posts", query).await, expected, "{query}");
    }
}

#[tokio::test]
async fn invalid_bitwise_operands_are_400() {
    let t = flagged().await;
    for (query, message) in [
        (r#"{"flags": {"$bitsAllSet": -1}}"#, "must not be negative"),
        (r#"{"flags": {"$bitsAllClear": 1.5}}"#, "integer"),
        (r#"{"flags": {"$bitsAnySet": [-1]}}"#, ">= 0"),
        (r#"{"flags": {"$bitsAnySet": [2.5]}}"#, "integers"),
        (r#"{"flags": {"$bitsAnyClear": [4294967296]}}"#, "32-bit"),
        (r#"{"flags": {"$bitsAnyClear": "1"}}"#, "takes a bitmask"),
        (r#"{"flags": {"$bitsAllSet": {"a": 1}}}"#, "takes a bitmask"),
    ] {
        let r = t.get(&format!("/posts?where={}", enc(query))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        let j = r.json();
        assert_eq!(j["_status"], "ERR", "{query}");
        let text = j["_error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{query}: {text}");
    }
}

#[tokio::test]
async fn self_link_keeps_the_query_past_the_last_page() {
    let t = TestApp::new(SETTINGS).await;
    t.post("/posts", r#"[{"title": "a"}, {"title": "b"}]"#)
        .await;
    let j = t
        .get(&format!(
            "/posts?page=9&where={}&max_results=1&foo=1",
            enc(r#"title=="a""#)
        ))
        .await
        .json();
    assert_eq!(j["_items"], json!([]));
    assert_eq!(
        j["_links"],
        json!({
            "parent": {"title": "home", "href": "/"},
            "self": {"title": "posts", "href": "posts?max_results=1&where=title==\"a\"&page=9&foo=1"},
            "prev": {"title": "previous page", "href": "posts?max_results=1&where=title==\"a\"&page=8&foo=1"},
        })
    );
    // Nothing matched at all: the bare resource path.
    let j = t
        .get(&format!("/posts?where={}", enc(r#"title=="zz""#)))
        .await
        .json();
    assert_eq!(j["_links"]["self"]["href"], "posts");
}

#[tokio::test]
async fn item_links_follow_the_paging_arguments() {
    let t = TestApp::new(SETTINGS).await;
    let (id, _) = t.create("/posts", r#"{"title": "a"}"#).await;
    let j = t
        .get(&format!(
            "/posts/{id}?page=3&foo=1&max_results=2&sort=title&projection={}",
            enc(r#"{"title": 1}"#)
        ))
        .await
        .json();
    assert_eq!(
        j["_links"],
        json!({
            "self": {"title": "Post", "href": format!("posts/{id}")},
            "parent": {"title": "home", "href": "/"},
            "collection": {"title": "posts", "href": "posts?max_results=2&sort=title&page=3&foo=1"},
            "prev": {"title": "previous page", "href": "posts?max_results=2&sort=title&page=2&foo=1"},
        })
    );
}

#[tokio::test]
async fn item_get_with_optimized_pagination_has_a_next_link() {
    let t = TestApp::new(&format!("OPTIMIZE_PAGINATION_FOR_SPEED: true\n{SETTINGS}")).await;
    let (id, _) = t.create("/posts", r#"{"title": "a"}"#).await;
    let r = t.get(&format!("/posts/{id}")).await;
    assert_eq!(
        r.json()["_links"],
        json!({
            "self": {"title": "Post", "href": format!("posts/{id}")},
            "parent": {"title": "home", "href": "/"},
            "collection": {"title": "posts", "href": "posts"},
            "next": {"title": "next page", "href": "posts?page=2"},
        })
    );
    // The collection itself is not counted.
    let r = t.get("/posts").await;
    assert!(r.header("x-total-count").is_none());
}

#[tokio::test]
async fn total_count_is_sent_without_pagination() {
    let t = TestApp::new(&format!("PAGINATION: false\n{SETTINGS}")).await;
    t.post("/posts", r#"[{"title": "b"}, {"title": "c"}]"#)
        .await;
    let r = t
        .get(&format!(
            "/posts?where={}&foo=1&max_results=1&page=2",
            enc(r#"title=="b""#)
        ))
        .await;
    assert_eq!(r.header("x-total-count"), Some("1"));
    let j = r.json();
    assert!(j.get("_meta").is_none());
    assert_eq!(
        j["_links"],
        json!({
            "parent": {"title": "home", "href": "/"},
            "self": {"title": "posts", "href": "posts?max_results=1&where=title==\"b\"&foo=1"},
        })
    );
    // Eve's parsed max_results is 0 without pagination and without one.
    let r = t.get("/posts").await;
    assert_eq!(r.header("x-total-count"), Some("2"));
    assert_eq!(r.json()["_links"]["self"]["href"], "posts?max_results=0");
    let j = t
        .get(&format!(
            "/posts/{}?foo=1",
            r.json()["_items"][0]["_id"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(
        j["_links"]["collection"]["href"],
        "posts?max_results=0&foo=1"
    );
}

#[tokio::test]
async fn an_empty_relation_list_has_no_related_link() {
    let t = TestApp::new(SETTINGS).await;
    let (user, _) = t.create("/users", r#"{"name": "u"}"#).await;
    let (empty, _) = t.create("/posts", r#"{"title": "e", "authors": []}"#).await;
    let j = t.get(&format!("/posts/{empty}")).await.json();
    assert!(j["_links"].get("related").is_none(), "{j}");
    let body = format!(r#"{{"title": "r", "authors": ["{user}"], "owner": "{user}"}}"#);
    let (full, _) = t.create("/posts", &body).await;
    let j = t.get(&format!("/posts/{full}")).await.json();
    let link = json!({"title": "User", "href": format!("users/{user}")});
    assert_eq!(
        j["_links"]["related"],
        json!({"owner": link, "authors": [link]})
    );
}

#[tokio::test]
async fn etags_of_dates_before_1970_equal_eves() {
    let t = TestApp::new(SETTINGS).await;
    let r = t
        .post(
            "/events",
            r#"[{"title": "old", "at": "Tue, 01 Jan 1960 00:00:00 GMT"},
                {"title": "epoch", "at": "Thu, 01 Jan 1970 00:00:00 GMT"},
                {"title": "mixed", "when": ["Wed, 31 Dec 1969 23:59:59 GMT", "Sat, 01 Jan 1870 12:00:00 GMT"]}]"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let etags: Vec<&str> = vec![
        // SHA-1 of {"at": {"$date": {"$numberLong": "-315619200000"}}, "title": "old"}
        "146f15d95c6ffa9d4738cf28c37e44688282853a",
        "40d85497fd920b78cd8ffae0a30f619216666cf4",
        "90bb95ae286daed0d7a115b6639a0a2feb688971",
    ];
    let posted: Vec<String> = r.json()["_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["_etag"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(posted, etags);
    let read: Vec<String> = t.get("/events").await.json()["_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["_etag"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(read, etags);
}

#[tokio::test]
async fn projection_into_a_list_of_subdocuments_follows_mongodb() {
    let t = TestApp::new(SETTINGS).await;
    let (id, _) = t
        .create(
            "/posts",
            r#"{"title": "a", "lines": [{"price": 5, "sku": "x"}, {"price": 7, "sku": "y"}]}"#,
        )
        .await;
    let proj = enc(r#"{"lines.price": 1}"#);
    let item = t
        .get(&format!("/posts/{id}?projection={proj}"))
        .await
        .json();
    assert_eq!(item["lines"], json!([{"price": 5}, {"price": 7}]));
    assert!(item.get("title").is_none());
    let coll = t.get(&format!("/posts?projection={proj}")).await.json();
    assert_eq!(
        coll["_items"][0]["lines"],
        json!([{"price": 5}, {"price": 7}])
    );
    // A dotted exclusion on a resource whose schema sets the projection
    // leaves the field whole, as in Eve (only top-level schema fields are
    // excluded).
    let proj = enc(r#"{"lines.sku": 0}"#);
    let item = t
        .get(&format!("/posts/{id}?projection={proj}"))
        .await
        .json();
    assert_eq!(
        item["lines"],
        json!([{"price": 5, "sku": "x"}, {"price": 7, "sku": "y"}])
    );
    assert_eq!(item["title"], "a");
}

#[tokio::test]
async fn validate_filters_descends_into_fixed_length_lists() {
    let t = TestApp::new(&format!("VALIDATE_FILTERS: true\n{SETTINGS}")).await;
    t.post("/posts", r#"{"title": "p", "pair": [{"x": 1}, "s"]}"#)
        .await;
    let r = t
        .get(&format!("/posts?where={}", enc(r#"{"pair.x": 1}"#)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(titles(&r.json()), ["p"]);
    let r = t
        .get(&format!("/posts?where={}", enc(r#"{"pair.x": "no"}"#)))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json()["_error"]["message"],
        "filter on 'pair.x' is invalid"
    );
    let r = t
        .get(&format!("/posts?where={}", enc(r#"{"pair.y": 1}"#)))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
