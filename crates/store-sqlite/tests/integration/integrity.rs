//! `check_integrity` passes on a sound store and names what is broken.

use bson::doc;
use eve_store::{DataLayer, IndexKey, IndexSpec, StoreError};

use crate::{open, tempdir};

async fn store_with_index(dir: &std::path::Path) {
    let store = open(dir);
    let spec = IndexSpec {
        name: "email".into(),
        keys: vec![("email".into(), IndexKey::Asc)],
        unique: true,
        sparse: false,
        text: None,
    };
    assert!(store.prepare_collection("c", &[spec]).await.is_ok());
    let docs = (0..10)
        .map(|i| doc! {"_id": i, "email": format!("{i}@x")})
        .collect();
    assert!(store.insert("c", docs).await.is_ok());
    assert!(store.check_integrity().await.is_ok());
}

/// Opens the database behind the store's back.
fn raw(dir: &std::path::Path) -> rusqlite::Connection {
    match rusqlite::Connection::open(dir.join(eve_store_sqlite::DB_FILE)) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn email_table(conn: &rusqlite::Connection) -> String {
    let (cid, ixid): (i64, i64) = match conn.query_row(
        "SELECT cid, ixid FROM eve_indexes WHERE name = 'email'",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ) {
        Ok(ids) => ids,
        Err(e) => panic!("{e}"),
    };
    format!("c{cid}_ix{ixid}")
}

#[tokio::test]
async fn a_missing_index_entry_is_reported() {
    let dir = tempdir();
    store_with_index(dir.path()).await;
    let conn = raw(dir.path());
    let table = email_table(&conn);
    assert!(conn
        .execute(&format!("DELETE FROM {table} WHERE rid = 3"), [])
        .is_ok());
    drop(conn);
    let store = open(dir.path());
    match store.check_integrity().await {
        Err(StoreError::Internal(m)) => {
            assert!(m.contains("email") && m.contains("1 missing"), "{m}")
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_stray_index_entry_is_reported() {
    let dir = tempdir();
    store_with_index(dir.path()).await;
    let conn = raw(dir.path());
    let table = email_table(&conn);
    assert!(conn
        .execute(
            &format!("INSERT INTO {table}(key, rid) VALUES (x'2001', 999)"),
            []
        )
        .is_ok());
    drop(conn);
    let store = open(dir.path());
    match store.check_integrity().await {
        Err(StoreError::Internal(m)) => assert!(m.contains("1 stray"), "{m}"),
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_corrupt_document_is_reported() {
    let dir = tempdir();
    store_with_index(dir.path()).await;
    let conn = raw(dir.path());
    assert!(conn
        .execute("UPDATE c1_docs SET doc = x'00' WHERE rowid = 2", [])
        .is_ok());
    drop(conn);
    let store = open(dir.path());
    assert!(matches!(
        store.check_integrity().await,
        Err(StoreError::Internal(_))
    ));
    // Reading it is an internal error, not a panic.
    let all = store
        .find("c", &eve_store::FindQuery::new(eve_query::Filter::All))
        .await;
    assert!(matches!(all, Err(StoreError::Internal(_))));
}
