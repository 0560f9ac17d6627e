//! Crash rounds for document versioning: a document and its shadow entry
//! are written in one batch, so a kill -9 at any moment never leaves one
//! without the other. Workers POST and PATCH versioned documents while the
//! server is killed at a random moment, then restarted; after each restart
//! every document has exactly the versions 1..=`_version` in its history,
//! the shadow collection holds nothing else, and no acknowledged version
//! is missing. Seeded (`EVE_CRASH_SEED`), bounded in rounds and time.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use common::{crash_seed, kill9_rounds, request, Rng};

const ROUNDS: usize = 8;
const WORKERS: usize = 3;
const BUDGET: Duration = Duration::from_secs(60);

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH]
PAGINATION_LIMIT: 1000
DOMAIN:
  things:
    versioning: true
    schema:
      name: {type: string}
      n: {type: integer}
  shadows:
    datasource: {source: things_versions}
    allow_unknown: true
"#;

/// What a worker knows: the documents it created, with the last version
/// and ETag it was told about.
#[derive(Default)]
struct Model {
    docs: HashMap<String, (i64, String)>,
    acknowledged: usize,
}

fn json_of(body: &str) -> Option<Value> {
    serde_json::from_str(body).ok()
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
    Some((status, json_of(&body)?))
}

fn load(addr: &str, model: &mut Model, rng: &mut Rng, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let ids: Vec<String> = model.docs.keys().cloned().collect();
        if ids.is_empty() || rng.next().is_multiple_of(3) {
            let body = format!(r#"{{"name": "t{}", "n": 0}}"#, rng.next() % 1000);
            match send(addr, "POST", "/things", None, &body) {
                Some((201, v)) => {
                    let id = v["_id"].as_str().unwrap().to_string();
                    let etag = v["_etag"].as_str().unwrap().to_string();
                    assert_eq!(v["_version"], 1, "{v}");
                    model.docs.insert(id, (1, etag));
                    model.acknowledged += 1;
                }
                Some((status, v)) => panic!("POST answered {status}: {v}"),
                None => return,
            }
        } else {
            let id = &ids[(rng.next() as usize) % ids.len()];
            let (version, etag) = model.docs[id].clone();
            let body = format!(r#"{{"n": {}}}"#, version + 1);
            match send(addr, "PATCH", &format!("/things/{id}"), Some(&etag), &body) {
                Some((200, v)) => {
                    let new = v["_version"].as_i64().unwrap();
                    assert_eq!(new, version + 1, "{v}");
                    let etag = v["_etag"].as_str().unwrap().to_string();
                    model.docs.insert(id.clone(), (new, etag));
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

/// Every document's history is exactly versions 1..=`_version` (the
/// last one holding the document's content), the shadow collection holds
/// nothing else, and no acknowledged version is missing. Refreshes the
/// workers' versions and ETags (a write whose answer was lost may have
/// applied). Returns the number of documents.
fn verify(addr: &str, models: &[Arc<Mutex<Model>>]) -> usize {
    let mut versions_total = 0;
    let mut seen: HashMap<String, (i64, String)> = HashMap::new();
    for page in 1.. {
        let list = get(addr, &format!("/things?max_results=1000&page={page}"));
        let docs = list["_items"].as_array().unwrap().clone();
        if docs.is_empty() {
            break;
        }
        for doc in docs {
            let id = doc["_id"].as_str().unwrap().to_string();
            let version = doc["_version"].as_i64().unwrap();
            let all = get(addr, &format!("/things/{id}?version=all&max_results=1000"));
            let numbers: Vec<i64> = all["_items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["_version"].as_i64().unwrap())
                .collect();
            assert_eq!(numbers, (1..=version).collect::<Vec<_>>(), "{id}: {all}");
            assert_eq!(
                all["_items"][version as usize - 1]["n"],
                doc["n"],
                "{id}: {all}"
            );
            versions_total += version as u64;
            seen.insert(id, (version, doc["_etag"].as_str().unwrap().to_string()));
        }
    }
    let shadows = get(addr, "/shadows?max_results=1");
    assert_eq!(
        shadows["_meta"]["total"].as_u64(),
        Some(versions_total),
        "shadow entries without their document"
    );
    for model in models {
        let mut m = model.lock().unwrap();
        for (id, known) in m.docs.iter_mut() {
            let now = seen
                .get(id)
                .unwrap_or_else(|| panic!("{id}: acknowledged, then lost"));
            assert!(
                now.0 >= known.0,
                "{id}: version {} < acknowledged {}",
                now.0,
                known.0
            );
            *known = now.clone();
        }
    }
    seen.len()
}

#[test]
fn a_crash_never_separates_a_document_from_its_history() {
    let seed = crash_seed("versioning crash rounds", 0x7e55_10e5);
    let (rounds, models, server, _dir) =
        kill9_rounds(SETTINGS, seed, (WORKERS, ROUNDS, BUDGET), load, verify);
    let documents = verify(&server.addr, &models);
    let acknowledged: usize = models.iter().map(|m| m.lock().unwrap().acknowledged).sum();
    eprintln!("versioning crash rounds: {rounds} rounds, {acknowledged} acknowledged writes, {documents} documents");
    assert!(rounds >= 3 && acknowledged > 0 && documents > 0);
}
