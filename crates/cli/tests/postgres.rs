//! Two eve-rs processes on one PostgreSQL database (issue #11, point 5):
//! a write acknowledged by one is read by the next request on the other,
//! conditional writes racing through both have exactly one winner, and a
//! unique field stays unique.
//!
//! The server comes from `EVE_TEST_POSTGRES_URI` (for instance
//! `postgres://postgres@127.0.0.1:5432/test`); without it the test skips
//! with a message, except under `CI=true`, where it fails. Both processes
//! use one fresh schema, dropped at the end.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{request, Server};
use serde_json::Value;

const ROUNDS: usize = 12;

fn postgres_uri() -> Option<String> {
    match std::env::var("EVE_TEST_POSTGRES_URI") {
        Ok(uri) if !uri.trim().is_empty() => Some(uri),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but EVE_TEST_POSTGRES_URI is not set: the PostgreSQL tests must run in CI"
            );
            eprintln!(
                "skipped: set EVE_TEST_POSTGRES_URI (e.g. postgres://postgres@127.0.0.1:5432/test) to run the two-process PostgreSQL test"
            );
            None
        }
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

fn post(addr: &str, body: &str) -> (u16, String) {
    let (status, _, body) = request(
        addr,
        "POST",
        "/people",
        &[("Content-Type", "application/json")],
        body,
    )
    .unwrap();
    (status, body)
}

fn get(addr: &str, path: &str) -> (u16, Value) {
    let (status, _, body) = request(addr, "GET", path, &[], "").unwrap();
    (status, json(&body))
}

fn patch(addr: &str, id: &str, etag: &str, body: &str) -> (u16, String) {
    let (status, _, body) = request(
        addr,
        "PATCH",
        &format!("/people/{id}"),
        &[("Content-Type", "application/json"), ("If-Match", etag)],
        body,
    )
    .unwrap();
    (status, body)
}

/// Runs `a` and `b` at the same time on two threads.
fn race<T: Send>(a: impl FnOnce() -> T + Send, b: impl FnOnce() -> T + Send) -> (T, T) {
    std::thread::scope(|s| {
        let ta = s.spawn(a);
        let tb = s.spawn(b);
        (ta.join().unwrap(), tb.join().unwrap())
    })
}

fn start(settings: &Path, data: &Path) -> Server {
    Server::start(settings, data)
}

#[test]
fn two_processes_on_one_database_keep_conditional_writes_and_unique_values() {
    let Some(uri) = postgres_uri() else { return };
    let schema = format!(
        "eve_cli_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let _drop_schema = eve_store_postgres::TempSchema::new(&uri, &schema);
    let sep = if uri.contains('?') { '&' } else { '?' };
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.yaml");
    std::fs::write(
        &settings,
        format!(
            "DATA_LAYER: postgres\nPOSTGRES_URI: \"{uri}{sep}eve_schema={schema}\"\n\
             RESOURCE_METHODS: [GET, POST]\nITEM_METHODS: [GET, PATCH, DELETE]\n\
             DOMAIN: {{people: {{schema: {{name: {{type: string, unique: true}}, n: {{type: integer}}}}}}}}\n"
        ),
    )
    .unwrap();
    let a = start(&settings, &dir.path().join("a"));
    let b = start(&settings, &dir.path().join("b"));
    let deadline = Instant::now() + Duration::from_secs(120);

    // A write acknowledged by A is read by the next request on B.
    let (status, body) = post(&a.addr, r#"{"name": "ada", "n": 0}"#);
    assert_eq!(status, 201, "{body}");
    let created = json(&body);
    let id = created["_id"].as_str().unwrap().to_string();
    let (status, doc) = get(&b.addr, &format!("/people/{id}"));
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["name"], "ada");
    assert_eq!(doc["_etag"], created["_etag"]);

    // Conditional writes through both processes: exactly one winner.
    for round in 0..ROUNDS {
        assert!(Instant::now() < deadline, "the test ran out of time");
        let (_, doc) = get(&a.addr, &format!("/people/{id}"));
        let etag = doc["_etag"].as_str().unwrap().to_string();
        let ((sa, ba), (sb, bb)) = race(
            || {
                patch(
                    &a.addr,
                    &id,
                    &etag,
                    &format!(r#"{{"n": {}}}"#, 1000 + round),
                )
            },
            || {
                patch(
                    &b.addr,
                    &id,
                    &etag,
                    &format!(r#"{{"n": {}}}"#, 2000 + round),
                )
            },
        );
        let mut statuses = [sa, sb];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 412],
            "round {round}: A {sa} {ba} / B {sb} {bb}"
        );
        let winner = if sa == 200 {
            1000 + round
        } else {
            2000 + round
        };
        for server in [&a, &b] {
            let (_, doc) = get(&server.addr, &format!("/people/{id}"));
            assert_eq!(doc["n"], winner, "round {round}: {doc}");
        }
    }

    // The same unique value posted through both: exactly one is stored.
    for round in 0..ROUNDS {
        assert!(Instant::now() < deadline, "the test ran out of time");
        let body = format!(r#"{{"name": "same-{round}"}}"#);
        let ((sa, ba), (sb, bb)) = race(|| post(&a.addr, &body), || post(&b.addr, &body));
        let created = [sa, sb].iter().filter(|s| **s == 201).count();
        assert_eq!(created, 1, "round {round}: A {sa} {ba} / B {sb} {bb}");
        for (s, text) in [(sa, &ba), (sb, &bb)] {
            assert!(
                s == 201 || s == 409 || s == 422,
                "round {round}: {s} {text}"
            );
        }
        let (_, page) = get(
            &b.addr,
            &format!("/people?where=%7B%22name%22%3A%22same-{round}%22%7D"),
        );
        assert_eq!(page["_meta"]["total"], 1, "round {round}: {page}");
    }
    drop(a);
    drop(b);
}
