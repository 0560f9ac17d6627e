//! Bad input is refused with the right kind, never a panic.

use bson::{doc, Bson};
use eve_query::Filter;
use eve_store::{DataLayer, IndexKey, IndexSpec, StoreError};

use crate::{open, tempdir};

fn spec(name: &str, keys: &[&str]) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        keys: keys
            .iter()
            .map(|k| (k.to_string(), IndexKey::Asc))
            .collect(),
        unique: false,
        sparse: false,
        text: None,
    }
}

#[tokio::test]
async fn an_array_id_is_refused() {
    let dir = tempdir();
    let store = open(dir.path());
    let r = store.insert("c", vec![doc! {"_id": [1, 2]}]).await;
    assert!(matches!(r, Err(StoreError::InvalidQuery(_))), "{r:?}");
    assert!(matches!(store.count("c", &Filter::All).await, Ok(0)));
}

#[tokio::test]
async fn parallel_arrays_in_a_compound_index_are_refused() {
    let dir = tempdir();
    let store = open(dir.path());
    assert!(store
        .prepare_collection("c", &[spec("ab", &["a", "b"])])
        .await
        .is_ok());
    assert!(store
        .insert("c", vec![doc! {"a": [1], "b": 2}])
        .await
        .is_ok());
    let r = store.insert("c", vec![doc! {"a": [1], "b": [2]}]).await;
    assert!(matches!(r, Err(StoreError::InvalidQuery(_))), "{r:?}");
}

#[tokio::test]
async fn bad_index_definitions_are_refused() {
    let dir = tempdir();
    let store = open(dir.path());
    for bad in [
        spec("", &["a"]),
        spec("none", &[]),
        spec("_id_", &["a"]),
        spec("twice", &["a", "a"]),
        spec("dots", &["a..b"]),
    ] {
        let r = store
            .prepare_collection("c", std::slice::from_ref(&bad))
            .await;
        assert!(
            matches!(r, Err(StoreError::InvalidIndex { .. })),
            "{bad:?}: {r:?}"
        );
    }
    let r = store
        .prepare_collection("c", &[spec("x", &["a"]), spec("x", &["b"])])
        .await;
    assert!(matches!(r, Err(StoreError::InvalidIndex { .. })), "{r:?}");
}

#[tokio::test]
async fn a_bad_update_path_is_refused_and_changes_nothing() {
    let dir = tempdir();
    let store = open(dir.path());
    assert!(store
        .insert("c", vec![doc! {"_id": 1, "a": 5}])
        .await
        .is_ok());
    let r = store
        .update_one("c", &Filter::All, doc! {"ok": 1, "a.b": 2})
        .await;
    assert!(matches!(r, Err(StoreError::InvalidQuery(_))), "{r:?}");
    let d = store.find_one("c", &Filter::All).await.ok().flatten();
    assert_eq!(d, Some(doc! {"_id": 1, "a": 5}));
}

#[tokio::test]
async fn odd_collection_names_are_just_names() {
    let dir = tempdir();
    let store = open(dir.path());
    for name in ["a; DROP TABLE eve_collections; --", "\"quoted\"", "ünï", ""] {
        assert!(
            store.insert(name, vec![doc! {"v": name}]).await.is_ok(),
            "{name}"
        );
        let d = store.find_one(name, &Filter::All).await.ok().flatten();
        assert_eq!(
            d.and_then(|d| d.get("v").cloned()),
            Some(Bson::String(name.into()))
        );
    }
    assert!(store.check_integrity().await.is_ok());
}
