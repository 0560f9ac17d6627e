//! Writes: POST (single, bulk), PATCH, PUT, DELETE (features.md §13–§19,
//! §44).

use axum::http::StatusCode;
use serde_json::json;

use super::common::{TestApp, PEOPLE};

#[tokio::test]
async fn post_one_document() {
    let t = TestApp::new(PEOPLE).await;
    let r = t
        .post("/people", r#"{"firstname": "barack", "lastname": "obama"}"#)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let j = r.json();
    let id = j["_id"].as_str().unwrap();
    assert_eq!(
        r.header("location").unwrap(),
        format!("http://localhost:5000/people/{id}")
    );
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["_updated", "_created", "_etag", "_id", "_links", "_status"]
    );
    assert_eq!(j["_status"], "OK");
    assert_eq!(
        j["_links"],
        json!({"self": {"title": "person", "href": format!("people/{id}")}})
    );
    assert_eq!(j["_etag"].as_str().unwrap().len(), 40);
    let stored = t.get(&format!("/people/{id}")).await.json();
    assert_eq!(stored["firstname"], "barack");
    assert_eq!(stored["_etag"], j["_etag"]);
}

#[tokio::test]
async fn post_to_a_trailing_slash_gives_the_canonical_location() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.post("/people/", r#"{"lastname": "x"}"#).await;
    let id = r.json()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location").unwrap(),
        format!("http://localhost:5000/people/{id}")
    );
}

#[tokio::test]
async fn bulk_post_answers_each_document() {
    let t = TestApp::new(PEOPLE).await;
    let r = t
        .post("/people", r#"[{"lastname": "a"}, {"lastname": "b"}]"#)
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let j = r.json();
    assert_eq!(j["_status"], "OK");
    let items = j["_items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["_status"] == "OK"));
    assert_eq!(
        r.header("location").unwrap(),
        format!(
            "http://localhost:5000/people/{}",
            items[0]["_id"].as_str().unwrap()
        )
    );
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 2);
}

#[tokio::test]
async fn one_element_list_gets_the_single_document_shape() {
    let t = TestApp::new(PEOPLE).await;
    let j = t.post("/people", r#"[{"lastname": "a"}]"#).await.json();
    assert!(j.get("_items").is_none());
    assert_eq!(j["_status"], "OK");
}

#[tokio::test]
async fn invalid_document_is_422_and_nothing_is_written() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.post("/people", r#"{"firstname": "x"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_issues": {"lastname": "required field"}, "_error": {"code": 422, "message": "Insertion failure: 1 document(s) contain(s) error(s)"}})
    );
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn bulk_with_one_invalid_document_writes_nothing() {
    let t = TestApp::new(PEOPLE).await;
    t.create("/people", r#"{"lastname": "a"}"#).await;
    let r = t
        .post(
            "/people",
            r#"[{"lastname": "a"}, {"lastname": "c", "x": 1}, {"lastname": "d"}]"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_items": [
            {"_status": "ERR", "_issues": {"lastname": "value 'a' is not unique"}},
            {"_status": "ERR", "_issues": {"x": "unknown field"}},
            {"_status": "OK"}
        ], "_error": {"code": 422, "message": "Insertion failure: 2 document(s) contain(s) error(s)"}})
    );
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 1);
}

#[tokio::test]
async fn bulk_with_a_duplicate_id_is_409_and_atomic() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "a"}"#).await;
    let body = format!(r#"[{{"lastname": "b"}}, {{"lastname": "c", "_id": "{id}"}}]"#);
    let r = t.post("/people", &body).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 1);
}

