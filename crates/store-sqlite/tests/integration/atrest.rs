//! Data at rest: a graceful close leaves the main file complete, and a
//! missing, truncated or damaged file is refused at open with what was
//! found, never served with writes silently missing.

use std::path::Path;

use bson::doc;
use eve_query::Filter;
use eve_store::{DataLayer, FindQuery, StoreError};
use eve_store_sqlite::{SqliteStore, DB_FILE, STATE_FILE};

use crate::{open, tempdir};

fn wal(dir: &Path) -> std::path::PathBuf {
    dir.join(format!("{DB_FILE}-wal"))
}

/// Inserts `n` documents of about 300 bytes, in batches of 50.
async fn fill(store: &SqliteStore, n: i64) {
    for start in (0..n).step_by(50) {
        let docs = (start..(start + 50).min(n))
            .map(|i| doc! {"_id": i, "text": "y".repeat(300)})
            .collect();
        assert!(store.insert("c", docs).await.is_ok());
    }
}

async fn count(store: &SqliteStore) -> usize {
    store
        .find("c", &FindQuery::new(Filter::All))
        .await
        .map(|d| d.len())
        .unwrap_or_else(|e| panic!("read failed: {e}"))
}

/// Copies the store's files as a crash would leave them: taken while the
/// store is open, after its writes were acknowledged.
fn crash_copy(from: &Path, to: &Path) {
    for name in [
        DB_FILE.to_string(),
        format!("{DB_FILE}-wal"),
        STATE_FILE.to_string(),
    ] {
        if from.join(&name).exists() {
            if let Err(e) = std::fs::copy(from.join(&name), to.join(&name)) {
                panic!("copy {name}: {e}");
            }
        }
    }
}

/// Opening must fail with `Corrupt` naming `words`.
#[track_caller]
fn assert_refused(dir: &Path, words: &[&str]) {
    match SqliteStore::open(dir) {
        Err(StoreError::Corrupt(m)) => {
            for w in words {
                assert!(m.contains(w), "{w:?} not in: {m}");
            }
        }
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok(_) => panic!("a damaged store was opened"),
    }
}

fn write_file(path: &Path, bytes: &[u8]) {
    if let Err(e) = std::fs::write(path, bytes) {
        panic!("{}: {e}", path.display());
    }
}

