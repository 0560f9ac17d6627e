//! Property tests of the query engine: printing then parsing gives the same
//! AST back, the parsers never panic, and in-memory sorting agrees with
//! `compare_bson`.

use std::cmp::Ordering;

use bson::{doc, oid::ObjectId, Bson, Document};
use eve_query::{
    compare_bson, parse_projection, parse_sort, parse_where, sort_documents, values_at_path,
    Filter, SortDir,
};
use proptest::prelude::*;

fn regex(p: &str, o: &str) -> Bson {
    Bson::RegularExpression(bson::Regex {
        pattern: p.to_string().try_into().unwrap(),
        options: o.to_string().try_into().unwrap(),
    })
}

/// Scalar BSON values of many types.
fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        any::<i32>().prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        (-3i32..3).prop_map(Bson::Int32),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(-0.0),
            (-3i32..3).prop_map(f64::from)
        ]
        .prop_map(Bson::Double),
        "[a-c]{0,3}".prop_map(Bson::String),
        any::<bool>().prop_map(Bson::Boolean),
        Just(Bson::Null),
        any::<[u8; 12]>().prop_map(|b| Bson::ObjectId(ObjectId::from_bytes(b))),
        (-5i64..5).prop_map(|m| Bson::DateTime(bson::DateTime::from_millis(m))),
        Just(Bson::MinKey),
        Just(Bson::MaxKey),
        Just(regex("^a", "i")),
    ]
}

/// Any BSON value, nested up to a small depth.
fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec(("[a-c]", inner), 0..3)
                .prop_map(|kv| Bson::Document(kv.into_iter().collect::<Document>())),
        ]
    })
}

/// A document to match queries against.
fn document() -> impl Strategy<Value = Document> {
    prop::collection::vec(
        (prop_oneof![Just("a"), Just("b"), Just("c")], value()),
        0..4,
    )
    .prop_map(|kv| kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a"),
        Just("b"),
        Just("a.b"),
        Just("a.0"),
        Just("c.a.b")
    ]
    .prop_map(String::from)
}

/// One operator entry `(op, operand)`, mostly well-formed.
fn operator() -> impl Strategy<Value = (String, Bson)> {
    let list = prop::collection::vec(value(), 0..3).prop_map(Bson::Array);
    prop_oneof![
        (
            prop_oneof![
                Just("$eq"),
                Just("$ne"),
                Just("$gt"),
                Just("$gte"),
                Just("$lt"),
                Just("$lte")
            ],
            value()
        )
            .prop_map(|(o, v)| (o.to_string(), v)),
        (prop_oneof![Just("$in"), Just("$nin"), Just("$all")], list)
            .prop_map(|(o, v)| (o.to_string(), v)),
        any::<bool>().prop_map(|b| ("$exists".to_string(), Bson::Boolean(b))),
        prop_oneof![
            Just(Bson::String("number".into())),
            Just(Bson::String("string".into())),
            Just(Bson::Int32(4)),
            Just(Bson::Array(vec![
                Bson::Int32(10),
                Bson::String("array".into())
            ])),
        ]
        .prop_map(|t| ("$type".to_string(), t)),
        (0i64..4).prop_map(|n| ("$size".to_string(), Bson::Int64(n))),
        (1i64..5, -2i64..3)
            .prop_map(|(d, r)| ("$mod".to_string(), Bson::Array(vec![d.into(), r.into()]))),
        prop_oneof![Just("^a"), Just("b$"), Just("a|c")]
            .prop_map(|p| ("$regex".to_string(), Bson::String(p.into()))),
        (prop_oneof![Just("$gt"), Just("$regex")], value()).prop_map(|(o, v)| {
            let mut inner = Document::new();
            inner.insert(o, v);
            ("$not".to_string(), Bson::Document(inner))
        }),
        (field_name(), value()).prop_map(|(f, v)| {
            let mut inner = Document::new();
            inner.insert(f, v);
            ("$elemMatch".to_string(), Bson::Document(inner))
        }),
        value().prop_map(|v| ("$elemMatch".to_string(), Bson::Document(doc! {"$gte": v}))),
        (
            prop_oneof![
                Just("$bitsAllSet"),
                Just("$bitsAllClear"),
                Just("$bitsAnySet"),
                Just("$bitsAnyClear")
            ],
            prop_oneof![
                (0i64..16).prop_map(Bson::Int64),
                prop::collection::vec((0i32..70).prop_map(Bson::Int32), 0..3).prop_map(Bson::Array),
            ]
        )
            .prop_map(|(o, m)| (o.to_string(), m)),
    ]
}

