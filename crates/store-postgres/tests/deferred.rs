//! A store opened while its server is down (issue #11): preparing a
//! collection is deferred, calls answer Unavailable, and once the server
//! answers the pending preparation completes before the first write, so a
//! unique index already refuses a duplicate.
//!
//! The server comes from `EVE_TEST_POSTGRES_URI`; without it the test
//! skips with a message, except under `CI=true`, where it fails. The
//! "server" the store sees is a local TCP forwarder that starts listening
//! only after the store is opened.

use bson::doc;
use eve_query::Filter;
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec, StoreError};
use eve_store_postgres::{PgOptions, PostgresStore, TempSchema};

fn uri() -> Option<String> {
    match std::env::var("EVE_TEST_POSTGRES_URI") {
        Ok(uri) if !uri.trim().is_empty() => Some(uri),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "CI=true but EVE_TEST_POSTGRES_URI is not set"
            );
            eprintln!("skipped: set EVE_TEST_POSTGRES_URI (e.g. postgres://postgres@127.0.0.1:5432/test) to run the deferred-preparation test");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preparation_deferred_while_down_completes_before_the_first_write() {
    let Some(real) = uri() else { return };
    // A free port nobody listens on (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let schema = format!("eve_deferred_{}", std::process::id());
    let _cleanup = TempSchema::new(&real, &schema);
    let (user, real_addr, rest) = split_url(&real);
    let sep = if rest.contains('?') { '&' } else { '?' };
    let url = format!(
        "postgres://{user}127.0.0.1:{port}/{rest}{sep}eve_schema={schema}&connect_timeout=2"
    );
    let store = PostgresStore::connect(&url, PgOptions::default())
        .await
        .expect("a store opens while its server is down");
    let unique = IndexSpec {
        name: "by_u".into(),
        keys: vec![("u".into(), IndexKey::Asc)],
        unique: true,
        sparse: false,
        text: None,
    };
    store
        .prepare_collection("c", &[unique])
        .await
        .expect("preparation is deferred, not failed");
    let down = store
        .find("c", &FindQuery::new(Filter::All))
        .await
        .expect_err("no server yet");
    assert!(matches!(down, StoreError::Unavailable(_)), "{down:?}");

    // The server comes up: forward the port to the real one.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let forwarder = tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((mut inbound, _)) = listener.accept().await else {
                return;
            };
            let real_addr = real_addr.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(real_addr).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    store
        .insert("c", vec![doc! {"_id": 1, "u": 7}])
        .await
        .expect("the first write, after the pending preparation");
    let dup = store
        .insert("c", vec![doc! {"_id": 2, "u": 7}])
        .await
        .expect_err("the unique index existed before the first write");
    assert!(matches!(dup, StoreError::DuplicateKey { .. }), "{dup:?}");
    let docs = store.find("c", &FindQuery::new(Filter::All)).await.unwrap();
    assert_eq!(docs, vec![doc! {"_id": 1, "u": 7}]);
    drop(store);
    forwarder.abort();
}

/// Splits `postgres://user@host:port/db?…` into (`user@` or "",
/// `host:port`, `db?…`).
fn split_url(url: &str) -> (String, String, String) {
    let after = url.split_once("://").expect("a postgres:// URL").1;
    let (authority, rest) = after.split_once('/').unwrap_or((after, ""));
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    (user, host, rest.to_string())
}
