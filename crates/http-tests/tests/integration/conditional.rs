//! Conditional GETs (features.md §12).

use axum::http::StatusCode;

use super::common::{TestApp, PEOPLE};

#[tokio::test]
async fn if_none_match_gives_304_with_etag() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let r = t
        .send(
            "GET",
            &url,
            &[("if-none-match", &format!("\"{etag}\""))],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert_eq!(r.text, "");
    assert_eq!(r.header("etag").unwrap(), format!("\"{etag}\""));
    assert!(r.header("last-modified").is_none());
    let r = t
        .send(
            "GET",
            &url,
            &[(
                "if-none-match",
                "\"0000000000000000000000000000000000000000\"",
            )],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.send("GET", &url, &[("if-none-match", "*")], None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn if_modified_since_gives_304_when_not_newer() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let lm = t
        .get(&url)
        .await
        .header("last-modified")
        .unwrap()
        .to_string();
    assert_eq!(
        t.send("GET", &url, &[("if-modified-since", &lm)], None)
            .await
            .status,
        StatusCode::NOT_MODIFIED
    );
    let old = "Thu, 01 Jan 1970 00:00:00 GMT";
    assert_eq!(
        t.send("GET", &url, &[("if-modified-since", old)], None)
            .await
            .status,
        StatusCode::OK
    );
    // Invalid dates are ignored (safer than Eve's 500).
    assert_eq!(
        t.send("GET", &url, &[("if-modified-since", "yesterday")], None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn both_validators_must_agree() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let old = "Thu, 01 Jan 1970 00:00:00 GMT";
    let r = t
        .send(
            "GET",
            &url,
            &[("if-none-match", &etag), ("if-modified-since", old)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn collections_ignore_validators() {
    let t = TestApp::new(PEOPLE).await;
    t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t
        .send(
            "GET",
            "/people",
            &[("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
