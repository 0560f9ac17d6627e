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
