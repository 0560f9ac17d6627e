//! The planner uses indexes for equality, ranges and sorts, and says so.

use bson::{doc, Bson};
use eve_query::{Cond, Filter, SortDir};
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec};
use eve_store_sqlite::{QueryPlan, SqliteStore};

use crate::{open, tempdir};

fn index(name: &str, fields: &[&str], unique: bool, sparse: bool) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        keys: fields
            .iter()
            .map(|f| (f.to_string(), IndexKey::Asc))
            .collect(),
        unique,
        sparse,
        text: None,
    }
}

fn field(path: &str, cond: Cond) -> Filter {
    Filter::Field {
        path: path.into(),
        cond,
    }
}

/// 100 documents: `n` = 0..100 (unique), `group` = n % 10, `tags` an
/// array, `free` unindexed.
async fn populated() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempdir();
    let store = open(dir.path());
    let indexes = [
        index("n_1", &["n"], true, false),
        index("group_n", &["group", "n"], false, false),
        index("tags", &["tags"], false, false),
        index("opt", &["opt"], false, true),
        IndexSpec {
            name: "geo".into(),
            keys: vec![("loc".into(), IndexKey::Special("2dsphere".into()))],
            unique: false,
            sparse: false,
            text: None,
        },
    ];
    assert!(store.prepare_collection("c", &indexes).await.is_ok());
    let docs = (0..100i32)
        .map(|n| doc! {"n": n, "group": n % 10, "tags": [format!("t{}", n % 3)], "free": n, "loc": [0.0, 0.0]})
        .collect();
    assert!(store.insert("c", docs).await.is_ok());
    (dir, store)
}

async fn explain(store: &SqliteStore, query: FindQuery) -> eve_store_sqlite::Explain {
    match store.explain("c", &query).await {
        Ok(e) => e,
        Err(e) => panic!("explain failed: {e}"),
    }
}

fn uses(plan: &QueryPlan, index: &str) -> bool {
    matches!(plan, QueryPlan::IndexScan { index: i, .. } | QueryPlan::IndexOrder { index: i, .. } if i == index)
}

#[tokio::test]
async fn equality_on_an_indexed_field_reads_only_the_matches() {
    let (_dir, store) = populated().await;
    let e = explain(&store, FindQuery::new(Filter::eq("n", 42))).await;
    assert!(uses(&e.plan, "n_1"), "{}", e.plan);
    assert_eq!(e.stats.docs_examined, 1);
    let e = explain(&store, FindQuery::new(Filter::eq("group", 3))).await;
    assert!(uses(&e.plan, "group_n"), "{}", e.plan);
    assert_eq!(e.stats.docs_examined, 10);
    let e = explain(&store, FindQuery::new(Filter::eq("tags", "t1"))).await;
    assert!(uses(&e.plan, "tags"), "{}", e.plan);
    assert_eq!(e.stats.docs_examined, 33);
    let e = explain(
        &store,
        FindQuery::new(field(
            "n",
            Cond::In(vec![Bson::Int32(1), Bson::Double(2.0), Bson::Int64(200)]),
        )),
    )
    .await;
    assert!(uses(&e.plan, "n_1"), "{}", e.plan);
    assert_eq!(e.stats.docs_examined, 2);
}

#[tokio::test]
async fn the_id_index_serves_lookups_by_id() {
    let (_dir, store) = populated().await;
    let first = store
        .find_one("c", &Filter::eq("n", 7))
        .await
        .ok()
        .flatten();
    let id = first
        .and_then(|d| d.get("_id").cloned())
        .unwrap_or(Bson::Null);
    let e = explain(
        &store,
        FindQuery::new(Filter::eq("_id", id).and(Filter::eq("free", 7))),
    )
    .await;
    assert!(uses(&e.plan, "_id_"), "{}", e.plan);
    assert_eq!(e.stats.docs_examined, 1);
}

#[tokio::test]
async fn ranges_on_an_indexed_field_read_only_the_range() {
    let (_dir, store) = populated().await;
    let range = field(
        "n",
        Cond::AllOf(vec![
            Cond::Gte(Bson::Int32(10)),
            Cond::Lt(Bson::Double(20.0)),
        ]),
    );
    let e = explain(&store, FindQuery::new(range)).await;
    assert!(uses(&e.plan, "n_1"), "{}", e.plan);
    assert!(e.stats.docs_examined <= 11, "read {:?}", e.stats);
    let e = explain(
        &store,
        FindQuery::new(field("n", Cond::Gt(Bson::Int64(95)))),
    )
    .await;
    assert!(uses(&e.plan, "n_1"), "{}", e.plan);
    assert!(e.stats.docs_examined <= 5, "read {:?}", e.stats);
    // A range of another type bracket reads nothing.
    let e = explain(
        &store,
        FindQuery::new(field("n", Cond::Gt(Bson::String("a".into())))),
    )
    .await;
    assert_eq!(e.stats.docs_examined, 0);
}

