//! The shared conformance suite (`eve_store::conformance`), run on the
//! embedded store: one test per case, each on a fresh store in its own
//! temporary directory.

use std::sync::Arc;

use eve_store::conformance::Fixture;
use eve_store_sqlite::SqliteStore;

async fn fresh_store() -> Fixture {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a temporary directory: {e}"),
    };
    match SqliteStore::open(dir.path()) {
        Ok(store) => Fixture::with_guard(Arc::new(store), dir),
        Err(e) => panic!("cannot open the store: {e}"),
    }
}

eve_store::conformance_suite!(fresh_store());
