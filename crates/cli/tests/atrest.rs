//! Data at rest through the binary: a graceful stop leaves the main file
//! complete, and `serve` and `check-store` refuse a store whose WAL was
//! lost after a crash, saying so, instead of serving it with writes
//! missing.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{request, Server, BIN};

const SETTINGS: &str =
    "RESOURCE_METHODS: [GET, POST]\nDOMAIN: {notes: {schema: {n: {type: integer}}}}\n";

fn post_notes(addr: &str, count: usize) {
    for n in 0..count {
        let (status, _, body) = request(
            addr,
            "POST",
            "/notes",
            &[("Content-Type", "application/json")],
            &format!(r#"{{"n": {n}}}"#),
        )
        .expect("POST");
        assert_eq!(status, 201, "{body}");
    }
}

fn total(addr: &str) -> u64 {
    let (status, _, body) = request(addr, "GET", "/notes?max_results=1", &[], "").expect("GET");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["_meta"]["total"].as_u64().expect("total")
}

fn wal(data: &Path) -> std::path::PathBuf {
    data.join("eve.sqlite3-wal")
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, SETTINGS).expect("settings");
    let data = dir.path().join("data");
    (dir, settings, data)
}

#[test]
fn a_graceful_stop_leaves_every_write_in_the_main_file() {
    let (_dir, settings, data) = setup();
    let mut server = Server::start(&settings, &data);
    post_notes(&server.addr, 30);
    // A read attaches the readers to the WAL: the writer's connection is
    // then not the last one, and closing it alone does not checkpoint.
    assert_eq!(total(&server.addr), 30);
    server.signal("-TERM");
    assert!(server.wait_exit().success());
    let wal_len = std::fs::metadata(wal(&data)).map_or(0, |m| m.len());
    assert_eq!(
        wal_len, 0,
        "the WAL still holds writes after a graceful stop"
    );
    let state = std::fs::read_to_string(data.join("eve.state")).expect("state file");
    assert!(state.contains("clean 1"), "{state}");
    let _ = std::fs::remove_file(wal(&data));
    let _ = std::fs::remove_file(data.join("eve.sqlite3-shm"));
    let server = Server::start(&settings, &data);
    assert_eq!(total(&server.addr), 30);
}

#[test]
fn a_wal_lost_after_a_crash_stops_serve_and_check_store_with_a_clear_message() {
    let (_dir, settings, data) = setup();
    let mut server = Server::start(&settings, &data);
    post_notes(&server.addr, 30);
    server.kill9();
    let kept = std::fs::read(wal(&data)).expect("a WAL after the crash");
    assert!(!kept.is_empty());
    std::fs::remove_file(wal(&data)).expect("remove the WAL");
    let mut serve = Command::new(BIN)
        .args(["serve", settings.to_str().unwrap(), "--port", "0"])
        .args(["--data-dir", data.to_str().unwrap()])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run serve");
    // A server that starts would run until killed: wait at most 20 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = serve.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = serve.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = serve.wait_with_output().expect("output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        status.is_some_and(|s| !s.success()),
        "a store with a lost WAL was served: {err}"
    );
    assert!(
        err.contains("eve.sqlite3-wal is missing") && err.contains("Not serving"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    let check = Command::new(BIN)
        .args(["check-store", "--data-dir", data.to_str().unwrap()])
        .output()
        .expect("run check-store");
    assert!(!check.status.success());
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("eve.sqlite3-wal is missing"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Nothing was changed by refusing: with the WAL back, all is there.
    std::fs::write(wal(&data), kept).expect("restore the WAL");
    let server = Server::start(&settings, &data);
    assert_eq!(total(&server.addr), 30);
}