#[tokio::test]
async fn a_sort_on_an_indexed_field_walks_the_index_and_stops_early() {
    let (_dir, store) = populated().await;
    let mut query = FindQuery::new(Filter::All);
    query.sort = vec![("n".into(), SortDir::Desc)];
    query.limit = Some(5);
    let e = explain(&store, query.clone()).await;
    assert!(
        matches!(
            e.plan,
            QueryPlan::IndexOrder {
                descending: true,
                ..
            }
        ),
        "{}",
        e.plan
    );
    assert_eq!(e.stats.docs_examined, 5);
    assert_eq!(e.returned, 5);
    let docs = store.find("c", &query).await.unwrap_or_default();
    let ns: Vec<Bson> = docs.iter().filter_map(|d| d.get("n").cloned()).collect();
    assert_eq!(ns, [99, 98, 97, 96, 95].map(Bson::Int32).to_vec());
    // The leading field of a compound index serves a sort too.
    query.sort = vec![("group".into(), SortDir::Asc), ("n".into(), SortDir::Desc)];
    query.skip = 1;
    query.limit = Some(3);
    let e = explain(&store, query.clone()).await;
    assert!(uses(&e.plan, "group_n"), "{}", e.plan);
    assert!(e.stats.docs_examined <= 10, "read {:?}", e.stats);
}

#[tokio::test]
async fn multikey_and_sparse_indexes_are_not_walked_for_order() {
    let (_dir, store) = populated().await;
    for key in ["tags", "opt"] {
        let mut query = FindQuery::new(Filter::All);
        query.sort = vec![(key.into(), SortDir::Asc)];
        let e = explain(&store, query).await;
        assert_eq!(e.plan, QueryPlan::CollectionScan, "sort on {key}");
    }
}

#[tokio::test]
async fn unindexed_and_special_fields_scan() {
    let (_dir, store) = populated().await;
    let e = explain(&store, FindQuery::new(Filter::eq("free", 3))).await;
    assert_eq!(e.plan, QueryPlan::CollectionScan);
    assert_eq!(e.stats.docs_examined, 100);
    let e = explain(&store, FindQuery::new(field("loc", Cond::Exists(true)))).await;
    assert_eq!(e.plan, QueryPlan::CollectionScan);
    // Null and regex operands cannot be located in an index.
    let e = explain(&store, FindQuery::new(Filter::eq("n", Bson::Null))).await;
    assert_eq!(e.plan, QueryPlan::CollectionScan);
    let e = explain(
        &store,
        FindQuery::new(Filter::eq("n", Bson::Array(vec![Bson::Int32(1)]))),
    )
    .await;
    assert_eq!(e.plan, QueryPlan::CollectionScan);
}

