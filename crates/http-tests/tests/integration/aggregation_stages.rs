//! Aggregation endpoints with the stages and operators Eve users write
//! (`$lookup`, `$facet`, `$bucket`, `$sortByCount`, `$replaceRoot`,
//! `$addFields`, `$unset`, `$count`, `$switch`, `$filter`, date parts),
//! the same answers on every data layer (natively on MongoDB, with the
//! shared engine elsewhere), and the engine's memory and `$lookup` limits
//! (embedded and PostgreSQL layers; MongoDB applies its own).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::{enc, TestApp};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  posts:
    schema:
      title: {type: string}
      tags: {type: list}
      value: {type: integer}
      author: {type: string}
      at: {type: datetime}
  authors:
    schema:
      name: {type: string}
      country: {type: string}
  joined:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$lookup: {from: authors, localField: author, foreignField: name, as: who}}
          - {$unwind: {path: $who, preserveNullAndEmptyArrays: true}}
          - {$project: {_id: 0, title: 1, country: $who.country}}
          - {$sort: {title: 1}}
  buckets:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$bucket: {groupBy: $value, boundaries: [0, 3, 10], default: other, output: {n: {$sum: 1}, titles: {$push: $title}}}}
  popular:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$sortByCount: $author}
          - {$sort: {count: -1, _id: 1}}
  reshaped:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$match: {value: {$gte: $min}}}
          - {$addFields: {grade: {$switch: {branches: [{case: {$gte: [$value, 4]}, then: high}], default: low}}, year: {$year: $at}, big: {$filter: {input: $tags, cond: {$ne: [$$this, x]}}}}}
          - {$unset: [_id, _created, _updated, _etag, tags]}
          - {$replaceRoot: {newRoot: {k: $title, v: {grade: $grade, year: $year, month: {$month: $at}, big: $big}}}}
          - {$sort: {k: 1}}
  faceted:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$facet: {by_author: [{$group: {_id: $author, total: {$sum: $value}}}, {$sort: {_id: 1}}], howmany: [{$count: n}]}}
"#;

const POSTS: &str = r#"[
  {"title": "a", "tags": ["x", "y"], "value": 1, "author": "ann", "at": "Wed, 01 Jan 2014 08:15:39 GMT"},
  {"title": "b", "tags": ["y"], "value": 2, "author": "bob", "at": "Sat, 15 Mar 2014 00:00:00 GMT"},
  {"title": "c", "tags": ["x", "z"], "value": 3, "author": "ann", "at": "Sun, 31 Dec 2017 23:59:59 GMT"},
  {"title": "d", "tags": ["w"], "value": 4, "author": "cid", "at": "Mon, 01 Jan 2018 00:00:00 GMT"},
  {"title": "e", "tags": ["y", "z"], "value": 5, "author": "zed", "at": "Mon, 01 Jan 2018 00:00:00 GMT"}
]"#;

async fn app() -> TestApp {
    let t = TestApp::new(SETTINGS).await;
    let r = t.post("/posts", POSTS).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t
        .post(
            "/authors",
            r#"[{"name": "ann", "country": "AT"}, {"name": "bob", "country": "BE"}, {"name": "cid", "country": "CY"}]"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t
}

async fn items(t: &TestApp, url: &str) -> Value {
    let r = t.get(url).await;
    assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text);
    r.json()["_items"].clone()
}

#[tokio::test]
async fn lookup_joins_another_collection() {
    let t = app().await;
    assert_eq!(
        items(&t, "/joined").await,
        json!([
            {"title": "a", "country": "AT"},
            {"title": "b", "country": "BE"},
            {"title": "c", "country": "AT"},
            {"title": "d", "country": "CY"},
            {"title": "e"},
        ])
    );
}

#[tokio::test]
async fn bucket_sort_by_count_and_facet() {
    let t = app().await;
    assert_eq!(
        items(&t, "/buckets").await,
        json!([
            {"_id": 0, "n": 2, "titles": ["a", "b"]},
            {"_id": 3, "n": 3, "titles": ["c", "d", "e"]},
        ])
    );
    assert_eq!(
        items(&t, "/popular").await,
        json!([
            {"_id": "ann", "count": 2},
            {"_id": "bob", "count": 1},
            {"_id": "cid", "count": 1},
            {"_id": "zed", "count": 1},
        ])
    );
    assert_eq!(
        items(&t, "/faceted").await,
        json!([{
            "by_author": [
                {"_id": "ann", "total": 4},
                {"_id": "bob", "total": 2},
                {"_id": "cid", "total": 4},
                {"_id": "zed", "total": 5},
            ],
            "howmany": [{"n": 5}],
        }])
    );
}

#[tokio::test]
async fn expressions_reshape_documents() {
    let t = app().await;
    let url = format!("/reshaped?aggregate={}", enc(r#"{"$min": 2}"#));
    assert_eq!(
        items(&t, &url).await,
        json!([
            {"k": "b", "v": {"grade": "low", "year": 2014, "month": 3, "big": ["y"]}},
            {"k": "c", "v": {"grade": "low", "year": 2017, "month": 12, "big": ["z"]}},
            {"k": "d", "v": {"grade": "high", "year": 2018, "month": 1, "big": ["w"]}},
            {"k": "e", "v": {"grade": "high", "year": 2018, "month": 1, "big": ["y", "z"]}},
        ])
    );
}

const LIMITED: &str = r#"
RESOURCE_METHODS: [GET, POST]
AGGREGATION_MEMORY_LIMIT: 2048
AGGREGATION_MAX_LOOKUP: 2
DOMAIN:
  posts:
    schema: {title: {type: string}, author: {type: string}}
  grouped:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$group: {_id: $title, n: {$sum: 1}}}
  joined:
    datasource:
      source: posts
      aggregation:
        pipeline:
          - {$match: {title: t0}}
          - {$lookup: {from: posts, localField: author, foreignField: author, as: same}}
"#;

#[tokio::test]
async fn the_engine_refuses_over_its_memory_and_lookup_limits() {
    if std::env::var("EVE_TEST_BACKEND").is_ok_and(|b| b.starts_with("mongo")) {
        eprintln!("MongoDB runs pipelines natively and applies its own limits");
        return;
    }
    let docs: Vec<Value> = (0..40)
        .map(|i| json!({"title": format!("t{i}"), "author": "same"}))
        .collect();
    let docs = Value::Array(docs).to_string();
    let t = TestApp::new(LIMITED).await;
    let r = t.post("/posts", &docs).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = t.get("/grouped").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("memory limit of 2048 bytes"), "{}", r.text);
    let t = TestApp::new(&LIMITED.replace("AGGREGATION_MEMORY_LIMIT: 2048", "")).await;
    t.post("/posts", &docs).await;
    let r = t.get("/joined").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.text
            .contains("more than the limit of 2 (AGGREGATION_MAX_LOOKUP)"),
        "{}",
        r.text
    );
}
