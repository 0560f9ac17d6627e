//! Request limits: settings and defaults, body size and framing, JSON
//! depth, bulk size, `where` size, regex cost, head size and slow clients
//! over a socket.

use super::*;

/// Settings with every limit set low, and a resource without length rules.
pub(super) fn limited(extra: &str) -> String {
    format!("{extra}\n{PEOPLE}\n  texts:\n    schema:\n      body: {{type: string}}\n      n: {{type: integer}}\n")
}

#[tokio::test]
async fn limits_are_settings_with_defaults() {
    let t = TestApp::new(PEOPLE).await;
    let l = &t.app.domain().settings.limits;
    assert_eq!(*l, eve_core::RequestLimits::default());
    assert_eq!(l.max_request_body, 16 * 1024 * 1024);
    assert_eq!(l.max_json_depth, 64);
    assert_eq!(l.max_bulk_items, 1000);
    assert_eq!(l.max_where_length, 32 * 1024);
    assert_eq!(l.max_where_terms, 500);
    assert_eq!(l.max_header_size, 64 * 1024);
    assert_eq!(l.client_timeout, 30);
    assert_eq!((l.write_timeout, l.shutdown_timeout), (30, 30));
    // Known keys (no warning), checked values.
    let raw = eve_core::settings::parse_str(
        &limited("MAX_REQUEST_BODY: 100\nMAX_JSON_DEPTH: 3\nMAX_BULK_ITEMS: 2\nMAX_WHERE_LENGTH: 50\nMAX_WHERE_TERMS: 4\nMAX_HEADER_SIZE: 100\nCLIENT_TIMEOUT: 2\nWRITE_TIMEOUT: 5\nSHUTDOWN_TIMEOUT: 7"),
        eve_core::settings::Format::Yaml,
    )
    .unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    assert!(domain.warnings.is_empty(), "{:?}", domain.warnings);
    let l = &domain.settings.limits;
    assert_eq!(
        (
            l.max_request_body,
            l.max_json_depth,
            l.max_bulk_items,
            l.max_where_length
        ),
        (100, 3, 2, 50)
    );
    // The head buffer cannot be smaller than 8 KiB.
    assert_eq!(
        (l.max_where_terms, l.max_header_size, l.client_timeout),
        (4, 8192, 2)
    );
    assert_eq!((l.write_timeout, l.shutdown_timeout), (5, 7));
    for bad in [
        "MAX_BULK_ITEMS: 0",
        "MAX_JSON_DEPTH: -1",
        "CLIENT_TIMEOUT: soon",
        "WRITE_TIMEOUT: 0",
        "SHUTDOWN_TIMEOUT: -3",
    ] {
        let raw =
            eve_core::settings::parse_str(&limited(bad), eve_core::settings::Format::Yaml).unwrap();
        let err = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap_err();
        let key = bad.split(':').next().unwrap();
        assert!(err.problems.iter().any(|p| p.path == key), "{bad}: {err:?}");
    }
}

#[tokio::test]
async fn body_size_limit_is_413_in_eves_shape() {
    let t = TestApp::new(&limited("MAX_REQUEST_BODY: 1000")).await;
    let body = format!(r#"{{"body": "{}"}}"#, "x".repeat(1000));
    let r = t.post("/texts", &body).await;
    assert_error(&r, 413, "body over the limit");
    let r = t
        .post("/texts", &format!(r#"{{"body": "{}"}}"#, "x".repeat(900)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (id, etag) = (
        r.json()["_id"].as_str().unwrap().to_string(),
        r.json()["_etag"].as_str().unwrap().to_string(),
    );
    for method in ["PATCH", "PUT"] {
        let r = t.edit(method, &format!("/texts/{id}"), &etag, &body).await;
        assert_error(&r, 413, method);
    }
    assert_eq!(stored(&t, "texts").await, 1);
}

/// A request body that fails as a broken chunked encoding does.
struct BrokenBody;

impl hyper::body::Body for BrokenBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid chunk size line",
        ))))
    }
}

