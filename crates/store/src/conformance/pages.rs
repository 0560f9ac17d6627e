//! Conformance cases for pages ([`DataLayer::find_page`]): a page and its
//! total read from one snapshot, and projections (MongoDB's semantics,
//! arrays of documents included) applied by the layer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::{doc, Document};

use super::*;
use crate::{DataLayer, FindQuery, SortDir};

async fn page(
    store: &Arc<dyn DataLayer>,
    coll: &str,
    query: &FindQuery,
    with_total: bool,
) -> (Vec<Document>, Option<u64>) {
    match store.find_page(coll, query, with_total).await {
        Ok(p) => p,
        Err(e) => panic!("find_page {query:?} on {coll} failed: {e}"),
    }
}

/// `find_page` windows like `find` and counts like `count`; the total is
/// only computed when asked for.
pub async fn find_page_returns_the_window_and_the_total(store: Arc<dyn DataLayer>) {
    let docs: Vec<Document> = (0..10)
        .map(|i| doc! {"_id": i, "even": i % 2 == 0})
        .collect();
    insert(&store, "c", docs).await;
    let mut query = sorted(q(doc! {"even": true}), &[("_id", SortDir::Desc)]);
    query.skip = 1;
    query.limit = Some(2);
    let (items, total) = page(&store, "c", &query, true).await;
    assert_eq!(ids(&items), int_ids(&[6, 4]));
    assert_eq!(total, Some(5));
    let (items, total) = page(&store, "c", &query, false).await;
    assert_eq!((ids(&items), total), (int_ids(&[6, 4]), None));
    let (items, total) = page(&store, "nowhere", &query, true).await;
    assert!(items.is_empty());
    assert_eq!(total, Some(0));
}

/// A page and its total come from one snapshot: with a writer inserting
/// concurrently, a page that holds every match always has exactly
/// `total` items. (Reading them separately fails this within a few
/// rounds.)
pub async fn find_page_reads_items_and_total_from_one_snapshot(store: Arc<dyn DataLayer>) {
    // The writer starts once the first page was read and keeps inserting
    // until the reader has seen the collection grow a few times (or it
    // reaches MAX_INSERTS), so the reads overlap the writes however slow
    // either side is on a loaded machine; both sides are bounded in count
    // and time.
    const MAX_INSERTS: i32 = 2_000;
    const GROWTHS: usize = 3;
    insert(&store, "c", vec![doc! {"_id": -1, "pad": "x".repeat(64)}]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(tokio::sync::Notify::new());
    let writer = {
        let (store, stop, started) = (Arc::clone(&store), Arc::clone(&stop), Arc::clone(&started));
        tokio::spawn(async move {
            started.notified().await;
            let mut inserted = 0;
            while inserted < MAX_INSERTS && !stop.load(Ordering::SeqCst) {
                if let Err(e) = store
                    .insert("c", vec![doc! {"_id": inserted, "pad": "x".repeat(64)}])
                    .await
                {
                    panic!("concurrent insert failed: {e}");
                }
                inserted += 1;
            }
            inserted
        })
    };
    let mut query = FindQuery::new(q(doc! {"pad": {"$exists": true}}));
    query.limit = Some(100_000);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut rounds, mut growths, mut last) = (0usize, 0usize, 0usize);
    while growths < GROWTHS && Instant::now() < deadline && !writer.is_finished() {
        let (items, total) = page(&store, "c", &query, true).await;
        assert_eq!(
            total,
            Some(items.len() as u64),
            "round {rounds}: the total disagrees with the page"
        );
        if rounds == 0 {
            started.notify_one();
        }
        growths += usize::from(last > 0 && items.len() > last);
        last = items.len();
        rounds += 1;
    }
    stop.store(true, Ordering::SeqCst);
    let inserted = match writer.await {
        Ok(n) => n,
        Err(e) => panic!("the inserter failed: {e}"),
    };
    assert!(
        growths > 0,
        "the pages never saw the collection grow in {rounds} rounds ({inserted} inserts): \
         the case did not race with the writer"
    );
    let (items, total) = page(&store, "c", &query, true).await;
    let expected = inserted as usize + 1;
    assert_eq!((items.len(), total), (expected, Some(expected as u64)));
}

/// Projections select fields as MongoDB does: through arrays of documents
/// (scalars dropped by inclusion, kept by exclusion), `_id` kept unless
/// excluded, applied after sorting and windowing (a sort key may be
/// projected away).
pub async fn projection_on_arrays_of_documents_matches_mongodb(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "c",
        vec![
            doc! {
                "_id": 1,
                "a": [{"b": 1, "c": 2}, {"c": 3}, 5, [{"b": 4, "c": 5}]],
                "x": {"y": 1, "z": 2},
                "k": 1,
            },
            doc! {"_id": 2, "a": {"b": 7, "c": 8}, "x": 3, "k": 2},
        ],
    )
    .await;
    let with = |projection: Document| {
        let mut query = sorted(all(), &[("k", SortDir::Desc)]);
        query.projection = Some(projection);
        query
    };
    let cases: Vec<(Document, Vec<Document>)> = vec![
        (
            doc! {"a.b": 1},
            vec![
                doc! {"_id": 2, "a": {"b": 7}},
                doc! {"_id": 1, "a": [{"b": 1}, {}, [{"b": 4}]]},
            ],
        ),
        (
            doc! {"a.c": 0, "k": 0},
            vec![
                doc! {"_id": 2, "a": {"b": 7}, "x": 3},
                doc! {"_id": 1, "a": [{"b": 1}, {}, 5, [{"b": 4}]], "x": {"y": 1, "z": 2}},
            ],
        ),
        (
            doc! {"_id": 0, "x.y": 1},
            vec![doc! {}, doc! {"x": {"y": 1}}],
        ),
        (doc! {"_id": 0}, {
            vec![
                doc! {"a": {"b": 7, "c": 8}, "x": 3, "k": 2},
                doc! {"a": [{"b": 1, "c": 2}, {"c": 3}, 5, [{"b": 4, "c": 5}]], "x": {"y": 1, "z": 2}, "k": 1},
            ]
        }),
    ];
    for (projection, expected) in cases {
        let query = with(projection.clone());
        let got = find(&store, "c", query.clone()).await;
        assert_eq!(got, expected, "projection {projection}");
        let (items, total) = page(&store, "c", &query, true).await;
        assert_eq!(items, expected, "find_page with projection {projection}");
        assert_eq!(total, Some(2));
    }
    // A window is taken before projecting.
    let mut query = with(doc! {"k": 1});
    query.skip = 1;
    let got = find(&store, "c", query).await;
    assert_eq!(got, vec![doc! {"_id": 1, "k": 1}]);
}
