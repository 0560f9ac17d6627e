//! Crash rounds (issue #6): a mixed write load (POST, PATCH, PUT, DELETE
//! and writes that must fail) from a few threads, the server killed with
//! SIGKILL at a random moment, restarted; 20 rounds. After each kill the
//! store's integrity check passes, every write that got a 2xx is there with
//! the ETag it returned (deletes absent), no refused write is there, and a
//! write whose answer was lost in the crash is either fully there or not at
//! all.
//!
//! Every fourth round stops gracefully instead and then deletes the WAL:
//! nothing acknowledged may be missing. Some crash rounds delete the WAL
//! too: `check-store` must refuse the store (it is put back), unless the
//! main file already held every commit.
//!
//! Seeded (`EVE_CRASH_SEED`), bounded in rounds, requests and time.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{crash_seed, Rng, Server, BIN};

const ROUNDS: usize = 20;
const WORKERS: usize = 3;
/// Safety valve: stop starting rounds after this long.
const BUDGET: Duration = Duration::from_secs(100);

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
PAGINATION_LIMIT: 1000
DOMAIN:
  things:
    schema:
      name: {type: string, required: true, unique: true}
      n: {type: integer, min: 0}
"#;

/// What a request came back with.
enum Answer {
    /// A complete response.
    Full(u16, Value),
    /// A status line, then the connection died (the write committed if
    /// the status is 2xx: the server answers only after the commit).
    Cut(u16),
    /// Nothing: the request may or may not have been applied.
    Lost,
}

fn request(addr: &str, method: &str, path: &str, etag: Option<&str>, body: &str) -> Answer {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return Answer::Lost;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(e) = etag {
        req.push_str(&format!("If-Match: {e}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    if stream.write_all(req.as_bytes()).is_err() {
        return Answer::Lost;
    }
    let mut raw = Vec::new();
    let complete = stream.read_to_end(&mut raw).is_ok();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let status: Option<u16> = raw
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok());
    let Some(status) = status else {
        return Answer::Lost;
    };
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        return Answer::Cut(status);
    };
    let length = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length: ")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    if !complete || length.is_some_and(|n| n != body.len()) {
        return Answer::Cut(status);
    }
    if body.is_empty() {
        return Answer::Full(status, Value::Null);
    }
    match serde_json::from_str(body) {
        Ok(v) => Answer::Full(status, v),
        Err(_) => Answer::Cut(status),
    }
}

/// The state of one document as its worker knows it.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Present { etag: String, name: String, n: i64 },
    Absent,
}

/// A write whose answer was lost: the document is in `before` or `after`
/// (and surely `after` when `committed`).
#[derive(Debug, Clone)]
struct Pending {
    after: State,
    committed: bool,
}

#[derive(Debug, Clone)]
struct Doc {
    id: String,
    state: State,
    pending: Option<Pending>,
}

/// A POST whose answer was lost: no id known, found by its unique name.
#[derive(Debug, Clone)]
struct LostPost {
    name: String,
    n: i64,
    committed: bool,
}

#[derive(Debug, Default)]
struct Model {
    docs: Vec<Doc>,
    lost_posts: Vec<LostPost>,
    acknowledged: usize,
    refused: usize,
    /// Writes whose answer the crash took.
    unanswered: usize,
}

/// Values that refused writes try to store; they must never be found.
const REFUSED_N: i64 = 999_999;

fn etag_of(v: &Value) -> String {
    v["_etag"].as_str().expect("_etag").to_string()
}

