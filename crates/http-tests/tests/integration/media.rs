//! Media fields and the media endpoint (features.md §35, docs/media.md):
//! multipart uploads streamed into the media storage, answers with base64,
//! URLs and `EXTENDED_MEDIA_INFO` (payloads checked against the oracle,
//! scripts/compare/media), removal with the document or the field, the
//! media endpoint (conditional requests, RFC 9110 ranges, sniffed types)
//! and who may read a file. Run on every data layer (`EVE_TEST_BACKEND`),
//! each with its own media storage.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::common::{Resp, TestApp};

mod endpoint;
mod s3;
mod uploads;

/// One part of a multipart body: (name, file name and content type when a
/// file, content).
pub struct Part<'a> {
    name: &'a str,
    file: Option<(&'a str, &'a str)>,
    data: &'a [u8],
}

/// A form field.
pub fn field<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part {
        name,
        file: None,
        data: value.as_bytes(),
    }
}

/// A file part.
pub fn file<'a>(
    name: &'a str,
    filename: &'a str,
    content_type: &'a str,
    data: &'a [u8],
) -> Part<'a> {
    Part {
        name,
        file: Some((filename, content_type)),
        data,
    }
}

/// The boundary of [`multipart`] bodies.
pub const BOUNDARY: &str = "eve-rs-test-boundary";

/// A `multipart/form-data` body of `parts`.
pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut head = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some((filename, ct)) = p.file {
            head.push_str(&format!("; filename=\"{filename}\"\r\nContent-Type: {ct}"));
        }
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(p.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// Sends a request with a byte body; the response body as bytes too.
pub async fn send_bytes(
    t: &TestApp,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (Resp, Vec<u8>) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost:5000");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Body::from(body)).expect("request");
    let resp = t.app.router().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        Resp {
            status,
            headers,
            text,
        },
        bytes,
    )
}

/// Sends a multipart body of `parts` (with extra headers).
pub async fn upload(
    t: &TestApp,
    method: &str,
    uri: &str,
    extra: &[(&str, &str)],
    parts: &[Part<'_>],
) -> Resp {
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut headers = vec![("content-type", ct.as_str())];
    headers.extend_from_slice(extra);
    send_bytes(t, method, uri, &headers, multipart(parts))
        .await
        .0
}

/// How many files the media storage holds.
pub async fn stored_files(t: &TestApp) -> usize {
    let storage = t.app.executor().media().expect("a media storage");
    let later = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() + 60_000);
    storage.list_before(later).await.expect("list").len()
}

/// POSTs with `parts` and returns (id, etag).
pub async fn create(t: &TestApp, uri: &str, parts: &[Part<'_>]) -> (String, String) {
    let r = upload(t, "POST", uri, &[], parts).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let j = r.json();
    (
        j["_id"].as_str().expect("_id").to_string(),
        j["_etag"].as_str().expect("_etag").to_string(),
    )
}
