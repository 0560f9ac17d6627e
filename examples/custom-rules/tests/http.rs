//! Both custom rules over HTTP, in-process: accepted payloads are stored,
//! rejected ones get Eve's `_issues` with the rules' messages.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

struct Api {
    app: eve_http::App,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn new() -> Api {
        let dir = tempfile::tempdir().expect("temp dir");
        let app = example_custom_rules::app(&example_custom_rules::default_settings(), dir.path())
            .await
            .expect("app");
        Api { app, _dir: dir }
    }

    async fn send(
        &self,
        method: &str,
        uri: &str,
        etag: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost")
            .header("content-type", "application/json");
        if let Some(etag) = etag {
            req = req.header("if-match", etag);
        }
        let req = req.body(Body::from(body.to_string())).expect("request");
        let resp = self.app.router().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).expect("JSON body"))
    }
}

fn insert_failure(issues: Value) -> Value {
    json!({"_status": "ERR", "_issues": issues, "_error": {"code": 422,
        "message": "Insertion failure: 1 document(s) contain(s) error(s)"}})
}

#[tokio::test]
async fn an_odd_number_and_a_valid_vat_number_are_accepted() {
    let api = Api::new().await;
    let (status, body) = api
        .send(
            "POST",
            "/companies",
            None,
            r#"{"name": "Acme", "oddity": 7, "vat": "FR40303265045"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["_id"].as_str().expect("_id");
    let (status, stored) = api.send("GET", &format!("/companies/{id}"), None, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored["oddity"], 7);
    assert_eq!(stored["vat"], "FR40303265045");
}

#[tokio::test]
async fn an_even_number_breaks_the_isodd_rule() {
    let api = Api::new().await;
    let (status, body) = api
        .send(
            "POST",
            "/companies",
            None,
            r#"{"name": "Acme", "oddity": 8, "vat": "DE123456789"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        insert_failure(json!({"oddity": "Value must be an odd number"}))
    );
}

#[tokio::test]
async fn a_malformed_or_wrongly_keyed_vat_number_is_refused() {
    let api = Api::new().await;
    let (status, body) = api
        .send(
            "POST",
            "/companies",
            None,
            r#"{"name": "Acme", "vat": "DE12345"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        insert_failure(json!({"vat": "'DE12345' is not a valid VAT number"}))
    );
    let (_, body) = api
        .send(
            "POST",
            "/companies",
            None,
            r#"{"name": "Acme", "vat": "FR41303265045"}"#,
        )
        .await;
    assert_eq!(
        body,
        insert_failure(json!({"vat": "'FR41303265045' has a wrong check key"}))
    );
}

#[tokio::test]
async fn custom_rules_combine_with_built_in_ones() {
    let api = Api::new().await;
    let (status, body) = api
        .send("POST", "/companies", None, r#"{"oddity": 2, "vat": 12}"#)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        insert_failure(json!({
            "name": "required field",
            "oddity": "Value must be an odd number",
            "vat": "must be of string type",
        }))
    );
}

#[tokio::test]
async fn custom_rules_also_apply_to_patch() {
    let api = Api::new().await;
    let (_, created) = api
        .send(
            "POST",
            "/companies",
            None,
            r#"{"name": "Acme", "oddity": 1, "vat": "DE123456789"}"#,
        )
        .await;
    let uri = format!("/companies/{}", created["_id"].as_str().expect("_id"));
    let etag = created["_etag"].as_str().expect("_etag");
    let (status, body) = api
        .send("PATCH", &uri, Some(etag), r#"{"oddity": 4, "vat": "XX"}"#)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"_issues": {"oddity": "Value must be an odd number",
                           "vat": "'XX' is not a valid VAT number"},
               "_status": "ERR"})
    );
    let (status, _) = api
        .send("PATCH", &uri, Some(etag), r#"{"oddity": 5}"#)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_isodd_constraint_of_the_wrong_shape_stops_start_up() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("settings.yaml");
    std::fs::write(
        &settings,
        "DOMAIN: {things: {schema: {n: {type: integer, isodd: 'yes'}}}}\n",
    )
    .expect("write");
    let Err(err) = example_custom_rules::app(&settings, dir.path()).await else {
        panic!("settings with isodd: 'yes' were accepted");
    };
    assert!(err.to_string().contains("isodd"), "{err}");
}