#[tokio::test]
async fn an_unknown_collection_has_nothing_to_read() {
    let (_dir, store) = populated().await;
    let e = match store.explain("other", &FindQuery::new(Filter::All)).await {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(e.plan, QueryPlan::NoCollection);
    assert_eq!(e.plan.to_string(), "EOF (no such collection)");
}

#[tokio::test]
async fn an_equality_prefix_and_a_sort_walk_a_compound_index_and_stop_early() {
    let (_dir, store) = populated().await;
    // `group_n` = (group, n): group 3 holds n = 3, 13, …, 93.
    let mut query = FindQuery::new(Filter::eq("group", 3));
    query.sort = vec![("n".into(), SortDir::Desc)];
    query.skip = 1;
    query.limit = Some(2);
    let e = explain(&store, query.clone()).await;
    assert_eq!(
        e.plan,
        QueryPlan::IndexOrder {
            index: "group_n".into(),
            field: "n".into(),
            descending: true,
            prefix: vec!["group".into()],
            bounded: false,
        }
    );
    assert_eq!(
        e.plan.to_string(),
        "IXORDER group_n on n desc after equality on group"
    );
    assert_eq!(e.stats.docs_examined, 3, "read {:?}", e.stats);
    assert_eq!(e.returned, 2);
    let docs = store.find("c", &query).await.unwrap_or_default();
    let ns: Vec<Bson> = docs.iter().filter_map(|d| d.get("n").cloned()).collect();
    assert_eq!(ns, [83, 73].map(Bson::Int32).to_vec());
    // A range on the sort field bounds the walk further.
    query.filter = Filter::eq("group", 3).and(field("n", Cond::Lt(Bson::Int32(50))));
    query.skip = 0;
    let e = explain(&store, query.clone()).await;
    assert!(
        matches!(&e.plan, QueryPlan::IndexOrder { prefix, bounded: true, .. } if prefix == &["group".to_string()]),
        "{}",
        e.plan
    );
    assert_eq!(e.stats.docs_examined, 2, "read {:?}", e.stats);
    let docs = store.find("c", &query).await.unwrap_or_default();
    let ns: Vec<Bson> = docs.iter().filter_map(|d| d.get("n").cloned()).collect();
    assert_eq!(ns, [43, 33].map(Bson::Int32).to_vec());
    // A unique single-field equality still wins: it reads one document.
    query.filter = Filter::eq("group", 2).and(Filter::eq("n", 42));
    let e = explain(&store, query).await;
    assert!(
        matches!(&e.plan, QueryPlan::IndexScan { index, .. } if index == "n_1"),
        "{}",
        e.plan
    );
    assert_eq!(e.stats.docs_examined, 1);
}

#[tokio::test]
async fn ties_on_the_sort_field_are_read_to_the_end_and_ordered_as_in_memory() {
    let dir = tempdir();
    let store = open(dir.path());
    let indexes = [
        index("owner_1", &["owner"], false, false),
        index("owner_seq", &["owner", "seq"], false, false),
    ];
    assert!(store.prepare_collection("t", &indexes).await.is_ok());
    // Each owner holds 50 documents, two by `seq` value (a tie), `k`
    // descending within a tie, so natural order and `k` disagree.
    let docs: Vec<_> = (0..200i32)
        .map(|i| doc! {"owner": format!("u{}", i % 4), "seq": i / 8, "k": 1000 - i})
        .collect();
    assert!(store.insert("t", docs.clone()).await.is_ok());
    for sort in [
        vec![("seq".to_string(), SortDir::Desc)],
        vec![("seq".to_string(), SortDir::Asc)],
        vec![
            ("seq".to_string(), SortDir::Desc),
            ("k".to_string(), SortDir::Asc),
        ],
    ] {
        let mut query = FindQuery::new(Filter::eq("owner", "u1"));
        query.sort = sort.clone();
        query.limit = Some(5);
        let e = match store.explain("t", &query).await {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        assert!(
            matches!(&e.plan, QueryPlan::IndexOrder { index, prefix, .. }
                if index == "owner_seq" && prefix == &["owner".to_string()]),
            "{}",
            e.plan
        );
        // 5 documents, and the other one of the third tie: not the 50 of
        // the owner.
        assert_eq!(e.stats.docs_examined, 6, "sort {sort:?}: {:?}", e.stats);
        let mut expected: Vec<_> = docs
            .iter()
            .filter(|d| query.filter.matches(d))
            .cloned()
            .collect();
        eve_query::sort_documents(&mut expected, &sort);
        expected.truncate(5);
        let found = store.find("t", &query).await.unwrap_or_default();
        assert_eq!(found.len(), 5);
        let strip = |d: &bson::Document| (d.get("seq").cloned(), d.get("k").cloned());
        assert_eq!(
            found.iter().map(strip).collect::<Vec<_>>(),
            expected.iter().map(strip).collect::<Vec<_>>(),
            "sort {sort:?}"
        );
    }
}

#[tokio::test]
async fn a_range_on_the_sort_field_is_walked_in_order() {
    let (_dir, store) = populated().await;
    let mut query = FindQuery::new(field("n", Cond::Gt(Bson::Int32(90))));
    query.sort = vec![("n".into(), SortDir::Asc)];
    query.limit = Some(3);
    let e = explain(&store, query.clone()).await;
    assert!(
        matches!(&e.plan, QueryPlan::IndexOrder { index, bounded: true, prefix, .. }
            if index == "n_1" && prefix.is_empty()),
        "{}",
        e.plan
    );
    // Index ranges include their bounds: 90 is read, and refused.
    assert_eq!(e.stats.docs_examined, 4, "read {:?}", e.stats);
    let docs = store.find("c", &query).await.unwrap_or_default();
    let ns: Vec<Bson> = docs.iter().filter_map(|d| d.get("n").cloned()).collect();
    assert_eq!(ns, [91, 92, 93].map(Bson::Int32).to_vec());
}
