//! Endpoints and methods (features.md §3, §10.2, §21, §26).

use axum::http::StatusCode;
use serde_json::json;

use super::common::{TestApp, PEOPLE};

#[tokio::test]
async fn home_lists_every_public_resource() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"_links": {"child": [{"href": "people", "title": "people"}, {"href": "works", "title": "works"}]}})
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn unknown_url_is_404_in_eve_shape() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.get("/nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_error": {"code": 404, "message": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."}})
    );
}

#[tokio::test]
async fn method_not_enabled_is_405_without_allow_header() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.send("PUT", "/people", &[], None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_error": {"code": 405, "message": "The method is not allowed for the requested URL."}})
    );
    assert!(r.header("allow").is_none());
}

#[tokio::test]
async fn resources_are_read_only_by_default() {
    let t = TestApp::new("DOMAIN: {books: {schema: {title: {type: string}}}}").await;
    assert_eq!(t.get("/books").await.status, StatusCode::OK);
    assert_eq!(
        t.post("/books", r#"{"title": "x"}"#).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        t.send("DELETE", "/books", &[], None).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn options_lists_allowed_methods() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.send("OPTIONS", "/people", &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text, "");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let mut allow: Vec<&str> = r.header("allow").unwrap().split(", ").collect();
    allow.sort();
    assert_eq!(allow, ["DELETE", "GET", "HEAD", "OPTIONS", "POST"]);

    let r = t
        .send("OPTIONS", "/people/5f0000000000000000000001", &[], None)
        .await;
    let mut allow: Vec<&str> = r.header("allow").unwrap().split(", ").collect();
    allow.sort();
    assert_eq!(
        allow,
        ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    );
}

#[tokio::test]
async fn trailing_slashes_are_optional() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    assert_eq!(t.get("/people/").await.status, StatusCode::OK);
    assert_eq!(
        t.get(&format!("/people/{id}/")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn url_prefix_and_api_version_move_every_endpoint() {
    let yaml = format!("URL_PREFIX: api\nAPI_VERSION: v1\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    assert_eq!(t.get("/people").await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/api/v1/people").await.status, StatusCode::OK);
    let r = t.post("/api/v1/people", r#"{"lastname": "Doe"}"#).await;
    let id = r.json()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location").unwrap(),
        format!("http://localhost:5000/api/v1/people/{id}")
    );
    // hrefs stay relative to the API root
    assert_eq!(r.json()["_links"]["self"]["href"], format!("people/{id}"));
    assert_eq!(
        t.get("/api/v1/").await.json()["_links"]["child"][0]["href"],
        "people"
    );
}

#[tokio::test]
async fn head_is_get_without_a_body() {
    let t = TestApp::new(PEOPLE).await;
    t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let get = t.get("/people").await;
    let head = t.send("HEAD", "/people", &[], None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.text, "");
    assert_eq!(head.header("x-total-count"), Some("1"));
    assert_eq!(
        head.header("content-length").unwrap(),
        get.text.len().to_string()
    );
}

#[tokio::test]
async fn method_override_turns_a_post_into_a_patch() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t
        .send(
            "POST",
            &format!("/people/{id}"),
            &[
                ("content-type", "application/json"),
                ("x-http-method-override", "PATCH"),
                ("if-match", &etag),
            ],
            Some(r#"{"firstname": "ronald"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        t.get(&format!("/people/{id}")).await.json()["firstname"],
        "ronald"
    );
}

#[tokio::test]
async fn method_override_is_honoured_on_any_method() {
    // As Eve (oracle: scripts/compare/writes/override.json): a GET carrying
    // the header and a body creates; the header's case and blanks do not
    // matter.
    let t = TestApp::new(PEOPLE).await;
    let r = t
        .send(
            "GET",
            "/people",
            &[
                ("content-type", "application/json"),
                ("x-http-method-override", " post "),
            ],
            Some(r#"{"lastname": "Doe"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["_status"], "OK");
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 1);
    // An empty override is an empty method: 405, as in Eve.
    let r = t
        .send("GET", "/people", &[("x-http-method-override", "")], None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 1);
    // A GET overridden to DELETE deletes, as in Eve.
    let r = t
        .send(
            "GET",
            "/people",
            &[("x-http-method-override", "DELETE")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn method_override_to_a_method_not_enabled_is_405() {
    let yaml = "DOMAIN: {books: {schema: {title: {type: string}}}}";
    let t = TestApp::new(yaml).await;
    t.app
        .resource("books")
        .expect("books")
        .insert(bson::doc! {"title": "kept"})
        .await
        .expect("insert");
    for method in ["GET", "POST", "HEAD"] {
        for wanted in ["DELETE", "POST", "PATCH"] {
            let r = t
                .send(
                    method,
                    "/books",
                    &[
                        ("content-type", "application/json"),
                        ("x-http-method-override", wanted),
                    ],
                    Some(r#"{"title": "new"}"#),
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} as {wanted}"
            );
        }
    }
    let r = t.get("/books").await.json();
    assert_eq!(r["_meta"]["total"], 1);
    assert_eq!(r["_items"][0]["title"], "kept");
}

#[tokio::test]
async fn method_override_can_be_disabled() {
    let yaml = format!("ALLOW_OVERRIDE_HTTP_METHOD: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let r = t
        .send(
            "POST",
            "/people",
            &[
                ("content-type", "application/json"),
                ("x-http-method-override", "DELETE"),
            ],
            Some(r#"{"lastname": "A"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn info_block_on_home() {
    let yaml = format!("INFO: _info\nAPI_VERSION: v2\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let j = t.get("/v2/").await.json();
    assert_eq!(j["_info"]["server"], "Eve");
    assert_eq!(j["_info"]["api_version"], "v2");
}

#[tokio::test]
async fn home_without_hateoas_is_empty() {
    let yaml = format!("HATEOAS: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    assert_eq!(t.get("/").await.json(), json!({}));
}

#[tokio::test]
async fn internal_resources_have_no_route_and_no_home_link() {
    let t = TestApp::new("DOMAIN: {people: {}, secrets: {internal_resource: true}}").await;
    assert_eq!(t.get("/secrets").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        t.get("/").await.json()["_links"]["child"],
        json!([{"href": "people", "title": "people"}])
    );
}
