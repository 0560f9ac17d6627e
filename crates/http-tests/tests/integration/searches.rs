//! Searches in a `where` that MongoDB only takes at the top level and
//! one at a time: `$near`/`$nearSphere` (docs/geo.md) and `$text`
//! (docs/search.md) are lifted out by the planner; together, or nested
//! in `$and`/`$or`, they are a 400 on every layer, as MongoDB refuses
//! them. Geo queries: `geo.rs`; text search: `text_search.rs`.

use axum::http::StatusCode;

use super::common::{enc, TestApp};

const PLACES: &str = r#"
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  places:
    schema:
      name: {type: string}
      loc: {type: point}
    mongo_indexes:
      loc_2dsphere: [[loc, 2dsphere]]
"#;

#[tokio::test]
async fn near_with_text_or_below_the_top_level_is_a_client_error() {
    let t = TestApp::new(PLACES).await;
    t.create(
        "/places",
        r#"{"name": "cafe", "loc": {"type": "Point", "coordinates": [2.35, 48.85]}}"#,
    )
    .await;
    for w in [
        r#"{"$text": {"$search": "cafe"}, "loc": {"$near": [2.35, 48.85]}}"#,
        r#"{"$or": [{"loc": {"$near": [2.35, 48.85]}}, {"name": "x"}]}"#,
        r#"{"$and": [{"$text": {"$search": "cafe"}}]}"#,
    ] {
        let r = t.get(&format!("/places?where={}", enc(w))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{w}: {}", r.text);
        assert_eq!(r.json()["_status"], "ERR", "{w}: {}", r.text);
        assert_eq!(r.json()["_error"]["code"], 400, "{w}: {}", r.text);
    }
    // A plain where still reads.
    let r = t
        .get(&format!("/places?where={}", enc(r#"{"name": "cafe"}"#)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_meta"]["total"], 1);
}
