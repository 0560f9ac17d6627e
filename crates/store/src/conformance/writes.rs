//! Conformance cases for single writes: duplicate ids, replace, update,
//! delete, concurrent writers and the integrity check.

use std::collections::BTreeSet;
use std::sync::Arc;

use bson::{doc, Bson, Document};

use super::*;
use crate::{DataLayer, FindQuery};
use eve_query::Filter;

/// A second document with the same `_id` is refused, and nothing changes.
pub async fn duplicate_id_fails_with_duplicate_key(store: Arc<dyn DataLayer>) {
    insert(&store, "c", vec![doc! {"_id": "a", "v": 1}]).await;
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": "a", "v": 2}]).await,
        0,
        "same _id",
    );
    // Equal numbers are equal ids.
    insert(&store, "c", vec![doc! {"_id": 7}]).await;
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 7.0}]).await,
        0,
        "7 and 7.0",
    );
    let stored = find(&store, "c", FindQuery::new(all())).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].get("v"), Some(&Bson::Int32(1)));
}

/// A bulk insert is all or nothing, and names the colliding position.
pub async fn bulk_insert_is_atomic_and_reports_the_colliding_position(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("email", &["email"], true, false)]).await;
    insert(&store, "c", vec![doc! {"_id": 1, "email": "a@x"}]).await;
    let batch = vec![
        doc! {"_id": 2, "email": "b@x"},
        doc! {"_id": 3, "email": "c@x"},
        doc! {"_id": 4, "email": "a@x"},
        doc! {"_id": 5, "email": "d@x"},
    ];
    assert_duplicate(store.insert("c", batch).await, 2, "unique email in a batch");
    let within = vec![
        doc! {"_id": 6, "email": "e@x"},
        doc! {"_id": 6, "email": "f@x"},
    ];
    assert_duplicate(
        store.insert("c", within).await,
        1,
        "duplicate _id inside the batch",
    );
    assert_eq!(
        ids(&find(&store, "c", FindQuery::new(all())).await),
        int_ids(&[1]),
        "nothing of a failed batch stays"
    );
    // The failed batches left no index entries behind.
    insert(
        &store,
        "c",
        vec![
            doc! {"_id": 2, "email": "b@x"},
            doc! {"_id": 6, "email": "e@x"},
        ],
    )
    .await;
    assert_eq!(count(&store, "c", all()).await, 3);
}

/// `replace_one` swaps the content, keeps `_id` and the natural position.
pub async fn replace_one_keeps_the_id_and_reports_a_match(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "c",
        vec![doc! {"_id": 1, "a": 1, "b": 1}, doc! {"_id": 2, "a": 2}],
    )
    .await;
    let replaced = store
        .replace_one("c", &Filter::eq("_id", 1), doc! {"_id": 99, "c": 3})
        .await;
    assert!(matches!(replaced, Ok(true)), "got {replaced:?}");
    let found = find(&store, "c", FindQuery::new(all())).await;
    assert_eq!(found.len(), 2);
    assert_eq!(
        bytes(&found[0]),
        bytes(&doc! {"_id": 1, "c": 3}),
        "content replaced, _id kept, position kept"
    );
    let none = store
        .replace_one("c", &Filter::eq("_id", 42), doc! {"c": 4})
        .await;
    assert!(matches!(none, Ok(false)));
    assert_eq!(
        count(&store, "c", all()).await,
        2,
        "a replace never inserts"
    );
}

/// A conditional replace on a stale version finds nothing.
pub async fn replace_one_is_false_when_the_filter_no_longer_matches(store: Arc<dyn DataLayer>) {
    insert(&store, "c", vec![doc! {"_id": 1, "_etag": "v1", "x": 0}]).await;
    let first = store
        .replace_one(
            "c",
            &q(doc! {"_id": 1, "_etag": "v1"}),
            doc! {"_etag": "v2", "x": 1},
        )
        .await;
    assert!(matches!(first, Ok(true)));
    let stale = store
        .replace_one(
            "c",
            &q(doc! {"_id": 1, "_etag": "v1"}),
            doc! {"_etag": "v3", "x": 2},
        )
        .await;
    assert!(
        matches!(stale, Ok(false)),
        "the second write used a stale etag: {stale:?}"
    );
    let doc = store
        .find_one("c", &Filter::eq("_id", 1))
        .await
        .ok()
        .flatten();
    assert_eq!(doc.and_then(|d| d.get("x").cloned()), Some(Bson::Int32(1)));
}

