//! Conformance cases for reads: round trips, natural order, sorts,
//! windows, filters and counts.

use std::sync::Arc;

use bson::{doc, oid::ObjectId, spec::BinarySubtype, Binary, Bson, Document};

use super::*;
use crate::{DataLayer, FindQuery, SortDir};
use eve_query::Filter;

/// Documents come back as inserted, in insertion order.
pub async fn insert_returns_ids_and_find_returns_insertion_order(store: Arc<dyn DataLayer>) {
    let docs: Vec<Document> = (0..5).map(|i| doc! {"_id": 10 - i, "n": i}).collect();
    let got = insert(&store, "c", docs.clone()).await;
    assert_eq!(got, int_ids(&[10, 9, 8, 7, 6]));
    insert(&store, "c", vec![doc! {"_id": 1, "n": 99}]).await;
    let found = find(&store, "c", FindQuery::new(all())).await;
    assert_eq!(
        ids(&found),
        int_ids(&[10, 9, 8, 7, 6, 1]),
        "natural order is insertion order"
    );
    assert_eq!(found[0], docs[0]);
    assert_eq!(count(&store, "c", all()).await, 6);
}

/// A document without `_id` gets a fresh ObjectId, returned and stored.
pub async fn insert_generates_object_ids_when_missing(store: Arc<dyn DataLayer>) {
    let got = insert(
        &store,
        "c",
        vec![doc! {"a": 1}, doc! {"a": 2}, doc! {"_id": "x", "a": 3}],
    )
    .await;
    assert_eq!(got.len(), 3);
    assert!(matches!(got[0], Bson::ObjectId(_)) && matches!(got[1], Bson::ObjectId(_)));
    assert_ne!(got[0], got[1]);
    assert_eq!(got[2], Bson::String("x".into()));
    let found = find(&store, "c", FindQuery::new(all())).await;
    assert_eq!(ids(&found), got, "the returned ids are the stored ones");
    let one = store
        .find_one("c", &Filter::eq("_id", got[1].clone()))
        .await;
    assert_eq!(
        one.ok().flatten().and_then(|d| d.get("a").cloned()),
        Some(Bson::Int32(2))
    );
}

/// Every BSON type survives storage bit for bit (field order included).
pub async fn bson_values_round_trip_exactly(store: Arc<dyn DataLayer>) {
    let oid = ObjectId::new();
    let decimal: bson::Decimal128 = "1234.5678E-3"
        .parse()
        .unwrap_or_else(|_| bson::Decimal128::from_bytes([1; 16]));
    let original = doc! {
        "_id": oid,
        "date": bson::DateTime::from_millis(1_700_000_000_123),
        "old": bson::DateTime::from_millis(-86_400_000),
        "i32": i32::MIN,
        "i64": i64::MAX,
        "small64": Bson::Int64(1),
        "double": 0.1f64,
        "negzero": -0.0f64,
        "big": 1.7976931348623157e308f64,
        "decimal": decimal,
        "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 1, 2, 255] },
        "uuid": Binary { subtype: BinarySubtype::Uuid, bytes: vec![7; 16] },
        "null": Bson::Null,
        "yes": true,
        "no": false,
        "text": "héllo \u{1F600}",
        "ts": Bson::Timestamp(bson::Timestamp { time: 5, increment: 6 }),
        "array": [1, "two", 3.0, [4, [5]], {"six": 6}, Bson::Null],
        "nested": {"z": 1, "a": {"deep": [oid]}, "m": []},
        "empty": {},
        "min": Bson::MinKey,
        "max": Bson::MaxKey,
    };
    insert(&store, "c", vec![original.clone()]).await;
    let found = find(&store, "c", FindQuery::new(all())).await;
    assert_eq!(found.len(), 1);
    assert_eq!(
        bytes(&found[0]),
        bytes(&original),
        "stored {original} came back as {}",
        found[0]
    );
    let by_id = store
        .find_one("c", &Filter::eq("_id", oid))
        .await
        .ok()
        .flatten();
    assert_eq!(by_id.map(|d| bytes(&d)), Some(bytes(&original)));
    // -0.0 keeps its sign bit.
    assert!(matches!(found[0].get("negzero"), Some(Bson::Double(z)) if z.is_sign_negative()));
}

