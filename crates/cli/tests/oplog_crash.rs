//! Crash rounds for the operations log: a change and its oplog entry are
//! written in one batch, so a kill -9 at any moment never leaves one
//! without the other. Workers POST, PATCH and DELETE documents while the
//! server is killed at a random moment, then restarted; after each restart
//! the oplog accounts for every document exactly: a live document with
//! `n: k` has one `POST` entry and `PATCH` entries carrying `n` 1..=k, no
//! `DELETE`; a document that is gone has its `DELETE` entry; no
//! acknowledged write is missing. Seeded (`EVE_CRASH_SEED`), bounded in
//! rounds and time.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use common::{crash_seed, kill9_rounds, request, Rng};

const ROUNDS: usize = 8;
const WORKERS: usize = 3;
const BUDGET: Duration = Duration::from_secs(60);

const SETTINGS: &str = r#"
OPLOG: true
OPLOG_ENDPOINT: oplog
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, DELETE]
PAGINATION_LIMIT: 1000
DOMAIN:
  things:
    schema:
      n: {type: integer}
"#;

/// What a worker knows: its live documents with the last `n` and ETag it
/// was told about, and the documents whose DELETE was acknowledged.
#[derive(Default)]
struct Model {
    docs: HashMap<String, (i64, String)>,
    deleted: Vec<String>,
    acknowledged: usize,
}

fn send(
    addr: &str,
    method: &str,
    path: &str,
    etag: Option<&str>,
    body: &str,
) -> Option<(u16, Value)> {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(e) = etag {
        headers.push(("If-Match", e));
    }
    let (status, _, body) = request(addr, method, path, &headers, body).ok()?;
    if status == 0 {
        return None; // the connection broke: the server was killed
    }
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).ok()?
    };
    Some((status, value))
}

fn load(addr: &str, model: &mut Model, rng: &mut Rng, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let ids: Vec<String> = model.docs.keys().cloned().collect();
        let roll = rng.next() % 6;
        if ids.is_empty() || roll < 2 {
            match send(addr, "POST", "/things", None, r#"{"n": 0}"#) {
                Some((201, v)) => {
                    let id = v["_id"].as_str().unwrap().to_string();
                    let etag = v["_etag"].as_str().unwrap().to_string();
                    model.docs.insert(id, (0, etag));
                    model.acknowledged += 1;
                }
                Some((status, v)) => panic!("POST answered {status}: {v}"),
                None => return,
            }
            continue;
        }
        let id = ids[(rng.next() as usize) % ids.len()].clone();
        let (n, etag) = model.docs[&id].clone();
        let path = format!("/things/{id}");
        if roll == 2 {
            match send(addr, "DELETE", &path, Some(&etag), "") {
                Some((204, _)) => {
                    model.docs.remove(&id);
                    model.deleted.push(id);
                    model.acknowledged += 1;
                }
                Some((status, v)) => panic!("DELETE answered {status}: {v}"),
                None => return,
            }
        } else {
            let body = format!(r#"{{"n": {}}}"#, n + 1);
            match send(addr, "PATCH", &path, Some(&etag), &body) {
                Some((200, v)) => {
                    let etag = v["_etag"].as_str().unwrap().to_string();
                    model.docs.insert(id, (n + 1, etag));
                    model.acknowledged += 1;
                }
                Some((status, v)) => panic!("PATCH answered {status}: {v}"),
                None => return,
            }
        }
    }
}

fn get(addr: &str, path: &str) -> Value {
    match send(addr, "GET", path, None, "") {
        Some((200, v)) => v,
        other => panic!("GET {path}: {other:?}"),
    }
}

fn all(addr: &str, collection: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let list = get(addr, &format!("/{collection}?max_results=1000&page={page}"));
        let items = list["_items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        out.extend(items);
    }
    out
}

/// One document's entries: operations in log order and the `n` of each
/// PATCH.
#[derive(Default, Debug)]
struct Log {
    posts: usize,
    patches: Vec<i64>,
    deletes: usize,
}

/// Checks the oplog against the documents (see the module doc) and
/// refreshes the workers' models (a write whose answer was lost may have
/// applied, a DELETE too). Returns the number of entries.
fn verify(addr: &str, models: &[Arc<Mutex<Model>>]) -> usize {
    let entries = all(addr, "oplog");
    let mut logs: BTreeMap<String, Log> = BTreeMap::new();
    for e in &entries {
        assert_eq!(e["r"], "things", "{e}");
        let log = logs
            .entry(e["i"].as_str().unwrap().to_string())
            .or_default();
        match e["o"].as_str().unwrap() {
            "POST" => log.posts += 1,
            "PATCH" => log.patches.push(e["c"]["n"].as_i64().unwrap()),
            "DELETE" => log.deletes += 1,
            other => panic!("unexpected operation {other}: {e}"),
        }
    }
    let mut live: HashMap<String, (i64, String)> = HashMap::new();
    for doc in all(addr, "things") {
        let id = doc["_id"].as_str().unwrap().to_string();
        let n = doc["n"].as_i64().unwrap();
        let log = logs.remove(&id).unwrap_or_default();
        assert_eq!(log.posts, 1, "{id}: {log:?}");
        assert_eq!(
            log.patches,
            (1..=n).collect::<Vec<_>>(),
            "{id}: n={n} {log:?}"
        );
        assert_eq!(log.deletes, 0, "{id}: {log:?}");
        live.insert(id, (n, doc["_etag"].as_str().unwrap().to_string()));
    }
    // Every other logged document is gone, with its DELETE logged once.
    for (id, log) in &logs {
        assert_eq!(
            (log.posts, log.deletes),
            (1, 1),
            "{id}: {log:?} (an entry without its change?)"
        );
        let n = log.patches.len() as i64;
        assert_eq!(log.patches, (1..=n).collect::<Vec<_>>(), "{id}: {log:?}");
    }
    for model in models {
        let mut m = model.lock().unwrap();
        for id in &m.deleted {
            assert!(
                logs.contains_key(id),
                "{id}: delete acknowledged, not logged"
            );
        }
        let known: Vec<String> = m.docs.keys().cloned().collect();
        for id in known {
            match live.get(&id) {
                Some(now) => {
                    assert!(now.0 >= m.docs[&id].0, "{id}: acknowledged PATCH lost");
                    m.docs.insert(id, now.clone());
                }
                None => {
                    // The DELETE applied although its answer was lost.
                    assert!(logs.contains_key(&id), "{id}: acknowledged, then lost");
                    m.docs.remove(&id);
                    m.deleted.push(id);
                }
            }
        }
    }
    entries.len()
}

#[test]
fn a_crash_never_separates_a_change_from_its_oplog_entry() {
    let seed = crash_seed("oplog crash rounds", 0x0910_9c4a);
    let (rounds, models, server, _dir) =
        kill9_rounds(SETTINGS, seed, (WORKERS, ROUNDS, BUDGET), load, verify);
    let entries = verify(&server.addr, &models);
    let acknowledged: usize = models.iter().map(|m| m.lock().unwrap().acknowledged).sum();
    eprintln!("oplog crash rounds: {rounds} rounds, {acknowledged} acknowledged writes, {entries} entries");
    assert!(rounds >= 3 && acknowledged > 0 && entries > 0);
}
