//! The store under the API: collections shared by several resources keep
//! the indexes of every one of them, and a full store answers 507.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eve_http::App;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// An app over the suite's data layer (`EVE_TEST_BACKEND`), its embedded
/// store in `dir`.
async fn open(yaml: &str, dir: &Path) -> Result<App, String> {
    let raw = eve_core::settings::parse_str(yaml, eve_core::settings::Format::Yaml)
        .map_err(|e| e.to_string())?;
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default())
        .map_err(|e| e.to_string())?;
    let store = super::common::test_store(&domain, dir).await;
    App::new(domain, store).await.map_err(|e| e.to_string())
}

/// POSTs a JSON body; returns the status and the body.
async fn post(app: &App, uri: &str, body: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app.router().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Two resources over collection `accounts`; only `members` declares the
/// unique field and an index of its own. `unique_first` puts it first.
fn shared(unique_first: bool) -> String {
    let members = "  members:
    datasource: {source: accounts}
    schema: {email: {type: string, unique: true}, n: {type: integer}}
    mongo_indexes: {by_n: [[[n, 1]], {unique: true, sparse: true}]}
";
    let guests = "  guests:
    datasource: {source: accounts}
    schema: {email: {type: string}, n: {type: integer}}
";
    let (a, b) = if unique_first {
        (members, guests)
    } else {
        (guests, members)
    };
    format!("RESOURCE_METHODS: [GET, POST]\nDOMAIN:\n{a}{b}")
}

/// Whatever the order of the resources in the file, the collection keeps
/// the unique indexes one of them declares: a duplicate written through the
/// other resource is refused by the store (409), and the store reopens.
#[tokio::test]
async fn a_shared_collection_keeps_the_indexes_of_every_resource_in_both_orders() {
    for unique_first in [true, false] {
        let settings = shared(unique_first);
        let dir = tempfile::tempdir().expect("temp dir");
        for round in 0..2 {
            let app = open(&settings, dir.path()).await.unwrap_or_else(|e| {
                panic!("unique_first={unique_first} round {round}: start-up failed: {e}")
            });
            let email = format!(r#"{{"email": "a{round}@x", "n": {round}}}"#);
            let (status, body) = post(&app, "/members", &email).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            for dup in [
                format!(r#"{{"email": "a{round}@x"}}"#),
                format!(r#"{{"n": {round}}}"#),
            ] {
                let (status, body) = post(&app, "/guests", &dup).await;
                assert_eq!(
                    status,
                    StatusCode::CONFLICT,
                    "unique_first={unique_first} round {round}: {dup} stored twice: {body}"
                );
            }
            let other = format!(r#"{{"email": "other{round}@x"}}"#);
            let (status, body) = post(&app, "/guests", &other).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
}

/// Concurrent POSTs of one value through both resources of a shared
/// collection create exactly one document.
#[tokio::test]
async fn concurrent_posts_through_resources_sharing_a_collection_store_one_document() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = Arc::new(open(&shared(true), dir.path()).await.expect("start-up"));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let app = Arc::clone(&app);
        let uri = if i % 2 == 0 { "/members" } else { "/guests" };
        tasks.push(tokio::spawn(async move {
            post(&app, uri, r#"{"email": "race@x"}"#).await.0
        }));
    }
    let mut created = 0;
    for t in tasks {
        let status = t.await.expect("task");
        assert!(
            matches!(status.as_u16(), 201 | 409 | 422),
            "unexpected {status}"
        );
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 1);
}

/// Sends a request without a body; returns the status and the body.
async fn send(app: &App, method: &str, uri: &str, etag: Option<&str>) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost");
    if let Some(etag) = etag {
        req = req.header("if-match", etag);
    }
    let resp = app
        .router()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A full store (here its size limit, which SQLite reports exactly as a
/// full disk) answers 507 with Eve's error shape and a message saying what
/// happened; nothing of the refused write is stored, reads keep working,
/// and writes work again once space is freed.
#[tokio::test]
async fn a_full_store_answers_507_writes_nothing_and_recovers_when_space_is_freed() {
    // Embedded-store specific whatever EVE_TEST_BACKEND says: only its
    // size limit can fill a store on demand.
    let dir = tempfile::tempdir().expect("temp dir");
    let options = eve_store_sqlite::StoreOptions {
        max_size: Some(256 * 1024),
        ..Default::default()
    };
    let store = eve_store_sqlite::SqliteStore::open_with(dir.path(), &options).expect("store");
    let raw = eve_core::settings::parse_str(
        "RESOURCE_METHODS: [GET, POST, DELETE]\nITEM_METHODS: [GET, DELETE]\nDOMAIN: {notes: {schema: {text: {type: string}}}}",
        eve_core::settings::Format::Yaml,
    )
    .expect("settings");
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).expect("check");
    let app = App::builder()
        .store(Arc::new(store))
        .domain(domain)
        .await
        .expect("app");
    let text = "x".repeat(8 * 1024);
    let body = format!(r#"{{"text": "{text}"}}"#);
    let mut stored = Vec::new();
    let mut full = None;
    // 256 KiB hold fewer than 32 notes of 8 KiB: the limit is reached well
    // before the bound of the loop.
    for _ in 0..64 {
        let (status, answer) = post(&app, "/notes", &body).await;
        if status == StatusCode::CREATED {
            let j: serde_json::Value = serde_json::from_str(&answer).expect("json");
            stored.push((
                j["_id"].as_str().expect("id").to_string(),
                j["_etag"].as_str().expect("etag").to_string(),
            ));
        } else {
            full = Some((status, answer));
            break;
        }
    }
    let (status, answer) = full.expect("the store never filled up");
    assert!(!stored.is_empty(), "nothing fitted at all");
    assert_eq!(status.as_u16(), 507, "{answer}");
    let j: serde_json::Value = serde_json::from_str(&answer).expect("json");
    assert_eq!(j["_status"], "ERR");
    assert_eq!(j["_error"]["code"], 507);
    assert_eq!(
        j["_error"]["message"],
        "The server is unable to store the representation needed to complete the request."
    );
    // A bulk POST that does not fit writes none of its documents.
    let bulk = format!("[{body}, {body}, {body}]");
    assert_eq!(post(&app, "/notes", &bulk).await.0.as_u16(), 507);
    let (status, list) = send(&app, "GET", "/notes?max_results=100", None).await;
    assert_eq!(status, StatusCode::OK);
    let list: serde_json::Value = serde_json::from_str(&list).expect("json");
    assert_eq!(
        list["_meta"]["total"],
        stored.len(),
        "refused writes left documents"
    );
    // Freeing space makes writes possible again.
    for (id, etag) in stored.iter().take(4) {
        let (status, answer) = send(&app, "DELETE", &format!("/notes/{id}"), Some(etag)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    }
    assert_eq!(post(&app, "/notes", &body).await.0, StatusCode::CREATED);
}