/// Reading a collection never written is empty, not an error.
pub async fn unknown_collection_reads_as_empty(store: Arc<dyn DataLayer>) {
    assert!(find(&store, "nothing", FindQuery::new(all()))
        .await
        .is_empty());
    assert_eq!(count(&store, "nothing", all()).await, 0);
    assert!(matches!(store.find_one("nothing", &all()).await, Ok(None)));
    assert!(matches!(store.delete_many("nothing", &all()).await, Ok(0)));
    assert!(matches!(
        store.replace_one("nothing", &all(), doc! {"a": 1}).await,
        Ok(false)
    ));
    assert!(matches!(
        store.update_one("nothing", &all(), doc! {"a": 1}).await,
        Ok(false)
    ));
}

/// `find_one` returns the first match in natural order.
pub async fn find_one_returns_the_first_match_in_natural_order(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "c",
        vec![
            doc! {"_id": 3, "k": "a"},
            doc! {"_id": 1, "k": "b"},
            doc! {"_id": 2, "k": "b"},
        ],
    )
    .await;
    let one = store
        .find_one("c", &q(doc! {"k": "b"}))
        .await
        .ok()
        .flatten();
    assert_eq!(
        one.and_then(|d| d.get("_id").cloned()),
        Some(Bson::Int32(1))
    );
    assert!(matches!(
        store.find_one("c", &q(doc! {"k": "zz"})).await,
        Ok(None)
    ));
}

/// Sorting across types follows MongoDB's bracket order; missing sorts as
/// null; numbers of every type interleave by value.
pub async fn sort_orders_mixed_types_like_mongodb(store: Arc<dyn DataLayer>) {
    let oid = ObjectId::parse_str("65a000000000000000000001").unwrap_or_else(|_| ObjectId::new());
    let values: Vec<(i32, Option<Bson>)> = vec![
        (1, Some(Bson::Boolean(true))),
        (2, Some(Bson::String("b".into()))),
        (3, Some(Bson::Int64(3))),
        (4, None),
        (5, Some(Bson::Double(2.5))),
        (6, Some(Bson::DateTime(bson::DateTime::from_millis(5)))),
        (7, Some(Bson::Document(doc! {"x": 1}))),
        (8, Some(Bson::ObjectId(oid))),
        (9, Some(Bson::Int32(-7))),
        (10, Some(Bson::String("a".into()))),
        (11, Some(Bson::Boolean(false))),
        (
            12,
            Some(Bson::Binary(Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![1],
            })),
        ),
        (13, Some(Bson::MaxKey)),
        (14, Some(Bson::MinKey)),
        (
            15,
            Some(Bson::Timestamp(bson::Timestamp {
                time: 1,
                increment: 0,
            })),
        ),
    ];
    let docs: Vec<Document> = values
        .iter()
        .map(|(id, v)| {
            let mut d = doc! {"_id": *id};
            if let Some(v) = v {
                d.insert("v", v.clone());
            }
            d
        })
        .collect();
    let expected = int_ids(&[14, 4, 9, 5, 3, 10, 2, 7, 12, 8, 11, 1, 6, 15, 13]);
    for indexed in [false, true] {
        let coll = if indexed { "ix" } else { "plain" };
        if indexed {
            prepare(&store, coll, &[index("v_1", &["v"], false, false)]).await;
        }
        insert(&store, coll, docs.clone()).await;
        let asc = find(&store, coll, sorted(all(), &[("v", SortDir::Asc)])).await;
        assert_eq!(ids(&asc), expected, "ascending (indexed: {indexed})");
        let desc = find(&store, coll, sorted(all(), &[("v", SortDir::Desc)])).await;
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(ids(&desc), reversed, "descending (indexed: {indexed})");
    }
}

