//! Abandoned reads over real sockets (docs/robustness.md): when a client
//! closes its connection while its slow GET runs, the server drops the
//! request, the read stops and its reader serves the next request.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::Instant;

use common::{request, Server};

const SETTINGS: &str = r#"
MONGO_QUERY_BLACKLIST: ["$where"]
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  texts:
    schema:
      body: {type: string}
      n: {type: integer}
"#;

/// `where` as a query-string value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn closing_the_connection_of_a_slow_get_frees_its_reader() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, SETTINGS).unwrap_or_else(|e| panic!("{e}"));
    let server = Server::start(&settings, &dir.path().join("data"));
    let addr = server.addr.clone();
    for bulk in 0..4 {
        let docs: Vec<String> = (0..500)
            .map(|i| {
                format!(
                    r#"{{"n": {}, "body": "{}"}}"#,
                    bulk * 500 + i,
                    "a".repeat(2048)
                )
            })
            .collect();
        let body = format!("[{}]", docs.join(","));
        let headers = [("Content-Type", "application/json")];
        match request(&addr, "POST", "/texts", &headers, &body) {
            Ok((201, ..)) => {}
            other => panic!("fill: {other:?}"),
        }
    }
    // A GET scanning every document with a regex (page and total).
    let slow = format!(
        "/texts?where={}",
        enc(r#"{"body": {"$regex": "[a-z]{1,30}[0-9]"}}"#)
    );
    let start = Instant::now();
    assert!(matches!(
        request(&addr, "GET", &slow, &[], ""),
        Ok((200, ..))
    ));
    let solo = start.elapsed();
    // Four slow GETs take every reader; their clients hang up.
    let mut clients = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("{e}"));
        let req = format!("GET {slow} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        stream
            .write_all(req.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        clients.push(stream);
    }
    std::thread::sleep(solo / 10);
    drop(clients);
    // A plain GET is answered long before the abandoned ones could end.
    let start = Instant::now();
    let plain = format!("/texts?where={}", enc(r#"{"n": 3}"#));
    match request(&addr, "GET", &plain, &[], "") {
        Ok((200, _, body)) => assert!(body.contains(r#""n": 3"#), "{body}"),
        other => panic!("plain GET: {other:?}"),
    }
    let waited = start.elapsed();
    assert!(
        waited < solo / 2,
        "a plain GET waited {waited:?} behind abandoned ones (one slow GET alone: {solo:?})"
    );
}