/// A query document built from fields, operators and logical operators.
fn query() -> impl Strategy<Value = Document> {
    let field_entry = (
        field_name(),
        prop_oneof![
            value(),
            prop::collection::vec(operator(), 1..3).prop_map(|ops| {
                let mut d = Document::new();
                for (o, v) in ops {
                    d.insert(o, v);
                }
                if d.contains_key("$regex") && d.len() < 3 {
                    d.insert("$options", "i");
                }
                Bson::Document(d)
            }),
        ],
    );
    let leaf = prop::collection::vec(field_entry, 0..3)
        .prop_map(|kv| kv.into_iter().collect::<Document>());
    leaf.prop_recursive(3, 12, 3, |inner| {
        (
            prop_oneof![Just("$and"), Just("$or"), Just("$nor")],
            prop::collection::vec(inner, 1..3),
        )
            .prop_map(|(op, subs)| {
                let mut d = Document::new();
                d.insert(
                    op,
                    Bson::Array(subs.into_iter().map(Bson::Document).collect()),
                );
                d
            })
    })
}

const PY_KEYWORDS: [&str; 24] = [
    "and", "as", "async", "await", "break", "class", "def", "del", "elif", "else", "for", "from",
    "if", "in", "is", "not", "or", "pass", "raise", "try", "while", "with", "yield", "lambda",
];

/// A Python-like where expression and the document it must translate to.
fn py_comparison() -> impl Strategy<Value = (String, Document)> {
    let ops = prop_oneof![
        Just(("==", "")),
        Just(("!=", "$ne")),
        Just(("<", "$lt")),
        Just(("<=", "$lte")),
        Just((">", "$gt")),
        Just((">=", "$gte")),
    ];
    let literal = prop_oneof![
        any::<i64>().prop_map(|i| (
            i.to_string(),
            i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
        )),
        (-1000.0f64..1000.0).prop_map(|f| (format!("{f:?}"), Bson::Double(f))),
        "[a-z \"'\\\\]{0,6}".prop_map(|s| {
            let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
            (format!("\"{escaped}\""), Bson::String(s))
        }),
        "[a-z][a-z0-9_]{0,4}"
            .prop_filter("not a keyword", |s| !PY_KEYWORDS.contains(&s.as_str()))
            .prop_map(|s| (s.clone(), Bson::String(s))),
        prop_oneof![
            Just(("True", Bson::Boolean(true))),
            Just(("None", Bson::Null))
        ]
        .prop_map(|(t, v)| (t.to_string(), v)),
    ];
    ("x|y|loc\\.city", ops, literal).prop_map(|(name, (op, mongo_op), (text, v))| {
        let value = if mongo_op.is_empty() {
            v
        } else {
            let mut d = Document::new();
            d.insert(mongo_op, v);
            Bson::Document(d)
        };
        let mut expected = Document::new();
        expected.insert(name.clone(), value);
        (format!("{name} {op} {text}"), expected)
    })
}

