//! Expected outputs are written by hand, most from MongoDB's manual
//! examples for each stage and operator.

use bson::{doc, Bson, Document};

use super::{AggregateLimits, Pipeline};
use crate::{Filter, QueryError};

mod compound;
mod expr;
mod ops;

pub(super) const BIG: AggregateLimits = AggregateLimits {
    memory_bytes: 1 << 20,
    max_lookup: 1000,
};

pub(super) fn run(stages: Vec<Document>, docs: Vec<Document>) -> Vec<Document> {
    Pipeline::parse(&stages)
        .unwrap_or_else(|e| panic!("{e}"))
        .run(docs, &BIG)
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn run_err(stages: Vec<Document>, docs: Vec<Document>) -> String {
    match Pipeline::parse(&stages).and_then(|p| p.run(docs, &BIG)) {
        Err(QueryError::Aggregation(m)) => m,
        other => panic!("expected an aggregation error, got {other:?}"),
    }
}

pub(super) fn parse_err(stages: Vec<Document>) -> String {
    match Pipeline::parse(&stages) {
        Err(e) => e.to_string(),
        Ok(p) => panic!("expected a parse error, got {p:?}"),
    }
}

/// One expression evaluated on one document.
pub(super) fn eval(expr: Bson, doc: Document) -> Option<Bson> {
    let out = run(vec![doc! {"$project": {"_id": 0, "r": expr}}], vec![doc]);
    out[0].get("r").cloned()
}

fn sales() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "item": "abc", "price": 10, "quantity": 2},
        doc! {"_id": 2, "item": "jkl", "price": 20, "quantity": 1},
        doc! {"_id": 3, "item": "xyz", "price": 5, "quantity": 10},
        doc! {"_id": 4, "item": "xyz", "price": 5, "quantity": 20},
        doc! {"_id": 5, "item": "abc", "price": 10, "quantity": 10},
    ]
}

#[test]
fn group_with_sum_avg_and_count_then_sort() {
    let out = run(
        vec![
            doc! {"$group": {
                "_id": "$item",
                "totalSaleAmount": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                "averageQuantity": {"$avg": "$quantity"},
                "count": {"$sum": 1},
                "n": {"$count": {}},
            }},
            doc! {"$sort": {"totalSaleAmount": -1}},
        ],
        sales(),
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": "xyz", "totalSaleAmount": 150, "averageQuantity": 15.0, "count": 2, "n": 2},
            doc! {"_id": "abc", "totalSaleAmount": 120, "averageQuantity": 6.0, "count": 2, "n": 2},
            doc! {"_id": "jkl", "totalSaleAmount": 20, "averageQuantity": 1.0, "count": 1, "n": 1},
        ]
    );
}

#[test]
fn group_null_id_covers_every_document_and_keeps_first_seen_order() {
    let out = run(
        vec![
            doc! {"$group": {"_id": null, "total": {"$sum": "$quantity"}, "avg": {"$avg": "$price"}}},
        ],
        sales(),
    );
    assert_eq!(
        out,
        vec![doc! {"_id": Bson::Null, "total": 43, "avg": 10.0}]
    );
    let out = run(vec![doc! {"$group": {"_id": "$item"}}], sales());
    assert_eq!(
        out,
        vec![
            doc! {"_id": "abc"},
            doc! {"_id": "jkl"},
            doc! {"_id": "xyz"}
        ]
    );
}

#[test]
fn group_accumulators_min_max_first_last_push_add_to_set() {
    let docs = vec![
        doc! {"k": "a", "v": 3, "t": "x"},
        doc! {"k": "a", "v": Bson::Null, "t": "y"},
        doc! {"k": "a", "t": "x"},
        doc! {"k": "a", "v": 1, "t": "x"},
    ];
    let out = run(
        vec![doc! {"$group": {
            "_id": "$k",
            "min": {"$min": "$v"}, "max": {"$max": "$v"},
            "first": {"$first": "$v"}, "last": {"$last": "$v"},
            "push": {"$push": "$v"}, "set": {"$addToSet": "$t"},
            "sumv": {"$sum": "$t"}, "avgmissing": {"$avg": "$nope"},
        }}],
        docs,
    );
    assert_eq!(
        out,
        vec![doc! {
            "_id": "a", "min": 1, "max": 3, "first": 3, "last": 1,
            "push": [3, Bson::Null, 1], "set": ["x", "y"],
            "sumv": 0, "avgmissing": Bson::Null,
        }]
    );
}

