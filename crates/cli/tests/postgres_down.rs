//! `eve-rs serve` on a PostgreSQL server that is down at start-up
//! (issue #11): it starts, answers 503 in Eve's shape without the URL or
//! its password, and stops cleanly on SIGTERM. Needs no server (nothing
//! listens on port 1).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{request, Server, BIN};

#[test]
fn serve_starts_while_its_postgres_server_is_down_and_answers_503_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.yaml");
    std::fs::write(
        &file,
        "RESOURCE_METHODS: [GET, POST]\nDOMAIN: {people: {schema: {name: {type: string, unique: true}}}}\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let err_path = dir.path().join("stderr");
    let url = "postgres://postgres:s3cr3t@127.0.0.1:1/test?connect_timeout=2";
    let mut child = Command::new(BIN)
        .args([
            "serve",
            file.to_str().unwrap(),
            "--port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
            "--data-layer",
            url,
        ])
        .env_remove("EVE_DATA_LAYER")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn eve-rs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(addr) = line.trim().strip_prefix("listening on http://") else {
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "did not start: {line}{}",
            std::fs::read_to_string(&err_path).unwrap()
        );
    };
    let mut server = Server {
        child,
        addr: addr.to_string(),
    };
    for (method, body) in [("GET", ""), ("POST", r#"{"name": "a"}"#)] {
        let (status, _, body) = request(
            &server.addr,
            method,
            "/people",
            &[("Content-Type", "application/json")],
            body,
        )
        .unwrap();
        assert_eq!(status, 503, "{method}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["_status"], "ERR", "{body}");
        assert_eq!(v["_error"]["code"], 503, "{body}");
        assert!(!body.contains("127.0.0.1"), "{body}");
        assert!(!body.contains("s3cr3t"), "{body}");
        assert!(!body.contains("postgres://"), "{body}");
    }
    server.signal("-TERM");
    assert!(server.wait_exit().success());
    let log = std::fs::read_to_string(&err_path).unwrap();
    assert!(!log.contains("s3cr3t"), "{log}");
    assert!(
        !data.exists(),
        "the PostgreSQL layer created the embedded store"
    );
}