/// A replace that collides on a unique index fails with `DuplicateKey`
/// (position 0) and leaves the document unchanged.
pub async fn replace_one_reports_duplicate_key_on_unique_violation(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("email", &["email"], true, false)]).await;
    insert(
        &store,
        "c",
        vec![doc! {"_id": 1, "email": "a"}, doc! {"_id": 2, "email": "b"}],
    )
    .await;
    assert_duplicate(
        store
            .replace_one("c", &Filter::eq("_id", 2), doc! {"email": "a"})
            .await,
        0,
        "replace",
    );
    assert_eq!(
        where_ids(&store, "c", doc! {"email": "b"}).await,
        int_ids(&[2]),
        "unchanged"
    );
    // Replacing a document with its own key is fine.
    assert!(matches!(
        store
            .replace_one("c", &Filter::eq("_id", 2), doc! {"email": "b", "v": 1})
            .await,
        Ok(true)
    ));
}

/// `update_one` sets dotted paths, creating intermediate documents.
pub async fn update_one_sets_dotted_paths(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "c",
        vec![doc! {"_id": 1, "a": {"b": 1}, "keep": true}],
    )
    .await;
    let set = doc! {"a.c": 2, "x.y.z": 3, "keep": false, "_id": 5};
    assert!(matches!(
        store.update_one("c", &Filter::eq("_id", 1), set).await,
        Ok(true)
    ));
    let found = find(&store, "c", FindQuery::new(all())).await;
    let expected = doc! {"_id": 1, "a": {"b": 1, "c": 2}, "keep": false, "x": {"y": {"z": 3}}};
    assert_eq!(
        found.first().map(bytes),
        Some(bytes(&expected)),
        "got {found:?}"
    );
    assert_eq!(
        where_ids(&store, "c", doc! {"x.y.z": 3}).await,
        int_ids(&[1])
    );
}

/// A conditional update on a stale version finds nothing.
pub async fn update_one_is_false_when_the_filter_no_longer_matches(store: Arc<dyn DataLayer>) {
    insert(&store, "c", vec![doc! {"_id": 1, "_etag": "v1"}]).await;
    let filter = q(doc! {"_id": 1, "_etag": "v1"});
    assert!(matches!(
        store.update_one("c", &filter, doc! {"_etag": "v2"}).await,
        Ok(true)
    ));
    assert!(matches!(
        store.update_one("c", &filter, doc! {"_etag": "v3"}).await,
        Ok(false)
    ));
    assert!(matches!(
        store
            .update_one("c", &Filter::eq("_id", 2), doc! {"a": 1})
            .await,
        Ok(false)
    ));
    assert_eq!(
        where_ids(&store, "c", doc! {"_etag": "v2"}).await,
        int_ids(&[1])
    );
}

/// Updates keep unique indexes enforced and queryable.
pub async fn update_one_maintains_unique_indexes(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("email", &["email"], true, false)]).await;
    insert(
        &store,
        "c",
        vec![doc! {"_id": 1, "email": "a"}, doc! {"_id": 2, "email": "b"}],
    )
    .await;
    assert_duplicate(
        store
            .update_one("c", &Filter::eq("_id", 2), doc! {"email": "a"})
            .await,
        0,
        "update",
    );
    assert!(matches!(
        store
            .update_one("c", &Filter::eq("_id", 2), doc! {"email": "c"})
            .await,
        Ok(true)
    ));
    // The old key is free again, the new one taken.
    insert(&store, "c", vec![doc! {"_id": 3, "email": "b"}]).await;
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 4, "email": "c"}]).await,
        0,
        "new key",
    );
    assert_eq!(
        where_ids(&store, "c", doc! {"email": "c"}).await,
        int_ids(&[2])
    );
}