#[test]
fn group_keys_equal_across_numeric_types_and_missing_is_null() {
    let docs = vec![
        doc! {"k": 1},
        doc! {"k": 1.0},
        doc! {"k": Bson::Int64(1)},
        doc! {},
        doc! {"k": Bson::Null},
    ];
    let out = run(vec![doc! {"$group": {"_id": "$k", "n": {"$sum": 1}}}], docs);
    assert_eq!(
        out,
        vec![doc! {"_id": 1, "n": 3}, doc! {"_id": Bson::Null, "n": 2}]
    );
}

#[test]
fn group_by_compound_key() {
    let out = run(
        vec![
            doc! {"$group": {"_id": {"item": "$item", "price": "$price"}, "q": {"$sum": "$quantity"}}},
            doc! {"$sort": {"q": 1}},
        ],
        sales(),
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": {"item": "jkl", "price": 20}, "q": 1},
            doc! {"_id": {"item": "abc", "price": 10}, "q": 12},
            doc! {"_id": {"item": "xyz", "price": 5}, "q": 30},
        ]
    );
}

#[test]
fn sum_promotes_int_to_long_on_overflow_and_to_double_with_a_double() {
    let docs = vec![doc! {"v": i32::MAX}, doc! {"v": 1}];
    let out = run(
        vec![doc! {"$group": {"_id": null, "s": {"$sum": "$v"}}}],
        docs,
    );
    assert_eq!(out[0].get("s"), Some(&Bson::Int64(2_147_483_648)));
    let docs = vec![doc! {"v": 1}, doc! {"v": 0.5}];
    let out = run(
        vec![doc! {"$group": {"_id": null, "s": {"$sum": "$v"}}}],
        docs,
    );
    assert_eq!(out[0].get("s"), Some(&Bson::Double(1.5)));
}

fn clothing() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": ["S", "M", "L"]},
        doc! {"_id": 2, "item": "EFG", "price": 120, "sizes": []},
        doc! {"_id": 3, "item": "IJK", "price": 160, "sizes": "M"},
        doc! {"_id": 4, "item": "LMN", "price": 10},
        doc! {"_id": 5, "item": "XYZ", "price": 5.75, "sizes": Bson::Null},
    ]
}

#[test]
fn unwind_string_form() {
    let out = run(vec![doc! {"$unwind": "$sizes"}], clothing());
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "S"},
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "M"},
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "L"},
            doc! {"_id": 3, "item": "IJK", "price": 160, "sizes": "M"},
        ]
    );
}

#[test]
fn unwind_preserving_null_and_empty_arrays() {
    let out = run(
        vec![doc! {"$unwind": {"path": "$sizes", "preserveNullAndEmptyArrays": true}}],
        clothing(),
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "S"},
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "M"},
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "L"},
            doc! {"_id": 2, "item": "EFG", "price": 120},
            doc! {"_id": 3, "item": "IJK", "price": 160, "sizes": "M"},
            doc! {"_id": 4, "item": "LMN", "price": 10},
            doc! {"_id": 5, "item": "XYZ", "price": 5.75, "sizes": Bson::Null},
        ]
    );
}

#[test]
fn unwind_with_array_index() {
    let out = run(
        vec![doc! {"$unwind": {"path": "$sizes", "includeArrayIndex": "arrayIndex"}}],
        clothing(),
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "S", "arrayIndex": Bson::Int64(0)},
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "M", "arrayIndex": Bson::Int64(1)},
            doc! {"_id": 1, "item": "ABC", "price": 80, "sizes": "L", "arrayIndex": Bson::Int64(2)},
            doc! {"_id": 3, "item": "IJK", "price": 160, "sizes": "M", "arrayIndex": Bson::Null},
        ]
    );
}

