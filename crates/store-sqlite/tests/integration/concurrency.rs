//! Readers run while the writer writes; concurrent writes share commits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bson::doc;
use eve_query::Filter;
use eve_store::DataLayer;
use eve_store_sqlite::SqliteStore;

use crate::{open, tempdir};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_inserts_share_commits() {
    let dir = tempdir();
    let store = Arc::new(open(dir.path()));
    let before = store.write_stats();
    let mut tasks = Vec::new();
    for i in 0..64i32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.insert("c", vec![doc! {"i": i}]).await.is_ok()
        }));
    }
    for task in tasks {
        assert!(matches!(task.await, Ok(true)));
    }
    let after = store.write_stats();
    let writes = after.writes - before.writes;
    let batches = after.batches - before.batches;
    assert_eq!(writes, 64);
    assert!(
        batches < writes,
        "{batches} commits for {writes} writes: no grouping"
    );
    assert!(matches!(store.count("c", &Filter::All).await, Ok(64)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_failing_write_in_a_group_fails_alone() {
    let dir = tempdir();
    let store = Arc::new(open(dir.path()));
    assert!(store.insert("c", vec![doc! {"_id": 0}]).await.is_ok());
    let mut tasks = Vec::new();
    for i in 0..40i32 {
        let store = Arc::clone(&store);
        // Every fourth write collides with `_id` 0.
        let id = if i % 4 == 0 { 0 } else { i };
        tasks.push(tokio::spawn(async move {
            (id, store.insert("c", vec![doc! {"_id": id}]).await.is_ok())
        }));
    }
    for task in tasks {
        match task.await {
            Ok((id, ok)) => assert_eq!(ok, id != 0, "write of _id {id}"),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(matches!(store.count("c", &Filter::All).await, Ok(31)));
    assert!(store.check_integrity().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_see_whole_batches_while_the_writer_writes() {
    let dir = tempdir();
    let store: Arc<SqliteStore> = Arc::new(open(dir.path()));
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            for b in 0..40i32 {
                let batch = (0..10).map(|i| doc! {"b": b, "i": i}).collect();
                assert!(store.insert("c", batch).await.is_ok());
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut readers = Vec::new();
    for _ in 0..4 {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        readers.push(tokio::spawn(async move {
            let mut last = 0;
            let mut reads_during_writes = 0u32;
            while !done.load(Ordering::SeqCst) {
                let n = store.count("c", &Filter::All).await.unwrap_or(u64::MAX);
                assert_eq!(
                    n % 10,
                    0,
                    "a reader saw part of an atomic insert ({n} documents)"
                );
                assert!(n >= last, "counts went backwards: {last} then {n}");
                last = n;
                reads_during_writes += 1;
            }
            reads_during_writes
        }));
    }
    assert!(writer.await.is_ok());
    let mut total = 0;
    for r in readers {
        total += r.await.unwrap_or(0);
    }
    assert!(total > 0, "no read completed while writes were going on");
    assert!(matches!(store.count("c", &Filter::All).await, Ok(400)));
}
