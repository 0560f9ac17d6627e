//! `$facet`, `$lookup`, `$bucket` and the push-down split; expected
//! outputs written by hand after MongoDB's manual.

use bson::{doc, Bson, Document};

use super::{parse_err, run, BIG};
use crate::aggregate::{AggregateLimits, Foreign, Pipeline};
use crate::{Filter, QueryError, SortDir};

fn artwork() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "title": "The Pillars of Society", "year": 1926, "price": 199.99},
        doc! {"_id": 2, "title": "Melancholy III", "year": 1902, "price": 280.00},
        doc! {"_id": 3, "title": "Dancer", "year": 1925, "price": 76.04},
        doc! {"_id": 4, "title": "The Great Wave off Kanagawa", "price": 167.30},
        doc! {"_id": 5, "title": "The Persistence of Memory", "year": 1931, "price": 483.00},
        doc! {"_id": 6, "title": "Composition VII", "year": 1913, "price": 385.00},
        doc! {"_id": 7, "title": "The Scream", "year": 1893},
        doc! {"_id": 8, "title": "Blue Flower", "year": 1918, "price": 118.42},
    ]
}

#[test]
fn bucket_groups_by_ranges_with_a_default_bucket_last() {
    let out = run(
        vec![doc! {"$bucket": {
            "groupBy": "$price",
            "boundaries": [0, 200, 400],
            "default": "Other",
            "output": {"count": {"$sum": 1}, "titles": {"$push": "$title"}},
        }}],
        artwork(),
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": 0, "count": 4, "titles": [
                "The Pillars of Society", "Dancer", "The Great Wave off Kanagawa", "Blue Flower"
            ]},
            doc! {"_id": 200, "count": 2, "titles": ["Melancholy III", "Composition VII"]},
            doc! {"_id": "Other", "count": 2, "titles": ["The Persistence of Memory", "The Scream"]},
        ]
    );
    // without `output`, a count; buckets with no document are left out
    let out = run(
        vec![
            doc! {"$bucket": {"groupBy": "$year", "boundaries": [1890, 1900, 1910, 1920, 1940], "default": "Unknown"}},
        ],
        artwork(),
    );
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1890, "count": 1},
            doc! {"_id": 1900, "count": 1},
            doc! {"_id": 1910, "count": 2},
            doc! {"_id": 1920, "count": 3},
            doc! {"_id": "Unknown", "count": 1},
        ]
    );
}

#[test]
fn bucket_errors() {
    let msg = super::run_err(
        vec![doc! {"$bucket": {"groupBy": "$price", "boundaries": [0, 200]}}],
        artwork(),
    );
    assert!(msg.contains("no default was specified"), "{msg}");
    for (spec, needle) in [
        (doc! {"groupBy": "$a", "boundaries": [3, 1]}, "ascending"),
        (doc! {"groupBy": "$a", "boundaries": [1]}, "at least two"),
        (doc! {"groupBy": "$a", "boundaries": [1, "x"]}, "same type"),
        (
            doc! {"groupBy": "$a", "boundaries": [0, 10], "default": 5},
            "'default'",
        ),
        (doc! {"groupBy": "a", "boundaries": [0, 10]}, "'groupBy'"),
        (
            doc! {"groupBy": "$a", "boundaries": [0, 10], "x": 1},
            "unrecognized option",
        ),
    ] {
        let msg = parse_err(vec![doc! {"$bucket": spec.clone()}]);
        assert!(msg.contains(needle), "{spec}: {msg}");
    }
}

#[test]
fn facet_runs_each_sub_pipeline_over_the_same_input() {
    let out = run(
        vec![doc! {"$facet": {
            "cheap": [{"$match": {"price": {"$lt": 150}}}, {"$project": {"_id": 1}}],
            "count": [{"$count": "n"}],
            "none": [{"$match": {"price": {"$gt": 1000}}}],
        }}],
        artwork(),
    );
    assert_eq!(
        out,
        vec![doc! {
            "cheap": [{"_id": 3}, {"_id": 8}],
            "count": [{"n": 8}],
            "none": [],
        }]
    );
    // over no input, one document with empty facets
    assert_eq!(
        run(vec![doc! {"$facet": {"a": [{"$count": "n"}]}}], vec![]),
        vec![doc! {"a": []}]
    );
    for (spec, needle) in [
        (doc! {"a": []}, "must not be empty"),
        (doc! {"a": 1}, "must be arrays"),
        (
            doc! {"a": [{"$facet": {"b": [{"$limit": 1}]}}]},
            "within a $facet",
        ),
        (doc! {}, "non-empty object"),
    ] {
        let msg = parse_err(vec![doc! {"$facet": spec.clone()}]);
        assert!(msg.contains(needle), "{spec}: {msg}");
    }
}

fn orders() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "item": "almonds", "price": 12, "quantity": 2},
        doc! {"_id": 2, "item": "pecans", "price": 20, "quantity": 1},
        doc! {"_id": 3},
    ]
}

