//! Cost budgets of the evaluator (docs/robustness.md): regexes over
//! budget are refused when the filter is built, and `$in`/`$nin`/`$all`
//! grow linearly with operands and array length. Timing checks compare
//! growth ratios measured in the same run, never absolute times.

use std::time::{Duration, Instant};

use bson::{doc, Bson, Document};
use eve_query::{Filter, QueryError};

/// The fastest of `runs` timings of `f` (the least disturbed by other
/// work on a shared machine).
fn fastest(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// `k` operands that the document does not hold (so every one is tried)
/// and a document whose field is an array of `n` numbers.
fn case(op: &str, k: usize, n: usize) -> (Filter, Document) {
    let operands: Vec<Bson> = (0..k).map(|i| Bson::String(format!("v{i}"))).collect();
    let mut operands = operands;
    if op == "$all" {
        // The first member is present, so every member must be looked up.
        operands.insert(0, Bson::Int32(0));
        operands.rotate_left(1);
    }
    let filter = Filter::parse(&doc! {"a": {op: operands}}).expect("filter");
    let values: Vec<Bson> = (0..n as i64).map(Bson::Int64).collect();
    (filter, doc! {"a": values})
}

/// Time of one evaluation for (k, n) and for (8k, 8n): linear work grows
/// 8x, work proportional to k * n grows 64x.
fn growth(op: &str) -> f64 {
    let (small_f, small_d) = case(op, 60, 1_500);
    let (big_f, big_d) = case(op, 480, 12_000);
    // Warm up allocations and caches.
    small_f.matches(&small_d);
    big_f.matches(&big_d);
    let small = fastest(7, || {
        for _ in 0..8 {
            std::hint::black_box(small_f.matches(&small_d));
        }
    });
    let big = fastest(7, || {
        std::hint::black_box(big_f.matches(&big_d));
    });
    // `small` timed 8 evaluations, `big` one.
    big.as_secs_f64() / (small.as_secs_f64() / 8.0).max(1e-9)
}

#[test]
fn in_nin_and_all_grow_linearly_with_operands_and_array_length() {
    for op in ["$in", "$nin", "$all"] {
        let ratio = growth(op);
        eprintln!("{op}: {ratio:.1}x");
        // Linear gives ~8x; comparing every operand with every element
        // gives ~64x.
        assert!(
            ratio < 24.0,
            "{op}: 8x operands and 8x elements cost {ratio:.1}x"
        );
    }
}

#[test]
fn in_with_many_operands_keeps_mongodb_equality() {
    let mut operands: Vec<Bson> = (100..140).map(Bson::Int32).collect();
    operands.push(Bson::Double(1.0));
    operands.push(Bson::Null);
    let f = Filter::parse(&doc! {"a": {"$in": operands.clone()}}).unwrap();
    assert!(f.matches(&doc! {"a": 1_i64}));
    assert!(f.matches(&doc! {"a": [5, 1]}));
    assert!(f.matches(&doc! {"a": [[7], 120.0]}));
    assert!(f.matches(&doc! {}), "null matches a missing field");
    assert!(!f.matches(&doc! {"a": "1"}));
    let nin = Filter::parse(&doc! {"a": {"$nin": operands}}).unwrap();
    assert!(nin.matches(&doc! {"a": 2}));
    assert!(!nin.matches(&doc! {"a": [2, 139]}));
    let all: Vec<Bson> = (0..20).map(Bson::Int32).collect();
    let f = Filter::parse(&doc! {"a": {"$all": all}}).unwrap();
    let held: Vec<Bson> = (0..25).rev().map(|i| Bson::Double(f64::from(i))).collect();
    assert!(f.matches(&doc! {"a": held}));
    let short: Vec<Bson> = (1..25).map(Bson::Int64).collect();
    assert!(!f.matches(&doc! {"a": short}));
}

#[test]
fn regex_over_budget_is_refused_when_the_filter_is_built() {
    for pattern in ["[a-z]{1,3000}[0-9]", "(ab){600}", &"x".repeat(5000)] {
        match Filter::parse(&doc! {"s": {"$regex": pattern}}) {
            Err(QueryError::Invalid(msg)) => {
                assert!(msg.starts_with("regular expression too costly"), "{msg}")
            }
            other => panic!("{pattern}: {other:?}"),
        }
    }
    // Also inside $in, $not and as a regex value.
    let re = Bson::RegularExpression(bson::Regex {
        pattern: "a{2000}".to_string().try_into().unwrap(),
        options: String::new().try_into().unwrap(),
    });
    assert!(Filter::parse(&doc! {"s": {"$in": [re.clone()]}}).is_err());
    assert!(Filter::parse(&doc! {"s": {"$not": re.clone()}}).is_err());
    assert!(Filter::parse(&doc! {"s": re}).is_err());
    // Large compiled programs (repeated Unicode classes) are refused too.
    match Filter::parse(&doc! {"s": {"$regex": "\\w{1,50}\\d{1,50}\\w{1,50}"}}) {
        Err(QueryError::Invalid(msg)) => assert!(msg.contains("size limit"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn regex_within_budget_scans_long_values_in_linear_time() {
    let f = Filter::parse(&doc! {"s": {"$regex": "[a-z]{1,900}[0-9]"}}).unwrap();
    let short = doc! {"s": "a".repeat(50_000)};
    let long = doc! {"s": "a".repeat(400_000)};
    f.matches(&short);
    f.matches(&long);
    let t_short = fastest(5, || {
        std::hint::black_box(f.matches(&short));
    });
    let t_long = fastest(5, || {
        std::hint::black_box(f.matches(&long));
    });
    let ratio = t_long.as_secs_f64() / t_short.as_secs_f64().max(1e-9);
    // 8x the subject: linear gives ~8x.
    assert!(ratio < 24.0, "8x longer subject cost {ratio:.1}x");
}