/// Compound sorts, ties broken by the next key.
pub async fn sort_by_several_keys_and_descending(store: Arc<dyn DataLayer>) {
    prepare(&store, "ix", &[index("a_b", &["a", "b"], false, false)]).await;
    let docs = vec![
        doc! {"_id": 1, "a": 2, "b": "x"},
        doc! {"_id": 2, "a": 1, "b": "y"},
        doc! {"_id": 3, "a": 2, "b": "a"},
        doc! {"_id": 4, "a": 1, "b": "z"},
        doc! {"_id": 5, "a": 1.5, "b": "m"},
    ];
    for coll in ["ix", "plain"] {
        insert(&store, coll, docs.clone()).await;
        let got = find(
            &store,
            coll,
            sorted(all(), &[("a", SortDir::Asc), ("b", SortDir::Desc)]),
        )
        .await;
        assert_eq!(ids(&got), int_ids(&[4, 2, 5, 1, 3]), "{coll}");
        let got = find(
            &store,
            coll,
            sorted(all(), &[("a", SortDir::Desc), ("b", SortDir::Asc)]),
        )
        .await;
        assert_eq!(ids(&got), int_ids(&[3, 1, 5, 2, 4]), "{coll}");
        let got = find(&store, coll, sorted(all(), &[("b", SortDir::Asc)])).await;
        assert_eq!(ids(&got), int_ids(&[3, 5, 1, 2, 4]), "{coll}");
    }
}

/// An array sorts by its smallest element ascending, its largest
/// descending (indexed or not).
pub async fn sort_arrays_by_smallest_ascending_and_largest_descending(store: Arc<dyn DataLayer>) {
    prepare(&store, "ix", &[index("v_1", &["v"], false, false)]).await;
    let docs = vec![
        doc! {"_id": 1, "v": [3, 9]},
        doc! {"_id": 2, "v": 5},
        doc! {"_id": 3, "v": [1, 10]},
        doc! {"_id": 4, "v": [6]},
    ];
    for coll in ["ix", "plain"] {
        insert(&store, coll, docs.clone()).await;
        let asc = find(&store, coll, sorted(all(), &[("v", SortDir::Asc)])).await;
        assert_eq!(ids(&asc), int_ids(&[3, 1, 2, 4]), "{coll} ascending");
        let desc = find(&store, coll, sorted(all(), &[("v", SortDir::Desc)])).await;
        assert_eq!(ids(&desc), int_ids(&[3, 1, 4, 2]), "{coll} descending");
        assert_eq!(
            count(&store, coll, all()).await,
            4,
            "an array is one document"
        );
    }
}

/// Skip and limit apply after sorting.
pub async fn skip_and_limit_window_the_sorted_results(store: Arc<dyn DataLayer>) {
    prepare(&store, "ix", &[index("n_1", &["n"], false, false)]).await;
    let docs: Vec<Document> = [7, 3, 9, 1, 5, 8, 2, 6, 4, 0]
        .iter()
        .map(|n| doc! {"_id": *n, "n": *n * 10})
        .collect();
    for coll in ["ix", "plain"] {
        insert(&store, coll, docs.clone()).await;
        let mut query = sorted(all(), &[("n", SortDir::Asc)]);
        query.skip = 2;
        query.limit = Some(3);
        assert_eq!(
            ids(&find(&store, coll, query.clone()).await),
            int_ids(&[2, 3, 4]),
            "{coll}"
        );
        query.sort = vec![("n".into(), SortDir::Desc)];
        assert_eq!(
            ids(&find(&store, coll, query.clone()).await),
            int_ids(&[7, 6, 5]),
            "{coll}"
        );
        query.skip = 8;
        assert_eq!(
            ids(&find(&store, coll, query.clone()).await),
            int_ids(&[1, 0]),
            "{coll}"
        );
        query.skip = 20;
        assert!(find(&store, coll, query.clone()).await.is_empty(), "{coll}");
        let mut natural = FindQuery::new(q(doc! {"n": {"$gte": 30}}));
        natural.skip = 1;
        natural.limit = Some(2);
        assert_eq!(
            ids(&find(&store, coll, natural.clone()).await),
            int_ids(&[3, 9]),
            "{coll}"
        );
        natural.limit = Some(0);
        let zero = find(&store, coll, natural).await.len();
        assert!(
            zero == 0 || zero == 6,
            "{coll}: limit 0 is either none or no limit"
        );
    }
}

