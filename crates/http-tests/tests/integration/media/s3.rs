//! `MEDIA_STORAGE: {type: s3}`: the same uploads, answers and removals
//! with the files in an S3-compatible bucket (moto in server mode:
//! `scripts/s3-test-server.sh start PORT`, then `EVE_TEST_S3_URI`). Skips
//! with a message without `EVE_TEST_S3_URI`, fails under `CI=true`.

use std::io::{Read, Write};

use axum::http::StatusCode;

use super::super::common::TestApp;
use super::{create, file, send_bytes, stored_files, upload};

/// The endpoint of the test server, or `None` (skipping) outside CI.
fn endpoint() -> Option<String> {
    match std::env::var("EVE_TEST_S3_URI") {
        Ok(uri) if !uri.trim().is_empty() => Some(uri.trim().trim_end_matches('/').to_string()),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true: EVE_TEST_S3_URI must name the S3 test server (scripts/s3-test-server.sh)"
            );
            eprintln!("skipped: EVE_TEST_S3_URI is not set (scripts/s3-test-server.sh start PORT)");
            None
        }
    }
}

/// Creates a bucket (moto does not check signatures).
fn create_bucket(endpoint: &str, bucket: &str) {
    let host = endpoint
        .strip_prefix("http://")
        .expect("an http:// endpoint");
    let mut s = std::net::TcpStream::connect(host).expect("connect to the S3 test server");
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

async fn app(endpoint: &str) -> TestApp {
    let bucket = format!("eve-{}", bson::oid::ObjectId::new().to_hex());
    create_bucket(endpoint, &bucket);
    TestApp::new(&format!(
        r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, DELETE]
RETURN_MEDIA_AS_URL: true
EXTENDED_MEDIA_INFO: [name, length]
MEDIA_STORAGE: {{type: s3, bucket: {bucket}, endpoint: "{endpoint}", region: us-east-1, prefix: media/, access_key_id: test, secret_access_key: test, allow_http: true}}
DOMAIN:
  accounts:
    schema:
      pic: {{type: media}}
"#
    ))
    .await
}

#[tokio::test]
async fn files_live_in_the_bucket_and_go_with_their_document() {
    let Some(endpoint) = endpoint() else { return };
    let t = app(&endpoint).await;
    assert_eq!(t.app.executor().media().expect("storage").name(), "s3");
    let data: Vec<u8> = (0..7 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let (id, etag) = create(
        &t,
        "/accounts",
        &[file("pic", "big.bin", "application/octet-stream", &data)],
    )
    .await;
    let j = t.get(&format!("/accounts/{id}")).await.json();
    assert_eq!(j["pic"]["name"], "big.bin");
    assert_eq!(j["pic"]["length"], data.len());
    // The media endpoint streams a range from the bucket.
    let file_id = {
        let storage = t.app.executor().media().expect("storage");
        let later = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() + 60_000);
        storage.list_before(later).await.expect("list")[0]
    };
    let (r, body) = send_bytes(
        &t,
        "GET",
        &format!("/media/{}", file_id.to_hex()),
        &[("range", "bytes=6000000-6000009")],
        Vec::new(),
    )
    .await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{}", r.text);
    assert_eq!(body, &data[6_000_000..6_000_010]);
    // A refused document leaves nothing in the bucket; DELETE empties it.
    let r = upload(
        &t,
        "PATCH",
        &format!("/accounts/{id}"),
        &[("if-match", "stale")],
        &[file("pic", "x", "text/plain", b"x")],
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stored_files(&t).await, 1);
    let r = t
        .send(
            "DELETE",
            &format!("/accounts/{id}"),
            &[("if-match", &etag)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(stored_files(&t).await, 0);
}

#[tokio::test]
async fn unknown_media_storage_keys_are_refused_with_their_path() {
    let raw = eve_core::settings::parse_str(
        "MEDIA_STORAGE: {type: s3, bucket: b, buckett: c, allow_http: 1}\nDOMAIN: {}",
        eve_core::settings::Format::Yaml,
    )
    .expect("yaml");
    let err = eve_core::settings::check(raw, &eve_http::Registry::default()).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("MEDIA_STORAGE.buckett: unknown key"),
        "{text}"
    );
    assert!(
        text.contains("MEDIA_STORAGE.allow_http: expected a boolean"),
        "{text}"
    );
    let raw = eve_core::settings::parse_str(
        "MEDIA_STORAGE: {type: ftp}\nDOMAIN: {}",
        eve_core::settings::Format::Yaml,
    )
    .expect("yaml");
    let err = eve_core::settings::check(raw, &eve_http::Registry::default()).expect_err("refused");
    assert!(err.to_string().contains("MEDIA_STORAGE.type"), "{err}");
}
