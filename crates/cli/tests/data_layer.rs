//! `--data-layer` and `EVE_DATA_LAYER`: the command line picks the data
//! layer instead of the settings' `DATA_LAYER`; a layer this build cannot
//! open is refused before anything is read or created.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{request, BIN};

const SETTINGS: &str =
    "RESOURCE_METHODS: [GET, POST]\nDOMAIN: {people: {schema: {name: {type: string}}}}\n";

/// Settings that ask for MongoDB (a server that is not there).
const MONGO_SETTINGS: &str = "DATA_LAYER: mongo\nMONGO_URI: mongodb://db.example:27017/api\nRESOURCE_METHODS: [GET, POST]\nDOMAIN: {people: {schema: {name: {type: string}}}}\n";

/// Runs the binary with `args` and extra environment variables; it must
/// exit within 20 s (a refusal exits at once). Returns (success, stdout,
/// stderr).
fn run(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("EVE_DATA_LAYER")
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn eve-rs");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("eve-rs {args:?} did not exit (it should have refused to start)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    (status.success(), read(&out_path), read(&err_path))
}

/// Writes `text` as settings.yaml in `dir`.
fn settings(dir: &Path, text: &str) -> String {
    let path = dir.join("settings.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn an_unknown_data_layer_is_refused_with_what_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let file = settings(dir.path(), SETTINGS);
    let (ok, _, err) = run(
        &["serve", &file, "--port", "0", "--data-layer", "sqlite"],
        &[],
    );
    assert!(!ok);
    assert_eq!(
        err.trim_end(),
        "eve-rs: --data-layer: unknown data layer 'sqlite' (expected embedded, mongodb://…, \
         mongodb+srv://…, postgres://… or postgresql://…)"
    );
    let (ok, _, err) = run(
        &["serve", &file, "--port", "0"],
        &[("EVE_DATA_LAYER", "mysql://u:pw@h/db")],
    );
    assert!(!ok);
    assert!(
        err.starts_with("eve-rs: EVE_DATA_LAYER: unknown data layer 'mysql://…'"),
        "{err}"
    );
}

#[test]
fn check_store_reports_an_unreachable_postgres_and_checks_the_embedded_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = run(
        &[
            "check-store",
            "--data-dir",
            data.to_str().unwrap(),
            "--data-layer",
            "postgresql://u:s3cr3t@127.0.0.1:1/api?connect_timeout=2",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("unavailable"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    assert!(!data.exists());
    // `embedded` is what check-store checks without the switch (crash.rs
    // checks real stores): a missing directory is still reported.
    let (ok, _, err) = run(
        &[
            "check-store",
            "--data-dir",
            data.to_str().unwrap(),
            "--data-layer",
            "embedded",
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("no such directory"), "{err}");
}

/// Starts `eve-rs serve` with extra arguments and environment, waits for
/// its "listening" line and returns the child, its address and its stderr
/// file.
fn start(
    file: &str,
    data: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
    err_path: &Path,
) -> (common::Server, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            file,
            "--port",
            "0",
            "--data-dir",
            data.to_str().unwrap(),
        ])
        .args(extra)
        .env_remove("EVE_DATA_LAYER")
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(err_path).unwrap())
        .spawn()
        .expect("spawn eve-rs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "did not start: {}",
                std::fs::read_to_string(err_path).unwrap()
            )
        })
        .to_string();
    (
        common::Server {
            child,
            addr: addr.clone(),
        },
        addr,
    )
}