/// `delete_many` removes every match and says how many.
pub async fn delete_many_returns_the_count(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("email", &["email"], true, true)]).await;
    let docs: Vec<Document> = (1..=5)
        .map(|i| doc! {"_id": i, "odd": i % 2 == 1, "email": format!("{i}@x")})
        .collect();
    insert(&store, "c", docs).await;
    assert!(matches!(
        store.delete_many("c", &q(doc! {"odd": true})).await,
        Ok(3)
    ));
    assert!(matches!(
        store.delete_many("c", &q(doc! {"odd": true})).await,
        Ok(0)
    ));
    assert_eq!(
        ids(&find(&store, "c", FindQuery::new(all())).await),
        int_ids(&[2, 4])
    );
    // Deleted keys are free again.
    insert(&store, "c", vec![doc! {"_id": 1, "email": "1@x"}]).await;
    assert!(matches!(store.delete_many("c", &all()).await, Ok(3)));
    assert_eq!(count(&store, "c", all()).await, 0);
}

/// Many writers race to replace the same version: exactly one wins.
pub async fn concurrent_conditional_replaces_have_exactly_one_winner(store: Arc<dyn DataLayer>) {
    insert(&store, "c", vec![doc! {"_id": 1, "_etag": "e0", "n": 0}]).await;
    let mut tasks = Vec::new();
    for i in 1..=16i32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let filter = q(doc! {"_id": 1, "_etag": "e0"});
            let won = store
                .replace_one("c", &filter, doc! {"_etag": format!("e{i}"), "n": i})
                .await;
            (i, won)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await {
            Ok((i, Ok(true))) => winners.push(i),
            Ok((_, Ok(false))) => {}
            Ok((i, Err(e))) => panic!("writer {i} failed: {e}"),
            Err(e) => panic!("writer task failed: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let doc = store
        .find_one("c", &Filter::eq("_id", 1))
        .await
        .ok()
        .flatten();
    assert_eq!(
        doc.and_then(|d| d.get("n").cloned()),
        Some(Bson::Int32(winners[0]))
    );
}

/// Concurrent inserts are all stored, with distinct ids.
pub async fn concurrent_inserts_are_all_stored(store: Arc<dyn DataLayer>) {
    let mut tasks = Vec::new();
    for t in 0..8i32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25i32 {
                match store.insert("c", vec![doc! {"t": t, "i": i}]).await {
                    Ok(mut got) => ids.append(&mut got),
                    Err(e) => panic!("insert failed: {e}"),
                }
            }
            ids
        }));
    }
    let mut all_ids = Vec::new();
    for task in tasks {
        match task.await {
            Ok(mut ids) => all_ids.append(&mut ids),
            Err(e) => panic!("insert task failed: {e}"),
        }
    }
    let distinct: BTreeSet<String> = all_ids.iter().map(|id| id.to_string()).collect();
    assert_eq!(distinct.len(), 200);
    assert_eq!(count(&store, "c", all()).await, 200);
    for t in 0..8i32 {
        let mine = find(&store, "c", FindQuery::new(q(doc! {"t": t}))).await;
        let order: Vec<Bson> = mine.iter().filter_map(|d| d.get("i").cloned()).collect();
        assert_eq!(
            order,
            int_ids(&(0..25).collect::<Vec<_>>()),
            "one task's inserts keep their order"
        );
    }
}

/// After a mix of writes (including failed ones), the store's own check
/// passes.
pub async fn integrity_holds_after_mixed_writes(store: Arc<dyn DataLayer>) {
    prepare(
        &store,
        "c",
        &[
            index("email", &["email"], true, true),
            index("tags", &["tags", "n"], false, false),
        ],
    )
    .await;
    for i in 0..30i32 {
        let d = doc! {"_id": i, "email": format!("{}@x", i % 25), "tags": [format!("t{}", i % 4), "all"], "n": i};
        let _ = store.insert("c", vec![d]).await;
    }
    let _ = store
        .update_one("c", &Filter::eq("_id", 3), doc! {"email": "4@x"})
        .await;
    let _ = store
        .update_one(
            "c",
            &Filter::eq("_id", 5),
            doc! {"tags": ["solo"], "email": "new@x"},
        )
        .await;
    let _ = store
        .replace_one("c", &Filter::eq("_id", 6), doc! {"n": 600})
        .await;
    let _ = store.delete_many("c", &q(doc! {"n": {"$gte": 20}})).await;
    let _ = store
        .prepare_collection("c", &[index("tags", &["tags"], false, false)])
        .await;
    if let Err(e) = store.check_integrity().await {
        panic!("integrity check failed: {e}");
    }
    assert_eq!(count(&store, "c", all()).await, 19);
}