fn py_expr() -> impl Strategy<Value = (String, Document)> {
    py_comparison().prop_recursive(3, 12, 3, |inner| {
        (
            prop_oneof![Just("and"), Just("or")],
            prop::collection::vec(inner, 2..4),
        )
            .prop_map(|(kw, parts)| {
                let text = parts
                    .iter()
                    .map(|(t, _)| format!("({t})"))
                    .collect::<Vec<_>>()
                    .join(&format!(" {kw} "));
                let list = parts
                    .into_iter()
                    .map(|(_, d)| Bson::Document(d))
                    .collect::<Vec<_>>();
                let mut expected = Document::new();
                expected.insert(format!("${kw}"), Bson::Array(list));
                (text, expected)
            })
    })
}

/// Whether two filters are equal, treating NaN operands as equal to NaN
/// (the AST's derived `PartialEq` follows IEEE and says NaN != NaN).
fn same_filter(a: &Filter, b: &Filter) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printing_then_parsing_gives_the_same_filter(q in query()) {
        if let Ok(f) = Filter::parse(&q) {
            let printed = f.to_document();
            let again = Filter::parse(&printed);
            prop_assert!(again.is_ok(), "{printed} failed: {again:?}");
            let again = again.unwrap();
            prop_assert!(same_filter(&again, &f), "{q} -> {printed}\n{f:?}\n{again:?}");
        }
    }

    #[test]
    fn printed_filters_select_the_same_documents(q in query(), d in document()) {
        if let Ok(f) = Filter::parse(&q) {
            let again = Filter::parse(&f.to_document()).unwrap();
            prop_assert_eq!(f.matches(&d), again.matches(&d));
        }
    }

    #[test]
    fn ne_is_the_negation_of_eq(field in field_name(), v in value(), d in document()) {
        let mut eq = Document::new();
        eq.insert(field.clone(), doc! {"$eq": v.clone()});
        let mut ne = Document::new();
        ne.insert(field, doc! {"$ne": v});
        let (eq, ne) = (Filter::parse(&eq).unwrap(), Filter::parse(&ne).unwrap());
        prop_assert_eq!(eq.matches(&d), !ne.matches(&d));
    }

    #[test]
    fn nor_of_one_is_the_negation(q in query(), d in document()) {
        if let Ok(f) = Filter::parse(&q) {
            let nor = Filter::Nor(vec![f.clone()]);
            prop_assert_eq!(nor.matches(&d), !f.matches(&d));
        }
    }

    #[test]
    fn python_where_translates_to_the_expected_query((text, expected) in py_expr()) {
        prop_assert_eq!(parse_where(&text), Ok(expected), "{}", text);
    }

    #[test]
    fn parse_where_never_panics(s in ".{0,200}") {
        let _ = parse_where(&s);
    }

    #[test]
    fn parse_where_never_panics_on_grammar_soup(s in "[a-z0-9 ().,;=!<>\"'\\-\\[\\]{}:$]{0,120}") {
        if let Ok(d) = parse_where(&s) {
            // Whatever parses is a query document Filter::parse can judge.
            let _ = Filter::parse(&d);
        }
    }

    #[test]
    fn parse_sort_never_panics(s in ".{0,200}") {
        let _ = parse_sort(&s);
    }

    #[test]
    fn parse_sort_never_panics_on_literal_soup(s in "[a-z0-9 ()\\[\\]{},:'\"\\-+.]{0,80}") {
        if let Ok(spec) = parse_sort(&s) {
            prop_assert!(spec.iter().all(|(f, _)| !f.is_empty()), "{s:?} gave an empty field: {spec:?}");
        }
    }

    #[test]
    fn parse_projection_never_panics(s in ".{0,200}") {
        let _ = parse_projection(&s);
    }

    #[test]
    fn comma_sort_lists_round_trip(fields in prop::collection::vec(("[a-z_][a-z0-9_.]{0,6}", any::<bool>()), 1..5)) {
        let raw = fields.iter().map(|(f, desc)| if *desc { format!("-{f}") } else { f.clone() }).collect::<Vec<_>>().join(", ");
        let expected: Vec<(String, SortDir)> =
            fields.iter().map(|(f, desc)| (f.clone(), if *desc { SortDir::Desc } else { SortDir::Asc })).collect();
        prop_assert_eq!(parse_sort(&raw), Ok(expected));
    }

    #[test]
    fn compare_bson_is_antisymmetric(a in value(), b in value()) {
        prop_assert_eq!(compare_bson(&a, &b), compare_bson(&b, &a).reverse());
    }

    #[test]
    fn compare_bson_is_transitive(mut v in prop::collection::vec(value(), 3)) {
        v.sort_by(compare_bson);
        prop_assert_ne!(compare_bson(&v[0], &v[2]), Ordering::Greater);
        prop_assert_ne!(compare_bson(&v[0], &v[1]), Ordering::Greater);
        prop_assert_ne!(compare_bson(&v[1], &v[2]), Ordering::Greater);
    }

    #[test]
    fn sort_documents_agrees_with_compare_bson(
        vals in prop::collection::vec(prop::option::of(scalar()), 0..12),
        desc in any::<bool>(),
    ) {
        let mut docs: Vec<Document> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut d = doc! {"i": i as i64};
                if let Some(v) = v {
                    d.insert("k", v.clone());
                }
                d
            })
            .collect();
        let dir = if desc { SortDir::Desc } else { SortDir::Asc };
        sort_documents(&mut docs, &vec![("k".to_string(), dir)]);
        let key = |d: &Document| d.get("k").cloned().unwrap_or(Bson::Null);
        for w in docs.windows(2) {
            let o = compare_bson(&key(&w[0]), &key(&w[1]));
            let o = if desc { o.reverse() } else { o };
            prop_assert_ne!(o, Ordering::Greater);
            if o == Ordering::Equal {
                prop_assert!(w[0].get_i64("i").unwrap() < w[1].get_i64("i").unwrap(), "stable");
            }
        }
        prop_assert_eq!(docs.len(), vals.len());
    }

    #[test]
    fn values_at_path_finds_what_equality_matches(d in document(), v in scalar()) {
        // {a.b: v} (v not null) matches exactly when v equals a value at the
        // path or an element of an array found there.
        prop_assume!(!matches!(v, Bson::Null | Bson::RegularExpression(_)));
        let found = values_at_path(&d, "a.b");
        let hit = found.iter().any(|x| {
            compare_bson(x, &v) == Ordering::Equal
                || matches!(x, Bson::Array(items) if items.iter().any(|e| compare_bson(e, &v) == Ordering::Equal))
        });
        let f = Filter::parse(&doc! {"a.b": {"$eq": v}}).unwrap();
        prop_assert_eq!(f.matches(&d), hit);
    }
}

