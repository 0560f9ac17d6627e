//! Tests of the embedded store itself (the shared behaviour is in
//! `tests/conformance.rs`): durability, planning, integrity checking and
//! concurrency. One binary, a module per feature.

mod atrest;
mod budgets;
mod concurrency;
mod durability;
mod errors;
mod explain;
mod geo;
mod integrity;
mod planner;
mod text;

use std::path::Path;
use std::sync::Arc;

use eve_store::DataLayer;
use eve_store_sqlite::SqliteStore;

/// Opens a store, failing the test with the reason when it cannot.
pub fn open(dir: &Path) -> SqliteStore {
    match SqliteStore::open(dir) {
        Ok(store) => store,
        Err(e) => panic!("cannot open the store in {}: {e}", dir.display()),
    }
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a temporary directory: {e}"),
    }
}

/// The store as the rest of eve-rs holds it.
pub fn shared(store: SqliteStore) -> Arc<dyn DataLayer> {
    Arc::new(store)
}
