//! The binary on MongoDB (issue #10), through a real socket: resources of
//! another `mongo_prefix` live in their own database, a resource's
//! `mongo_write_concern` reaches its writes, and acknowledged writes
//! survive a restart (and a SIGKILL) of eve-rs.
//!
//! Needs a MongoDB server: without `EVE_TEST_MONGO_URI` the tests skip with
//! a message, except under `CI=true`, where they must run:
//!
//! ```text
//! EVE_TEST_MONGO_URI=$(scripts/mongo-test-server.sh start) cargo test -p eve-rs --test mongo
//! ```

mod common;

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use bson::{doc, Document};
use serde_json::Value;

use common::{request, Server};

const URI_VAR: &str = "EVE_TEST_MONGO_URI";

/// The test server's URI, or `None` (skip) outside CI.
fn mongo_uri() -> Option<String> {
    match std::env::var(URI_VAR) {
        Ok(uri) if !uri.trim().is_empty() => Some(uri),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{URI_VAR} is not set: under CI=true the MongoDB tests must run (.ci/run starts the test server)")
        }
        _ => {
            eprintln!(
                "skipping: {URI_VAR} is not set (EVE_TEST_MONGO_URI=$(scripts/mongo-test-server.sh start) cargo test -p eve-rs --test mongo)"
            );
            None
        }
    }
}

/// A database name no other test uses.
fn fresh_db(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("evers_cli_{tag}_{}_{nanos}", std::process::id())
}

/// A blocking view of the test server through the driver, to check where
/// documents landed without going through eve-rs.
struct Driver {
    rt: tokio::runtime::Runtime,
    client: mongodb::Client,
    dropped: Vec<String>,
}

impl Driver {
    fn new(uri: &str) -> Driver {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt
            .block_on(mongodb::Client::with_uri_str(uri))
            .expect("driver client");
        Driver {
            rt,
            client,
            dropped: Vec::new(),
        }
    }

    /// Marks a database for dropping when the test ends.
    fn owns(&mut self, db: &str) {
        self.dropped.push(db.to_string());
    }