fn inventory() -> Foreign {
    let mut f = Foreign::new();
    f.insert(
        "inventory".into(),
        vec![
            doc! {"_id": 1, "sku": "almonds", "instock": 120},
            doc! {"_id": 2, "sku": "bread", "instock": 80},
            doc! {"_id": 3, "sku": "cashews", "instock": 60},
            doc! {"_id": 4, "sku": "pecans", "instock": 70},
            doc! {"_id": 5, "sku": null},
            doc! {"_id": 6},
        ],
    );
    f
}

fn lookup_stage() -> Document {
    doc! {"$lookup": {"from": "inventory", "localField": "item", "foreignField": "sku", "as": "inventory_docs"}}
}

#[test]
fn lookup_joins_equal_values_and_missing_with_null_or_missing() {
    let p = Pipeline::parse(&[lookup_stage()]).unwrap();
    assert_eq!(p.lookup_collections(), vec!["inventory".to_string()]);
    let out = p.run_with(orders(), &BIG, &inventory()).unwrap();
    assert_eq!(
        out,
        vec![
            doc! {"_id": 1, "item": "almonds", "price": 12, "quantity": 2,
            "inventory_docs": [{"_id": 1, "sku": "almonds", "instock": 120}]},
            doc! {"_id": 2, "item": "pecans", "price": 20, "quantity": 1,
            "inventory_docs": [{"_id": 4, "sku": "pecans", "instock": 70}]},
            // MongoDB's manual: a missing localField matches foreign
            // documents whose foreignField is null or missing
            doc! {"_id": 3, "inventory_docs": [{"_id": 5, "sku": null}, {"_id": 6}]},
        ]
    );
    // an unknown collection joins nothing
    let out = p.run(vec![doc! {"_id": 1, "item": "x"}], &BIG).unwrap();
    assert_eq!(
        out,
        vec![doc! {"_id": 1, "item": "x", "inventory_docs": []}]
    );
}

#[test]
fn lookup_matches_array_elements_on_both_sides() {
    let mut f = Foreign::new();
    f.insert(
        "tags".into(),
        vec![
            doc! {"_id": "a", "names": ["x", "y"]},
            doc! {"_id": "b", "names": ["z"]},
        ],
    );
    let p = Pipeline::parse(&[doc! {"$lookup": {
        "from": "tags", "localField": "wanted", "foreignField": "names", "as": "found"
    }}])
    .unwrap();
    let out = p
        .run_with(vec![doc! {"_id": 1, "wanted": ["y", "z"]}], &BIG, &f)
        .unwrap();
    assert_eq!(
        out[0].get_array("found").unwrap(),
        &vec![
            Bson::Document(doc! {"_id": "a", "names": ["x", "y"]}),
            Bson::Document(doc! {"_id": "b", "names": ["z"]}),
        ]
    );
}

#[test]
fn lookup_fan_out_and_arguments_are_bounded() {
    let p = Pipeline::parse(&[lookup_stage()]).unwrap();
    let tight = AggregateLimits::new(1 << 20).with_max_lookup(1);
    let err = p.run_with(orders(), &tight, &inventory()).unwrap_err();
    assert!(
        matches!(&err, QueryError::Aggregation(m) if m.contains("joined 2 documents") && m.contains("AGGREGATION_MAX_LOOKUP")),
        "{err:?}"
    );
    for (spec, needle) in [
        (
            doc! {"from": "x", "localField": "a", "foreignField": "b"},
            "'as'",
        ),
        (
            doc! {"from": 1, "localField": "a", "foreignField": "b", "as": "c"},
            "must be a string",
        ),
        (
            doc! {"from": "x", "let": {}, "pipeline": [], "as": "c"},
            "only the equality form",
        ),
        (
            doc! {"from": "x", "localField": "$a", "foreignField": "b", "as": "c"},
            "invalid field path",
        ),
    ] {
        let msg = parse_err(vec![doc! {"$lookup": spec.clone()}]);
        assert!(msg.contains(needle), "{spec}: {msg}");
    }
}

#[test]
fn the_push_down_split_takes_match_sort_skip_limit_in_that_order() {
    let p = Pipeline::parse(&[
        doc! {"$match": {"a": 1}},
        doc! {"$match": {"b": 2}},
        doc! {"$sort": {"c": 1}},
        doc! {"$skip": 5},
        doc! {"$limit": 10},
        doc! {"$limit": 3},
    ])
    .unwrap();
    let (push, rest) = p.split_push_down();
    assert_eq!(push.filter, Filter::eq("a", 1).and(Filter::eq("b", 2)));
    assert_eq!(push.sort, vec![("c".to_string(), SortDir::Asc)]);
    assert_eq!((push.skip, push.limit), (5, Some(10)));
    assert_eq!(rest.documents(), &[doc! {"$limit": 3}]);
    // a $limit before the $sort is not pushed past it
    let p = Pipeline::parse(&[doc! {"$limit": 2}, doc! {"$sort": {"c": 1}}]).unwrap();
    let (push, rest) = p.split_push_down();
    assert_eq!(
        (push.filter, push.sort, push.limit),
        (Filter::All, vec![], Some(2))
    );
    assert_eq!(rest.len(), 1);
    // options travel with the pipeline
    let p = Pipeline::parse(&[])
        .unwrap()
        .with_options(doc! {"allowDiskUse": true});
    assert_eq!(p.options(), &doc! {"allowDiskUse": true});
}