#[test]
fn embedded_on_the_command_line_overrides_the_settings_data_layer() {
    let dir = tempfile::tempdir().unwrap();
    let file = settings(dir.path(), MONGO_SETTINGS);
    // `--data-layer embedded` wins over the file, and over the environment.
    let data = dir.path().join("data");
    let err_path = dir.path().join("stderr");
    let (mut server, addr) = start(
        &file,
        &data,
        &["--data-layer", "embedded"],
        &[("EVE_DATA_LAYER", "mongodb://db.example/api")],
        &err_path,
    );
    let (status, _, body) = request(
        &addr,
        "POST",
        "/people",
        &[("Content-Type", "application/json")],
        r#"{"name": "ada"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = request(&addr, "GET", "/people", &[], "").unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["_items"][0]["name"], "ada", "{body}");
    server.signal("-TERM");
    assert!(server.wait_exit().success());
    // The documents went to the embedded store in --data-dir, and the
    // file's MongoDB keys were reported as ignored.
    assert!(std::fs::read_dir(&data).unwrap().next().is_some());
    let log = std::fs::read_to_string(&err_path).unwrap();
    assert!(log.contains("MONGO_URI"), "{log}");
    // check-store finds that store sound through the same switch.
    let (ok, out, err) = run(
        &[
            "check-store",
            "--data-dir",
            data.to_str().unwrap(),
            "--data-layer",
            "embedded",
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim_end(), format!("{}: OK", data.display()));

    // EVE_DATA_LAYER alone does the same.
    let data2 = dir.path().join("data2");
    let (mut server, addr) = start(
        &file,
        &data2,
        &[],
        &[("EVE_DATA_LAYER", "embedded")],
        &err_path,
    );
    let (status, _, body) = request(&addr, "GET", "/people", &[], "").unwrap();
    assert_eq!(status, 200, "{body}");
    server.signal("-TERM");
    assert!(server.wait_exit().success());
}

#[test]
fn check_reads_the_settings_as_serve_would_with_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let file = settings(dir.path(), MONGO_SETTINGS);
    let (ok, out, err) = run(&["check", &file], &[]);
    assert!(ok, "{err}");
    assert!(!out.contains("warning: MONGO_URI"), "{out}");
    let (ok, out, err) = run(&["check", &file, "--data-layer", "embedded"], &[]);
    assert!(ok, "{err}");
    assert!(out.contains("warning: MONGO_URI"), "{out}");
    assert!(out.contains(": OK (1 resources)"), "{out}");
    // PostgreSQL is built (issue #11): the override is taken, its URL
    // standing for POSTGRES_URI.
    let file = settings(dir.path(), SETTINGS);
    let (ok, out, err) = run(&["check", &file], &[("EVE_DATA_LAYER", "postgres://h/db")]);
    assert!(ok, "{err}");
    assert!(out.contains(": OK (1 resources)"), "{out}");
}

#[test]
fn help_documents_the_data_layer_switch() {
    for cmd in ["serve", "check-store", "check"] {
        let (ok, out, _) = run(&[cmd, "--help"], &[]);
        assert!(ok);
        assert!(out.contains("--data-layer <URL>"), "{out}");
        assert!(out.contains("EVE_DATA_LAYER"), "{out}");
        assert!(out.contains("postgresql://"), "{out}");
    }
}

#[test]
fn serve_starts_while_its_mongodb_server_is_down_and_answers_503_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = settings(dir.path(), SETTINGS);
    let data = dir.path().join("data");
    let err_path = dir.path().join("stderr");
    // Nothing listens on port 1.
    let url = "mongodb://admin:s3cr3t@127.0.0.1:1/api?serverSelectionTimeoutMS=300";
    let (mut server, addr) = start(&file, &data, &["--data-layer", url], &[], &err_path);
    let (status, _, body) = request(&addr, "GET", "/people", &[], "").unwrap();
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["_status"], "ERR", "{body}");
    assert_eq!(v["_error"]["code"], 503, "{body}");
    assert!(!body.contains("127.0.0.1"), "{body}");
    server.signal("-TERM");
    assert!(server.wait_exit().success());
    let log = std::fs::read_to_string(&err_path).unwrap();
    assert!(!log.contains("s3cr3t"), "{log}");
    assert!(
        !data.exists(),
        "the MongoDB layer created the embedded store"
    );
}
