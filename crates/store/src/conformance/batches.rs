//! Conformance cases for write batches ([`DataLayer::apply`]): order,
//! per-write results, `$unset` and many-updates, and all-or-nothing
//! failure (a "must match" that misses, a unique violation) across
//! collections. Atomic cases are skipped, with a message, by layers whose
//! [`Capabilities::atomic_batches`](crate::Capabilities) is false.

use std::sync::Arc;

use bson::{doc, Bson, Document};

use super::*;
use crate::{BatchResult, DataLayer, FindQuery, StoreError, WriteBatch, WriteOp};
use eve_query::Filter;

fn ins(coll: &str, docs: Vec<Document>) -> WriteOp {
    WriteOp::Insert {
        collection: coll.into(),
        docs,
    }
}

fn upd(coll: &str, filter: Document, set: Document, unset: &[&str], many: bool) -> WriteOp {
    WriteOp::Update {
        collection: coll.into(),
        filter: q(filter),
        set,
        unset: unset.iter().map(|s| s.to_string()).collect(),
        many,
    }
}

fn del(coll: &str, filter: Document, many: bool) -> WriteOp {
    WriteOp::Delete {
        collection: coll.into(),
        filter: q(filter),
        many,
    }
}

fn rep(coll: &str, filter: Document, doc: Document) -> WriteOp {
    WriteOp::Replace {
        collection: coll.into(),
        filter: q(filter),
        doc,
    }
}

async fn apply(store: &Arc<dyn DataLayer>, batch: WriteBatch) -> BatchResult {
    match store.apply(batch).await {
        Ok(r) => r,
        Err(e) => panic!("apply failed: {e}"),
    }
}

/// Every collection's documents, for before/after comparisons.
async fn snapshot(store: &Arc<dyn DataLayer>, colls: &[&str]) -> Vec<Vec<Document>> {
    let mut out = Vec::new();
    for c in colls {
        out.push(find(store, c, FindQuery::new(all())).await);
    }
    out
}

/// Whether the layer applies batches atomically; says why a case skips.
fn atomic_or_skip(store: &Arc<dyn DataLayer>, case: &str) -> bool {
    let atomic = store.capabilities().atomic_batches;
    if !atomic {
        eprintln!(
            "skipped {case}: the {} layer does not apply batches atomically",
            store.name()
        );
    }
    atomic
}

/// Writes apply in order (later ones see earlier ones) across collections,
/// and each reports what it did.
pub async fn batch_applies_writes_in_order_and_reports_each(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "b",
        vec![doc! {"_id": 1, "n": 1}, doc! {"_id": 2, "n": 2}],
    )
    .await;
    let batch = WriteBatch::new()
        .push(ins("a", vec![doc! {"_id": "x", "v": 1}, doc! {"v": 2}]))
        .push(upd("a", doc! {"_id": "x"}, doc! {"v": 10}, &[], false))
        .push(rep("b", doc! {"_id": 1}, doc! {"n": 100}))
        .push(rep("b", doc! {"_id": 2}, doc! {"n": 2}))
        .push(del("b", doc! {"n": {"$gte": 0}}, false))
        .push(WriteOp::Check {
            collection: "a".into(),
            filter: q(doc! {"v": 10}),
        })
        .push(del("missing", doc! {}, true));
    let result = apply(&store, batch).await;
    assert_eq!(result.ops.len(), 7, "one result per write");
    let inserted = &result.ops[0].inserted_ids;
    assert_eq!(inserted.len(), 2);
    assert_eq!(inserted[0], Bson::String("x".into()));
    assert!(
        matches!(inserted[1], Bson::ObjectId(_)),
        "a generated id is reported"
    );
    let counts: Vec<(u64, u64)> = result.ops[1..]
        .iter()
        .map(|r| (r.matched, r.modified))
        .collect();
    assert_eq!(
        counts,
        vec![(1, 1), (1, 1), (1, 0), (1, 1), (1, 0), (0, 0)],
        "update sees the insert before it; a replace by the same content modifies nothing; \
         a delete of one removes the first match"
    );
    let a = find(&store, "a", FindQuery::new(all())).await;
    assert_eq!(a.len(), 2);
    assert_eq!(a[0], doc! {"_id": "x", "v": 10});
    assert_eq!(
        ids(&find(&store, "b", FindQuery::new(all())).await),
        int_ids(&[2])
    );
}

