//! The conformance suite: what every [`DataLayer`] must do, written once.
//!
//! Each case is a public `async fn(Arc<dyn DataLayer>)` that panics (through
//! `assert!`) when the layer misbehaves. A back end runs them all with
//! [`conformance_suite!`](crate::conformance_suite), which expands into one
//! `#[tokio::test]` per case:
//!
//! ```ignore
//! // crates/store-foo/tests/conformance.rs
//! use eve_store::conformance::Fixture;
//!
//! async fn fresh_store() -> Option<Fixture> {
//!     let dir = tempfile::tempdir().ok()?;
//!     let store = FooStore::open(dir.path()).ok()?;
//!     Some(Fixture::with_guard(std::sync::Arc::new(store), dir))
//! }
//!
//! eve_store::conformance_suite!(fresh_store());
//! ```
//!
//! The macro's argument is an expression evaluated once per test; it must
//! be a future (wrap a synchronous constructor in `async { … }`) whose
//! output implements [`IntoFixture`]: a [`Fixture`] (an empty store plus
//! whatever must live as long as it, such as a temporary directory), or an
//! `Option<Fixture>` where `None` skips the case with a message (for a
//! server that is not configured, e.g. MongoDB without
//! `EVE_TEST_MONGO_URI`). The calling crate must depend on `tokio` (with
//! the `macros` and `rt-multi-thread` features).
//!
//! Every case uses its own collection names on a fresh store, and filters
//! are written as MongoDB query documents parsed by `eve_query`, so the
//! suite checks a layer's translation (or evaluation) against the same
//! semantics the in-memory evaluator has.

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::Arc;

use bson::{doc, oid::ObjectId, spec::BinarySubtype, Binary, Bson, Document};

use crate::{DataLayer, FindQuery, IndexKey, IndexSpec, SortDir, StoreError};
use eve_query::Filter;

mod operators;
pub use operators::bitwise_operators_follow_mongodb;

/// A store under test, and what must outlive it.
pub struct Fixture {
    store: Arc<dyn DataLayer>,
    _guard: Box<dyn Any + Send + Sync>,
}

impl Fixture {
    /// A fixture that needs nothing kept alive.
    pub fn new(store: Arc<dyn DataLayer>) -> Self {
        Fixture {
            store,
            _guard: Box::new(()),
        }
    }

    /// A fixture that keeps `guard` (a temporary directory, a server
    /// handle) until the case ends.
    pub fn with_guard(store: Arc<dyn DataLayer>, guard: impl Any + Send + Sync) -> Self {
        Fixture {
            store,
            _guard: Box::new(guard),
        }
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn DataLayer> {
        Arc::clone(&self.store)
    }
}

/// What a fixture constructor may return: a fixture, or `None` to skip.
pub trait IntoFixture {
    /// The fixture, or `None` when the back end is not available here.
    fn into_fixture(self) -> Option<Fixture>;
}

impl IntoFixture for Fixture {
    fn into_fixture(self) -> Option<Fixture> {
        Some(self)
    }
}

impl IntoFixture for Option<Fixture> {
    fn into_fixture(self) -> Option<Fixture> {
        self
    }
}

/// Expands into one `#[tokio::test]` per conformance case; see the
/// [module documentation](crate::conformance) for the argument.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::__conformance_cases!($make;
            insert_returns_ids_and_find_returns_insertion_order,
            insert_generates_object_ids_when_missing,
            bson_values_round_trip_exactly,
            unknown_collection_reads_as_empty,
            find_one_returns_the_first_match_in_natural_order,
            sort_orders_mixed_types_like_mongodb,
            sort_by_several_keys_and_descending,
            sort_arrays_by_smallest_ascending_and_largest_descending,
            skip_and_limit_window_the_sorted_results,
            filters_select_documents,
            dotted_paths_descend_through_arrays,
            array_fields_match_any_element_or_the_whole_array,
            numbers_compare_by_value_across_types,
            count_agrees_with_find,
            duplicate_id_fails_with_duplicate_key,
            bulk_insert_is_atomic_and_reports_the_colliding_position,
            unique_index_rejects_duplicates,
            unique_multikey_index_compares_elements,
            sparse_unique_index_allows_missing_fields,
            non_sparse_unique_index_treats_missing_as_null,
            prepare_collection_is_idempotent,
            prepare_collection_rebuilds_a_changed_index,
            prepare_collection_drops_unlisted_indexes,
            prepare_collection_fails_when_documents_violate_a_new_unique_index,
            indexed_queries_return_what_scans_return,
            replace_one_keeps_the_id_and_reports_a_match,
            replace_one_is_false_when_the_filter_no_longer_matches,
            replace_one_reports_duplicate_key_on_unique_violation,
            update_one_sets_dotted_paths,
            update_one_is_false_when_the_filter_no_longer_matches,
            update_one_maintains_unique_indexes,
            delete_many_returns_the_count,
            concurrent_conditional_replaces_have_exactly_one_winner,
            concurrent_inserts_are_all_stored,
            integrity_holds_after_mixed_writes,
            bitwise_operators_follow_mongodb,
        );
    };
}