fn read_file(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_close_leaves_every_write_in_the_main_file() {
    let dir = tempdir();
    {
        let store = open(dir.path());
        fill(&store, 200).await;
    }
    let wal_len = std::fs::metadata(wal(dir.path())).map_or(0, |m| m.len());
    assert_eq!(
        wal_len, 0,
        "the WAL still holds data after a graceful close"
    );
    let state = String::from_utf8(read_file(&dir.path().join(STATE_FILE))).unwrap_or_default();
    assert!(state.contains("clean 1"), "{state}");
    // The main file alone is the whole store.
    let _ = std::fs::remove_file(wal(dir.path()));
    let _ = std::fs::remove_file(dir.path().join(format!("{DB_FILE}-shm")));
    let store = open(dir.path());
    assert_eq!(count(&store).await, 200);
    assert!(store.check_integrity().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_with_every_file_intact_opens_with_every_write() {
    let (dir, copy) = (tempdir(), tempdir());
    let store = open(dir.path());
    // Enough for the writer's own checkpoints (1000 frames) to run too.
    fill(&store, 3000).await;
    crash_copy(dir.path(), copy.path());
    drop(store);
    // A torn half frame at the end (a write the crash interrupted) is no
    // damage either.
    let mut bytes = read_file(&wal(copy.path()));
    bytes.extend(std::iter::repeat_n(0x5a, 1000));
    write_file(&wal(copy.path()), &bytes);
    let store = open(copy.path());
    assert_eq!(count(&store).await, 3000);
    assert!(store.check_integrity().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wal_lost_after_a_crash_is_refused_and_restoring_it_recovers_everything() {
    let (dir, copy) = (tempdir(), tempdir());
    let store = open(dir.path());
    fill(&store, 100).await;
    crash_copy(dir.path(), copy.path());
    drop(store);
    let kept = read_file(&wal(copy.path()));
    assert!(!kept.is_empty(), "the crash copy has no WAL to lose");
    let _ = std::fs::remove_file(wal(copy.path()));
    assert_refused(copy.path(), &["-wal", "missing", "lost"]);
    // Refusing changed nothing: with the WAL back, everything is there.
    write_file(&wal(copy.path()), &kept);
    let store = open(copy.path());
    assert_eq!(count(&store).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_or_bit_flipped_wal_is_refused() {
    let (dir, copy) = (tempdir(), tempdir());
    let store = open(dir.path());
    fill(&store, 100).await;
    crash_copy(dir.path(), copy.path());
    drop(store);
    let kept = read_file(&wal(copy.path()));
    // Truncated: the last commit is cut.
    write_file(&wal(copy.path()), &kept[..kept.len() - 100]);
    assert_refused(copy.path(), &["-wal", "truncated or damaged"]);
    // One bit flipped in the first frame's page: later commits unreadable.
    let mut flipped = kept.clone();
    flipped[32 + 24 + 200] ^= 0x10;
    write_file(&wal(copy.path()), &flipped);
    assert_refused(copy.path(), &["-wal", "damaged at frame 1"]);
    write_file(&wal(copy.path()), &kept);
    let store = open(copy.path());
    assert_eq!(count(&store).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_main_file_is_refused_with_or_without_the_state_file() {
    let dir = tempdir();
    {
        let store = open(dir.path());
        fill(&store, 400).await;
    }
    let db = dir.path().join(DB_FILE);
    let kept = read_file(&db);
    write_file(&db, &kept[..kept.len() / 2 / 4096 * 4096]);
    assert_refused(dir.path(), &[DB_FILE, "truncated"]);
    // The header alone tells too.
    let _ = std::fs::remove_file(dir.path().join(STATE_FILE));
    assert_refused(dir.path(), &[DB_FILE, "truncated", "pages are missing"]);
    // Not a whole number of pages.
    write_file(&db, &kept[..kept.len() - 10]);
    assert_refused(dir.path(), &[DB_FILE, "whole number"]);
    write_file(&db, &kept);
    assert_eq!(count(&open(dir.path())).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bit_flipped_main_file_is_refused_at_open() {
    let dir = tempdir();
    {
        let store = open(dir.path());
        fill(&store, 400).await;
    }
    let db = dir.path().join(DB_FILE);
    let kept = read_file(&db);
    let page = 4096;
    // The header's magic.
    let mut bytes = kept.clone();
    bytes[3] ^= 0x01;
    write_file(&db, &bytes);
    assert_refused(dir.path(), &["damaged header"]);
    // A b-tree page in the middle of the file: found by quick_check.
    let mut bytes = kept.clone();
    let middle = (kept.len() / page / 2) * page;
    bytes[middle] = 0xff;
    write_file(&db, &bytes);
    assert_refused(dir.path(), &[DB_FILE, "damaged"]);
    write_file(&db, &kept);
    assert_eq!(count(&open(dir.path())).await, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_stores_skip_quick_check_at_open_and_check_store_still_finds_the_damage() {
    let dir = tempdir();
    {
        let store = open(dir.path());
        fill(&store, 400).await;
    }
    let db = dir.path().join(DB_FILE);
    let mut bytes = read_file(&db);
    let middle = (bytes.len() / 4096 / 2) * 4096;
    bytes[middle] = 0xff;
    write_file(&db, &bytes);
    // Above the size up to which open runs quick_check, the damage is
    // found by the full check, not at open.
    let options = eve_store_sqlite::StoreOptions {
        quick_check_max_size: Some(4096),
        ..Default::default()
    };
    let store = match SqliteStore::open_with(dir.path(), &options) {
        Ok(store) => store,
        Err(e) => panic!("open without quick_check: {e}"),
    };
    assert!(store.check_integrity().await.is_err());
    drop(store);
    assert_refused(dir.path(), &[DB_FILE, "damaged"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_state_file_is_refused_and_removing_it_opens_the_store() {
    let dir = tempdir();
    {
        let store = open(dir.path());
        fill(&store, 10).await;
    }
    write_file(&dir.path().join(STATE_FILE), b"garbage");
    assert_refused(dir.path(), &[STATE_FILE, "unreadable", "remove"]);
    let _ = std::fs::remove_file(dir.path().join(STATE_FILE));
    assert_eq!(count(&open(dir.path())).await, 10);
}
