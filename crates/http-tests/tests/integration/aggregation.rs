//! Aggregation endpoints (features.md §41): GET runs the resource's
//! pipeline with the client's `?aggregate` variables substituted, pages
//! the results with Eve's `$facet` (`_meta`, paging links), fires
//! `before_aggregation`/`after_aggregation`, is read-only, and refuses
//! over the `AGGREGATION_*` limits with `400`. Expected bodies were
//! checked against the oracle (scripts/compare/aggregation). Runs on every
//! data layer (`EVE_TEST_BACKEND`): MongoDB runs the pipelines natively,
//! the others with the shared engine, so the stage tests below also check
//! that both agree.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use eve_http::{Hooks, Scope};
use serde_json::{json, Value};

use super::common::{enc, TestApp};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, DELETE]
PAGINATION_DEFAULT: 3
DOMAIN:
  posts:
    schema: {title: {type: string}, tags: {type: list}, value: {type: integer}, author: {type: string}}
  tagcount:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$unwind: $tags}
          - {$group: {_id: $tags, count: {$sum: $value}}}
          - {$sort: {count: -1, _id: 1}}
  bytitle:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$match: {title: $title, value: $value}}
          - {$project: {_id: 0, title: 1, value: 1}}
          - {$sort: {value: 1, title: 1}}
  flat:
    pagination: false
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$project: {_id: 0, title: 1}}
          - {$sort: {title: -1}}
  plain:
    hateoas: false
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$group: {_id: null, total: {$sum: $value}, n: {$sum: 1}}}
          - {$project: {_id: 0}}
"#;

const POSTS: &str = r#"[
  {"title": "a", "tags": ["x", "y"], "value": 1, "author": "ann"},
  {"title": "b", "tags": ["y"], "value": 2, "author": "bob"},
  {"title": "c", "tags": ["x", "z"], "value": 3, "author": "ann"},
  {"title": "d", "tags": ["w"], "value": 4, "author": "cid"},
  {"title": "e", "tags": ["y", "z"], "value": 5, "author": "zed"}
]"#;

async fn app() -> TestApp {
    with_hooks(Hooks::new()).await
}

async fn with_hooks(hooks: Hooks) -> TestApp {
    let t = TestApp::with_hooks(SETTINGS, hooks).await;
    let r = t.post("/posts", POSTS).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t
}

async fn get_json(t: &TestApp, url: &str) -> Value {
    let r = t.get(url).await;
    assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
    r.json()
}

fn agg(vars: &str) -> String {
    format!("aggregate={}", enc(vars))
}

