//! The media endpoint: the file's bytes with validators, `304`, RFC 9110
//! ranges, sniffed content types, and who may read a file.

use axum::http::StatusCode;
use base64::prelude::{Engine, BASE64_STANDARD};
use bson::doc;

use super::super::common::TestApp;
use super::{create, file, send_bytes, upload};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
RETURN_MEDIA_AS_BASE64_STRING: false
RETURN_MEDIA_AS_URL: true
DOMAIN:
  accounts:
    schema:
      pic: {type: media}
"#;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";

/// Stores `data` and returns its media URL.
async fn stored(t: &TestApp, name: &str, declared: &str, data: &[u8]) -> String {
    let (id, _) = create(t, "/accounts", &[file("pic", name, declared, data)]).await;
    let j = t.get(&format!("/accounts/{id}")).await.json();
    j["pic"].as_str().expect("url").to_string()
}

#[tokio::test]
async fn a_file_is_served_with_validators_and_a_sniffed_type() {
    let t = TestApp::new(SETTINGS).await;
    let url = stored(&t, "hello.txt", "image/png", b"hello world!").await;
    let (r, body) = send_bytes(&t, "GET", &url, &[], Vec::new()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(body, b"hello world!");
    // The declared type is never served: the bytes say text.
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("content-length"), Some("12"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"hello.txt\"")
    );
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let etag = r.header("etag").expect("etag").to_string();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    let modified = r
        .header("last-modified")
        .expect("last-modified")
        .to_string();
    // HEAD: the same headers, no body.
    let (h, body) = send_bytes(&t, "HEAD", &url, &[], Vec::new()).await;
    assert_eq!((h.status, body.len()), (StatusCode::OK, 0));
    assert_eq!(h.header("content-length"), Some("12"));
    assert_eq!(h.header("etag"), Some(etag.as_str()));
    // Conditional requests.
    let r = t.send("GET", &url, &[("if-none-match", &etag)], None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::NOT_MODIFIED, ""));
    let r = t
        .send("GET", &url, &[("if-none-match", "\"other\"")], None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .send("GET", &url, &[("if-modified-since", &modified)], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let r = t
        .send(
            "GET",
            &url,
            &[("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Images are shown inline; markup is served as text.
    let url = stored(&t, "p.png", "text/html", PNG).await;
    let r = t.get(&url).await;
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.header("content-disposition"), None);
    let url = stored(
        &t,
        "x.html",
        "text/html",
        b"<html><script>alert(1)</script></html>",
    )
    .await;
    let r = t.get(&url).await;
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"x.html\"")
    );
}

#[tokio::test]
async fn ranges_follow_rfc_9110() {
    let t = TestApp::new(SETTINGS).await;
    let data: Vec<u8> = (0..100u8).collect();
    let url = stored(&t, "d.bin", "application/octet-stream", &data).await;
    let get = |range: &'static str| {
        let t = &t;
        let url = url.clone();
        async move { send_bytes(t, "GET", &url, &[("range", range)], Vec::new()).await }
    };
    let (r, body) = get("bytes=0-10").await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.header("content-range"), Some("bytes 0-10/100"));
    assert_eq!(r.header("content-length"), Some("11"));
    assert_eq!(body, &data[0..11]);
    let (r, body) = get("bytes=95-").await;
    assert_eq!(r.header("content-range"), Some("bytes 95-99/100"));
    assert_eq!(body, &data[95..]);
    let (r, body) = get("bytes=-3").await;
    assert_eq!(r.header("content-range"), Some("bytes 97-99/100"));
    assert_eq!(body, &data[97..]);
    // Nothing satisfiable: 416 with the length.
    let (r, _) = get("bytes=100-200").await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.header("content-range"), Some("bytes */100"));
    assert_eq!(r.json()["_error"]["code"], 416);
    // Unusable headers are ignored: the whole file.
    for bad in ["bytes=9-1", "lines=1-2", "bytes=x-", "bytes=0-50,10-20"] {
        let (r, body) = get(bad).await;
        assert_eq!((r.status, body.len()), (StatusCode::OK, 100), "{bad}");
    }
    // Several ranges: multipart/byteranges.
    let (r, body) = get("bytes=0-1,50-51").await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    let ct = r.header("content-type").expect("type").to_string();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect("byteranges");
    assert_eq!(
        r.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    let mut expected = Vec::new();
    for (a, b) in [(0usize, 1usize), (50, 51)] {
        expected.extend_from_slice(
            format!("\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes {a}-{b}/100\r\n\r\n").as_bytes(),
        );
        expected.extend_from_slice(&data[a..=b]);
    }
    expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert_eq!(body, expected);
    // If-Range with another validator: the whole file.
    let (r, body) = send_bytes(
        &t,
        "GET",
        &url,
        &[("range", "bytes=0-1"), ("if-range", "\"old\"")],
        Vec::new(),
    )
    .await;
    assert_eq!((r.status, body.len()), (StatusCode::OK, 100));
}

#[tokio::test]
async fn unknown_or_malformed_ids_are_not_found() {
    let t = TestApp::new(SETTINGS).await;
    for path in [
        "/media/0123456789abcdef01234567",
        "/media/nothex",
        "/media/",
    ] {
        assert_eq!(t.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = t
        .send("POST", "/media/0123456789abcdef01234567", &[], None)
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    // A deleted document's file is gone.
    let (id, etag) = create(&t, "/accounts", &[file("pic", "a.txt", "text/plain", b"x")]).await;
    let url = t.get(&format!("/accounts/{id}")).await.json()["pic"]
        .as_str()
        .expect("url")
        .to_string();
    assert_eq!(t.get(&url).await.status, StatusCode::OK);
    t.send(
        "DELETE",
        &format!("/accounts/{id}"),
        &[("if-match", &etag)],
        None,
    )
    .await;
    assert_eq!(t.get(&url).await.status, StatusCode::NOT_FOUND);
}

const RESTRICTED: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET]
RETURN_MEDIA_AS_BASE64_STRING: false
RETURN_MEDIA_AS_URL: true
AUTH: {type: basic, accounts: accounts}
AUTH_FIELD: owner
DOMAIN:
  accounts:
    auth_field: null
    schema:
      username: {type: string, required: true, unique: true}
      password: {type: string}
  photos:
    schema:
      pic: {type: media}
"#;

fn basic(user: &str) -> String {
    format!(
        "Basic {}",
        BASE64_STANDARD.encode(format!("{user}:{user}-pw"))
    )
}

#[tokio::test]
async fn a_user_restricted_file_is_served_to_its_owner_only() {
    let t = TestApp::new(RESTRICTED).await;
    let accounts = t.app.resource("accounts").expect("accounts");
    for name in ["ann", "bob"] {
        accounts
            .insert(doc! {"username": name, "password": format!("{name}-pw")})
            .await
            .expect("account");
    }
    let ann = basic("ann");
    let r = upload(
        &t,
        "POST",
        "/photos",
        &[("authorization", &ann)],
        &[file("pic", "a.txt", "text/plain", b"ann's")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json()["_id"].as_str().expect("id").to_string();
    let r = t
        .send(
            "GET",
            &format!("/photos/{id}"),
            &[("authorization", &ann)],
            None,
        )
        .await;
    let url = r.json()["pic"].as_str().expect("url").to_string();
    let r = t.send("GET", &url, &[("authorization", &ann)], None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "ann's"));
    let r = t
        .send("GET", &url, &[("authorization", &basic("bob"))], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = t.get(&url).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
