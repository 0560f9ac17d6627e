//! What runs in SQL (docs/postgres.md): the plan the shared planner picks
//! on PostgreSQL and how many documents PostgreSQL hands to Rust for it,
//! and the integrity check finding a damaged index table.
//!
//! Needs `EVE_TEST_POSTGRES_URI` (skips with a message without it, fails
//! under `CI=true`).

use bson::{doc, Document};
use eve_query::{Filter, SortDir};
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec};
use eve_store_postgres::{PgOptions, PostgresStore, QueryPlan};

const DOCS: i32 = 3000;

fn uri() -> Option<String> {
    match std::env::var("EVE_TEST_POSTGRES_URI") {
        Ok(uri) if !uri.trim().is_empty() => Some(uri),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but EVE_TEST_POSTGRES_URI is not set"
            );
            eprintln!("skipped: set EVE_TEST_POSTGRES_URI (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL push-down tests");
            None
        }
    }
}

fn q(d: Document) -> Filter {
    Filter::parse(&d).expect("the test's query parses")
}

fn index(name: &str, field: &str, unique: bool) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        keys: vec![(field.into(), IndexKey::Asc)],
        unique,
        sparse: false,
        text: None,
    }
}

/// A store holding `DOCS` documents `{_id: i, k: i % 100, u: i, s: "x"}`
/// with indexes on `k` and (unique) `u`.
async fn filled(uri: &str) -> PostgresStore {
    let store = PostgresStore::connect_temporary(uri, PgOptions::default())
        .await
        .expect("open a temporary store");
    store
        .prepare_collection("c", &[index("by_k", "k", false), index("by_u", "u", true)])
        .await
        .expect("prepare");
    for chunk in (0..DOCS).collect::<Vec<_>>().chunks(500) {
        let docs = chunk
            .iter()
            .map(|i| doc! {"_id": *i, "k": *i % 100, "u": *i, "s": "x"})
            .collect();
        store.insert("c", docs).await.expect("insert");
    }
    store
}

#[tokio::test]
async fn indexed_queries_read_only_the_matching_documents() {
    let Some(uri) = uri() else { return };
    let store = filled(&uri).await;

    // Equality on an indexed field: only its matches leave PostgreSQL.
    let e = store
        .explain("c", &FindQuery::new(q(doc! {"k": 7})))
        .await
        .unwrap();
    assert!(
        matches!(e.plan, QueryPlan::IndexScan { ref index, .. } if index == "by_k"),
        "{e:?}"
    );
    assert_eq!((e.returned, e.stats.docs_examined), (30, 30), "{e:?}");

    // A unique equality reads one document, whatever the collection's size.
    let e = store
        .explain("c", &FindQuery::new(q(doc! {"u": 2500})))
        .await
        .unwrap();
    assert_eq!((e.returned, e.stats.docs_examined), (1, 1), "{e:?}");

    // A range with other conditions: the range is SQL, the rest is Rust.
    // Key ranges include their bounds (a superset), so `u: 110` is read and
    // refused by the filter.
    let e = store
        .explain(
            "c",
            &FindQuery::new(q(doc! {"u": {"$gte": 100, "$lt": 110}, "k": {"$ne": 105}})),
        )
        .await
        .unwrap();
    assert_eq!((e.returned, e.stats.docs_examined), (10, 11), "{e:?}");

    // A sort on an indexed field with a limit walks the index and stops.
    let mut top = FindQuery::new(Filter::All);
    top.sort = vec![("u".into(), SortDir::Desc)];
    top.limit = Some(5);
    let e = store.explain("c", &top).await.unwrap();
    assert!(matches!(e.plan, QueryPlan::IndexOrder { .. }), "{e:?}");
    assert_eq!(e.returned, 5);
    assert!(e.stats.docs_examined <= 6, "{e:?}");
    let docs = store.find("c", &top).await.unwrap();
    let ids: Vec<i32> = docs.iter().map(|d| d.get_i32("_id").unwrap()).collect();
    assert_eq!(ids, vec![2999, 2998, 2997, 2996, 2995]);

    // No filter, no sort: OFFSET/LIMIT in SQL.
    let mut window = FindQuery::new(Filter::All);
    window.skip = 100;
    window.limit = Some(10);
    let e = store.explain("c", &window).await.unwrap();
    assert_eq!((e.returned, e.stats.docs_examined), (10, 10), "{e:?}");
    let docs = store.find("c", &window).await.unwrap();
    assert_eq!(docs.first().and_then(|d| d.get_i32("_id").ok()), Some(100));

    // A filter no index serves scans every document: the contrast.
    let e = store
        .explain(
            "c",
            &FindQuery::new(q(doc! {"s": "x", "u": {"$mod": [1000, 0]}})),
        )
        .await
        .unwrap();
    assert_eq!(e.plan, QueryPlan::CollectionScan);
    assert_eq!(
        (e.returned, e.stats.docs_examined),
        (3, DOCS as u64),
        "{e:?}"
    );

    // Counts agree with the documents, by index or by scan.
    assert_eq!(store.count("c", &q(doc! {"k": 7})).await.unwrap(), 30);
    assert_eq!(store.count("c", &Filter::All).await.unwrap(), DOCS as u64);
    assert_eq!(
        store
            .count("c", &q(doc! {"u": {"$gte": 10, "$lt": 20}}))
            .await
            .unwrap(),
        10
    );
}

