//! Whatever plan is chosen, a query returns what `eve_query` says: the
//! documents `Filter::matches` accepts, in natural order or in the order
//! `sort_documents` gives.

use std::sync::atomic::{AtomicUsize, Ordering};

use bson::{doc, Bson, Document};
use eve_query::{Cond, Filter, SortDir};
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec};
use proptest::prelude::*;

use crate::{open, tempdir};

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (-4i32..4).prop_map(Bson::Int32),
        (-4i64..4).prop_map(Bson::Int64),
        (-8i32..8).prop_map(|i| Bson::Double(f64::from(i) / 2.0)),
        Just(Bson::Double(f64::NAN)),
        prop::sample::select(vec!["", "a", "b", "ab"]).prop_map(|s| Bson::String(s.into())),
        any::<bool>().prop_map(Bson::Boolean),
        Just(Bson::Null),
        (0i64..3).prop_map(|ms| Bson::DateTime(bson::DateTime::from_millis(ms))),
    ]
}

fn value() -> impl Strategy<Value = Option<Bson>> {
    prop_oneof![
        4 => scalar().prop_map(Some),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(|v| Some(Bson::Array(v))),
        1 => scalar().prop_map(|s| Some(Bson::Document(doc! {"k": s}))),
        1 => Just(None),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    let leaf = prop_oneof![
        scalar().prop_map(Cond::Eq),
        scalar().prop_map(Cond::Gt),
        scalar().prop_map(Cond::Gte),
        scalar().prop_map(Cond::Lt),
        scalar().prop_map(Cond::Lte),
        prop::collection::vec(scalar(), 0..3).prop_map(Cond::In),
        scalar().prop_map(Cond::Ne),
    ];
    prop_oneof![
        3 => leaf.clone(),
        1 => prop::collection::vec(leaf, 1..3).prop_map(Cond::AllOf),
    ]
}

fn field() -> impl Strategy<Value = Filter> {
    let path = prop::sample::select(vec!["v", "v.k", "w", "_id"]);
    (path, cond()).prop_map(|(path, cond)| Filter::Field {
        path: path.into(),
        cond,
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![
        3 => field(),
        1 => prop::collection::vec(field(), 2..3).prop_map(Filter::And),
        1 => Just(Filter::All),
    ]
}

fn docs() -> impl Strategy<Value = Vec<Document>> {
    // `w` never holds an array: the compound index `w_v` may meet arrays
    // in one of its fields only.
    let w = prop::option::of(scalar());
    prop::collection::vec((value(), w), 0..16).prop_map(|pairs| {
        pairs
            .into_iter()
            .enumerate()
            .map(|(i, (v, w))| {
                let mut d = doc! {"_id": i as i32};
                if let Some(v) = v {
                    d.insert("v", v);
                }
                if let Some(w) = w {
                    d.insert("w", w);
                }
                d
            })
            .collect()
    })
}

fn indexes() -> Vec<IndexSpec> {
    let spec = |name: &str, keys: &[&str], sparse: bool| IndexSpec {
        name: name.into(),
        keys: keys
            .iter()
            .map(|k| (k.to_string(), IndexKey::Asc))
            .collect(),
        unique: false,
        sparse,
        text: None,
    };
    vec![
        spec("v", &["v"], false),
        spec("vk", &["v.k"], true),
        spec("w_v", &["w", "v"], false),
    ]
}

#[test]
fn indexed_finds_agree_with_the_evaluator() {
    let dir = tempdir();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    };
    let store = open(dir.path());
    let counter = AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: 150,
        ..ProptestConfig::default()
    };
    proptest!(config, |(docs in docs(), filter in filter(), sort_key in prop::sample::select(vec!["", "v", "w", "_id"]), desc in any::<bool>(), limit in prop::option::of(0u64..5))| {
        let coll = format!("c{}", counter.fetch_add(1, Ordering::Relaxed));
        let mut expected: Vec<Document> = docs.iter().filter(|d| filter.matches(d)).cloned().collect();
        let mut query = FindQuery::new(filter.clone());
        if !sort_key.is_empty() {
            query.sort = vec![(sort_key.to_string(), if desc { SortDir::Desc } else { SortDir::Asc })];
            eve_query::sort_documents(&mut expected, &query.sort);
        }
        if let Some(l) = limit {
            query.limit = Some(l);
            expected.truncate(l as usize);
        }
        let (found, counted) = runtime.block_on(async {
            store.prepare_collection(&coll, &indexes()).await.map_err(|e| e.to_string())?;
            if !docs.is_empty() {
                store.insert(&coll, docs.clone()).await.map_err(|e| e.to_string())?;
            }
            let found = store.find(&coll, &query).await.map_err(|e| e.to_string())?;
            let counted = store.count(&coll, &filter).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((found, counted))
        }).map_err(TestCaseError::fail)?;
        let ids = |ds: &[Document]| ds.iter().map(|d| d.get("_id").cloned()).collect::<Vec<_>>();
        prop_assert_eq!(ids(&found), ids(&expected), "filter {:?}, sort {:?}", filter, query.sort);
        let matching = docs.iter().filter(|d| filter.matches(d)).count() as u64;
        prop_assert_eq!(counted, matching);
    });
}

/// A small domain, so that equalities match: numbers of three types that
/// compare alike, a string, and (not indexable as an equality) null.
fn small() -> impl Strategy<Value = Bson> {
    prop_oneof![
        3 => (0i32..3).prop_map(Bson::Int32),
        2 => (0i64..3).prop_map(Bson::Int64),
        2 => (0i32..3).prop_map(|i| Bson::Double(f64::from(i))),
        1 => Just(Bson::String("s".into())),
        1 => Just(Bson::Null),
    ]
}

/// Documents whose `x`, `y`, `z` hold scalars (or are missing), and whose
/// `v` may hold an array (making an index over it multikey).
fn compound_docs() -> impl Strategy<Value = Vec<Document>> {
    let row = (
        prop::option::of(small()),
        prop::option::of(small()),
        prop::option::of(small()),
        value(),
    );
    prop::collection::vec(row, 0..24).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (x, y, z, v))| {
                let mut d = doc! {"_id": i as i32};
                for (k, val) in [("x", x), ("y", y), ("z", z), ("v", v)] {
                    if let Some(val) = val {
                        d.insert(k, val);
                    }
                }
                d
            })
            .collect()
    })
}