/// Implementation detail of [`conformance_suite!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let fixture = $crate::conformance::IntoFixture::into_fixture($make.await);
                let Some(fixture) = fixture else {
                    eprintln!("skipped {}: the back end is not available here", stringify!($case));
                    return;
                };
                $crate::conformance::$case(fixture.store()).await;
                drop(fixture);
            }
        )*
    };
}

// ---------------------------------------------------------------- helpers

/// Parses a MongoDB query document (the suite's own queries are valid).
fn q(query: Document) -> Filter {
    match Filter::parse(&query) {
        Ok(f) => f,
        Err(e) => panic!("the suite's query {query} does not parse: {e}"),
    }
}

fn all() -> Filter {
    Filter::All
}

fn sorted(filter: Filter, sort: &[(&str, SortDir)]) -> FindQuery {
    let mut query = FindQuery::new(filter);
    query.sort = sort.iter().map(|(f, d)| (f.to_string(), *d)).collect();
    query
}

async fn find(store: &Arc<dyn DataLayer>, coll: &str, query: FindQuery) -> Vec<Document> {
    match store.find(coll, &query).await {
        Ok(docs) => docs,
        Err(e) => panic!("find {query:?} on {coll} failed: {e}"),
    }
}

async fn find_where(store: &Arc<dyn DataLayer>, coll: &str, filter: Document) -> Vec<Document> {
    find(store, coll, FindQuery::new(q(filter))).await
}

async fn insert(store: &Arc<dyn DataLayer>, coll: &str, docs: Vec<Document>) -> Vec<Bson> {
    match store.insert(coll, docs).await {
        Ok(ids) => ids,
        Err(e) => panic!("insert into {coll} failed: {e}"),
    }
}

async fn count(store: &Arc<dyn DataLayer>, coll: &str, filter: Filter) -> u64 {
    match store.count(coll, &filter).await {
        Ok(n) => n,
        Err(e) => panic!("count on {coll} failed: {e}"),
    }
}

async fn prepare(store: &Arc<dyn DataLayer>, coll: &str, indexes: &[IndexSpec]) {
    if let Err(e) = store.prepare_collection(coll, indexes).await {
        panic!("prepare_collection {coll} failed: {e}");
    }
}

/// The `_id`s of documents, in order.
fn ids(docs: &[Document]) -> Vec<Bson> {
    docs.iter()
        .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
        .collect()
}

/// `[Int32(a), Int32(b), …]`.
fn int_ids(ns: &[i32]) -> Vec<Bson> {
    ns.iter().map(|n| Bson::Int32(*n)).collect()
}

fn index(name: &str, fields: &[&str], unique: bool, sparse: bool) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        keys: fields
            .iter()
            .map(|f| (f.to_string(), IndexKey::Asc))
            .collect(),
        unique,
        sparse,
    }
}

fn assert_duplicate(result: Result<impl std::fmt::Debug, StoreError>, position: usize, what: &str) {
    match result {
        Err(StoreError::DuplicateKey { index, .. }) => {
            assert_eq!(
                index, position,
                "{what}: DuplicateKey must name the colliding document's position"
            )
        }
        other => panic!("{what}: expected DuplicateKey at {position}, got {other:?}"),
    }
}

fn bytes(d: &Document) -> Vec<u8> {
    d.to_vec().unwrap_or_default()
}

// ------------------------------------------------------------------ cases

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

fn people() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "name": "ann", "age": 31, "tags": ["a", "b"], "address": {"city": "Rome", "zip": 100}},
        doc! {"_id": 2, "name": "bob", "age": 25, "tags": ["b"], "address": {"city": "Oslo"}},
        doc! {"_id": 3, "name": "cid", "age": 40, "tags": [], "nick": Bson::Null},
        doc! {"_id": 4, "name": "dee", "age": 25.5, "address": {"city": "Rome", "zip": 200}},
        doc! {"_id": 5, "name": "eve", "age": Bson::Int64(52), "tags": ["c", "a"]},
    ]
}

async fn where_ids(store: &Arc<dyn DataLayer>, coll: &str, filter: Document) -> Vec<Bson> {
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