/// `$unset` removes dotted paths (missing ones are no change), `_id` never
/// changes, and `many` updates every match while one-updates stop at the
/// first.
pub async fn batch_updates_unset_fields_and_update_many(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "c",
        vec![
            doc! {"_id": 1, "k": "x", "a": {"b": 1, "c": 1}, "t": 1},
            doc! {"_id": 2, "k": "x", "a": {"c": 2}, "t": 1},
            doc! {"_id": 3, "k": "y", "a": {"b": 3}, "t": 1},
            doc! {"_id": 4, "k": "x", "a": {"b": 4}, "t": 1},
        ],
    )
    .await;
    let batch = WriteBatch::new()
        .push(upd("c", doc! {"k": "x"}, doc! {"s": true}, &["a.b"], true))
        .push(upd(
            "c",
            doc! {"k": "x"},
            doc! {},
            &["t", "_id", "nope.deep"],
            false,
        ))
        .push(upd("c", doc! {"_id": 3}, doc! {"_id": 99}, &[], false));
    let result = apply(&store, batch).await;
    let counts: Vec<(u64, u64)> = result.ops.iter().map(|r| (r.matched, r.modified)).collect();
    assert_eq!(counts, vec![(3, 3), (1, 1), (1, 0)]);
    let docs = find(&store, "c", FindQuery::new(all())).await;
    assert_eq!(
        docs,
        vec![
            doc! {"_id": 1, "k": "x", "a": {"c": 1}, "s": true},
            doc! {"_id": 2, "k": "x", "a": {"c": 2}, "t": 1, "s": true},
            doc! {"_id": 3, "k": "y", "a": {"b": 3}, "t": 1},
            doc! {"_id": 4, "k": "x", "a": {}, "t": 1, "s": true},
        ]
    );
    // An update that changes nothing is matched, not modified.
    let again = apply(
        &store,
        WriteBatch::new().push(upd("c", doc! {"k": "x"}, doc! {"s": true}, &["a.b"], true)),
    )
    .await;
    assert_eq!((again.ops[0].matched, again.ops[0].modified), (3, 0));
}

/// A unique violation anywhere in a batch undoes every write of it, in
/// every collection, and names the write, the index and the document.
pub async fn batch_duplicate_key_names_the_op_and_undoes_everything(store: Arc<dyn DataLayer>) {
    if !atomic_or_skip(
        &store,
        "batch_duplicate_key_names_the_op_and_undoes_everything",
    ) {
        return;
    }
    prepare(&store, "u", &[index("email", &["email"], true, false)]).await;
    insert(&store, "u", vec![doc! {"_id": 1, "email": "a@x"}]).await;
    insert(&store, "other", vec![doc! {"_id": 1, "n": 1}]).await;
    let before = snapshot(&store, &["u", "other", "fresh"]).await;
    let batch = WriteBatch::new()
        .push(ins("fresh", vec![doc! {"_id": 1}]))
        .push(upd("other", doc! {"_id": 1}, doc! {"n": 2}, &[], false))
        .push(ins(
            "u",
            vec![
                doc! {"_id": 2, "email": "b@x"},
                doc! {"_id": 3, "email": "a@x"},
            ],
        ));
    match store.apply(batch).await {
        Err(StoreError::DuplicateKey {
            op,
            index,
            index_name,
            ..
        }) => {
            assert_eq!(op, 2, "the third write collided");
            assert_eq!(index, 1, "its second document collided");
            assert_eq!(index_name, "email");
        }
        other => panic!("expected DuplicateKey, got {other:?}"),
    }
    assert_eq!(snapshot(&store, &["u", "other", "fresh"]).await, before);
    // The same through an update, on the primary key's index.
    let batch = WriteBatch::new()
        .push(del("other", doc! {}, true))
        .push(rep("u", doc! {"_id": 1}, doc! {"email": "c@x"}))
        .push(upd("u", doc! {"_id": 1}, doc! {"email": "a@x"}, &[], false));
    let outcome = store.apply(batch).await;
    assert!(
        outcome.is_ok(),
        "a unique key may move within a batch: {outcome:?}"
    );
    let batch = WriteBatch::new()
        .push(ins("fresh", vec![doc! {"_id": 5}]))
        .push(ins("fresh", vec![doc! {"_id": 5.0}]));
    match store.apply(batch).await {
        Err(StoreError::DuplicateKey { op, index, .. }) => assert_eq!((op, index), (1, 0)),
        other => panic!("expected DuplicateKey on _id, got {other:?}"),
    }
    assert!(find(&store, "fresh", FindQuery::new(all()))
        .await
        .is_empty());
}