#[test]
fn unwind_nested_path_then_sort_by_count() {
    let docs = vec![
        doc! {"_id": 1, "info": {"tags": ["a", "b"]}},
        doc! {"_id": 2, "info": {"tags": ["b", "c"]}},
        doc! {"_id": 3, "info": {"tags": ["b"]}},
        doc! {"_id": 4, "info": {"tags": ["c"]}},
    ];
    let out = run(
        vec![
            doc! {"$unwind": "$info.tags"},
            doc! {"$sortByCount": "$info.tags"},
        ],
        docs,
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": "b", "count": 3},
            doc! {"_id": "c", "count": 2},
            doc! {"_id": "a", "count": 1},
        ]
    );
}

#[test]
fn match_then_count() {
    let scores: Vec<Document> = [85, 60, 75, 96, 84, 88]
        .into_iter()
        .map(|s| doc! {"score": s})
        .collect();
    let out = run(
        vec![
            doc! {"$match": {"score": {"$gt": 80}}},
            doc! {"$count": "passing_scores"},
        ],
        scores,
    );
    assert_eq!(out, vec![doc! {"passing_scores": 4}]);
    let none = run(vec![doc! {"$count": "n"}], Vec::new());
    assert!(none.is_empty(), "$count of nothing outputs no document");
}

#[test]
fn sort_skip_and_limit() {
    let out = run(
        vec![
            doc! {"$sort": {"quantity": -1}},
            doc! {"$skip": 1},
            doc! {"$limit": 2},
            doc! {"$project": {"quantity": 1}},
        ],
        sales(),
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": 3, "quantity": 10},
            doc! {"_id": 5, "quantity": 10}
        ]
    );
    let out = run(
        vec![doc! {"$sort": {"price": 1, "_id": -1}}, doc! {"$limit": 2}],
        sales(),
    );
    let ids: Vec<_> = out.iter().map(|d| d.get("_id").cloned()).collect();
    assert_eq!(ids, vec![Some(Bson::Int32(4)), Some(Bson::Int32(3))]);
}

#[test]
fn project_inclusion_exclusion_and_computed_fields() {
    let book = doc! {
        "_id": 1, "title": "abc123", "isbn": "0001122223334",
        "author": {"last": "zzz", "first": "aaa"}, "copies": 5,
    };
    assert_eq!(
        run(
            vec![doc! {"$project": {"title": 1, "author": 1}}],
            vec![book.clone()]
        ),
        vec![doc! {"_id": 1, "title": "abc123", "author": {"last": "zzz", "first": "aaa"}}]
    );
    assert_eq!(
        run(
            vec![doc! {"$project": {"_id": 0, "author.last": 1}}],
            vec![book.clone()]
        ),
        vec![doc! {"author": {"last": "zzz"}}]
    );
    assert_eq!(
        run(
            vec![doc! {"$project": {"isbn": 0, "author": {"first": 0}, "copies": 0}}],
            vec![book.clone()]
        ),
        vec![doc! {"_id": 1, "title": "abc123", "author": {"last": "zzz"}}]
    );
    assert_eq!(
        run(
            vec![doc! {"$project": {
                "title": 1,
                "isbn": {"prefix": {"$toUpper": "$title"}},
                "lastName": "$author.last",
                "copiesSold": {"$literal": "$copies"},
            }}],
            vec![book.clone()]
        ),
        vec![doc! {
            "_id": 1, "title": "abc123",
            "isbn": {"prefix": "ABC123"}, "lastName": "zzz", "copiesSold": "$copies",
        }]
    );
    let msg = parse_err(vec![doc! {"$project": {"title": 1, "isbn": 0}}]);
    assert!(msg.contains("cannot mix inclusion"), "{msg}");
}

