//! Real-socket tests of the `eve-rs` binary: serving, `check`, and
//! durability of acknowledged writes across `kill -9`.

mod common;

use common::{request, Server, BIN};

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  people:
    schema:
      name: {type: string, required: true}
      n: {type: integer}
"#;

fn write_settings(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("settings.yaml");
    std::fs::write(&path, SETTINGS).unwrap();
    path
}

#[test]
fn serves_the_api_over_a_real_socket() {
    let dir = tempfile::tempdir().unwrap();
    let settings = write_settings(dir.path());
    let server = Server::start(&settings, &dir.path().join("data"));
    let (status, _, body) = request(&server.addr, "GET", "/", &[], "").unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"_links": {"child": [{"href": "people", "title": "people"}]}}"#
    );
    let (status, head, _) = request(
        &server.addr,
        "POST",
        "/people",
        &[("Content-Type", "application/json")],
        r#"{"name": "a"}"#,
    )
    .unwrap();
    assert_eq!(status, 201);
    assert!(head
        .to_ascii_lowercase()
        .contains(&format!("location: http://{}/people/", server.addr)));
    let (_, get_head, get_body) = request(&server.addr, "GET", "/people", &[], "").unwrap();
    let (status, head, body) = request(&server.addr, "HEAD", "/people", &[], "").unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, "");
    let len = |h: &str| {
        h.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_string)
        })
    };
    assert_eq!(len(&head), Some(get_body.len().to_string()));
    assert_eq!(len(&get_head), Some(get_body.len().to_string()));
}

#[test]
fn check_reports_every_problem_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "PAGINATION_LIMIT: lots\nRESOURCE_METHODS: [FETCH]\nDOMAIN: {people: {}}\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PAGINATION_LIMIT"), "{err}");
    assert!(err.contains("RESOURCE_METHODS"), "{err}");

    let good = write_settings(dir.path());
    let out = Command::new(BIN)
        .args(["check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_refuses_invalid_settings() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "DOMAIN: {people: {resource_methods: [FETCH]}}\n").unwrap();
    let out = Command::new(BIN)
        .args([
            "serve",
            bad.to_str().unwrap(),
            "--port",
            "0",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DOMAIN.people"));
}

/// Issue #2 acceptance: a stream of POSTs, `kill -9` mid-way, restart, and
/// every document that got a 201 is there.
#[test]
fn every_acknowledged_post_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let settings = write_settings(dir.path());
    let data = dir.path().join("data");
    let mut server = Server::start(&settings, &data);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let addr = server.addr.clone();
            let acked = acked.clone();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let body = format!(r#"{{"name": "w{w}-{i}", "n": {i}}}"#);
                    match request(
                        &addr,
                        "POST",
                        "/people",
                        &[("Content-Type", "application/json")],
                        &body,
                    ) {
                        Ok((201, _, resp)) => {
                            let v: serde_json::Value = match serde_json::from_str(&resp) {
                                Ok(v) => v,
                                Err(_) => break, // cut mid-response: not acknowledged
                            };
                            acked
                                .lock()
                                .unwrap()
                                .push(v["_id"].as_str().unwrap().to_string());
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();
    // Let some writes land, then pull the plug.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 200,
        "only {} writes acknowledged before the kill",
        acked.len()
    );

    let server = Server::start(&settings, &data);
    for id in &acked {
        let (status, _, body) =
            request(&server.addr, "GET", &format!("/people/{id}"), &[], "").unwrap();
        assert_eq!(status, 200, "acknowledged document {id} lost: {body}");
    }
    let (_, _, body) = request(&server.addr, "GET", "/people?max_results=1", &[], "").unwrap();
    let total = serde_json::from_str::<serde_json::Value>(&body).unwrap()["_meta"]["total"]
        .as_u64()
        .unwrap();
    assert!(total as usize >= acked.len());
}

#[test]
fn shipped_examples_pass_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for example in [
        "examples/quickstart/settings.yaml",
        "examples/resources/settings.yaml",
    ] {
        let out = Command::new(BIN)
            .args(["check", root.join(example).to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn version_and_help() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("eve-rs {}", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--host", "--port", "--data-dir"] {
        assert!(help.contains(flag), "{help}");
    }
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let settings = write_settings(dir.path());
    let server = Server::start(&settings, &dir.path().join("data"));
    let stream = std::net::TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    for _ in 0..3 {
        write!(writer, "GET / HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length: ") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert!(String::from_utf8(body).unwrap().contains("people"));
    }
}