/// A batch that created collections and was then rolled back leaves
/// nothing a later write could land in: other collections created after
/// it, then the first one again, each hold exactly their own documents
/// (the embedded layer caches its catalog on the writer; a rolled-back
/// catalog change must not survive in that cache).
pub async fn batch_rolled_back_after_creating_a_collection_leaves_no_trace(
    store: Arc<dyn DataLayer>,
) {
    if !atomic_or_skip(
        &store,
        "batch_rolled_back_after_creating_a_collection_leaves_no_trace",
    ) {
        return;
    }
    let batch = WriteBatch::new()
        .push(ins("fresh_a", vec![doc! {"_id": "a1"}]))
        .push_must_match(WriteOp::Check {
            collection: "fresh_a".into(),
            filter: Filter::eq("_id", "nowhere"),
        });
    match store.apply(batch).await {
        Err(StoreError::Conflict { op, .. }) => assert_eq!(op, 1),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(count(&store, "fresh_a", all()).await, 0);
    // Created without a write first, so the catalog reaches the version
    // number the rolled-back batch had reached.
    prepare(&store, "fresh_b", &[]).await;
    insert(&store, "fresh_a", vec![doc! {"_id": "a2"}]).await;
    insert(&store, "fresh_b", vec![doc! {"_id": "b1"}]).await;
    insert(&store, "fresh_c", vec![doc! {"_id": "c1"}]).await;
    let ids_in = |coll: &'static str| {
        let store = Arc::clone(&store);
        async move { ids(&find(&store, coll, FindQuery::new(all())).await) }
    };
    assert_eq!(ids_in("fresh_a").await, vec![Bson::from("a2")]);
    assert_eq!(ids_in("fresh_b").await, vec![Bson::from("b1")]);
    assert_eq!(ids_in("fresh_c").await, vec![Bson::from("c1")]);
}

/// A "must match" write that finds its document changed (stale `_etag`)
/// in the middle of a batch aborts it: the writes before it are undone,
/// the ones after it never happen, in every collection.
pub async fn batch_failed_must_match_leaves_every_collection_unchanged(store: Arc<dyn DataLayer>) {
    if !atomic_or_skip(
        &store,
        "batch_failed_must_match_leaves_every_collection_unchanged",
    ) {
        return;
    }
    insert(&store, "docs", vec![doc! {"_id": 1, "_etag": "v2", "n": 1}]).await;
    insert(&store, "log", vec![doc! {"_id": "l0"}]).await;
    insert(&store, "gone", vec![doc! {"_id": 7}]).await;
    let before = snapshot(&store, &["docs", "log", "gone", "versions"]).await;
    let batch = WriteBatch::new()
        .push(ins("versions", vec![doc! {"_id": "1:1", "n": 1}]))
        .push(upd("log", doc! {}, doc! {"seen": true}, &[], true))
        .push_must_match(rep("docs", doc! {"_id": 1, "_etag": "v1"}, doc! {"n": 2}))
        .push(del("gone", doc! {}, true));
    match store.apply(batch).await {
        Err(StoreError::Conflict { op, .. }) => assert_eq!(op, 2, "the third write missed"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(
        snapshot(&store, &["docs", "log", "gone", "versions"]).await,
        before
    );
    // With the current version the same batch applies whole.
    let batch = WriteBatch::new()
        .push(ins("versions", vec![doc! {"_id": "1:1", "n": 1}]))
        .push_must_match(rep("docs", doc! {"_id": 1, "_etag": "v2"}, doc! {"n": 2}))
        .push_must_match(WriteOp::Check {
            collection: "gone".into(),
            filter: Filter::eq("_id", 7),
        })
        .push_must_match(del("gone", doc! {"_id": 7}, false));
    let result = apply(&store, batch).await;
    assert_eq!(result.ops[1].matched, 1);
    assert_eq!(count(&store, "versions", all()).await, 1);
    assert_eq!(count(&store, "gone", all()).await, 0);
    // Every kind of write can be the one that misses.
    for (i, op) in [
        upd("docs", doc! {"_id": 9}, doc! {"x": 1}, &[], false),
        del("docs", doc! {"_id": 9}, true),
        WriteOp::Check {
            collection: "nowhere".into(),
            filter: all(),
        },
    ]
    .into_iter()
    .enumerate()
    {
        let before = snapshot(&store, &["docs", "versions"]).await;
        let batch = WriteBatch::new()
            .push(ins("versions", vec![doc! {"i": i as i32}]))
            .push_must_match(op);
        assert!(
            matches!(
                store.apply(batch).await,
                Err(StoreError::Conflict { op: 1, .. })
            ),
            "case {i}"
        );
        assert_eq!(snapshot(&store, &["docs", "versions"]).await, before);
    }
}
