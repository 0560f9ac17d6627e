//! Issue #6: for random documents and random `where` clauses, as clients
//! write them (MongoDB JSON, parsed by `eve_query::parse_where`), the
//! store's indexed, pushed-down query path returns exactly the documents
//! the in-memory evaluator (`Filter::matches`) accepts, and counts them
//! alike. Fields are indexed singly, compound, sparse and over arrays
//! (multikey), so that index scans are really taken (checked with
//! `explain`).

use std::sync::atomic::{AtomicUsize, Ordering};

use bson::{bson, doc, Bson, Document};
use eve_query::Filter;
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec};
use eve_store_sqlite::{QueryPlan, SqliteStore};
use proptest::prelude::*;

/// A scalar of mixed types, small ranges so that filters match.
fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (-3i64..4).prop_map(Bson::Int64),
        (-6i32..6).prop_map(|i| Bson::Double(f64::from(i) / 2.0)),
        prop::sample::select(vec!["", "a", "ab", "b", "B"]).prop_map(|s| Bson::String(s.into())),
        any::<bool>().prop_map(Bson::Boolean),
        Just(Bson::Null),
    ]
}

fn field_value() -> impl Strategy<Value = Bson> {
    prop_oneof![
        5 => scalar(),
        2 => prop::collection::vec(scalar(), 0..4).prop_map(Bson::Array),
        2 => (scalar(), scalar()).prop_map(|(x, y)| bson!({"x": x, "y": y})),
        1 => prop::collection::vec(scalar().prop_map(|x| bson!({"x": x})), 0..3).prop_map(Bson::Array),
    ]
}

fn documents() -> impl Strategy<Value = Vec<Document>> {
    let one = (
        prop::option::of(field_value()),
        prop::option::of(scalar()),
        prop::option::of(field_value()),
    );
    prop::collection::vec(one, 0..20).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (a, b, c))| {
                let mut d = doc! {"_id": i as i64};
                for (k, v) in [("a", a), ("b", b), ("c", c)] {
                    if let Some(v) = v {
                        d.insert(k, v);
                    }
                }
                d
            })
            .collect()
    })
}

const PATHS: [&str; 6] = ["a", "b", "c", "a.x", "c.x", "a.y"];

fn one(key: &str, value: Bson) -> Bson {
    let mut d = Document::new();
    d.insert(key, value);
    Bson::Document(d)
}

/// A condition on one field, as a client writes it.
fn condition() -> impl Strategy<Value = Bson> {
    let op = prop::sample::select(vec!["$gt", "$gte", "$lt", "$lte", "$ne", "$eq"]);
    prop_oneof![
        3 => scalar(),
        3 => (op.clone(), scalar()).prop_map(|(op, v)| one(op, v)),
        1 => (op.clone(), scalar(), op, scalar()).prop_map(|(o1, v1, o2, v2)| {
            let mut d = Document::new();
            d.insert(o1, v1);
            d.insert(o2, v2);
            Bson::Document(d)
        }),
        2 => prop::collection::vec(scalar(), 0..4).prop_map(|v| one("$in", Bson::Array(v))),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(|v| one("$nin", Bson::Array(v))),
        1 => any::<bool>().prop_map(|b| one("$exists", Bson::Boolean(b))),
        1 => prop::collection::vec(scalar(), 1..3).prop_map(|v| one("$all", Bson::Array(v))),
        1 => (0i64..3).prop_map(|n| one("$size", Bson::Int64(n))),
        1 => scalar().prop_map(|v| one("$elemMatch", one("$eq", v))),
        1 => scalar().prop_map(|v| one("$not", one("$gt", v))),
        1 => prop::sample::select(vec!["^a", "b$", "^$", "(?i)b"])
            .prop_map(|r| one("$regex", Bson::String(r.into()))),
        1 => prop::sample::select(vec!["string", "number", "array", "null", "bool", "object"])
            .prop_map(|t| one("$type", Bson::String(t.into()))),
        // Bitwise operators are left to the evaluator: same answers.
        1 => (
            prop::sample::select(vec!["$bitsAllSet", "$bitsAllClear", "$bitsAnySet", "$bitsAnyClear"]),
            prop_oneof![
                (0i64..8).prop_map(Bson::Int64),
                prop::collection::vec((0i64..70).prop_map(Bson::Int64), 0..3).prop_map(Bson::Array),
            ],
        )
            .prop_map(|(op, mask)| one(op, mask)),
    ]
}

