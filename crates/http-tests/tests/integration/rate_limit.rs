//! Rate limiting with the in-process store (features.md §33 and the
//! deliberate deviation "Rate-limit window" of the spec README;
//! docs/rate-limiting.md): the `X-RateLimit-*` headers, the 429 in Eve's
//! shape without them, the endpoints that are not counted, one counter per
//! client shared by the methods with each method's own limit, the fixed
//! window, keys per client IP (forwarded only by trusted proxies); the cap
//! on requests in flight per client over a real socket; and absolute
//! `Location` URLs behind a trusted proxy. Runs on every data layer
//! (`EVE_TEST_BACKEND`).

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::common::{Resp, TestApp};

const SETTINGS: &str = r#"
RATE_LIMIT_GET: [3, 60]
RATE_LIMIT_POST: [4, 60]
RATE_LIMIT_PUT: [10, 60]
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
SCHEMA_ENDPOINT: schema
TRUSTED_PROXIES: [10.0.0.0/8]
DOMAIN:
  people:
    schema: {name: {type: string}}
"#;

/// The `X-RateLimit-*` headers of an answer: (remaining, limit, reset).
fn rate(r: &Resp) -> Option<(u64, u64, u64)> {
    let n = |h: &str| r.header(h).map(|v| v.parse::<u64>().expect("a number"));
    match (
        n("x-ratelimit-remaining"),
        n("x-ratelimit-limit"),
        n("x-ratelimit-reset"),
    ) {
        (Some(a), Some(b), Some(c)) => Some((a, b, c)),
        (None, None, None) => None,
        other => panic!("some rate-limit headers only: {other:?}"),
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn assert_429(r: &Resp) {
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_error": {"code": 429, "message": "Rate limit exceeded"}})
    );
    assert_eq!(rate(r), None, "no rate-limit headers on a 429");
}

#[tokio::test]
async fn headers_count_down_then_429_in_eves_shape() {
    let t = TestApp::new(SETTINGS).await;
    let before = unix_now();
    let mut reset = 0;
    for remaining in [2, 1, 0] {
        let r = t.get("/people").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let (left, limit, at) = rate(&r).expect("rate-limit headers");
        assert_eq!((left, limit), (remaining, 3));
        assert!(
            (before + 60..=unix_now() + 60).contains(&at),
            "reset {at} is now + 60"
        );
        // a fixed window: every answer names the same end
        assert!(reset == 0 || reset == at, "{reset} then {at}");
        reset = at;
    }
    assert_429(&t.get("/people").await);
    // home and item reads count against the same budget
    assert_429(&t.get("/").await);
    assert_429(&t.get("/people/5f0000000000000000000001").await);
}

#[tokio::test]
async fn errors_carry_the_headers_and_items_and_home_are_counted() {
    let t = TestApp::new(SETTINGS).await;
    let r = t.get("/people/5f0000000000000000000001").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(rate(&r).map(|r| r.0), Some(2));
    let r = t.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(rate(&r).map(|r| r.0), Some(1));
    // a 400 is counted too
    let r = t.get("/people?where=nope").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(rate(&r).map(|r| r.0), Some(0));
}

#[tokio::test]
async fn exempt_endpoints_are_neither_counted_nor_marked() {
    let t = TestApp::new(
        "RATE_LIMIT_GET: [2, 60]\nRATE_LIMIT_DELETE: [5, 60]\nRATE_LIMIT_OPTIONS: [1, 60]\n\
         RATE_LIMIT_PATCH: [1, 60]\nRESOURCE_METHODS: [GET, POST, DELETE]\nITEM_METHODS: [GET, DELETE]\n\
         SCHEMA_ENDPOINT: schema\nDOMAIN: {people: {schema: {name: {type: string}}}}",
    )
    .await;
    for _ in 0..3 {
        for (method, uri, status) in [
            ("OPTIONS", "/people", StatusCode::OK),
            ("DELETE", "/people", StatusCode::NO_CONTENT),
            ("GET", "/schema", StatusCode::OK),
            ("GET", "/schema/people", StatusCode::OK),
            ("GET", "/nowhere", StatusCode::NOT_FOUND),
            // not enabled: 405 before the endpoint, as in Eve
            (
                "PATCH",
                "/people/5f0000000000000000000001",
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            // HEAD has a limit of its own (none here), not GET's
            ("HEAD", "/people", StatusCode::OK),
        ] {
            let r = t.send(method, uri, &[], None).await;
            assert_eq!(r.status, status, "{method} {uri}: {}", r.text);
            assert_eq!(rate(&r), None, "{method} {uri}");
        }
    }
    let r = t.get("/people").await;
    assert_eq!(rate(&r).map(|r| r.0), Some(1), "nothing above was counted");
    // item DELETE is counted, on the same counter, with DELETE's limit
    // (a missing document is 204, as in Eve)
    let r = t
        .send("DELETE", "/people/5f0000000000000000000001", &[], None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(rate(&r).map(|r| (r.0, r.1)), Some((3, 5)));
}

#[tokio::test]
async fn one_counter_per_client_each_method_with_its_limit() {
    let t = TestApp::new(SETTINGS).await;
    let r = t.get("/people").await;
    assert_eq!(rate(&r).map(|r| (r.0, r.1)), Some((2, 3)));
    let (id, etag) = t.create("/people", r#"{"name": "a"}"#).await;
    // the POST was the second request of the client: 4 - 2 left
    let uri = format!("/people/{id}");
    let r = t.edit("PUT", &uri, &etag, r#"{"name": "b"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(rate(&r).map(|r| (r.0, r.1)), Some((7, 10)));
    // PATCH has no limit: served, not counted, no headers
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t.edit("PATCH", &uri, &etag, r#"{"name": "c"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(rate(&r), None);
    // the fourth counted request is over GET's limit of 3, within POST's 4
    assert_429(&t.get(&uri).await);
    let r = t.post("/people", r#"{"name": "d"}"#).await;
    assert_429(&r);
    let r = t
        .send(
            "PUT",
            &uri,
            &[("content-type", "application/json")],
            Some(r#"{"name": "e"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED, "{}", r.text);
    assert_eq!(rate(&r).map(|r| r.0), Some(4));
}

#[tokio::test]
async fn the_limit_is_the_one_of_the_method_after_the_override() {
    let t = TestApp::new(SETTINGS).await;
    // a GET carrying X-HTTP-Method-Override: POST is a POST (Eve rewrites
    // the method before anything else): POST's limit of 4
    let r = t
        .send(
            "GET",
            "/people",
            &[
                ("x-http-method-override", "POST"),
                ("content-type", "application/json"),
            ],
            Some(r#"{"name": "a"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(rate(&r).map(|r| (r.0, r.1)), Some((3, 4)));
}

#[tokio::test]
async fn clients_are_counted_apart_and_forwarded_only_by_trusted_proxies() {
    let t = TestApp::new(SETTINGS).await;
    let get = |peer: &'static str, xff: Option<&'static str>| {
        let t = &t;
        async move {
            let headers: Vec<(&str, &str)> =
                xff.map(|x| ("x-forwarded-for", x)).into_iter().collect();
            t.send_from(Some(peer), "GET", "/people", &headers, None)
                .await
        }
    };
    for _ in 0..3 {
        assert_eq!(get("5.6.7.8", None).await.status, StatusCode::OK);
    }
    assert_429(&get("5.6.7.8", None).await);
    // a client cannot dodge its limit with X-Forwarded-For ...
    assert_429(&get("5.6.7.8", Some("9.9.9.9")).await);
    // ... another client has its own budget
    assert_eq!(rate(&get("5.6.7.9", None).await).map(|r| r.0), Some(2));
    // behind a trusted proxy, each forwarded client has its own
    assert_429(&get("10.0.0.1", Some("5.6.7.8")).await);
    assert_eq!(
        rate(&get("10.0.0.1", Some("1.1.1.1")).await).map(|r| r.0),
        Some(2)
    );
}

#[tokio::test]
async fn the_window_is_fixed_from_the_first_request() {
    let t =
        TestApp::new("RATE_LIMIT_GET: [2, 3]\nDOMAIN: {people: {schema: {name: {type: string}}}}")
            .await;
    let first = t.get("/people").await;
    let (_, _, reset) = rate(&first).unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let second = t.get("/people").await;
    assert_eq!(rate(&second), Some((0, 2, reset)), "not pushed back");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_429(&t.get("/people").await);
    // Eve would push the end to now + 3 s on that refused request; the
    // fixed window ends 3 s after the first request.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = t.get("/people").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(rate(&r).map(|r| r.0), Some(1), "a new window");
}

#[tokio::test]
async fn settings_are_checked_with_their_key_paths() {
    for (yaml, expected) in [
        (
            "RATE_LIMIT_GET: [0, 60]\nDOMAIN: {}",
            "RATE_LIMIT_GET.0: requests: expected a positive integer, found 0",
        ),
        (
            "RATE_LIMIT_PUT: 5\nDOMAIN: {}",
            "RATE_LIMIT_PUT: expected null or [requests, seconds], found an integer",
        ),
        (
            "RATE_LIMIT_STORE: memcached://x\nDOMAIN: {}",
            "RATE_LIMIT_STORE: expected 'memory' or a redis:// or rediss:// URL, found 'memcached://x'",
        ),
        (
            "MAX_CONCURRENT_REQUESTS_PER_CLIENT: -1\nDOMAIN: {}",
            "MAX_CONCURRENT_REQUESTS_PER_CLIENT: expected a positive integer or null (no cap), found -1",
        ),
    ] {
        let raw = eve_core::settings::parse_str(yaml, eve_core::settings::Format::Yaml).unwrap();
        let err = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[tokio::test]
async fn location_follows_forwarded_scheme_and_host_only_from_trusted_proxies() {
    let t = TestApp::new(SETTINGS).await;
    let headers = [
        ("content-type", "application/json"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "api.example.org"),
    ];
    let body = Some(r#"{"name": "a"}"#);
    let trusted = t
        .send_from(Some("10.0.0.1"), "POST", "/people", &headers, body)
        .await;
    assert_eq!(trusted.status, StatusCode::CREATED, "{}", trusted.text);
    let id = trusted.json()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        trusted.header("location"),
        Some(format!("https://api.example.org/people/{id}").as_str())
    );
    let direct = t
        .send_from(Some("5.6.7.8"), "POST", "/people", &headers, body)
        .await;
    let id = direct.json()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        direct.header("location"),
        Some(format!("http://localhost:5000/people/{id}").as_str())
    );
}

/// Sends the head of a POST whose body never comes: the request stays in
/// flight (reading its body) until the connection sends the rest.
async fn stalled_post(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = "POST /people HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 13\r\n\r\n{\"name\":";
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

async fn answer(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&out).contains("\r\n\r\n{") && out.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer: {}", String::from_utf8_lossy(&out));
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_at_its_cap_of_requests_in_flight_gets_429_over_a_socket() {
    let t = TestApp::new(
        "MAX_CONCURRENT_REQUESTS_PER_CLIENT: 2\nRESOURCE_METHODS: [GET, POST]\n\
         DOMAIN: {people: {schema: {name: {type: string}}}}",
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(t.app.clone().serve(listener, async {
        let _ = stopped.await;
    }));
    let mut first = stalled_post(addr).await;
    let mut second = stalled_post(addr).await;
    // let the server start both requests
    tokio::time::sleep(Duration::from_millis(300)).await;
    let third = stalled_post(addr).await;
    let refused = answer(third).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    let body = refused.split_once("\r\n\r\n").unwrap().1;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).unwrap(),
        json!({"_status": "ERR", "_error": {"code": 429,
               "message": "Too many concurrent requests from this client"}})
    );
    // the first two complete, and then the client may send again
    first.write_all(b" \"a\"}").await.unwrap();
    assert!(answer(first).await.starts_with("HTTP/1.1 201"));
    second.write_all(b" \"b\"}").await.unwrap();
    assert!(answer(second).await.starts_with("HTTP/1.1 201"));
    let mut again = stalled_post(addr).await;
    again.write_all(b" \"c\"}").await.unwrap();
    assert!(answer(again).await.starts_with("HTTP/1.1 201"));
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_verified_user_has_its_own_budget_and_wrong_credentials_spend_the_address() {
    use super::auth::{credentials, settings, ALICE, BOB};
    let t = TestApp::new(&format!(
        "RATE_LIMIT_GET: [2, 60]\nRATE_LIMIT_POST: [5, 60]\n{}",
        settings("basic")
    ))
    .await;
    let accounts = t.app.resource("accounts").expect("accounts");
    for a in [&ALICE, &BOB] {
        accounts.insert(a.doc()).await.expect("account inserted");
    }
    let alice = credentials("basic", ALICE.name, ALICE.password, "GET", "/posts", "");
    let forged = credentials("basic", ALICE.name, "wrong", "GET", "/posts", "");
    async fn get(t: &TestApp, auth: Option<&str>) -> Resp {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        t.send_from(Some("5.6.7.8"), "GET", "/posts", &headers, None)
            .await
    }
    // alice, verified, is counted as herself
    assert_eq!(rate(&get(&t, Some(&alice)).await).map(|r| r.0), Some(1));
    assert_eq!(rate(&get(&t, Some(&alice)).await).map(|r| r.0), Some(0));
    // the same address without credentials has its own budget
    let r = get(&t, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(rate(&r).map(|r| r.0), Some(1));
    // a wrong password names alice but is not her: the address pays
    let r = get(&t, Some(&forged)).await;
    assert_eq!(r.status, StatusCode::OK, "public GET: {}", r.text);
    assert_eq!(rate(&r).map(|r| r.0), Some(0));
    assert_429(&get(&t, Some(&alice)).await);
    // a 401 is counted (on the address: POST's limit of 5) and carries
    // the headers, with its challenge
    let r = t
        .send_from(
            Some("5.6.7.8"),
            "POST",
            "/notes",
            &[("content-type", "application/json")],
            Some(r#"{"text": "x"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(r.header("www-authenticate").is_some());
    assert_eq!(rate(&r).map(|r| (r.0, r.1)), Some((2, 5)));
}