    fn find(&self, db: &str, coll: &str) -> Vec<Document> {
        let coll = self.client.database(db).collection::<Document>(coll);
        self.rt.block_on(async {
            let mut out = Vec::new();
            let mut cursor = coll.find(doc! {}).await.expect("find");
            while cursor.advance().await.expect("cursor") {
                out.push(cursor.deserialize_current().expect("document"));
            }
            out
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        for db in &self.dropped {
            let _ = self
                .rt
                .block_on(async { self.client.database(db).drop().await });
        }
    }
}

fn write_settings(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("settings.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn post(server: &Server, path: &str, body: &str) -> (u16, Value) {
    let (status, _, body) = request(
        &server.addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body,
    )
    .expect("POST");
    (status, json(&body))
}

fn get(server: &Server, path: &str) -> (u16, Value) {
    let (status, _, body) = request(&server.addr, "GET", path, &[], "").expect("GET");
    (status, json(&body))
}

#[test]
fn resources_of_another_prefix_live_in_their_own_database() {
    let Some(uri) = mongo_uri() else { return };
    let mut driver = Driver::new(&uri);
    let (main_db, other_db) = (fresh_db("main"), fresh_db("other"));
    driver.owns(&main_db);
    driver.owns(&other_db);
    let dir = tempfile::tempdir().unwrap();
    let settings = write_settings(
        dir.path(),
        &format!(
            "MONGO_URI: '{uri}'\nMONGO_DBNAME: {main_db}\nMONGO2_URI: '{uri}'\n\
             MONGO2_DBNAME: {other_db}\nRESOURCE_METHODS: [GET, POST]\n\
             DOMAIN:\n  people:\n    schema: {{name: {{type: string}}}}\n  \
             books:\n    mongo_prefix: MONGO2\n    schema: {{title: {{type: string}}}}\n"
        ),
    );
    let server = Server::start(&settings, dir.path());
    let (status, person) = post(&server, "/people", r#"{"name": "ada"}"#);
    assert_eq!(status, 201, "{person}");
    let (status, book) = post(&server, "/books", r#"{"title": "notes"}"#);
    assert_eq!(status, 201, "{book}");

    // HTTP round trip: each resource reads back its own document
    let (status, books) = get(&server, "/books");
    assert_eq!(status, 200);
    let items = books["_items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{books}");
    assert_eq!(items[0]["title"], "notes");
    assert_eq!(items[0]["_id"], book["_id"]);
    let (status, people) = get(&server, "/people");
    assert_eq!(status, 200);
    assert_eq!(people["_items"].as_array().unwrap().len(), 1, "{people}");

    // and in MongoDB each document is in its resource's database only
    let in_other = driver.find(&other_db, "books");
    assert_eq!(in_other.len(), 1);
    assert_eq!(in_other[0].get_str("title").unwrap(), "notes");
    assert_eq!(
        in_other[0].get_object_id("_id").unwrap().to_hex(),
        book["_id"].as_str().unwrap()
    );
    assert!(driver.find(&main_db, "books").is_empty());
    let in_main = driver.find(&main_db, "people");
    assert_eq!(in_main.len(), 1);
    assert_eq!(in_main[0].get_str("name").unwrap(), "ada");
    assert!(driver.find(&other_db, "people").is_empty());
}

#[test]
fn a_resource_write_concern_reaches_its_writes() {
    let Some(uri) = mongo_uri() else { return };
    let mut driver = Driver::new(&uri);
    let db = fresh_db("wc");
    driver.owns(&db);
    let dir = tempfile::tempdir().unwrap();
    // w: 5 cannot be satisfied by the one-member test server: only the
    // resource that asks for it fails, the others use the default.
    let settings = write_settings(
        dir.path(),
        &format!(
            "MONGO_URI: '{uri}'\nMONGO_DBNAME: {db}\nRESOURCE_METHODS: [GET, POST]\n\
             DOMAIN:\n  plain:\n    schema: {{n: {{type: integer}}}}\n  \
             strict:\n    mongo_write_concern: {{w: 5}}\n    schema: {{n: {{type: integer}}}}\n  \
             durable:\n    mongo_write_concern: {{w: majority, j: true}}\n    \
             schema: {{n: {{type: integer}}}}\n"
        ),
    );
    let server = Server::start(&settings, dir.path());
    let (status, body) = post(&server, "/plain", r#"{"n": 1}"#);
    assert_eq!(status, 201, "{body}");
    // one document (a single write) and a bulk POST (a transaction)
    for payload in [r#"{"n": 1}"#, r#"[{"n": 2}, {"n": 3}]"#] {
        let (status, body) = post(&server, "/strict", payload);
        assert_eq!(status, 503, "{payload}: {body}");
        assert_eq!(body["_status"], "ERR", "{body}");
        assert_eq!(body["_error"]["code"], 503, "{body}");
    }
    // a satisfiable one works for single writes and transactions alike
    for payload in [r#"{"n": 1}"#, r#"[{"n": 2}, {"n": 3}]"#] {
        let (status, body) = post(&server, "/durable", payload);
        assert_eq!(status, 201, "{payload}: {body}");
    }
    assert_eq!(driver.find(&db, "durable").len(), 3);
    // reads are not writes: the strict resource still serves GET
    let (status, body) = get(&server, "/strict");
    assert_eq!(status, 200, "{body}");
    // the plain resource's document is stored and acknowledged
    assert_eq!(driver.find(&db, "plain").len(), 1);
}

#[test]
fn acknowledged_writes_survive_a_restart() {
    let Some(uri) = mongo_uri() else { return };
    let mut driver = Driver::new(&uri);
    let db = fresh_db("restart");
    driver.owns(&db);
    let dir = tempfile::tempdir().unwrap();
    let settings = write_settings(
        dir.path(),
        &format!(
            "MONGO_URI: '{uri}'\nMONGO_DBNAME: {db}\nRESOURCE_METHODS: [GET, POST]\n\
             ITEM_METHODS: [GET, PATCH]\n\
             DOMAIN:\n  notes:\n    schema: {{n: {{type: integer}}, text: {{type: string}}}}\n"
        ),
    );
    let mut server = Server::start(&settings, dir.path());
    let mut written = Vec::new();
    for n in 0..10 {
        let (status, body) = post(
            &server,
            "/notes",
            &format!(r#"{{"n": {n}, "text": "t{n}"}}"#),
        );
        assert_eq!(status, 201, "{body}");
        written.push((n, body["_id"].as_str().unwrap().to_string()));
    }
    // one acknowledged update too
    let (_, first) = get(&server, &format!("/notes/{}", written[0].1));
    let etag = first["_etag"].as_str().unwrap().to_string();
    let (status, _, body) = request(
        &server.addr,
        "PATCH",
        &format!("/notes/{}", written[0].1),
        &[("Content-Type", "application/json"), ("If-Match", &etag)],
        r#"{"text": "patched"}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    // killed without a chance to flush anything
    server.kill9();
    let server = Server::start(&settings, dir.path());
    for (n, id) in &written {
        let (status, doc) = get(&server, &format!("/notes/{id}"));
        assert_eq!(status, 200, "{doc}");
        assert_eq!(doc["n"], *n, "{doc}");
        let text = if *n == 0 {
            "patched".to_string()
        } else {
            format!("t{n}")
        };
        assert_eq!(doc["text"], text, "{doc}");
    }
    let (_, all) = get(&server, "/notes?max_results=50");
    assert_eq!(all["_meta"]["total"], 10, "{all}");
}
