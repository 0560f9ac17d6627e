//! The shared conformance suite (`eve_store::conformance`) on PostgreSQL:
//! one test per case, each on a store in a fresh schema of its own that is
//! dropped when the case ends.
//!
//! The server comes from `EVE_TEST_POSTGRES_URI` (for instance
//! `postgres://postgres@127.0.0.1:5432/test`). Without it the cases skip
//! with a message, except under `CI=true`, where a missing variable or an
//! unreachable server fails them: CI must run this suite.

use std::sync::Arc;

use eve_store::conformance::Fixture;
use eve_store::DataLayer;
use eve_store_postgres::{PgOptions, PostgresStore};

async fn fresh_store() -> Option<Fixture> {
    let uri = match std::env::var("EVE_TEST_POSTGRES_URI") {
        Ok(uri) if !uri.trim().is_empty() => uri,
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but EVE_TEST_POSTGRES_URI is not set: the PostgreSQL suite must run in CI");
            }
            eprintln!(
                "EVE_TEST_POSTGRES_URI is not set: set it (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL conformance suite"
            );
            return None;
        }
    };
    let store = match PostgresStore::connect_temporary(&uri, PgOptions::default()).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open a PostgreSQL store on EVE_TEST_POSTGRES_URI: {e}"),
    };
    let store: Arc<dyn DataLayer> = Arc::new(store);
    Some(Fixture::new(store))
}

eve_store::conformance_suite!(fresh_store());
