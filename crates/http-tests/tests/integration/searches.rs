//! Geo searches in a `where`: lifted out by the planner and refused with a
//! 400 by a data layer that cannot run them (the embedded layer has no geo
//! search). Text search: `text_search.rs`.

use axum::http::StatusCode;
use serde_json::json;

use super::common::{enc, TestApp};

const PLACES: &str = r#"
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  places:
    schema:
      name: {type: string}
      loc: {type: point}
"#;

#[tokio::test]
async fn near_is_refused_by_the_embedded_layer() {
    let t = TestApp::new(PLACES).await;
    t.create(
        "/places",
        r#"{"name": "cafe", "loc": {"type": "Point", "coordinates": [2.35, 48.85]}}"#,
    )
    .await;
    for (w, what) in [
        (
            r#"{"loc": {"$near": {"$geometry": {"type": "Point", "coordinates": [2.35, 48.85]}, "$maxDistance": 500}}}"#,
            "geo queries ($near, $nearSphere)",
        ),
        (
            r#"{"loc": {"$nearSphere": [2.35, 48.85]}}"#,
            "geo queries ($near, $nearSphere)",
        ),
    ] {
        let r = t.get(&format!("/places?where={}", enc(w))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{w}: {}", r.text);
        assert_eq!(
            r.json()["_error"],
            json!({"code": 400, "message": format!("not supported by this data layer: {what}")}),
            "{w}"
        );
    }
    // A plain where still reads.
    let r = t
        .get(&format!("/places?where={}", enc(r#"{"name": "cafe"}"#)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_meta"]["total"], 1);
}