/// A compound index over 2 or 3 distinct fields, in random directions,
/// sometimes sparse.
fn compound_index() -> impl Strategy<Value = IndexSpec> {
    let fields = prop::sample::subsequence(vec!["x", "y", "z", "v"], 2..=3).prop_shuffle();
    (
        fields,
        prop::collection::vec(any::<bool>(), 3),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(fields, dirs, sparse)| IndexSpec {
            name: fields.join("_"),
            keys: fields
                .iter()
                .zip(dirs)
                .map(|(f, d)| {
                    (
                        f.to_string(),
                        if d { IndexKey::Desc } else { IndexKey::Asc },
                    )
                })
                .collect(),
            unique: false,
            sparse,
            text: None,
        })
}

/// A query shaped for the index: equalities on its first `p` fields, a
/// sort on field `p` (and maybe another field), maybe a range on the sort
/// field and a condition on any field.
fn shaped_query(index: &IndexSpec) -> impl Strategy<Value = FindQuery> {
    let fields: Vec<String> = index.keys.iter().map(|(f, _)| f.clone()).collect();
    let n = fields.len();
    (
        0..n,
        prop::collection::vec(small(), n),
        prop::option::of(prop_oneof![
            small().prop_map(Cond::Gt),
            small().prop_map(Cond::Lte),
            (small(), small()).prop_map(|(a, b)| Cond::AllOf(vec![Cond::Gte(a), Cond::Lt(b)])),
            prop::collection::vec(small(), 0..3).prop_map(Cond::In),
        ]),
        prop::option::of(field()),
        (
            any::<bool>(),
            prop::option::of((
                prop::sample::select(vec!["x", "y", "z", "_id"]),
                any::<bool>(),
            )),
        ),
        (0u64..3, prop::option::of(0u64..6)),
    )
        .prop_map(
            move |(p, values, range, extra, (desc, then), (skip, limit))| {
                let dir = |d: bool| if d { SortDir::Desc } else { SortDir::Asc };
                let mut parts: Vec<Filter> = fields[..p]
                    .iter()
                    .zip(values)
                    .map(|(f, v)| Filter::Field {
                        path: f.clone(),
                        cond: Cond::Eq(v),
                    })
                    .collect();
                if let Some(cond) = range {
                    parts.push(Filter::Field {
                        path: fields[p].clone(),
                        cond,
                    });
                }
                parts.extend(extra);
                let filter = match parts.len() {
                    0 => Filter::All,
                    1 => parts.remove(0),
                    _ => Filter::And(parts),
                };
                let mut query = FindQuery::new(filter);
                query.sort = vec![(fields[p].clone(), dir(desc))];
                if let Some((f, d)) = then {
                    if f != fields[p] {
                        query.sort.push((f.to_string(), dir(d)));
                    }
                }
                query.skip = skip;
                query.limit = limit;
                query
            },
        )
}

