//! The shared conformance suite (`eve_store::conformance`) on MongoDB:
//! one test per case, each on its own fresh database of the server that
//! `EVE_TEST_MONGO_URI` names.
//!
//! Without `EVE_TEST_MONGO_URI` the cases skip with a message, except
//! under `CI=true`, where a missing or unreachable server fails them.
//! `scripts/mongo-test-server.sh start` starts a test server and prints
//! its URI:
//!
//! ```text
//! EVE_TEST_MONGO_URI=$(scripts/mongo-test-server.sh start) cargo test -p eve-store-mongo
//! ```
//!
//! On a standalone server (`scripts/mongo-test-server.sh start 27218
//! --standalone`) the same cases check the compensating writes; only the
//! snapshot case is skipped there, since such a server has no snapshots.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use eve_store::conformance::Fixture;
use eve_store_mongo::{MongoStore, Topology};

/// The variable naming the test server.
const URI_VAR: &str = "EVE_TEST_MONGO_URI";

/// Cases the test server answers differently from MongoDB, with why.
/// They run on any other server (a real `mongod`).
const TEST_SERVER_GAPS: &[(&str, &str)] = &[
    (
        "text_search_matches_ranks_and_counts",
        "SecantusDB has no text indexes (CannotCreateIndex); the $text query, sort and \
         projection documents are checked by the unit tests of src/text.rs",
    ),
    (
        "text_index_follows_every_write",
        "SecantusDB has no text indexes (CannotCreateIndex)",
    ),
    (
        "indexed_queries_return_what_scans_return",
        "SecantusDB 0.7.0b3 intersects the bounds of a range on a multikey index \
     ({n: {$gte: 2, $lte: 4}} misses {n: [1, 5]}), which MongoDB does not",
    ),
];

/// The running case's name (the test harness names the thread after it).
fn case_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("case")
        .rsplit("::")
        .next()
        .unwrap_or("case")
        .to_string()
}

/// A database name no other case (of this run or an earlier one) uses,
/// within MongoDB's 63 bytes.
fn fresh_name(case: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() % 100_000_000)
        .unwrap_or(0);
    let short: String = case.chars().take(32).collect();
    format!(
        "c_{short}_{}_{stamp}_{}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops the case's database when the case ends (best effort).
struct DropDatabase(MongoStore);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let store = self.0.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = store.drop_database().await;
            });
        }
    }
}

async fn fresh_store() -> Option<Fixture> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let uri = match std::env::var(URI_VAR) {
        Ok(uri) if !uri.trim().is_empty() => uri,
        _ if ci => panic!("{URI_VAR} is not set: under CI=true the MongoDB suite must run (.ci/run starts the test server)"),
        _ => {
            eprintln!(
                "skipping: {URI_VAR} is not set (EVE_TEST_MONGO_URI=$(scripts/mongo-test-server.sh start) cargo test -p eve-store-mongo)"
            );
            return None;
        }
    };
    let case = case_name();
    let store = match MongoStore::open_uri(&uri, &fresh_name(&case)).await {
        Ok(store) => store,
        Err(e) => panic!("{URI_VAR}: {e}"),
    };
    let info = match store.build_info().await {
        Ok(info) => info,
        Err(e) => panic!("{URI_VAR} names a server that does not answer: {e}"),
    };
    if store.topology().await.ok() == Some(Topology::Standalone)
        && case == "find_page_reads_items_and_total_from_one_snapshot"
    {
        eprintln!(
            "skipped {case}: a standalone MongoDB server has no snapshot reads (docs/mongodb.md)"
        );
        return None;
    }
    if info.contains_key("secantusVersion") {
        if let Some((_, why)) = TEST_SERVER_GAPS.iter().find(|(name, _)| *name == case) {
            eprintln!("skipped {case} on the test server: {why}");
            return None;
        }
    }
    let guard = DropDatabase(store.clone());
    Some(Fixture::with_guard(Arc::new(store), guard))
}

eve_store::conformance_suite!(fresh_store());