fn leaf() -> impl Strategy<Value = Bson> {
    (prop::sample::select(PATHS.to_vec()), condition()).prop_map(|(p, c)| one(p, c))
}

fn clause() -> impl Strategy<Value = Bson> {
    leaf().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(x, y)| {
                // Two fields in one document: an implicit AND.
                let mut m = x.as_document().cloned().unwrap_or_default();
                m.extend(y.as_document().cloned().unwrap_or_default());
                Bson::Document(m)
            }),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| one("$and", Bson::Array(v))),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| one("$or", Bson::Array(v))),
            prop::collection::vec(inner, 1..3).prop_map(|v| one("$nor", Bson::Array(v))),
        ]
    })
}

/// JSON text of the values generated here.
fn to_json(v: &Bson) -> String {
    let quote = |s: &str| {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    match v {
        Bson::Int64(i) => i.to_string(),
        Bson::Double(f) => format!("{f:?}"),
        Bson::String(s) => quote(s),
        Bson::Boolean(b) => b.to_string(),
        Bson::Null => "null".into(),
        Bson::Array(items) => format!(
            "[{}]",
            items.iter().map(to_json).collect::<Vec<_>>().join(", ")
        ),
        Bson::Document(d) => format!(
            "{{{}}}",
            d.iter()
                .map(|(k, v)| format!("{}: {}", quote(k), to_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => panic!("not generated: {other:?}"),
    }
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
        spec("a", &["a"], false),
        spec("b", &["b"], true),
        spec("ax", &["a.x"], false),
        spec("cx", &["c.x"], true),
        spec("b_a", &["b", "a"], false),
    ]
}

#[test]
fn pushed_down_queries_return_what_the_evaluator_accepts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let counter = AtomicUsize::new(0);
    let index_scans = AtomicUsize::new(0);
    let config = ProptestConfig {
        cases: std::env::var("EVE_PUSHDOWN_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(200),
        ..ProptestConfig::default()
    };
    proptest!(config, |(docs in documents(), clause in clause())| {
        // The text a client sends.
        let raw = to_json(&clause);
        let query = eve_query::parse_where(&raw).map_err(|e| TestCaseError::fail(format!("{raw}: {e}")))?;
        let filter = match Filter::parse(&query) {
            Ok(f) => f,
            // Shapes MongoDB refuses too (e.g. `$all` of nothing): skip.
            Err(_) => return Ok(()),
        };
        let coll = format!("c{}", counter.fetch_add(1, Ordering::Relaxed));
        let find = FindQuery::new(filter.clone());
        let (found, counted, explain) = runtime.block_on(async {
            store.prepare_collection(&coll, &indexes()).await?;
            if !docs.is_empty() {
                store.insert(&coll, docs.clone()).await?;
            }
            let found = store.find(&coll, &find).await?;
            let counted = store.count(&coll, &filter).await?;
            let explain = store.explain(&coll, &find).await?;
            Ok::<_, eve_store::StoreError>((found, counted, explain))
        }).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if !matches!(explain.plan, QueryPlan::CollectionScan | QueryPlan::NoCollection) {
            index_scans.fetch_add(1, Ordering::Relaxed);
        }
        let expected: Vec<Bson> = docs
            .iter()
            .filter(|d| filter.matches(d))
            .filter_map(|d| d.get("_id").cloned())
            .collect();
        let mut got: Vec<Bson> = found.iter().filter_map(|d| d.get("_id").cloned()).collect();
        got.sort_by_key(|b| b.as_i64());
        prop_assert_eq!(&got, &expected, "where {} plan {:?}", raw, explain.plan);
        prop_assert_eq!(counted, expected.len() as u64, "count, where {}", raw);
    });
    // The index path was really taken for a good share of the cases.
    let scans = index_scans.load(Ordering::Relaxed);
    let cases = counter.load(Ordering::Relaxed);
    eprintln!("{scans} of {cases} queries used an index");
    assert!(
        scans * 20 >= cases,
        "only {scans} of {cases} queries used an index"
    );
}