#[test]
fn ordered_walks_of_compound_indexes_agree_with_the_evaluator() {
    // The nested strategies need more stack than a test thread has in a
    // debug build.
    let run = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(ordered_walks_agree);
    match run.map(|handle| handle.join()) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => panic!("cannot start the test thread: {e}"),
    }
}

fn ordered_walks_agree() {
    let dir = tempdir();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    };
    let store = open(dir.path());
    let counter = AtomicUsize::new(0);
    let prefix_walks = AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: std::env::var("EVE_PLANNER_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300),
        ..ProptestConfig::default()
    };
    let case = compound_index().prop_flat_map(|index| {
        let query = shaped_query(&index);
        (Just(index), query, compound_docs())
    });
    proptest!(config, |((index, query, docs) in case)| {
        let coll = format!("k{}", counter.fetch_add(1, Ordering::Relaxed));
        let mut expected: Vec<Document> = docs.iter().filter(|d| query.filter.matches(d)).cloned().collect();
        eve_query::sort_documents(&mut expected, &query.sort);
        let expected: Vec<Document> = expected
            .into_iter()
            .skip(query.skip as usize)
            .take(query.limit.map_or(usize::MAX, |l| l as usize))
            .collect();
        let (found, explain) = runtime.block_on(async {
            store.prepare_collection(&coll, std::slice::from_ref(&index)).await.map_err(|e| e.to_string())?;
            if !docs.is_empty() {
                // A document the index refuses (none here: one array
                // field at most) would fail the whole insert.
                store.insert(&coll, docs.clone()).await.map_err(|e| e.to_string())?;
            }
            let found = store.find(&coll, &query).await.map_err(|e| e.to_string())?;
            let explain = store.explain(&coll, &query).await.map_err(|e| e.to_string())?;
            Ok::<_, String>((found, explain))
        }).map_err(TestCaseError::fail)?;
        if let eve_store_sqlite::QueryPlan::IndexOrder { prefix, .. } = &explain.plan {
            if !prefix.is_empty() {
                prefix_walks.fetch_add(1, Ordering::Relaxed);
            }
        }
        let ids = |ds: &[Document]| ds.iter().map(|d| d.get("_id").cloned()).collect::<Vec<_>>();
        prop_assert_eq!(
            ids(&found),
            ids(&expected),
            "index {:?}, filter {:?}, sort {:?}, skip {} limit {:?}, plan {}",
            index.keys, query.filter, query.sort, query.skip, query.limit, explain.plan
        );
        prop_assert_eq!(explain.returned, expected.len() as u64);
    });
    // The prefix walk was really taken for a good share of the cases.
    let walks = prefix_walks.load(Ordering::Relaxed);
    let cases = counter.load(Ordering::Relaxed);
    eprintln!("{walks} of {cases} queries walked an index after an equality prefix");
    assert!(
        walks * 8 >= cases,
        "only {walks} of {cases} queries walked an index after an equality prefix"
    );
}