#[tokio::test]
async fn a_pipeline_is_paged_with_meta_and_links() {
    let t = app().await;
    let r = t.get("/tagcount").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // no ETag, Last-Modified or X-Total-Count on aggregation answers
    for h in ["etag", "last-modified", "x-total-count"] {
        assert_eq!(r.header(h), None, "{h}");
    }
    assert_eq!(
        r.json(),
        json!({
            "_items": [
                {"_id": "y", "count": 8},
                {"_id": "z", "count": 8},
                {"_id": "w", "count": 4},
            ],
            "_meta": {"page": 1, "max_results": 3, "total": 4},
            "_links": {
                "parent": {"title": "home", "href": "/"},
                "self": {"title": "tagcount", "href": "tagcount"},
                "next": {"title": "next page", "href": "tagcount?page=2"},
                "last": {"title": "last page", "href": "tagcount?page=2"},
            },
        })
    );
    assert_eq!(
        get_json(&t, "/tagcount?page=2").await,
        json!({
            "_items": [{"_id": "x", "count": 4}],
            "_meta": {"page": 2, "max_results": 3, "total": 4},
            "_links": {
                "parent": {"title": "home", "href": "/"},
                "self": {"title": "tagcount", "href": "tagcount?page=2"},
                "prev": {"title": "previous page", "href": "tagcount"},
            },
        })
    );
    // past the last page: no results, the total still counted
    let past = get_json(&t, "/tagcount?page=3").await;
    assert_eq!(past["_items"], json!([]));
    assert_eq!(
        past["_meta"],
        json!({"page": 3, "max_results": 3, "total": 4})
    );
    let two = get_json(&t, "/tagcount?max_results=2&page=2").await;
    assert_eq!(
        two["_items"],
        json!([{"_id": "w", "count": 4}, {"_id": "x", "count": 4}])
    );
    assert_eq!(
        two["_meta"],
        json!({"page": 2, "max_results": 2, "total": 4})
    );
    // `sort` and `where` do not apply; they are carried into the links
    let sorted = get_json(
        &t,
        &format!("/tagcount?sort=_id&where={}&foo=bar", enc(r#"{"a": 1}"#)),
    )
    .await;
    assert_eq!(sorted["_items"][0], json!({"_id": "y", "count": 8}));
    assert_eq!(
        sorted["_links"]["next"]["href"],
        json!(r#"tagcount?where={"a": 1}&sort=_id&page=2&foo=bar"#)
    );
}

#[tokio::test]
async fn client_variables_are_substituted_and_empty_ones_pruned() {
    let t = app().await;
    let r = get_json(&t, &format!("/tagcount?{}", agg(r#"{"$value": 2}"#))).await;
    assert_eq!(
        r["_items"],
        json!([
            {"_id": "y", "count": 6},
            {"_id": "x", "count": 4},
            {"_id": "z", "count": 4},
        ])
    );
    assert_eq!(
        r["_links"]["next"]["href"],
        json!(r#"tagcount?page=2&aggregate={"$value": 2}"#)
    );
    let items = |v: Value| v["_items"].clone();
    // unsubstituted placeholders stay literal strings: nothing matches
    assert_eq!(items(get_json(&t, "/bytitle").await), json!([]));
    assert_eq!(
        items(
            get_json(
                &t,
                &format!("/bytitle?{}", agg(r#"{"$title": "b", "$value": {}}"#))
            )
            .await
        ),
        json!([{"title": "b", "value": 2}])
    );
    assert_eq!(
        items(
            get_json(
                &t,
                &format!(
                    "/bytitle?{}",
                    agg(r#"{"$title": {"$in": ["a", "c", "e"]}, "$value": {"$gt": 1}}"#)
                )
            )
            .await
        ),
        json!([{"title": "c", "value": 3}, {"title": "e", "value": 5}])
    );
    // both empty: the $match stage is dropped
    let all = get_json(
        &t,
        &format!("/bytitle?{}&page=2", agg(r#"{"$title": {}, "$value": {}}"#)),
    )
    .await;
    assert_eq!(
        all["_items"],
        json!([{"title": "d", "value": 4}, {"title": "e", "value": 5}])
    );
    assert_eq!(all["_meta"]["total"], json!(5));
}

#[tokio::test]
async fn an_unparsable_aggregate_argument_is_400() {
    let t = app().await;
    for bad in ["{not json", "[1, 2]", "3"] {
        let r = t.get(&format!("/bytitle?{}", agg(bad))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(
            r.json(),
            json!({"_status": "ERR", "_error": {"code": 400, "message": "Aggregation query could not be parsed."}})
        );
    }
}

#[tokio::test]
async fn pagination_and_hateoas_off() {
    let t = app().await;
    assert_eq!(
        get_json(&t, "/flat").await,
        json!({
            "_items": [{"title": "e"}, {"title": "d"}, {"title": "c"}, {"title": "b"}, {"title": "a"}],
            "_links": {
                "parent": {"title": "home", "href": "/"},
                "self": {"title": "flat", "href": "flat?max_results=0"},
            },
        })
    );
    // without pagination, `max_results` still limits (Eve's $facet), and
    // `page` is not read
    assert_eq!(
        get_json(&t, "/flat?max_results=2&page=2").await,
        json!({
            "_items": [{"title": "e"}, {"title": "d"}],
            "_links": {
                "parent": {"title": "home", "href": "/"},
                "self": {"title": "flat", "href": "flat?max_results=2"},
            },
        })
    );
    assert_eq!(
        get_json(&t, "/plain").await,
        json!({"_items": [{"total": 15, "n": 5}], "_meta": {"page": 1, "max_results": 3, "total": 1}})
    );
    let xml = t
        .send("GET", "/plain", &[("accept", "application/xml")], None)
        .await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(xml.text.contains("<total>15</total>"), "{}", xml.text);
}

#[tokio::test]
async fn an_aggregation_endpoint_is_read_only_without_items() {
    let t = app().await;
    let post = t.post("/tagcount", r#"{"title": "x"}"#).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED, "{}", post.text);
    let delete = t.send("DELETE", "/tagcount", &[], None).await;
    assert_eq!(
        delete.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        delete.text
    );
    let item = t.get("/tagcount/x").await;
    assert_eq!(item.status, StatusCode::NOT_FOUND, "{}", item.text);
    let head = t.send("HEAD", "/tagcount", &[], None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.text, "");
}

#[tokio::test]
async fn aggregation_hooks_fire_and_fetch_hooks_do_not() {
    let fetched = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&fetched);
    let hooks = Hooks::new()
        .before_aggregation("tagcount", |_cx, pipeline| {
            Box::pin(async move {
                // keep only the tags of posts worth more than 2
                pipeline.insert(0, bson::doc! {"$match": {"value": {"$gt": 2}}});
                Ok(())
            })
        })
        .after_aggregation(Scope::All, |cx, docs| {
            Box::pin(async move {
                let name = cx.resource_name().unwrap_or_default().to_string();
                for d in docs.iter_mut() {
                    d.insert("via", name.clone());
                }
                Ok(())
            })
        })
        .on_fetched_resource(Scope::All, move |_cx, _docs| {
            let seen = Arc::clone(&seen);
            Box::pin(async move {
                *seen.lock().unwrap() += 1;
                Ok(())
            })
        });
    let t = with_hooks(hooks).await;
    assert_eq!(
        get_json(&t, "/tagcount").await["_items"],
        json!([
            {"_id": "z", "count": 8, "via": "tagcount"},
            {"_id": "y", "count": 5, "via": "tagcount"},
            {"_id": "w", "count": 4, "via": "tagcount"},
        ])
    );
    assert_eq!(*fetched.lock().unwrap(), 0, "on_fetched_resource fired");
    get_json(&t, "/posts").await;
    assert_eq!(*fetched.lock().unwrap(), 1);
}

const LIMITED: &str = r#"
RESOURCE_METHODS: [GET, POST]
AGGREGATION_MAX_STAGES: 3
AGGREGATION_MAX_DEPTH: 6
DOMAIN:
  posts:
    schema: {title: {type: string}, value: {type: integer}}
  staged:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$match: {value: $v}}
          - {$project: {_id: 0, title: 1}}
          - {$skip: 0}
          - {$limit: $n}
  bogus:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$bogus: 1}
"#;

#[tokio::test]
async fn limits_and_pipeline_errors_are_400() {
    let t = TestApp::new(LIMITED).await;
    t.post(
        "/posts",
        r#"[{"title": "a", "value": 1}, {"title": "b", "value": 2}]"#,
    )
    .await;
    // four stages: over AGGREGATION_MAX_STAGES
    let r = t
        .get(&format!("/staged?{}", agg(r#"{"$v": 1, "$n": 5}"#)))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(
        r.json()["_error"]["message"],
        json!("the aggregation pipeline has 4 stages, more than 3 (AGGREGATION_MAX_STAGES)")
    );
    // the $match dropped: three stages run
    let ok = get_json(&t, &format!("/staged?{}", agg(r#"{"$v": {}, "$n": 1}"#))).await;
    assert_eq!(ok["_items"], json!([{"title": "a"}]));
    // a deep value: over AGGREGATION_MAX_DEPTH
    let deep = r#"{"$v": {}, "$n": {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}}"#;
    let r = t.get(&format!("/staged?{}", agg(deep))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("AGGREGATION_MAX_DEPTH"), "{}", r.text);
    // an invalid value substituted, an unknown stage: 400, never 500
    let r = t
        .get(&format!("/staged?{}", agg(r#"{"$v": {}, "$n": "x"}"#)))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = t.get("/bogus").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("$bogus"), "{}", r.text);
}
