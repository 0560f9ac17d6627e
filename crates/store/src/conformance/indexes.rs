//! Conformance cases for indexes: unique, multikey and sparse
//! constraints, `prepare_collection`, and indexed reads agreeing with scans.

use std::sync::Arc;

use bson::{doc, Bson};

use super::*;
use crate::{DataLayer, SortDir, StoreError};

/// A unique index refuses a second document with the same key.
pub async fn unique_index_rejects_duplicates(store: Arc<dyn DataLayer>) {
    prepare(
        &store,
        "c",
        &[
            index("email", &["email"], true, false),
            index("pair", &["a", "b"], true, false),
        ],
    )
    .await;
    insert(&store, "c", vec![doc! {"email": "a@x", "a": 1, "b": 1}]).await;
    assert_duplicate(
        store
            .insert("c", vec![doc! {"email": "a@x", "a": 2, "b": 2}])
            .await,
        0,
        "same email",
    );
    insert(&store, "c", vec![doc! {"email": "b@x", "a": 1, "b": 2}]).await;
    assert_duplicate(
        store
            .insert("c", vec![doc! {"email": "c@x", "a": 1, "b": 1.0}])
            .await,
        0,
        "same compound key",
    );
    assert_eq!(count(&store, "c", all()).await, 2);
}

/// A unique index over an array field compares elements across documents
/// (repeats inside one document are fine).
pub async fn unique_multikey_index_compares_elements(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("tags", &["tags"], true, false)]).await;
    insert(&store, "c", vec![doc! {"_id": 1, "tags": ["a", "b"]}]).await;
    assert_duplicate(
        store
            .insert("c", vec![doc! {"_id": 2, "tags": ["c", "a"]}])
            .await,
        0,
        "shared element",
    );
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 3, "tags": "b"}]).await,
        0,
        "scalar equal to an element",
    );
    insert(&store, "c", vec![doc! {"_id": 4, "tags": ["d", "d"]}]).await;
    assert_eq!(count(&store, "c", all()).await, 2);
    assert_eq!(
        where_ids(&store, "c", doc! {"tags": "d"}).await,
        int_ids(&[4])
    );
}

/// A sparse unique index ignores documents without the field.
pub async fn sparse_unique_index_allows_missing_fields(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("code", &["code"], true, true)]).await;
    insert(
        &store,
        "c",
        vec![doc! {"_id": 1}, doc! {"_id": 2}, doc! {"_id": 3, "code": 1}],
    )
    .await;
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 4, "code": 1}]).await,
        0,
        "sparse still unique",
    );
    assert_eq!(count(&store, "c", all()).await, 3);
    let sorted_docs = find(&store, "c", sorted(all(), &[("code", SortDir::Asc)])).await;
    assert_eq!(
        sorted_docs.len(),
        3,
        "sorting on a sparse index's field still returns every document"
    );
}

/// A non-sparse unique index indexes a missing field as null: only one
/// document may lack it.
pub async fn non_sparse_unique_index_treats_missing_as_null(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("code", &["code"], true, false)]).await;
    insert(&store, "c", vec![doc! {"_id": 1}]).await;
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 2}]).await,
        0,
        "second missing",
    );
    assert_duplicate(
        store
            .insert("c", vec![doc! {"_id": 3, "code": Bson::Null}])
            .await,
        0,
        "explicit null",
    );
    insert(&store, "c", vec![doc! {"_id": 4, "code": 0}]).await;
}

/// Preparing twice with the same indexes changes nothing.
pub async fn prepare_collection_is_idempotent(store: Arc<dyn DataLayer>) {
    let specs = [
        index("email", &["email"], true, false),
        index("age", &["age"], false, true),
    ];
    prepare(&store, "c", &specs).await;
    insert(&store, "c", vec![doc! {"_id": 1, "email": "a", "age": 3}]).await;
    prepare(&store, "c", &specs).await;
    prepare(&store, "c", &specs).await;
    assert_eq!(count(&store, "c", all()).await, 1);
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 2, "email": "a"}]).await,
        0,
        "index kept",
    );
    assert_eq!(where_ids(&store, "c", doc! {"age": 3}).await, int_ids(&[1]));
}

/// An index whose definition changed is rebuilt with the new definition.
pub async fn prepare_collection_rebuilds_a_changed_index(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("k", &["a"], false, false)]).await;
    insert(
        &store,
        "c",
        vec![
            doc! {"_id": 1, "a": 1, "b": 1},
            doc! {"_id": 2, "a": 1, "b": 2},
        ],
    )
    .await;
    // Same name, now unique on another field: rebuilt from the documents.
    prepare(&store, "c", &[index("k", &["b"], true, false)]).await;
    assert_duplicate(
        store
            .insert("c", vec![doc! {"_id": 3, "a": 9, "b": 2}])
            .await,
        0,
        "rebuilt unique on b",
    );
    insert(&store, "c", vec![doc! {"_id": 4, "a": 1, "b": 3}]).await;
    assert_eq!(
        where_ids(&store, "c", doc! {"b": {"$gte": 2}}).await,
        int_ids(&[2, 4])
    );
    assert_eq!(
        where_ids(&store, "c", doc! {"a": 1}).await,
        int_ids(&[1, 2, 4])
    );
}