pub(crate) fn people() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "name": "ann", "age": 31, "tags": ["a", "b"], "address": {"city": "Rome", "zip": 100}},
        doc! {"_id": 2, "name": "bob", "age": 25, "tags": ["b"], "address": {"city": "Oslo"}},
        doc! {"_id": 3, "name": "cid", "age": 40, "tags": [], "nick": Bson::Null},
        doc! {"_id": 4, "name": "dee", "age": 25.5, "address": {"city": "Rome", "zip": 200}},
        doc! {"_id": 5, "name": "eve", "age": Bson::Int64(52), "tags": ["c", "a"]},
    ]
}

pub(crate) async fn where_ids(
    store: &Arc<dyn DataLayer>,
    coll: &str,
    filter: Document,
) -> Vec<Bson> {
    ids(&find_where(store, coll, filter).await)
}

/// The common operators select what MongoDB selects.
pub async fn filters_select_documents(store: Arc<dyn DataLayer>) {
    insert(&store, "p", people()).await;
    let cases: Vec<(Document, Vec<i32>)> = vec![
        (doc! {}, vec![1, 2, 3, 4, 5]),
        (doc! {"name": "bob"}, vec![2]),
        (doc! {"age": 25}, vec![2]),
        (doc! {"age": {"$gt": 25}}, vec![1, 3, 4, 5]),
        (doc! {"age": {"$gte": 25, "$lt": 40}}, vec![1, 2, 4]),
        (doc! {"age": {"$lte": 25.5}}, vec![2, 4]),
        (doc! {"name": {"$in": ["ann", "eve", "zed"]}}, vec![1, 5]),
        (doc! {"name": {"$nin": ["ann", "eve"]}}, vec![2, 3, 4]),
        (doc! {"name": {"$ne": "ann"}}, vec![2, 3, 4, 5]),
        (doc! {"nick": {"$exists": true}}, vec![3]),
        (doc! {"nick": Bson::Null}, vec![1, 2, 3, 4, 5]),
        (doc! {"address": {"$exists": false}}, vec![3, 5]),
        (
            doc! {"$or": [{"name": "ann"}, {"age": {"$gt": 50}}]},
            vec![1, 5],
        ),
        (
            doc! {"$and": [{"age": {"$gt": 20}}, {"age": {"$lt": 30}}]},
            vec![2, 4],
        ),
        (doc! {"name": "ann", "age": 30}, vec![]),
        (doc! {"name": {"$gt": "c"}}, vec![3, 4, 5]),
        (doc! {"age": {"$gt": "a"}}, vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            where_ids(&store, "p", filter.clone()).await,
            int_ids(&expected),
            "filter {filter}"
        );
    }
}

/// Dotted paths reach into embedded documents and through arrays.
pub async fn dotted_paths_descend_through_arrays(store: Arc<dyn DataLayer>) {
    prepare(
        &store,
        "ix",
        &[
            index("price", &["items.price"], false, false),
            index("city", &["address.city"], false, false),
        ],
    )
    .await;
    let docs = vec![
        doc! {"_id": 1, "items": [{"price": 5, "qty": 1}, {"price": 20, "qty": 2}], "address": {"city": "Rome"}},
        doc! {"_id": 2, "items": [{"price": 7}], "address": {"city": "Oslo"}},
        doc! {"_id": 3, "items": {"price": 20}},
        doc! {"_id": 4, "items": []},
    ];
    let cases: Vec<(Document, Vec<i32>)> = vec![
        (doc! {"items.price": 20}, vec![1, 3]),
        (doc! {"items.price": {"$gt": 6}}, vec![1, 2, 3]),
        (doc! {"items.price": {"$lt": 6}}, vec![1]),
        (doc! {"items.qty": 2}, vec![1]),
        (doc! {"items.0.price": 5}, vec![1]),
        (doc! {"items.1.price": 20}, vec![1]),
        (doc! {"address.city": "Rome"}, vec![1]),
        (doc! {"address.city": {"$in": ["Oslo", "Paris"]}}, vec![2]),
    ];
    for coll in ["ix", "plain"] {
        insert(&store, coll, docs.clone()).await;
        for (filter, expected) in &cases {
            assert_eq!(
                where_ids(&store, coll, filter.clone()).await,
                int_ids(expected),
                "{coll}: filter {filter}"
            );
        }
    }
}

