//! Unit tests of filter parsing and printing.

use super::*;
use bson::doc;

fn parse(d: Document) -> Result<Filter, QueryError> {
    Filter::parse(&d)
}

fn field(path: &str, cond: Cond) -> Filter {
    Filter::Field {
        path: path.into(),
        cond,
    }
}

fn re(p: &str, o: &str) -> Bson {
    Bson::RegularExpression(bson::Regex {
        pattern: p.to_string().try_into().unwrap(),
        options: o.to_string().try_into().unwrap(),
    })
}

fn err_text(d: Document) -> String {
    match parse(d) {
        Err(QueryError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn empty_query_is_all() {
    assert_eq!(parse(doc! {}), Ok(Filter::All));
}

#[test]
fn implicit_equality_and_several_keys_make_an_and() {
    assert_eq!(parse(doc! {"a": 1}), Ok(field("a", Cond::Eq(1.into()))));
    assert_eq!(
        parse(doc! {"a": 1, "b": "x"}),
        Ok(Filter::And(vec![
            field("a", Cond::Eq(1.into())),
            field("b", Cond::Eq("x".into()))
        ]))
    );
}

#[test]
fn a_document_value_without_operators_is_literal_equality() {
    assert_eq!(
        parse(doc! {"a": {"b": 1}}),
        Ok(field("a", Cond::Eq(doc! {"b": 1}.into())))
    );
    assert_eq!(
        parse(doc! {"a": {}}),
        Ok(field("a", Cond::Eq(doc! {}.into())))
    );
}

#[test]
fn every_comparison_operator_parses() {
    let cases = [
        ("$eq", Cond::Eq(5.into())),
        ("$ne", Cond::Ne(5.into())),
        ("$gt", Cond::Gt(5.into())),
        ("$gte", Cond::Gte(5.into())),
        ("$lt", Cond::Lt(5.into())),
        ("$lte", Cond::Lte(5.into())),
    ];
    for (op, cond) in cases {
        let mut inner = Document::new();
        inner.insert(op, 5);
        assert_eq!(parse(doc! {"a": inner}), Ok(field("a", cond)), "{op}");
    }
}

#[test]
fn several_operators_on_one_field_make_all_of() {
    assert_eq!(
        parse(doc! {"a": {"$gt": 1, "$lt": 5}}),
        Ok(field(
            "a",
            Cond::AllOf(vec![Cond::Gt(1.into()), Cond::Lt(5.into())])
        ))
    );
}

#[test]
fn logical_operators_parse_recursively() {
    assert_eq!(
        parse(doc! {"$or": [{"a": 1}, {"$nor": [{"b": 2}]}]}),
        Ok(Filter::Or(vec![
            field("a", Cond::Eq(1.into())),
            Filter::Nor(vec![field("b", Cond::Eq(2.into()))])
        ]))
    );
    assert_eq!(
        parse(doc! {"$and": [{}]}),
        Ok(Filter::And(vec![Filter::All]))
    );
}

#[test]
fn logical_operators_need_a_nonempty_array_of_documents() {
    assert!(err_text(doc! {"$or": {"a": 1}}).contains("array"));
    assert!(err_text(doc! {"$and": []}).contains("nonempty"));
    assert!(err_text(doc! {"$nor": [1]}).contains("full objects"));
}

#[test]
fn in_and_nin_need_arrays() {
    assert_eq!(
        parse(doc! {"a": {"$in": [1, 2]}}),
        Ok(field("a", Cond::In(vec![1.into(), 2.into()])))
    );
    assert_eq!(
        parse(doc! {"a": {"$nin": []}}),
        Ok(field("a", Cond::Nin(vec![])))
    );
    assert!(err_text(doc! {"a": {"$in": 1}}).contains("$in needs an array"));
    assert!(err_text(doc! {"a": {"$nin": "x"}}).contains("$nin needs an array"));
    assert!(err_text(doc! {"a": {"$in": [{"$gt": 1}]}}).contains("cannot nest"));
}

#[test]
fn exists_reads_bson_truthiness() {
    assert_eq!(
        parse(doc! {"a": {"$exists": 1}}),
        Ok(field("a", Cond::Exists(true)))
    );
    assert_eq!(
        parse(doc! {"a": {"$exists": 0}}),
        Ok(field("a", Cond::Exists(false)))
    );
    assert_eq!(
        parse(doc! {"a": {"$exists": Bson::Null}}),
        Ok(field("a", Cond::Exists(false)))
    );
    assert_eq!(
        parse(doc! {"a": {"$exists": "yes"}}),
        Ok(field("a", Cond::Exists(true)))
    );
}

#[test]
fn type_accepts_numbers_aliases_and_lists() {
    assert_eq!(
        parse(doc! {"a": {"$type": 2}}),
        Ok(field("a", Cond::Type(vec![2])))
    );
    assert_eq!(
        parse(doc! {"a": {"$type": 2.0}}),
        Ok(field("a", Cond::Type(vec![2])))
    );
    assert_eq!(
        parse(doc! {"a": {"$type": "string"}}),
        Ok(field("a", Cond::Type(vec![2])))
    );
    assert_eq!(
        parse(doc! {"a": {"$type": "number"}}),
        Ok(field("a", Cond::Type(vec![1, 16, 18, 19])))
    );
    assert_eq!(
        parse(doc! {"a": {"$type": ["null", 127, -1]}}),
        Ok(field("a", Cond::Type(vec![10, 127, -1])))
    );
    assert!(err_text(doc! {"a": {"$type": "nope"}}).contains("unknown type"));
    assert!(err_text(doc! {"a": {"$type": 42}}).contains("invalid numerical type code"));
    assert!(err_text(doc! {"a": {"$type": []}}).contains("at least one"));
    assert!(err_text(doc! {"a": {"$type": true}}).contains("number or a string"));
}

#[test]
fn size_needs_a_non_negative_whole_number() {
    assert_eq!(
        parse(doc! {"a": {"$size": 2}}),
        Ok(field("a", Cond::Size(2)))
    );
    assert_eq!(
        parse(doc! {"a": {"$size": 3.0}}),
        Ok(field("a", Cond::Size(3)))
    );
    assert!(err_text(doc! {"a": {"$size": 1.5}}).contains("whole number"));
    assert!(err_text(doc! {"a": {"$size": "2"}}).contains("whole number"));
    assert!(err_text(doc! {"a": {"$size": -1}}).contains("negative"));
}

#[test]
fn mod_needs_two_numbers_and_a_nonzero_divisor() {
    assert_eq!(
        parse(doc! {"a": {"$mod": [4, 1]}}),
        Ok(field(
            "a",
            Cond::Mod {
                divisor: 4,
                remainder: 1
            }
        ))
    );
    assert_eq!(
        parse(doc! {"a": {"$mod": [4.9, -1.5]}}),
        Ok(field(
            "a",
            Cond::Mod {
                divisor: 4,
                remainder: -1
            }
        ))
    );
    assert!(err_text(doc! {"a": {"$mod": [0, 1]}}).contains("divisor cannot be 0"));
    assert!(err_text(doc! {"a": {"$mod": [4]}}).contains("two elements"));
    assert!(err_text(doc! {"a": {"$mod": [4, 1, 2]}}).contains("two elements"));
    assert!(err_text(doc! {"a": {"$mod": 4}}).contains("array"));
    assert!(err_text(doc! {"a": {"$mod": ["4", 1]}}).contains("numbers"));
    assert!(err_text(doc! {"a": {"$mod": [f64::NAN, 1]}}).contains("numbers"));
}

#[test]
fn regex_takes_options_and_bson_regexes() {
    let r = |p: &str, o: &str| {
        field(
            "a",
            Cond::Regex {
                pattern: p.into(),
                options: o.into(),
            },
        )
    };
    assert_eq!(parse(doc! {"a": {"$regex": "^x"}}), Ok(r("^x", "")));
    assert_eq!(
        parse(doc! {"a": {"$regex": "^x", "$options": "im"}}),
        Ok(r("^x", "im"))
    );
    assert_eq!(
        parse(doc! {"a": {"$options": "i", "$regex": "^x"}}),
        Ok(r("^x", "i"))
    );
    assert_eq!(parse(doc! {"a": re("^x", "s")}), Ok(r("^x", "s")));
    assert_eq!(
        parse(doc! {"a": {"$regex": re("^x", "i")}}),
        Ok(r("^x", "i"))
    );
    assert_eq!(
        parse(doc! {"a": {"$regex": re("^x", "i"), "$options": "m"}}),
        Ok(r("^x", "m"))
    );
}

#[test]
fn bad_regexes_are_invalid() {
    assert!(err_text(doc! {"a": {"$regex": "("}}).contains("invalid regular expression"));
    assert!(err_text(doc! {"a": {"$regex": "(?=x)"}}).contains("invalid regular expression"));
    assert!(err_text(doc! {"a": {"$regex": "x", "$options": "q"}}).contains("invalid flag"));
    assert!(err_text(doc! {"a": {"$options": "i"}}).contains("$options needs a $regex"));
    assert!(err_text(doc! {"a": {"$regex": 1}}).contains("string"));
    assert!(err_text(doc! {"a": {"$in": [re("(", "")]}}).contains("invalid regular expression"));
}

#[test]
fn regex_values_in_in_are_kept_as_regexes() {
    assert_eq!(
        parse(doc! {"a": {"$in": [re("^a", ""), 1]}}),
        Ok(field("a", Cond::In(vec![re("^a", ""), 1.into()])))
    );
}

#[test]
fn not_takes_an_operator_document_or_a_regex() {
    assert_eq!(
        parse(doc! {"a": {"$not": {"$gt": 5}}}),
        Ok(field("a", Cond::Not(Box::new(Cond::Gt(5.into())))))
    );
    assert_eq!(
        parse(doc! {"a": {"$not": re("x", "")}}),
        Ok(field(
            "a",
            Cond::Not(Box::new(Cond::Regex {
                pattern: "x".into(),
                options: "".into()
            }))
        ))
    );
    assert!(err_text(doc! {"a": {"$not": 5}}).contains("$not needs"));
    assert!(err_text(doc! {"a": {"$not": {"b": 1}}}).contains("$not needs"));
    assert!(err_text(doc! {"a": {"$not": {}}}).contains("empty"));
}

#[test]
fn elem_match_document_and_value_forms() {
    assert_eq!(
        parse(doc! {"a": {"$elemMatch": {"b": 1}}}),
        Ok(field(
            "a",
            Cond::ElemMatch(ElemMatch::Document(Box::new(field(
                "b",
                Cond::Eq(1.into())
            ))))
        ))
    );
    assert_eq!(
        parse(doc! {"a": {"$elemMatch": {"$gte": 80, "$lt": 85}}}),
        Ok(field(
            "a",
            Cond::ElemMatch(ElemMatch::Value(vec![
                Cond::Gte(80.into()),
                Cond::Lt(85.into())
            ]))
        ))
    );
    assert_eq!(
        parse(doc! {"a": {"$elemMatch": {"$or": [{"b": 1}]}}}),
        Ok(field(
            "a",
            Cond::ElemMatch(ElemMatch::Document(Box::new(Filter::Or(vec![field(
                "b",
                Cond::Eq(1.into())
            )]))))
        ))
    );
    assert!(err_text(doc! {"a": {"$elemMatch": 1}}).contains("Object"));
}

#[test]
fn all_validates_elem_match_members() {
    assert!(parse(doc! {"a": {"$all": [{"$elemMatch": {"b": 1}}]}}).is_ok());
    assert!(parse(doc! {"a": {"$all": [{"$elemMatch": {"b": {"$zz": 1}}}]}}).is_err());
    assert!(err_text(doc! {"a": {"$all": 1}}).contains("array"));
}

#[test]
fn unknown_operators_are_invalid() {
    assert_eq!(err_text(doc! {"a": {"$foo": 1}}), "unknown operator: $foo");
    assert_eq!(
        err_text(doc! {"$foo": 1}),
        "unknown top level operator: $foo"
    );
    assert!(err_text(doc! {"a": {"$gt": 1, "b": 2}}).contains("unknown operator: b"));
}

#[test]
fn operators_eve_knows_but_we_cannot_evaluate_are_reported_as_unsupported() {
    for d in [
        doc! {"$where": "this.a == 1"},
        doc! {"$text": {"$search": "x"}},
        doc! {"a": {"$near": [0, 0]}},
        doc! {"a": {"$nearSphere": [0, 0]}},
    ] {
        let op = match d.iter().next() {
            Some((k, Bson::Document(inner))) if !k.starts_with('$') => {
                inner.keys().next().unwrap().clone()
            }
            Some((k, _)) => k.clone(),
            None => unreachable!(),
        };
        assert_eq!(
            err_text(d),
            format!("operator '{op}' is not supported by this data layer")
        );
    }
}

#[test]
fn excessive_nesting_is_invalid_not_a_stack_overflow() {
    let mut d = doc! {"a": 1};
    for _ in 0..150 {
        d = doc! {"$and": [d]};
    }
    assert!(err_text(d).contains("nested"));
    let mut n = doc! {"$gt": 1};
    for _ in 0..150 {
        n = doc! {"$not": n};
    }
    assert!(err_text(doc! {"a": n}).contains("nested"));
}

#[test]
fn printing_uses_explicit_eq_only_when_needed() {
    let f = field("a", Cond::Eq(re("x", "")));
    assert_eq!(f.to_document(), doc! {"a": {"$eq": re("x", "")}});
    let f = field("a", Cond::Eq(doc! {"$x": 1}.into()));
    assert_eq!(f.to_document(), doc! {"a": {"$eq": {"$x": 1}}});
    assert_eq!(field("a", Cond::Eq(1.into())).to_document(), doc! {"a": 1});
}

#[test]
fn printing_round_trips_a_complex_query() {
    let q = doc! {
        "a": {"$gt": 1, "$lt": 5, "$not": {"$regex": "x", "$options": "i"}},
        "b.c": re("^y", "im"),
        "$or": [{"d": {"$in": [1, re("z", "")]}}, {"e": {"$elemMatch": {"f": {"$exists": false}}}}],
        "g": {"$elemMatch": {"$gte": 80, "$type": "number"}},
        "h": {"$size": 3, "$all": [1, 2], "$mod": [3, 0]},
        "i": {"$nin": [Bson::Null]},
    };
    let f = Filter::parse(&q).unwrap();
    assert_eq!(Filter::parse(&f.to_document()), Ok(f));
}

#[test]
fn expr_compares_fields_of_one_document() {
    // MongoDB's manual: monthly budgets where spent exceeds budget
    let f = Filter::parse(&doc! {"$expr": {"$gt": ["$spent", "$budget"]}}).unwrap();
    let docs = [
        doc! {"_id": 1, "category": "food", "budget": 400, "spent": 450},
        doc! {"_id": 2, "category": "drinks", "budget": 100, "spent": 150},
        doc! {"_id": 3, "category": "clothes", "budget": 100, "spent": 50},
        doc! {"_id": 4, "category": "misc", "budget": 500, "spent": 300},
        doc! {"_id": 5, "category": "travel", "budget": 200, "spent": 650},
    ];
    let hits: Vec<i32> = docs
        .iter()
        .filter(|d| f.matches(d))
        .map(|d| d.get_i32("_id").unwrap())
        .collect();
    assert_eq!(hits, vec![1, 2, 5]);
    // truthiness, with other conditions, inside $or; errors do not match
    let f = Filter::parse(&doc! {
        "category": {"$ne": "misc"},
        "$or": [{"$expr": {"$subtract": ["$budget", 100]}}],
    })
    .unwrap();
    let hits: Vec<i32> = docs
        .iter()
        .filter(|d| f.matches(d))
        .map(|d| d.get_i32("_id").unwrap())
        .collect();
    assert_eq!(hits, vec![1, 5]);
    let div = Filter::parse(&doc! {"$expr": {"$divide": [1, "$zero"]}}).unwrap();
    assert!(!div.matches(&doc! {"zero": 0}));
    assert_eq!(Filter::parse(&div.to_document()), Ok(div));
    assert!(matches!(
        Filter::parse(&doc! {"$expr": {"$nope": 1}}),
        Err(QueryError::Aggregation(m)) if m.contains("$nope")
    ));
}
