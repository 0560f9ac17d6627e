//! The Python-like `where` form against Eve's own parser.
//!
//! Each expected value below is what `eve.io.mongo.parser.parse` of Eve
//! 2.3.1 returned for the expression (run through the oracle's virtualenv
//! and printed as canonical Extended JSON). Only expressions where Eve and
//! the safer choices of the spec agree are listed; the deliberate
//! differences (`True`/`None`, unary minus, lists) are unit-tested in
//! `where_python.rs`.

use bson::Bson;
use eve_query::parse_where;

/// Canonical Extended JSON, formatted like Python's `json_util.dumps`.
fn canonical(b: &Bson) -> String {
    let key = |k: &str| serde_json::to_string(k).unwrap();
    match b {
        Bson::Int32(i) => format!("{{\"$numberInt\": \"{i}\"}}"),
        Bson::Int64(i) => format!("{{\"$numberLong\": \"{i}\"}}"),
        Bson::Double(f) => format!("{{\"$numberDouble\": \"{f:?}\"}}"),
        Bson::String(s) => key(s),
        Bson::Boolean(b) => b.to_string(),
        Bson::Null => "null".into(),
        Bson::ObjectId(o) => format!("{{\"$oid\": \"{o}\"}}"),
        Bson::DateTime(d) => format!(
            "{{\"$date\": {{\"$numberLong\": \"{}\"}}}}",
            d.timestamp_millis()
        ),
        Bson::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(", ")
        ),
        Bson::Document(d) => {
            let fields: Vec<String> = d
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), canonical(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        other => panic!("unexpected value {other:?}"),
    }
}

const VERIFIED: &[(&str, &str)] = &[
    (r#"lastname=="Doe""#, r#"{"lastname": "Doe"}"#),
    (
        r#"age>23 and lastname=="Doe""#,
        r#"{"$and": [{"age": {"$gt": {"$numberInt": "23"}}}, {"lastname": "Doe"}]}"#,
    ),
    (
        r#"age<=3 and (name=="x" or rank>2)"#,
        r#"{"$and": [{"age": {"$lte": {"$numberInt": "3"}}}, {"$or": [{"name": "x"}, {"rank": {"$gt": {"$numberInt": "2"}}}]}]}"#,
    ),
    (
        r#"born>=datetime(1985,2,25,17,0,0)"#,
        r#"{"born": {"$gte": {"$date": {"$numberLong": "478198800000"}}}}"#,
    ),
    (
        r#"ref==ObjectId("5f0000000000000000000003")"#,
        r#"{"ref": {"$oid": "5f0000000000000000000003"}}"#,
    ),
    (
        r#"a==1 or b==2 and c==3"#,
        r#"{"$or": [{"a": {"$numberInt": "1"}}, {"$and": [{"b": {"$numberInt": "2"}}, {"c": {"$numberInt": "3"}}]}]}"#,
    ),
    (
        r#"(a==1 and b==2) and c==3"#,
        r#"{"$and": [{"$and": [{"a": {"$numberInt": "1"}}, {"b": {"$numberInt": "2"}}]}, {"c": {"$numberInt": "3"}}]}"#,
    ),
    (
        r#"a==1 and b==2 and c==3"#,
        r#"{"$and": [{"a": {"$numberInt": "1"}}, {"b": {"$numberInt": "2"}}, {"c": {"$numberInt": "3"}}]}"#,
    ),
    (
        r#"x==1;y==2"#,
        r#"{"x": {"$numberInt": "1"}, "y": {"$numberInt": "2"}}"#,
    ),
    (r#"x==1;x==3"#, r#"{"x": {"$numberInt": "3"}}"#),
    (r#"a>1>0"#, r#"{"a": {"$gt": {"$numberInt": "1"}}}"#),
    (r#"location.city==SF"#, r#"{"location.city": "SF"}"#),
    (r#"a==b.c"#, r#"{"a": "b.c"}"#),
    (r#"a=='x' "y""#, r#"{"a": "xy"}"#),
    (r#"a==1.5e3"#, r#"{"a": {"$numberDouble": "1500.0"}}"#),
    (r#"a==0x1F"#, r#"{"a": {"$numberInt": "31"}}"#),
    (
        r#"a!=1;b<=2"#,
        r#"{"a": {"$ne": {"$numberInt": "1"}}, "b": {"$lte": {"$numberInt": "2"}}}"#,
    ),
    (r#"a==1"#, r#"{"a": {"$numberInt": "1"}}"#),
    (r#"(a==1)"#, r#"{"a": {"$numberInt": "1"}}"#),
    (
        r#"a==1 or (b==2 or c==3)"#,
        r#"{"$or": [{"a": {"$numberInt": "1"}}, {"$or": [{"b": {"$numberInt": "2"}}, {"c": {"$numberInt": "3"}}]}]}"#,
    ),
    (
        r#"d==datetime(2000,1,31)"#,
        r#"{"d": {"$date": {"$numberLong": "949276800000"}}}"#,
    ),
    (r#"a=="it's""#, r#"{"a": "it's"}"#),
    (r#"a=='\x41\n'"#, r#"{"a": "A\n"}"#),
    (r#"a==r'\d+'"#, r#"{"a": "\\d+"}"#),
    (r#"a==1_000"#, r#"{"a": {"$numberInt": "1000"}}"#),
];

#[test]
fn python_where_translates_exactly_as_eve_does() {
    for (expr, eve) in VERIFIED {
        let ours = parse_where(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(canonical(&Bson::Document(ours)), *eve, "{expr}");
    }
}