/// Whether `v` is usable as a plain member of `$in`/`$all` (not an
/// operator document, which those refuse or treat specially).
fn plain_member(v: &Bson) -> bool {
    !matches!(v, Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')))
}

proptest! {
    // Long operand lists go through hash sets (eqset.rs): they must select
    // exactly what one equality per operand selects.
    #[test]
    fn many_operand_in_nin_all_agree_with_one_equality_per_operand(
        field in field_name(),
        ops in prop::collection::vec(value(), 8..24),
        d in document(),
    ) {
        prop_assume!(ops.iter().all(plain_member));
        let eqs: Vec<Bson> = ops.iter().map(|x| Bson::Document(doc! {field.clone(): x.clone()})).collect();
        let (Ok(any), Ok(every)) = (
            Filter::parse(&doc! {"$or": eqs.clone()}),
            Filter::parse(&doc! {"$and": eqs}),
        ) else {
            return Ok(());
        };
        let parsed = |op: &str| Filter::parse(&doc! {field.clone(): {op: ops.clone()}});
        if let Ok(f) = parsed("$in") {
            prop_assert_eq!(f.matches(&d), any.matches(&d));
        }
        if let Ok(f) = parsed("$nin") {
            prop_assert_eq!(f.matches(&d), !any.matches(&d));
        }
        if let Ok(f) = parsed("$all") {
            prop_assert_eq!(f.matches(&d), every.matches(&d));
        }
    }
}
