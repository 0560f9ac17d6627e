//! What was acknowledged survives closing, reopening and `kill -9`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bson::{doc, Bson};
use eve_query::Filter;
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec, StoreError};

use crate::{open, tempdir};

fn unique(name: &str, field: &str) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        keys: vec![(field.into(), IndexKey::Asc)],
        unique: true,
        sparse: false,
        text: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_and_indexes_survive_reopening() {
    let dir = tempdir();
    {
        let store = open(dir.path());
        assert!(store
            .prepare_collection("people", &[unique("email", "email")])
            .await
            .is_ok());
        let ids = store
            .insert(
                "people",
                vec![
                    doc! {"_id": 1, "email": "a", "tags": ["x"]},
                    doc! {"email": "b"},
                ],
            )
            .await
            .unwrap_or_default();
        assert_eq!(ids.len(), 2);
        assert!(matches!(
            store
                .update_one("people", &Filter::eq("_id", 1), doc! {"n": 5})
                .await,
            Ok(true)
        ));
        assert!(store
            .delete_many("people", &Filter::eq("email", "b"))
            .await
            .is_ok());
        assert!(dir.path().join(eve_store_sqlite::DB_FILE).exists());
    }
    let store = open(dir.path());
    let docs = store
        .find("people", &FindQuery::new(Filter::All))
        .await
        .unwrap_or_default();
    assert!(!docs.is_empty());
    assert_eq!(
        docs[0],
        doc! {"_id": 1, "email": "a", "tags": ["x"], "n": 5}
    );
    // The unique index is still there and enforced.
    let dup = store.insert("people", vec![doc! {"email": "a"}]).await;
    assert!(
        matches!(dup, Err(StoreError::DuplicateKey { index: 0, .. })),
        "got {dup:?}"
    );
    let dup = store.insert("people", vec![doc! {"_id": 1}]).await;
    assert!(
        matches!(dup, Err(StoreError::DuplicateKey { index: 0, .. })),
        "got {dup:?}"
    );
    assert!(store.check_integrity().await.is_ok());
    // Preparing again with the same definition keeps everything.
    assert!(store
        .prepare_collection("people", &[unique("email", "email")])
        .await
        .is_ok());
    assert!(matches!(store.count("people", &Filter::All).await, Ok(n) if n >= 1));
}

/// The environment variable that turns `child_writer` on.
const CHILD_DIR: &str = "EVE_STORE_CHILD_DIR";

/// Run by `acknowledged_writes_survive_kill_9` in a child process: inserts
/// documents one by one and prints `acked N` after each `Ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: runs only as the child process of acknowledged_writes_survive_kill_9"]
async fn child_writer() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = open(std::path::Path::new(&dir));
    let started = Instant::now();
    let mut n = 0i64;
    // Several concurrent writers, so batches of several writes are killed
    // mid-flight too.
    let mut tasks = Vec::new();
    for t in 0..4i64 {
        let store = std::sync::Arc::new(open(std::path::Path::new(&dir)));
        tasks.push(tokio::spawn(async move {
            let mut i = 0i64;
            while started.elapsed() < Duration::from_secs(60) {
                let id = t * 1_000_000 + i;
                if store
                    .insert("log", vec![doc! {"_id": id, "pad": "x".repeat(100)}])
                    .await
                    .is_ok()
                {
                    println!("acked {id}");
                }
                i += 1;
            }
        }));
    }
    while started.elapsed() < Duration::from_secs(60) {
        if store
            .insert("log", vec![doc! {"_id": -1 - n}])
            .await
            .is_ok()
        {
            println!("acked {}", -1 - n);
        }
        n += 1;
    }
    for task in tasks {
        let _ = task.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempdir();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => panic!("cannot find the test binary: {e}"),
    };
    let mut child = match Command::new(exe)
        .args([
            "--exact",
            "durability::child_writer",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!("cannot start the child writer: {e}"),
    };
    let Some(stdout) = child.stdout.take() else {
        panic!("no child stdout")
    };
    let mut acked: Vec<i64> = Vec::new();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.len() < 300 && Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(id) = line
                    .strip_prefix("acked ")
                    .and_then(|s| s.trim().parse().ok())
                {
                    acked.push(id);
                }
            }
            _ => break,
        }
    }
    // SIGKILL: no destructor, no flush, no clean close.
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        acked.len() >= 50,
        "the child acknowledged only {} writes",
        acked.len()
    );

    let store = open(dir.path());
    let stored: std::collections::BTreeSet<i64> = store
        .find("log", &FindQuery::new(Filter::All))
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|d| match d.get("_id") {
            Some(Bson::Int64(i)) => Some(*i),
            _ => None,
        })
        .collect();
    let lost: Vec<&i64> = acked.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    if let Err(e) = store.check_integrity().await {
        panic!("integrity after kill -9: {e}");
    }
}