/// An array field matches a value equal to any element, or to the whole
/// array.
pub async fn array_fields_match_any_element_or_the_whole_array(store: Arc<dyn DataLayer>) {
    prepare(&store, "ix", &[index("tags", &["tags"], false, false)]).await;
    let docs = vec![
        doc! {"_id": 1, "tags": ["red", "blue"]},
        doc! {"_id": 2, "tags": ["blue"]},
        doc! {"_id": 3, "tags": "red"},
        doc! {"_id": 4, "tags": [["red", "blue"], "green"]},
        doc! {"_id": 5},
    ];
    let cases: Vec<(Document, Vec<i32>)> = vec![
        (doc! {"tags": "red"}, vec![1, 3]),
        (doc! {"tags": "blue"}, vec![1, 2]),
        (doc! {"tags": ["red", "blue"]}, vec![1, 4]),
        (doc! {"tags": ["blue", "red"]}, vec![]),
        (doc! {"tags": {"$in": ["green", "red"]}}, vec![1, 3, 4]),
        (doc! {"tags": {"$all": ["red", "blue"]}}, vec![1]),
        (doc! {"tags": {"$size": 2}}, vec![1, 4]),
        (doc! {"tags": {"$gt": "c"}}, vec![1, 3, 4]),
    ];
    for coll in ["ix", "plain"] {
        insert(&store, coll, docs.clone()).await;
        for (filter, expected) in &cases {
            assert_eq!(
                where_ids(&store, coll, filter.clone()).await,
                int_ids(expected),
                "{coll}: filter {filter}"
            );
        }
    }
}

/// `1`, `1.0` and `NumberLong(1)` are the same value to queries, indexed
/// or not; large integers are not confused with nearby doubles.
pub async fn numbers_compare_by_value_across_types(store: Arc<dyn DataLayer>) {
    prepare(&store, "ix", &[index("n_1", &["n"], false, false)]).await;
    let big = 1i64 << 53;
    let docs = vec![
        doc! {"_id": 1, "n": 1},
        doc! {"_id": 2, "n": Bson::Int64(1)},
        doc! {"_id": 3, "n": 1.0},
        doc! {"_id": 4, "n": 1.5},
        doc! {"_id": 5, "n": Bson::Int64(big + 1)},
        doc! {"_id": 6, "n": big as f64},
        doc! {"_id": 7, "n": "1"},
    ];
    let cases: Vec<(Document, Vec<i32>)> = vec![
        (doc! {"n": 1}, vec![1, 2, 3]),
        (doc! {"n": 1.0}, vec![1, 2, 3]),
        (doc! {"n": {"$gt": 1}}, vec![4, 5, 6]),
        (
            doc! {"n": {"$gte": Bson::Int64(1), "$lt": 2.0}},
            vec![1, 2, 3, 4],
        ),
        (doc! {"n": Bson::Int64(big + 1)}, vec![5]),
        (doc! {"n": {"$gt": big as f64}}, vec![5]),
        (doc! {"n": {"$in": [1.5, "1"]}}, vec![4, 7]),
    ];
    for coll in ["ix", "plain"] {
        insert(&store, coll, docs.clone()).await;
        for (filter, expected) in &cases {
            assert_eq!(
                where_ids(&store, coll, filter.clone()).await,
                int_ids(expected),
                "{coll}: filter {filter}"
            );
        }
    }
}

/// `count` counts what `find` finds.
pub async fn count_agrees_with_find(store: Arc<dyn DataLayer>) {
    prepare(&store, "p", &[index("age", &["age"], false, false)]).await;
    insert(&store, "p", people()).await;
    for filter in [
        doc! {},
        doc! {"age": {"$gt": 26}},
        doc! {"tags": "a"},
        doc! {"address.city": "Rome"},
        doc! {"x": 1},
    ] {
        let found = find_where(&store, "p", filter.clone()).await.len() as u64;
        assert_eq!(
            count(&store, "p", q(filter.clone())).await,
            found,
            "filter {filter}"
        );
    }
}
