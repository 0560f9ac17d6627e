//! Graceful shutdown (issue #6): on SIGTERM or SIGINT the server stops
//! accepting connections, finishes the request in flight and exits 0.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eve-rs");

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  people:
    schema:
      name: {type: string, required: true}
"#;

fn start(dir: &std::path::Path) -> (Child, String) {
    let settings = dir.join("settings.yaml");
    std::fs::write(&settings, SETTINGS).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            settings.to_str().unwrap(),
            "--port",
            "0",
            "--data-dir",
            dir.join("data").to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn eve-rs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected: {line}"))
        .to_string();
    (child, addr)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(code) = child.try_wait().unwrap() {
            return code;
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
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
    let (mut child, addr) = start(dir.path());
    let status_line = split_post(&addr, || {
        signal(&child, sig);
        // New connections are refused while the request is in flight.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&addr).is_ok() {
            assert!(Instant::now() < deadline, "still accepting after {sig}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "exited before finishing the request in flight"
        );
    });
    assert!(status_line.starts_with("HTTP/1.1 201"), "{status_line}");
    let code = wait_exit(&mut child);
    assert!(code.success(), "exit status {code:?}");
    // The acknowledged write is there after a restart.
    let (mut child, addr) = start(dir.path());
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /people HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.contains("\"in flight\""), "{out}");
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child).success());
}

#[test]
fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    stops_gracefully_on("-TERM");
}

#[test]
fn sigint_finishes_the_request_in_flight_and_exits_0() {
    stops_gracefully_on("-INT");
}