#[tokio::test]
async fn the_integrity_check_finds_a_damaged_index_table() {
    let Some(uri) = uri() else { return };
    let store = filled(&uri).await;
    store.check_integrity().await.expect("a sound store");
    let (client, connection) = tokio_postgres::connect(&uri, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let schema = store.schema().to_string();
    let row = client
        .query_one(
            &format!("SELECT cid, ixid FROM \"{schema}\".eve_indexes WHERE name = 'by_k'"),
            &[],
        )
        .await
        .expect("the index is in the catalog");
    let (cid, ixid): (i64, i64) = (row.get(0), row.get(1));
    client
        .execute(
            &format!("DELETE FROM \"{schema}\".c{cid}_ix{ixid} WHERE rid IN (SELECT rid FROM \"{schema}\".c{cid}_ix{ixid} LIMIT 3)"),
            &[],
        )
        .await
        .expect("damage the index");
    let err = store.check_integrity().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("by_k: 3 missing and 0 stray entries"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_to_different_documents_never_collide() {
    // Row-level conflicts only: writers of different documents of one
    // small table never make each other run again (a SERIALIZABLE
    // transaction's page-level predicate locks did, for most of them).
    let Some(uri) = uri() else { return };
    let store = std::sync::Arc::new(
        PostgresStore::connect_temporary(&uri, PgOptions::default())
            .await
            .expect("open a temporary store"),
    );
    store.prepare_collection("c", &[]).await.expect("prepare");
    store
        .insert("c", (0..8).map(|i| doc! {"_id": i, "n": -1}).collect())
        .await
        .expect("insert");
    let mut tasks = Vec::new();
    for w in 0..8 {
        let store = std::sync::Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for j in 0..40 {
                let matched = store
                    .update_one("c", &q(doc! {"_id": w}), doc! {"n": j})
                    .await
                    .expect("update");
                assert!(matched);
                store
                    .insert("c", vec![doc! {"w": w, "j": j}])
                    .await
                    .expect("insert");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    assert_eq!(store.retries(), 0);
    assert_eq!(store.count("c", &q(doc! {"n": 39})).await.unwrap(), 8);
    assert_eq!(store.count("c", &Filter::All).await.unwrap(), 8 + 8 * 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checked_document_changed_by_another_transaction_aborts_the_batch() {
    // A batch that checks a document it does not write (WriteOp::Check)
    // must not commit on a stale read: another connection changes the
    // document after the batch's snapshot; the batch waits on its share
    // lock, runs again on a fresh snapshot, and fails with Conflict.
    let Some(uri) = uri() else { return };
    let store = std::sync::Arc::new(
        PostgresStore::connect_temporary(&uri, PgOptions::default())
            .await
            .expect("open a temporary store"),
    );
    store
        .insert("a", vec![doc! {"_id": 1, "etag": "x"}])
        .await
        .expect("insert");
    store
        .insert("b", vec![doc! {"_id": 0}])
        .await
        .expect("insert");
    let (mut client, connection) = tokio_postgres::connect(&uri, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let schema = store.schema().to_string();
    let row = client
        .query_one(
            &format!("SELECT cid FROM \"{schema}\".eve_collections WHERE name = 'a'"),
            &[],
        )
        .await
        .expect("collection a");
    let cid: i64 = row.get(0);
    let other = client.transaction().await.expect("begin");
    let changed = doc! {"_id": 1, "etag": "y"}.to_vec().expect("encode");
    other
        .execute(
            &format!("UPDATE \"{schema}\".c{cid}_docs SET doc = $1"),
            &[&changed],
        )
        .await
        .expect("change the document, uncommitted");
    let batch = eve_store::WriteBatch::new()
        .push_must_match(eve_store::WriteOp::Check {
            collection: "a".into(),
            filter: q(doc! {"_id": 1, "etag": "x"}),
        })
        .push(eve_store::WriteOp::Insert {
            collection: "b".into(),
            docs: vec![doc! {"_id": 1}],
        });
    let writer = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move { store.apply(batch).await })
    };
    // Let the batch read its snapshot and block on the share lock.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!writer.is_finished(), "the batch did not wait for the lock");
    other.commit().await.expect("commit");
    let result = tokio::time::timeout(std::time::Duration::from_secs(20), writer)
        .await
        .expect("the batch finished")
        .expect("the batch task");
    assert!(
        matches!(result, Err(eve_store::StoreError::Conflict { op: 0, .. })),
        "{result:?}"
    );
    assert!(store.retries() >= 1);
    assert_eq!(store.count("b", &Filter::All).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_statement_timeout_and_an_exhausted_pool_are_unavailable() {
    // Another connection locks the collection's table: a read blocks on
    // it holding the pool's only connection until `statement_timeout`; a
    // second read meanwhile waits for the pool past `wait_timeout`. Both
    // are Unavailable (503), with no detail; afterwards the store serves.
    let Some(uri) = uri() else { return };
    let options = PgOptions {
        pool_size: 1,
        wait_timeout: std::time::Duration::from_millis(300),
        statement_timeout: std::time::Duration::from_millis(1500),
        ..PgOptions::default()
    };
    let store = std::sync::Arc::new(
        PostgresStore::connect_temporary(&uri, options)
            .await
            .expect("open a temporary store"),
    );
    store
        .insert("c", vec![doc! {"_id": 1}])
        .await
        .expect("insert");
    let (mut client, connection) = tokio_postgres::connect(&uri, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let schema = store.schema().to_string();
    let cid: i64 = client
        .query_one(
            &format!("SELECT cid FROM \"{schema}\".eve_collections WHERE name = 'c'"),
            &[],
        )
        .await
        .expect("collection c")
        .get(0);
    let locker = client.transaction().await.expect("begin");
    locker
        .batch_execute(&format!(
            "LOCK TABLE \"{schema}\".c{cid}_docs IN ACCESS EXCLUSIVE MODE"
        ))
        .await
        .expect("lock");
    let blocked = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move { store.find("c", &FindQuery::new(Filter::All)).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let waiting = store.count("c", &Filter::All).await;
    assert!(
        matches!(&waiting, Err(eve_store::StoreError::Unavailable(m)) if !m.contains(&schema)),
        "{waiting:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let timed_out = tokio::time::timeout(std::time::Duration::from_secs(20), blocked)
        .await
        .expect("the blocked read ends")
        .expect("the read task");
    assert!(
        matches!(&timed_out, Err(eve_store::StoreError::Unavailable(m)) if !m.contains(&schema)),
        "{timed_out:?}"
    );
    locker.rollback().await.expect("unlock");
    let docs = store.find("c", &FindQuery::new(Filter::All)).await.unwrap();
    assert_eq!(docs, vec![doc! {"_id": 1}]);
}

/// A `2dsphere` index is a table of bounding boxes with a GiST index,
/// written with the documents: a `$near` with `$maxDistance` finds moved
/// documents at their new place, and deleted ones leave the table.
#[tokio::test]
async fn geo_indexes_keep_a_box_per_located_document() {
    let Some(uri) = uri() else { return };
    let store = PostgresStore::connect_temporary(&uri, PgOptions::default())
        .await
        .expect("open a temporary store");
    let point = |lon: f64, lat: f64| doc! {"type": "Point", "coordinates": [lon, lat]};
    store
        .insert(
            "places",
            (0..300)
                .map(|i| doc! {"_id": i, "loc": point(-170.0 + f64::from(i) * 0.1, 10.0)})
                .collect(),
        )
        .await
        .expect("insert");
    let geo = IndexSpec {
        name: "loc_geo".into(),
        keys: vec![("loc".into(), IndexKey::Special("2dsphere".into()))],
        unique: false,
        sparse: false,
        text: None,
    };
    store
        .prepare_collection("places", &[geo])
        .await
        .expect("prepare");
    store
        .insert(
            "places",
            vec![
                doc! {"_id": 1000, "loc": point(50.0, 50.0)},
                doc! {"_id": 1001},
            ],
        )
        .await
        .expect("insert");
    let near = |lon: f64, lat: f64, max: f64| {
        let mut q = FindQuery::new(Filter::All);
        q.near = Some(eve_query::Near {
            field: "loc".into(),
            point: [lon, lat],
            max_distance: Some(max),
            min_distance: None,
            spherical: true,
            geojson: true,
        });
        q
    };
    let ids = |docs: Vec<Document>| -> Vec<i32> {
        docs.iter().filter_map(|d| d.get_i32("_id").ok()).collect()
    };
    let found = store
        .find("places", &near(-170.0, 10.0, 25_000.0))
        .await
        .expect("near");
    assert_eq!(ids(found), [0, 1, 2]);
    store
        .update_one(
            "places",
            &q(doc! {"_id": 1}),
            doc! {"loc": point(50.0, 50.1)},
        )
        .await
        .expect("update");
    let found = store
        .find("places", &near(-170.0, 10.0, 25_000.0))
        .await
        .expect("near");
    assert_eq!(ids(found), [0, 2]);
    let found = store
        .find("places", &near(50.0, 50.0, 20_000.0))
        .await
        .expect("near");
    assert_eq!(ids(found), [1000, 1]);
    store
        .delete_many("places", &q(doc! {"_id": {"$lt": 100}}))
        .await
        .expect("delete");
    let (client, conn) = tokio_postgres::connect(&uri, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_tables t WHERE t.schemaname = $1 AND EXISTS \
             (SELECT 1 FROM information_schema.columns c WHERE c.table_schema = t.schemaname \
              AND c.table_name = t.tablename AND c.column_name = 'bbox')",
            &[&store.schema()],
        )
        .await
        .expect("query");
    assert_eq!(row.get::<_, i64>(0), 1, "one box table");
    let table: String = client
        .query_one(
            "SELECT table_name::text FROM information_schema.columns WHERE table_schema = $1 AND column_name = 'bbox'",
            &[&store.schema()],
        )
        .await
        .expect("query")
        .get(0);
    let rows: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM \"{}\".\"{table}\"", store.schema()),
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(
        rows, 201,
        "200 points left and the one added; none for the document without a location"
    );
}