/// Indexes no longer listed are dropped (their constraints with them).
pub async fn prepare_collection_drops_unlisted_indexes(store: Arc<dyn DataLayer>) {
    prepare(&store, "c", &[index("email", &["email"], true, false)]).await;
    insert(&store, "c", vec![doc! {"_id": 1, "email": "a"}]).await;
    prepare(&store, "c", &[]).await;
    insert(&store, "c", vec![doc! {"_id": 2, "email": "a"}]).await;
    assert_eq!(
        where_ids(&store, "c", doc! {"email": "a"}).await,
        int_ids(&[1, 2])
    );
    // `_id` stays unique whatever is listed.
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 1}]).await,
        0,
        "_id after dropping",
    );
}

/// A new unique index that existing documents violate is refused, and the
/// collection is left as it was.
pub async fn prepare_collection_fails_when_documents_violate_a_new_unique_index(
    store: Arc<dyn DataLayer>,
) {
    insert(
        &store,
        "c",
        vec![doc! {"_id": 1, "email": "a"}, doc! {"_id": 2, "email": "a"}],
    )
    .await;
    let result = store
        .prepare_collection("c", &[index("email", &["email"], true, false)])
        .await;
    assert!(
        matches!(result, Err(StoreError::InvalidIndex { ref name, .. }) if name == "email"),
        "got {result:?}"
    );
    insert(&store, "c", vec![doc! {"_id": 3, "email": "a"}]).await;
    assert_eq!(
        count(&store, "c", all()).await,
        3,
        "no unique index was left behind"
    );
    store
        .delete_many("c", &q(doc! {"_id": {"$in": [2, 3]}}))
        .await
        .ok();
    prepare(&store, "c", &[index("email", &["email"], true, false)]).await;
    assert_duplicate(
        store.insert("c", vec![doc! {"_id": 4, "email": "a"}]).await,
        0,
        "now unique",
    );
}

/// Indexed and unindexed collections answer every query alike.
pub async fn indexed_queries_return_what_scans_return(store: Arc<dyn DataLayer>) {
    prepare(
        &store,
        "ix",
        &[
            index("n", &["n"], false, false),
            index("s_n", &["s", "n"], false, false),
            index("tags", &["tags"], false, false),
            index("sub", &["sub.k"], false, true),
        ],
    )
    .await;
    let mut docs = Vec::new();
    for i in 0..60i32 {
        let n: Bson = match i % 6 {
            0 => Bson::Int32(i % 13),
            1 => Bson::Double(f64::from(i % 13) + 0.5),
            2 => Bson::Int64(i64::from(i % 13)),
            3 => Bson::String(format!("s{}", i % 5)),
            4 => Bson::Null,
            _ => Bson::Array(vec![Bson::Int32(i % 7), Bson::Int32(i % 11)]),
        };
        let s = ["x", "y", "z"][(i % 3) as usize];
        let mut d = doc! {"_id": i, "n": n, "s": s};
        if i % 4 != 0 {
            d.insert(
                "tags",
                vec![
                    Bson::String(format!("t{}", i % 3)),
                    Bson::String(format!("u{}", i % 4)),
                ],
            );
        }
        if i % 5 != 0 {
            d.insert("sub", doc! {"k": i % 9});
        }
        docs.push(d);
    }
    insert(&store, "ix", docs.clone()).await;
    insert(&store, "plain", docs).await;
    let filters = vec![
        doc! {"n": 3},
        doc! {"n": 3.5},
        doc! {"n": {"$gt": 5}},
        doc! {"n": {"$gte": 2, "$lte": 4}},
        doc! {"n": {"$gt": 9, "$lt": 4}},
        doc! {"n": {"$lt": "s3"}},
        doc! {"n": {"$in": [1, 2.5, "s1", 10]}},
        doc! {"n": Bson::Null},
        doc! {"n": {"$ne": 3}},
        doc! {"s": "y", "n": {"$gt": 2}},
        doc! {"s": {"$in": ["x", "z"]}},
        doc! {"tags": "t1"},
        doc! {"tags": {"$in": ["u0", "t2"]}},
        doc! {"tags": {"$exists": false}},
        doc! {"sub.k": {"$gte": 7}},
        doc! {"sub.k": 0},
        doc! {"$or": [{"n": 1}, {"tags": "u3"}]},
        doc! {"_id": {"$gte": 50}},
        doc! {"_id": 7, "n": 7},
    ];
    for filter in filters {
        let a = ids(&find_where(&store, "ix", filter.clone()).await);
        let b = ids(&find_where(&store, "plain", filter.clone()).await);
        assert_eq!(a, b, "filter {filter}");
        assert_eq!(
            count(&store, "ix", q(filter.clone())).await,
            b.len() as u64,
            "count {filter}"
        );
        for dir in [SortDir::Asc, SortDir::Desc] {
            for key in ["n", "s", "sub.k", "_id"] {
                let mut query = sorted(q(filter.clone()), &[(key, dir), ("_id", SortDir::Asc)]);
                query.limit = Some(5);
                query.skip = 1;
                let a = ids(&find(&store, "ix", query.clone()).await);
                let b = ids(&find(&store, "plain", query).await);
                assert_eq!(a, b, "filter {filter} sorted by {key} {dir:?}");
            }
        }
    }
}
