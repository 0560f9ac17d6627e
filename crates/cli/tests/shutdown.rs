//! Graceful shutdown (issue #6): on SIGTERM or SIGINT the server stops
//! accepting connections, finishes the request in flight and exits 0.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Server;

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  people:
    schema:
      name: {type: string, required: true}
"#;

fn start(dir: &std::path::Path) -> Server {
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, SETTINGS).unwrap();
    Server::start(&settings, &dir.join("data"))
}

/// Sends a POST in two halves with `between` run in the middle, and
/// returns the status line of the answer.
fn split_post(addr: &str, between: impl FnOnce()) -> String {
    let body = r#"{"name": "in flight"}"#;
    let (first, second) = body.split_at(10);
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        s,
        "POST /people HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    s.flush().unwrap();
    // Make sure the server is already reading this request.
    std::thread::sleep(Duration::from_millis(200));
    between();
    s.write_all(second.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.lines().next().unwrap_or_default().to_string()
}

fn stops_gracefully_on(sig: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let addr = server.addr.clone();
    let status_line = split_post(&addr, || {
        server.signal(sig);
        // New connections are refused while the request is in flight.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&addr).is_ok() {
            assert!(Instant::now() < deadline, "still accepting after {sig}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "exited before finishing the request in flight"
        );
    });
    assert!(status_line.starts_with("HTTP/1.1 201"), "{status_line}");
    let code = server.wait_exit();
    assert!(code.success(), "exit status {code:?}");
    // The acknowledged write is there after a restart.
    let mut server = start(dir.path());
    let addr = server.addr.clone();
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /people HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.contains("\"in flight\""), "{out}");
    server.signal("-TERM");
    assert!(server.wait_exit().success());
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    stops_gracefully_on("-TERM");
}

#[test]
fn sigint_finishes_the_request_in_flight_and_exits_0() {
    stops_gracefully_on("-INT");
}

/// The handlers are installed before the address is announced: a signal
/// sent the moment the listening line appears is still a graceful stop
/// (exit 0), never the default action that kills the process.
#[test]
fn a_signal_right_after_the_listening_line_is_a_graceful_stop() {
    for sig in ["-TERM", "-INT"] {
        for round in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let mut server = start(dir.path());
            server.signal(sig);
            let code = server.wait_exit();
            assert!(code.success(), "{sig}, round {round}: exit status {code:?}");
        }
    }
}