/// One worker's load until the server dies or `stop` is set; at most 400
/// requests.
fn load(addr: &str, w: usize, round: usize, model: &mut Model, rng: &mut Rng, stop: &AtomicBool) {
    for op in 0..400 {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let live: Vec<usize> = (0..model.docs.len())
            .filter(|&i| {
                model.docs[i].pending.is_none()
                    && matches!(model.docs[i].state, State::Present { .. })
            })
            .collect();
        let dice = rng.below(100);
        let n = (rng.below(1000)) as i64;
        if live.is_empty() || dice < 35 {
            let name = format!("w{w}-r{round}-{op}");
            let body = format!(r#"{{"name": "{name}", "n": {n}}}"#);
            match request(addr, "POST", "/things", None, &body) {
                Answer::Full(201, v) => {
                    model.acknowledged += 1;
                    model.docs.push(Doc {
                        id: v["_id"].as_str().unwrap().to_string(),
                        state: State::Present {
                            etag: etag_of(&v),
                            name,
                            n,
                        },
                        pending: None,
                    });
                }
                Answer::Full(status, v) => panic!("POST answered {status}: {v}"),
                Answer::Cut(status) => {
                    model.lost_posts.push(LostPost {
                        name,
                        n,
                        committed: (200..300).contains(&status),
                    });
                    return;
                }
                Answer::Lost => {
                    model.lost_posts.push(LostPost {
                        name,
                        n,
                        committed: false,
                    });
                    return;
                }
            }
            continue;
        }
        if dice < 40 {
            // Writes that must be refused: invalid (422) and stale (412).
            let i = live[rng.below(live.len() as u64) as usize];
            let id = model.docs[i].id.clone();
            let (method, path, etag, body) = if rng.below(2) == 0 {
                (
                    "POST",
                    "/things".to_string(),
                    None,
                    format!(r#"{{"n": {REFUSED_N}}}"#),
                )
            } else {
                (
                    "PATCH",
                    format!("/things/{id}"),
                    Some("0123456789abcdef0123456789abcdef01234567"),
                    format!(r#"{{"n": {REFUSED_N}}}"#),
                )
            };
            match request(addr, method, &path, etag, &body) {
                Answer::Full(422 | 412, _) => model.refused += 1,
                Answer::Full(status, v) => panic!("{method} answered {status}: {v}"),
                Answer::Cut(_) | Answer::Lost => return,
            }
            continue;
        }
        let i = live[rng.below(live.len() as u64) as usize];
        let doc = &mut model.docs[i];
        let State::Present { etag, name, .. } = doc.state.clone() else {
            unreachable!()
        };
        let path = format!("/things/{}", doc.id);
        let (method, body, after_name) = if dice < 70 {
            ("PATCH", format!(r#"{{"n": {n}}}"#), name.clone())
        } else if dice < 90 {
            let renamed = format!("{name}+");
            (
                "PUT",
                format!(r#"{{"name": "{renamed}", "n": {n}}}"#),
                renamed,
            )
        } else {
            ("DELETE", String::new(), name.clone())
        };
        let after = if method == "DELETE" {
            State::Absent
        } else {
            State::Present {
                etag: String::new(), // not known yet
                name: after_name,
                n,
            }
        };
        match request(addr, method, &path, Some(&etag), &body) {
            Answer::Full(200, v) => {
                model.acknowledged += 1;
                let State::Present { name, n, .. } = after else {
                    unreachable!()
                };
                doc.state = State::Present {
                    etag: etag_of(&v),
                    name,
                    n,
                };
            }
            Answer::Full(204, _) => {
                model.acknowledged += 1;
                doc.state = State::Absent;
            }
            Answer::Full(status, v) => panic!("{method} {path} answered {status}: {v}"),
            Answer::Cut(status) => {
                doc.pending = Some(Pending {
                    after,
                    committed: (200..300).contains(&status),
                });
                return;
            }
            Answer::Lost => {
                doc.pending = Some(Pending {
                    after,
                    committed: false,
                });
                return;
            }
        }
    }
}

fn get(addr: &str, path: &str) -> (u16, Value) {
    match request(addr, "GET", path, None, "") {
        Answer::Full(status, v) => (status, v),
        _ => panic!("GET {path}: no answer from a running server"),
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Checks every document against the model and resolves lost answers.
fn verify(addr: &str, model: &mut Model) {
    model.unanswered +=
        model.lost_posts.len() + model.docs.iter().filter(|d| d.pending.is_some()).count();
    for doc in &mut model.docs {
        let (status, v) = get(addr, &format!("/things/{}", doc.id));
        let found = match status {
            200 => State::Present {
                etag: etag_of(&v),
                name: v["name"].as_str().unwrap().to_string(),
                n: v["n"].as_i64().unwrap(),
            },
            404 => State::Absent,
            other => panic!("GET {} answered {other}: {v}", doc.id),
        };
        let pending = doc.pending.take();
        if found == doc.state && !pending.as_ref().is_some_and(|p| p.committed) {
            continue;
        }
        let Some(p) = pending else {
            panic!(
                "document {}: acknowledged {:?}, found {:?}",
                doc.id, doc.state, found
            );
        };
        let matches_after = match (&p.after, &found) {
            (State::Absent, State::Absent) => true,
            (
                State::Present { name, n, .. },
                State::Present {
                    name: fname,
                    n: fn_,
                    ..
                },
            ) => name == fname && n == fn_,
            _ => false,
        };
        assert!(
            matches_after,
            "document {}: before {:?}, lost write {:?}, found {:?}",
            doc.id, doc.state, p, found
        );
        doc.state = found;
    }
    for lost in std::mem::take(&mut model.lost_posts) {
        let w = format!(r#"{{"name": "{}"}}"#, lost.name);
        let (status, v) = get(addr, &format!("/things?where={}", enc(&w)));
        assert_eq!(status, 200, "{v}");
        let items = v["_items"].as_array().unwrap();
        match items.as_slice() {
            [] => assert!(!lost.committed, "acknowledged POST {} lost", lost.name),
            [item] => {
                assert_eq!(item["n"].as_i64(), Some(lost.n), "{item}");
                model.docs.push(Doc {
                    id: item["_id"].as_str().unwrap().to_string(),
                    state: State::Present {
                        etag: etag_of(item),
                        name: lost.name.clone(),
                        n: lost.n,
                    },
                    pending: None,
                });
            }
            more => panic!("POST {} stored {} times", lost.name, more.len()),
        }
    }
    // No refused write is there.
    let w = format!(r#"{{"n": {REFUSED_N}}}"#);
    let (_, v) = get(addr, &format!("/things?where={}", enc(&w)));
    assert_eq!(v["_meta"]["total"], 0, "a refused write was stored: {v}");
}

fn check_store(data: &Path) {
    let out = Command::new(BIN)
        .args(["check-store", "--data-dir", data.to_str().unwrap()])
        .output()
        .expect("run check-store");
    assert!(
        out.status.success(),
        "integrity check failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wal_file(data: &Path) -> std::path::PathBuf {
    data.join("eve.sqlite3-wal")
}

/// Removes the WAL (and its index) as a careless operator or a failing
/// disk would.
fn remove_wal(data: &Path) {
    let _ = std::fs::remove_file(wal_file(data));
    let _ = std::fs::remove_file(data.join("eve.sqlite3-shm"));
}

/// What losing the WAL after a crash led to.
#[derive(Debug, Default)]
struct WalLosses {
    /// The store was refused (then the WAL was put back).
    refused: usize,
    /// The main file held every commit already (a checkpoint ran): the
    /// store opened, and the next round checks nothing was lost.
    harmless: usize,
}

/// After a kill -9: the WAL is lost. Either `check-store` refuses the
/// store, naming the WAL (and the WAL is put back), or nothing was lost,
/// which the next round's `verify` checks for every acknowledged write.
fn wal_lost_after_a_crash(data: &Path, seen: &mut WalLosses) {
    let Ok(kept) = std::fs::read(wal_file(data)) else {
        return;
    };
    if kept.is_empty() {
        return;
    }
    remove_wal(data);
    let out = Command::new(BIN)
        .args(["check-store", "--data-dir", data.to_str().unwrap()])
        .output()
        .expect("run check-store");
    if out.status.success() {
        seen.harmless += 1;
        return;
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("write-ahead log") && err.contains("missing"),
        "unexpected refusal: {err}"
    );
    seen.refused += 1;
    std::fs::write(wal_file(data), kept).expect("put the WAL back");
}

#[test]
fn acknowledged_writes_survive_twenty_kill_9_rounds() {
    let seed = crash_seed("crash rounds", 0x5eed_e7e5);
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, SETTINGS).unwrap();
    let data = dir.path().join("data");
    let models: Vec<Arc<Mutex<Model>>> = (0..WORKERS).map(|_| Arc::default()).collect();
    let started = Instant::now();
    let mut rounds = 0;
    let mut wal_losses = WalLosses::default();
    for round in 0..ROUNDS {
        if started.elapsed() > BUDGET {
            break;
        }
        let mut server = Server::start_logging(&settings, &data, "error");
        for model in &models {
            verify(&server.addr, &mut model.lock().unwrap());
        }
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = models
            .iter()
            .enumerate()
            .map(|(w, model)| {
                let (addr, model, stop) = (server.addr.clone(), model.clone(), stop.clone());
                let seed = rng.next() | 1;
                std::thread::spawn(move || {
                    let mut rng = Rng(seed);
                    load(&addr, w, round, &mut model.lock().unwrap(), &mut rng, &stop);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + rng.below(700)));
        // Every fourth round stops gracefully, then loses the WAL: the
        // main file alone must hold every acknowledged write (the next
        // round's `verify` proves it).
        let graceful = round % 4 == 3;
        if graceful {
            server.signal("-TERM");
            assert!(server.wait_exit().success(), "graceful stop failed");
        } else {
            server.kill9();
        }
        stop.store(true, Ordering::SeqCst);
        for w in workers {
            w.join().expect("worker");
        }
        if graceful {
            remove_wal(&data);
        } else if round % 4 == 1 {
            wal_lost_after_a_crash(&data, &mut wal_losses);
        }
        check_store(&data);
        rounds += 1;
    }
    // Final check on a fresh start.
    let server = Server::start_logging(&settings, &data, "error");
    let mut present = 0;
    let mut acknowledged = 0;
    let mut refused = 0;
    let mut unanswered = 0;
    for model in &models {
        let mut m = model.lock().unwrap();
        verify(&server.addr, &mut m);
        present += m
            .docs
            .iter()
            .filter(|d| matches!(d.state, State::Present { .. }))
            .count();
        acknowledged += m.acknowledged;
        refused += m.refused;
        unanswered += m.unanswered;
    }
    let (_, v) = get(&server.addr, "/things?max_results=1");
    assert_eq!(v["_meta"]["total"].as_u64(), Some(present as u64), "{v}");
    eprintln!(
        "crash rounds: {rounds} rounds, {acknowledged} acknowledged writes, {refused} refused, {unanswered} unanswered, {present} documents, WAL lost after a crash: {wal_losses:?}, {:?}",
        started.elapsed()
    );
    assert!(rounds >= 5, "only {rounds} rounds ran");
    assert!(acknowledged > 0 && refused > 0);
}