#[tokio::test]
async fn body_framing_is_checked_in_process_too() {
    let t = TestApp::new(&limited("MAX_REQUEST_BODY: 1000")).await;
    let body = r#"{"body": "a"}"#;
    let ct = ("content-type", "application/json");
    // Codings other than chunked: 501 in Eve's shape, whatever the method.
    for (method, coding) in [("POST", "gzip, chunked"), ("POST", "br"), ("GET", "gzip")] {
        let r = t
            .send(
                method,
                "/texts",
                &[ct, ("transfer-encoding", coding)],
                Some(body),
            )
            .await;
        assert_error(&r, 501, coding);
    }
    // A declared length over the limit is refused on the header alone.
    let r = t
        .send(
            "POST",
            "/texts",
            &[ct, ("content-length", "1001")],
            Some(body),
        )
        .await;
    assert_error(&r, 413, "declared 1001");
    // A body that fails while it is read (bad chunks, cut short): 400.
    let req = Request::builder()
        .method("POST")
        .uri("/texts")
        .header("content-type", "application/json")
        .body(Body::new(BrokenBody))
        .unwrap();
    let resp = t.app.router().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let r = Resp {
        status,
        headers: Default::default(),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    };
    assert_error(&r, 400, "broken body");
    // `chunked` alone is fine: the HTTP layer has removed that framing.
    let r = t
        .send(
            "POST",
            "/texts",
            &[ct, ("transfer-encoding", "chunked")],
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(stored(&t, "texts").await, 1);
}

#[tokio::test]
async fn json_depth_limit_is_400() {
    let t = TestApp::new(&limited("MAX_JSON_DEPTH: 3\nALLOW_UNKNOWN: true")).await;
    let ok = r#"{"a": {"b": [1]}}"#;
    assert_eq!(t.post("/texts", ok).await.status, StatusCode::CREATED);
    for body in [
        r#"{"a": {"b": [[1]]}}"#,
        r#"[{"a": {"b": {}}}]"#,
        r#"{"a": {"b": {"c": {"d": 1}}}}"#,
    ] {
        assert_error(&t.post("/texts", body).await, 400, body);
    }
    // Beyond what the JSON parser accepts (128): still 400.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_error(&t.post("/texts", &deep).await, 400, "100k deep");
    assert_eq!(stored(&t, "texts").await, 1);
}

#[tokio::test]
async fn bulk_size_limit_is_400() {
    let t = TestApp::new(&limited("MAX_BULK_ITEMS: 3")).await;
    let docs = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!(r#"{{"n": {i}}}"#)).collect();
        format!("[{}]", items.join(","))
    };
    assert_eq!(t.post("/texts", &docs(3)).await.status, StatusCode::CREATED);
    let r = t.post("/texts", &docs(4)).await;
    assert_error(&r, 400, "4 items");
    assert!(r.json()["_error"]["message"]
        .as_str()
        .unwrap()
        .contains("MAX_BULK_ITEMS"));
    assert_eq!(stored(&t, "texts").await, 3);
}

#[tokio::test]
async fn where_length_and_terms_limits_are_400() {
    let t = TestApp::new(&limited("MAX_WHERE_LENGTH: 40\nMAX_WHERE_TERMS: 4")).await;
    let ok = r#"{"n": {"$in": [1, 2]}}"#;
    assert_eq!(
        t.get(&format!("/texts?where={}", enc(ok))).await.status,
        StatusCode::OK
    );
    for w in [
        r#"{"body": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
        r#"{"n": {"$in": [1, 2, 3, 4]}}"#,
        r#"{"$or": [{"n": 1}, {"n": 2}]}"#,
        "n==1 or n==2 or n==3",
    ] {
        let r = t.get(&format!("/texts?where={}", enc(w))).await;
        assert_error(&r, 400, w);
    }
}

#[tokio::test]
async fn client_regexes_run_in_linear_time() {
    // $regex allowed: the patterns below are classic catastrophic
    // backtracking cases; with a linear-time engine each answers at once.
    let t = TestApp::new(&limited("MONGO_QUERY_BLACKLIST: [\"$where\"]")).await;
    let subject = format!("{}!", "a".repeat(50_000));
    let r = t
        .post("/texts", &format!(r#"{{"body": "{subject}"}}"#))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for pattern in [
        r"^(a+)+$",
        r"^(a|aa)*$",
        r"^(a|a?)+$",
        r"(.*a){12}$",
        r"^(\w+\s?)*$",
    ] {
        let w = format!(
            r#"{{"body": {{"$regex": "{}"}}}}"#,
            pattern.replace('\\', "\\\\")
        );
        let r = t.get(&format!("/texts?where={}", enc(&w))).await;
        assert_eq!(r.status, StatusCode::OK, "{pattern}: {}", r.text);
        assert_eq!(r.json()["_meta"]["total"], 0, "{pattern}");
    }
    // Patterns too big to compile, or invalid, are the client's error.
    for pattern in ["((a{100}){100}){100}", "(unclosed", "a{99999999}"] {
        let w = format!(r#"{{"body": {{"$regex": "{pattern}"}}}}"#);
        let r = t.get(&format!("/texts?where={}", enc(&w))).await;
        assert_error(&r, 400, pattern);
    }
}

/// Serves `t` on a loopback port; the sender stops it.
async fn serve(t: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = t.app.clone();
    tokio::spawn(async move {
        app.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// Writes `request` (in parts, pausing `pause` after the first) and reads
/// until the server closes the connection; bounded by 60 s.
async fn raw_exchange(addr: &str, parts: &[&[u8]], pause: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    for (i, part) in parts.iter().enumerate() {
        if stream.write_all(part).await.is_err() {
            break;
        }
        if i == 0 && !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_to_end(&mut out),
    )
    .await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_size_and_uri_limits_over_a_socket() {
    let t = TestApp::new(&limited("MAX_HEADER_SIZE: 16384")).await;
    let (addr, stop) = serve(&t).await;
    let ok = raw_exchange(
        &addr,
        &[b"GET /texts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
        Default::default(),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let big = format!(
        "GET /texts HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(40_000)
    );
    let r = raw_exchange(&addr, &[big.as_bytes()], Default::default()).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    let many: String = (0..2000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = format!("GET /texts HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n");
    let r = raw_exchange(&addr, &[req.as_bytes()], Default::default()).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    // Garbage instead of HTTP.
    let r = raw_exchange(
        &addr,
        &[b"\x00\x01\x02 garbage\r\n\r\n"],
        Default::default(),
    )
    .await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 4"), "{r}");
    // The server still serves.
    let ok = raw_exchange(
        &addr,
        &[b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
        Default::default(),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_timed_out() {
    let t = TestApp::new(&limited("CLIENT_TIMEOUT: 1")).await;
    let (addr, stop) = serve(&t).await;
    // A head that never ends: the connection is closed.
    let r = raw_exchange(
        &addr,
        &[b"GET /texts HTTP/1.1\r\nHost: x\r\n"],
        Default::default(),
    )
    .await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 408"), "{r}");
    // A body that never arrives in full: 408 in Eve's shape, nothing written.
    let r = raw_exchange(
        &addr,
        &[b"POST /texts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"n\": 1"],
        Default::default(),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    let body = r.split_once("\r\n\r\n").unwrap().1;
    let j: Value = serde_json::from_str(body).unwrap();
    assert_eq!(j["_error"]["code"], 408);
    assert_eq!(stored(&t, "texts").await, 0);
    let _ = stop.send(());
}
