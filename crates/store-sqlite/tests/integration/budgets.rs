//! Budgets of reads (docs/robustness.md): in-memory sorts hold only
//! `skip + limit` documents and refuse to hold more than the sort memory
//! budget; a read whose caller went away stops and frees its reader.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::{doc, Document};
use eve_query::{parse_sort, Filter};
use eve_store::{DataLayer, FindQuery, StoreError};
use eve_store_sqlite::SqliteStore;

use crate::{open, tempdir};

/// `n` documents of about `size` bytes each, numbered 0..n in a shuffled
/// order (so an in-memory sort has work to do).
async fn fill(store: &SqliteStore, n: i32, size: usize) {
    let docs: Vec<Document> = (0..n)
        .map(|i| doc! {"n": (i * 37) % n, "pad": "a".repeat(size)})
        .collect();
    for chunk in docs.chunks(50) {
        if let Err(e) = store.insert("c", chunk.to_vec()).await {
            panic!("insert: {e}");
        }
    }
}

fn sorted(sort: &str, skip: u64, limit: Option<u64>) -> FindQuery {
    FindQuery {
        filter: Filter::All,
        sort: parse_sort(sort).unwrap_or_default(),
        skip,
        limit,
        ..FindQuery::new(Filter::All)
    }
}

fn numbers(docs: &[Document]) -> Vec<i32> {
    docs.iter().filter_map(|d| d.get_i32("n").ok()).collect()
}

#[tokio::test]
async fn an_unindexed_sort_holds_only_skip_plus_limit_documents() {
    let dir = tempdir();
    // 60 documents of 20 KB (1.2 MB) under a 100 KB sort budget.
    let store = open(dir.path()).with_sort_memory_limit(100 * 1024);
    fill(&store, 60, 20 * 1024).await;
    // One page of one: held memory is one document, whatever the matches.
    match store.find("c", &sorted("-n", 0, Some(1))).await {
        Ok(docs) => assert_eq!(numbers(&docs), vec![59]),
        Err(e) => panic!("{e}"),
    }
    match store.find("c", &sorted("n", 1, Some(2))).await {
        Ok(docs) => assert_eq!(numbers(&docs), vec![1, 2]),
        Err(e) => panic!("{e}"),
    }
    // A deep page, or no limit, would hold more than the budget: refused.
    for query in [sorted("n", 50, Some(5)), sorted("n", 0, None)] {
        match store.find("c", &query).await {
            Err(StoreError::InvalidQuery(msg)) => assert!(
                msg.starts_with("Sort exceeded memory limit of 102400 bytes"),
                "{msg}"
            ),
            other => panic!("expected the sort budget to refuse: {other:?}"),
        }
    }
    // Natural order streams: no budget applies.
    match store.find("c", &sorted("", 0, None)).await {
        Ok(docs) => assert_eq!(docs.len(), 60),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn an_index_walk_counts_ties_against_the_sort_budget() {
    let dir = tempdir();
    let store = open(dir.path()).with_sort_memory_limit(100 * 1024);
    let spec = eve_store::IndexSpec {
        name: "k".into(),
        keys: vec![("k".into(), eve_store::IndexKey::Asc)],
        unique: false,
        sparse: false,
        text: None,
    };
    if let Err(e) = store.prepare_collection("c", &[spec]).await {
        panic!("{e}");
    }
    // Every document has the same `k`: one group of 60 ties of 20 KB.
    let docs: Vec<Document> = (0..60)
        .map(|i| doc! {"k": 1, "n": i, "pad": "a".repeat(20 * 1024)})
        .collect();
    if let Err(e) = store.insert("c", docs).await {
        panic!("{e}");
    }
    match store.find("c", &sorted("k,-n", 0, Some(1))).await {
        Err(StoreError::InvalidQuery(msg)) => assert!(msg.starts_with("Sort exceeded"), "{msg}"),
        other => panic!("expected the sort budget to refuse: {other:?}"),
    }
}

/// A read that scans every document with a costly regex.
fn slow() -> FindQuery {
    let filter = Filter::parse(&doc! {"pad": {"$regex": "[a-z]{1,30}[0-9]"}})
        .unwrap_or_else(|e| panic!("{e}"));
    FindQuery::new(filter)
}

fn plain() -> FindQuery {
    FindQuery {
        filter: Filter::eq("n", 3),
        sort: Vec::new(),
        skip: 0,
        limit: Some(1),
        ..FindQuery::new(Filter::All)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abandoned_read_stops_and_frees_its_reader() {
    let dir = tempdir();
    let store = Arc::new(open(dir.path()));
    fill(&store, 2000, 2 * 1024).await;
    // How long one slow read takes alone, on this machine, now.
    let start = Instant::now();
    assert!(matches!(store.find("c", &slow()).await, Ok(d) if d.is_empty()));
    let solo = start.elapsed();
    // Four slow reads take every reader; their callers then go away.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.find("c", &slow()).await.is_ok() })
        })
        .collect();
    tokio::time::sleep(solo / 10).await;
    for task in &tasks {
        task.abort();
    }
    // A plain read gets a reader long before the slow ones could have
    // finished (four reads on this machine's cores take at least `solo`).
    let start = Instant::now();
    match store.find("c", &plain()).await {
        Ok(docs) => assert_eq!(numbers(&docs), vec![3]),
        Err(e) => panic!("{e}"),
    }
    let waited = start.elapsed();
    eprintln!("plain read after abandoned ones: {waited:?} (one slow read alone: {solo:?})");
    assert!(
        waited < solo / 2,
        "a plain read waited {waited:?} behind abandoned reads (one slow read alone: {solo:?})"
    );
    // Each abandoned read was stopped, none ran to its end.
    for _ in 0..100 {
        if store.cancelled_reads() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.cancelled_reads(), 4);
    for task in tasks {
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
    }
}