#[test]
fn add_fields_set_and_unset() {
    let docs = vec![doc! {"_id": 1, "homework": [10, 5, 10], "extra": 2, "specs": {"doors": 4}}];
    let out = run(
        vec![
            doc! {"$addFields": {"n": {"$size": "$homework"}, "specs.fuel": "unleaded"}},
            doc! {"$set": {"total": {"$add": ["$extra", {"$arrayElemAt": ["$homework", -1]}]}}},
            doc! {"$unset": ["homework", "specs.doors"]},
        ],
        docs,
    );
    assert_eq!(
        out,
        vec![doc! {"_id": 1, "extra": 2, "specs": {"fuel": "unleaded"}, "n": 3, "total": 12}]
    );
    let out = run(
        vec![doc! {"$unset": "extra"}],
        vec![doc! {"_id": 1, "extra": 2}],
    );
    assert_eq!(out, vec![doc! {"_id": 1}]);
}

#[test]
fn replace_root_and_replace_with() {
    let docs = vec![doc! {"_id": 1, "name": {"first": "John", "last": "Backus"}}];
    assert_eq!(
        run(
            vec![doc! {"$replaceRoot": {"newRoot": "$name"}}],
            docs.clone()
        ),
        vec![doc! {"first": "John", "last": "Backus"}]
    );
    assert_eq!(
        run(
            vec![doc! {"$replaceWith": {"full": {"$concat": ["$name.first", " ", "$name.last"]}}}],
            docs.clone()
        ),
        vec![doc! {"full": "John Backus"}]
    );
    let msg = run_err(vec![doc! {"$replaceWith": "$name.first"}], docs);
    assert!(msg.contains("must evaluate to an object"), "{msg}");
}

#[test]
fn parse_errors_are_clear_and_typed() {
    for (stages, needle) in [
        (
            vec![doc! {"$graphLookup": {}}],
            "unrecognized or unsupported pipeline stage name: '$graphLookup'",
        ),
        (
            vec![doc! {"$lookup": {}}],
            "$lookup requires the field 'from'",
        ),
        (vec![doc! {"$match": {}, "$limit": 1}], "exactly one field"),
        (vec![doc! {"$limit": 0}], "the limit must be positive"),
        (vec![doc! {"$limit": "x"}], "integral number"),
        (vec![doc! {"$skip": -1}], "non-negative"),
        (
            vec![doc! {"$group": {"n": {"$sum": 1}}}],
            "must include an _id",
        ),
        (
            vec![doc! {"$group": {"_id": 1, "n": {"$median": 1}}}],
            "unsupported group accumulator: $median",
        ),
        (
            vec![doc! {"$group": {"_id": 1, "n": 5}}],
            "accumulator object",
        ),
        (
            vec![doc! {"$project": {"r": {"$bitAnd": [4]}}}],
            "unsupported expression operator: $bitAnd",
        ),
        (
            vec![doc! {"$project": {"r": {"$add": 1, "$x": 2}}}],
            "exactly one field",
        ),
        (
            vec![doc! {"$project": {"r": {"$subtract": [1]}}}],
            "takes exactly 2 arguments",
        ),
        (
            vec![doc! {"$project": {"r": "$$NOW"}}],
            "undefined variable",
        ),
        (
            vec![doc! {"$project": {"r": "$a..b"}}],
            "not a valid field path",
        ),
        (
            vec![doc! {"$sort": {"a": 2}}],
            "must be 1 (for ascending) or -1",
        ),
        (vec![doc! {"$unwind": "sizes"}], "prefixed by '$'"),
        (vec![doc! {"$count": "a.b"}], "field name 'a.b'"),
        (vec![doc! {"$replaceRoot": {}}], "'newRoot'"),
    ] {
        let msg = parse_err(stages.clone());
        assert!(msg.contains(needle), "{stages:?}: {msg}");
    }
    // $match errors are the filter's own.
    assert_eq!(
        Pipeline::parse(&[doc! {"$match": {"a": {"$in": 1}}}]),
        Err(QueryError::Invalid("$in needs an array".into()))
    );
}