#[tokio::test]
async fn empty_and_disabled_bulk_are_400() {
    let t = TestApp::new(PEOPLE).await;
    assert_eq!(
        t.post("/people", "[]").await.status,
        StatusCode::BAD_REQUEST
    );
    let yaml = format!("BULK_ENABLED: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    assert_eq!(
        t.post("/people", r#"[{"lastname": "a"}, {"lastname": "b"}]"#)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        t.post("/people", r#"[{"lastname": "a"}]"#).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn bodies_that_cannot_be_read_are_400() {
    let t = TestApp::new(PEOPLE).await;
    let r = t
        .send("POST", "/people", &[], Some(r#"{"lastname": "a"}"#))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["_error"]["message"],
        "Unknown or no Content-Type header supplied"
    );
    assert_eq!(
        t.post("/people", "{bad").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(t.post("/people", "5").await.status, StatusCode::BAD_REQUEST);
    let r = t
        .send(
            "POST",
            "/people",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(""),
        )
        .await;
    assert_eq!(
        r.json()["_error"]["message"],
        "No form-urlencoded data supplied"
    );
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn form_posts_are_accepted() {
    let t = TestApp::new(PEOPLE).await;
    let r = t
        .send(
            "POST",
            "/people",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("lastname=Doe&age=5"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let j = t.get("/people/Doe").await.json();
    assert_eq!(j["age"], 5);
}

#[tokio::test]
async fn non_document_elements_are_reported() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.post("/people", r#"[{"lastname": "a"}, 5]"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json()["_items"][1]["_issues"],
        json!({"validation exception": "'5' is not a document, must be a dict"})
    );
}

#[tokio::test]
async fn patch_requires_and_checks_if_match() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let r = t
        .send(
            "PATCH",
            &url,
            &[("content-type", "application/json")],
            Some(r#"{"firstname": "x"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(
        r.json()["_error"]["message"],
        "To edit a document its etag must be provided using the If-Match header"
    );
    let r = t
        .edit("PATCH", &url, "deadbeef", r#"{"firstname": "x"}"#)
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        r.json()["_error"]["message"],
        "Client and server etags don't match"
    );
    let r = t
        .edit(
            "PATCH",
            &url,
            &format!("W/\"{etag}\""),
            r#"{"firstname": "x"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let new_etag = r.json()["_etag"].as_str().unwrap().to_string();
    assert_ne!(new_etag, etag);
    assert_eq!(r.header("etag").unwrap(), format!("\"{new_etag}\""));
    assert!(r.header("last-modified").is_none());
    // The old etag is stale now.
    assert_eq!(
        t.edit("PATCH", &url, &etag, r#"{"firstname": "y"}"#)
            .await
            .status,
        StatusCode::PRECONDITION_FAILED
    );
}

#[tokio::test]
async fn patch_merges_nested_documents_and_dotted_keys() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t
        .create(
            "/people",
            r#"{"lastname": "Doe", "location": {"city": "Rome", "address": "Via 1"}}"#,
        )
        .await;
    let url = format!("/people/{id}");
    let r = t
        .edit("PATCH", &url, &etag, r#"{"location.city": "Milan"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = t.get(&url).await.json();
    assert_eq!(j["location"], json!({"city": "Milan", "address": "Via 1"}));
    assert_eq!(j["lastname"], "Doe");
}

#[tokio::test]
async fn patch_validation_failure_has_no_error_key() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t
        .edit(
            "PATCH",
            &format!("/people/{id}"),
            &etag,
            r#"{"age": "old", "zz": 1}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json(),
        json!({"_issues": {"age": "must be of integer type", "zz": "unknown field"}, "_status": "ERR"})
    );
}

#[tokio::test]
async fn patch_cannot_change_the_id() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t
        .edit(
            "PATCH",
            &format!("/people/{id}"),
            &etag,
            r#"{"_id": "5f0000000000000000000001"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["_error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Attempt to update an immutable field"));
}

#[tokio::test]
async fn patch_of_a_missing_document_is_404() {
    let t = TestApp::new(PEOPLE).await;
    let r = t
        .edit(
            "PATCH",
            "/people/5f0000000000000000000001",
            "x",
            r#"{"firstname": "x"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn put_replaces_the_whole_document() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t
        .create("/people", r#"{"lastname": "Doe", "firstname": "John"}"#)
        .await;
    let url = format!("/people/{id}");
    let created = t.get(&url).await.json()["_created"].clone();
    let r = t.edit("PUT", &url, &etag, r#"{"lastname": "Roe"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.header("last-modified").is_some());
    assert!(r.header("etag").is_some());
    let j = t.get(&url).await.json();
    assert_eq!(j["lastname"], "Roe");
    assert!(j.get("firstname").is_none());
    assert_eq!(j["_created"], created);
}

#[tokio::test]
async fn put_on_a_missing_id_inserts_it() {
    let t = TestApp::new(PEOPLE).await;
    let url = "/people/5f0000000000000000000001";
    let r = t
        .send(
            "PUT",
            url,
            &[("content-type", "application/json")],
            Some(r#"{"lastname": "New"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.header("location").unwrap(),
        "http://localhost:5000/people/5f0000000000000000000001"
    );
    assert_eq!(t.get(url).await.json()["lastname"], "New");

    let yaml = format!("UPSERT_ON_PUT: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let r = t
        .send(
            "PUT",
            url,
            &[("content-type", "application/json")],
            Some(r#"{"lastname": "New"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn delete_item_and_collection() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "a"}"#).await;
    t.create("/people", r#"{"lastname": "b"}"#).await;
    let url = format!("/people/{id}");
    assert_eq!(
        t.send("DELETE", &url, &[], None).await.status,
        StatusCode::PRECONDITION_REQUIRED
    );
    assert_eq!(
        t.send("DELETE", &url, &[("if-match", "nope")], None)
            .await
            .status,
        StatusCode::PRECONDITION_FAILED
    );
    let r = t.send("DELETE", &url, &[("if-match", &etag)], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(r.text, "");
    assert_eq!(t.get(&url).await.status, StatusCode::NOT_FOUND);
    // Deleting what is gone is still 204.
    assert_eq!(
        t.send("DELETE", &url, &[("if-match", &etag)], None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.send("DELETE", "/people", &[], None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn bandwidth_saver_off_returns_whole_documents() {
    let yaml = format!("BANDWIDTH_SAVER: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let j = t
        .post("/people", r#"{"lastname": "Doe", "age": 4}"#)
        .await
        .json();
    assert_eq!(j["lastname"], "Doe");
    assert_eq!(j["age"], 4);
    assert_eq!(j["_status"], "OK");
}

#[tokio::test]
async fn extra_response_fields_are_echoed() {
    let yaml = format!("EXTRA_RESPONSE_FIELDS: [lastname]\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let j = t
        .post("/people", r#"{"lastname": "Doe", "age": 4}"#)
        .await
        .json();
    assert_eq!(j["lastname"], "Doe");
    assert!(j.get("age").is_none());
}

#[tokio::test]
async fn if_match_off_means_no_etags_and_no_checks() {
    let yaml = format!("IF_MATCH: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let r = t.post("/people", r#"{"lastname": "Doe"}"#).await;
    let j = r.json();
    assert!(j.get("_etag").is_none());
    let id = j["_id"].as_str().unwrap();
    let r = t
        .send(
            "PATCH",
            &format!("/people/{id}"),
            &[("content-type", "application/json")],
            Some(r#"{"age": 1}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("etag").is_none());
    assert!(t
        .get(&format!("/people/{id}"))
        .await
        .header("etag")
        .is_none());
}

#[tokio::test]
async fn enforce_if_match_off_makes_the_header_optional() {
    let yaml = format!("ENFORCE_IF_MATCH: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let (id, _) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let r = t
        .send(
            "PATCH",
            &url,
            &[("content-type", "application/json")],
            Some(r#"{"age": 1}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        t.edit("PATCH", &url, "stale", r#"{"age": 2}"#).await.status,
        StatusCode::PRECONDITION_FAILED
    );
}

#[tokio::test]
async fn concurrent_patches_with_one_etag_have_one_winner() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let router = t.app.router();
        let url = url.clone();
        let etag = etag.clone();
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method("PATCH")
                .uri(url)
                .header("content-type", "application/json")
                .header("if-match", etag)
                .body(axum::body::Body::from(format!(r#"{{"age": {i}}}"#)))
                .unwrap();
            (i, router.oneshot(req).await.unwrap().status())
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (i, status) = task.await.unwrap();
        match status {
            StatusCode::OK => winners.push(i),
            StatusCode::PRECONDITION_FAILED => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(winners.len(), 1);
    assert_eq!(t.get(&url).await.json()["age"], winners[0]);
}

/// Stores a document directly (no `_etag`, no dates), as another program
/// would; returns its URL and the ETag the API computes for it.
async fn legacy_document(t: &TestApp, lastname: &str) -> (String, String) {
    let id = bson::oid::ObjectId::new();
    let doc = bson::doc! {"_id": id, "lastname": lastname};
    t.app.store().insert("people", vec![doc]).await.unwrap();
    let url = format!("/people/{}", id.to_hex());
    let etag = t.get(&url).await.json()["_etag"]
        .as_str()
        .unwrap()
        .to_string();
    (url, etag)
}

#[tokio::test]
async fn documents_written_outside_the_api_can_be_edited_with_their_computed_etag() {
    let t = TestApp::new(PEOPLE).await;
    let (url, etag) = legacy_document(&t, "Legacy").await;
    let r = t.edit("PATCH", &url, &etag, r#"{"firstname": "x"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Stored with a real ETag from now on.
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    assert_eq!(t.get(&url).await.json()["_etag"], etag.as_str());

    let (url, etag) = legacy_document(&t, "Legacy2").await;
    let r = t
        .edit("PUT", &url, &etag, r#"{"lastname": "Legacy3"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    let (url, etag) = legacy_document(&t, "Legacy4").await;
    let r = t.send("DELETE", &url, &[("if-match", &etag)], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

const INDEXED: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
DOMAIN:
  people:
    schema:
      lastname: {type: string}
      code: {type: string}
    mongo_indexes:
      code_unique: [[[code, 1]], {unique: true}]
"#;

#[tokio::test]
async fn duplicate_key_on_patch_and_put_is_400_and_changes_nothing() {
    // As Eve (oracle: scripts/compare/writes/duplicates.json): a unique
    // index refusing an edit is 400 with the generic text; 409 stays for
    // inserts, a PUT upsert included.
    let t = TestApp::new(INDEXED).await;
    t.create("/people", r#"{"lastname": "A", "code": "a"}"#)
        .await;
    let (id, etag) = t
        .create("/people", r#"{"lastname": "B", "code": "b"}"#)
        .await;
    let bad_request = json!({"_status": "ERR", "_error": {"code": 400, "message": "The browser (or proxy) sent a request that this server could not understand."}});
    let r = t
        .edit("PATCH", &format!("/people/{id}"), &etag, r#"{"code": "a"}"#)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json(), bad_request);
    let r = t
        .edit(
            "PUT",
            &format!("/people/{id}"),
            &etag,
            r#"{"lastname": "B", "code": "a"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.json(), bad_request);
    let stored = t.get(&format!("/people/{id}")).await.json();
    assert_eq!(
        (stored["code"].clone(), stored["_etag"].clone()),
        (json!("b"), json!(etag))
    );
    let r = t
        .send(
            "PUT",
            "/people/5f0000000000000000000001",
            &[("content-type", "application/json")],
            Some(r#"{"lastname": "C", "code": "a"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 2);
}

#[tokio::test]
async fn duplicate_key_on_patch_shows_the_store_text_with_debug() {
    let t = TestApp::new(&format!("DEBUG: true\n{INDEXED}")).await;
    t.create("/people", r#"{"lastname": "A", "code": "a"}"#)
        .await;
    let (id, etag) = t
        .create("/people", r#"{"lastname": "B", "code": "b"}"#)
        .await;
    let r = t
        .edit("PATCH", &format!("/people/{id}"), &etag, r#"{"code": "a"}"#)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let message = r.json()["_error"]["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("DuplicateKeyError: E11000 duplicate key error")
            && message.contains("code_unique"),
        "{message}"
    );
}