#[test]
fn deep_expressions_and_long_pipelines_are_refused_without_recursion_blowup() {
    let mut e = Bson::Int32(1);
    for _ in 0..300 {
        e = Bson::Document(doc! {"$add": [e]});
    }
    let msg = parse_err(vec![doc! {"$project": {"r": e}}]);
    assert!(msg.contains("nested deeper"), "{msg}");
    let stages = vec![doc! {"$skip": 0}; 1001];
    assert!(parse_err(stages).contains("at most 1000 stages"));
}

#[test]
fn memory_limits_refuse_group_sort_unwind_and_result() {
    let small = AggregateLimits::new(2000);
    let docs: Vec<Document> = (0..100)
        .map(|i| doc! {"k": i, "pad": "x".repeat(50)})
        .collect();
    let check = |stages: Vec<Document>, what: &str| {
        let p = Pipeline::parse(&stages).unwrap_or_else(|e| panic!("{e}"));
        match p.run(docs.clone(), &small) {
            Err(QueryError::Aggregation(m)) => {
                assert!(
                    m.starts_with(what) && m.contains("memory limit of 2000 bytes"),
                    "{m}"
                )
            }
            other => panic!("{what}: expected a memory error, got {other:?}"),
        }
    };
    check(vec![doc! {"$group": {"_id": "$k"}}], "$group");
    check(
        vec![doc! {"$group": {"_id": null, "all": {"$push": "$pad"}}}],
        "$group",
    );
    check(vec![doc! {"$sort": {"k": -1}}], "$sort");
    check(vec![doc! {"$limit": 100}], "the aggregation result");
    check(vec![doc! {"$addFields": {"copy": "$$ROOT"}}], "$addFields");
    // Documents that double at each stage are stopped at the budget, not
    // after the last stage.
    let doubling: Vec<Document> = (0..40)
        .map(|_| doc! {"$replaceWith": {"a": "$$ROOT", "b": "$$ROOT"}})
        .collect();
    let p = Pipeline::parse(&doubling).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        p.run(vec![doc! {"x": 1}], &small),
        Err(QueryError::Aggregation(m)) if m.starts_with("$replaceRoot")
    ));
    let one = vec![doc! {"a": (0..1000).map(Bson::Int32).collect::<Vec<_>>()}];
    let p = Pipeline::parse(&[doc! {"$unwind": "$a"}, doc! {"$limit": 1}])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(p.run(one, &small), Err(QueryError::Aggregation(m)) if m.starts_with("$unwind"))
    );
    // The same pipelines fit a bigger budget; a $sort then $limit holds
    // only the kept documents.
    let p = Pipeline::parse(&[doc! {"$sort": {"k": -1}}, doc! {"$limit": 2}])
        .unwrap_or_else(|e| panic!("{e}"));
    let out = p.run(docs, &small).unwrap_or_else(|e| panic!("{e}"));
    let ks: Vec<_> = out.iter().map(|d| d.get("k").cloned()).collect();
    assert_eq!(ks, vec![Some(Bson::Int32(99)), Some(Bson::Int32(98))]);
}

#[test]
fn leading_matches_split_off_for_push_down() {
    let p = Pipeline::parse(&[
        doc! {"$match": {"a": 1}},
        doc! {"$match": {"b": 2}},
        doc! {"$group": {"_id": "$c"}},
        doc! {"$match": {"_id": 3}},
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let (filter, rest) = p.split_leading_match();
    assert_eq!(
        filter,
        Filter::And(vec![Filter::eq("a", 1), Filter::eq("b", 2)])
    );
    assert_eq!(rest.len(), 2);
    let (filter, rest) = rest.split_leading_match();
    assert_eq!(filter, Filter::All);
    assert_eq!(rest.len(), 2);
    assert!(Pipeline::parse(&[]).map(|p| p.is_empty()).unwrap_or(false));
}
