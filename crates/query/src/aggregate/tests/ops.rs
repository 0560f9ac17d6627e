//! The operators of `ops.rs`, `scoped.rs` and `dates.rs`, one expression
//! at a time; expected values written by hand after MongoDB's manual.

use bson::{doc, Bson};

use super::{eval, run_err};

fn e(expr: Bson) -> Option<Bson> {
    eval(
        expr,
        doc! {"a": [1, 2, 3, 4], "s": "héllo wörld", "n": null},
    )
}

fn err(expr: Bson) -> String {
    run_err(
        vec![doc! {"$project": {"r": expr}}],
        vec![doc! {"a": [1, 2], "s": "x"}],
    )
}

#[test]
fn number_operators() {
    assert_eq!(e(bson::bson!({"$abs": -5})), Some(Bson::Int32(5)));
    assert_eq!(e(bson::bson!({"$abs": -2.5})), Some(Bson::Double(2.5)));
    assert_eq!(e(bson::bson!({"$abs": "$n"})), Some(Bson::Null));
    assert_eq!(e(bson::bson!({"$ceil": 7.80})), Some(Bson::Double(8.0)));
    assert_eq!(e(bson::bson!({"$ceil": -2.8})), Some(Bson::Double(-2.0)));
    assert_eq!(e(bson::bson!({"$floor": -2.8})), Some(Bson::Double(-3.0)));
    assert_eq!(e(bson::bson!({"$floor": 3})), Some(Bson::Int32(3)));
    // $round rounds half to even
    assert_eq!(
        e(bson::bson!({"$round": [10.5, 0]})),
        Some(Bson::Double(10.0))
    );
    assert_eq!(
        e(bson::bson!({"$round": [11.5, 0]})),
        Some(Bson::Double(12.0))
    );
    assert_eq!(
        e(bson::bson!({"$round": [19.25, 1]})),
        Some(Bson::Double(19.2))
    );
    assert_eq!(
        e(bson::bson!({"$round": [1234, -2]})),
        Some(Bson::Int32(1200))
    );
    assert_eq!(
        e(bson::bson!({"$trunc": [7.89, 1]})),
        Some(Bson::Double(7.8))
    );
    assert_eq!(e(bson::bson!({"$trunc": -7.8})), Some(Bson::Double(-7.0)));
    assert_eq!(e(bson::bson!({"$sqrt": 25})), Some(Bson::Double(5.0)));
    assert_eq!(e(bson::bson!({"$pow": [5, 2]})), Some(Bson::Int32(25)));
    assert_eq!(e(bson::bson!({"$pow": [2, -1]})), Some(Bson::Double(0.5)));
    assert_eq!(
        e(bson::bson!({"$pow": [100_000, 2]})),
        Some(Bson::Int64(10_000_000_000))
    );
    assert_eq!(e(bson::bson!({"$exp": 0})), Some(Bson::Double(1.0)));
    assert_eq!(e(bson::bson!({"$ln": 1})), Some(Bson::Double(0.0)));
    assert_eq!(e(bson::bson!({"$log10": 100})), Some(Bson::Double(2.0)));
    assert!(err(bson::bson!({"$sqrt": -1})).contains("greater than or equal to 0"));
    assert!(err(bson::bson!({"$pow": [0, -1]})).contains("base of 0"));
    assert!(err(bson::bson!({"$abs": "$s"})).contains("only supports numeric types"));
}

#[test]
fn accumulators_as_expressions() {
    assert_eq!(e(bson::bson!({"$sum": "$a"})), Some(Bson::Int32(10)));
    assert_eq!(
        e(bson::bson!({"$sum": [1, 2.5, "x"]})),
        Some(Bson::Double(3.5))
    );
    assert_eq!(e(bson::bson!({"$sum": "$missing"})), Some(Bson::Int32(0)));
    assert_eq!(e(bson::bson!({"$avg": "$a"})), Some(Bson::Double(2.5)));
    assert_eq!(e(bson::bson!({"$avg": ["x"]})), Some(Bson::Null));
    assert_eq!(e(bson::bson!({"$max": "$a"})), Some(Bson::Int32(4)));
    assert_eq!(e(bson::bson!({"$min": [5, null, 3]})), Some(Bson::Int32(3)));
}

#[test]
fn string_operators() {
    let s = |v: &str| Some(Bson::String(v.into()));
    assert_eq!(e(bson::bson!({"$substrCP": ["$s", 1, 4]})), s("éllo"));
    assert_eq!(e(bson::bson!({"$substrBytes": ["abcde", 1, 2]})), s("bc"));
    assert_eq!(e(bson::bson!({"$substr": ["abcde", 2, -1]})), s("cde"));
    assert!(err(bson::bson!({"$substrBytes": ["é", 0, 1]})).contains("UTF-8"));
    assert_eq!(e(bson::bson!({"$strLenCP": "$s"})), Some(Bson::Int32(11)));
    assert_eq!(
        e(bson::bson!({"$split": ["June-15-2013", "-"]})),
        Some(bson::bson!(["June", "15", "2013"]))
    );
    assert_eq!(e(bson::bson!({"$split": ["$n", "-"]})), Some(Bson::Null));
    assert!(err(bson::bson!({"$split": ["a", ""]})).contains("non-empty separator"));
    assert_eq!(e(bson::bson!({"$trim": {"input": "  a b  "}})), s("a b"));
    assert_eq!(
        e(bson::bson!({"$ltrim": {"input": "xxaxx", "chars": "x"}})),
        s("axx")
    );
    assert_eq!(
        e(bson::bson!({"$rtrim": {"input": "xxaxx", "chars": "x"}})),
        s("xxa")
    );
    assert_eq!(e(bson::bson!({"$toString": 5})), s("5"));
    assert_eq!(e(bson::bson!({"$toString": true})), s("true"));
    assert_eq!(e(bson::bson!({"$toString": "$n"})), Some(Bson::Null));
    assert_eq!(
        e(bson::bson!({"$indexOfCP": ["cafeteria", "e"]})),
        Some(Bson::Int32(3))
    );
    assert_eq!(
        e(bson::bson!({"$indexOfCP": ["cafétéria", "é"]})),
        Some(Bson::Int32(3))
    );
    assert_eq!(
        e(bson::bson!({"$indexOfCP": ["cafeteria", "e", 5]})),
        Some(Bson::Int32(5))
    );
    assert_eq!(
        e(bson::bson!({"$indexOfCP": ["cafeteria", "x"]})),
        Some(Bson::Int32(-1))
    );
    assert_eq!(
        e(bson::bson!({"$strcasecmp": ["ABC", "abc"]})),
        Some(Bson::Int32(0))
    );
    assert_eq!(
        e(bson::bson!({"$strcasecmp": ["a", "B"]})),
        Some(Bson::Int32(-1))
    );
}

#[test]
fn array_operators() {
    assert_eq!(
        e(bson::bson!({"$in": [2, "$a"]})),
        Some(Bson::Boolean(true))
    );
    assert_eq!(
        e(bson::bson!({"$in": [2.0, "$a"]})),
        Some(Bson::Boolean(true))
    );
    assert_eq!(
        e(bson::bson!({"$in": ["x", "$a"]})),
        Some(Bson::Boolean(false))
    );
    assert!(err(bson::bson!({"$in": [1, "$s"]})).contains("requires an array"));
    assert_eq!(
        e(bson::bson!({"$concatArrays": ["$a", [5]]})),
        Some(bson::bson!([1, 2, 3, 4, 5]))
    );
    assert_eq!(
        e(bson::bson!({"$concatArrays": ["$a", "$n"]})),
        Some(Bson::Null)
    );
    assert_eq!(
        e(bson::bson!({"$slice": ["$a", 2]})),
        Some(bson::bson!([1, 2]))
    );
    assert_eq!(
        e(bson::bson!({"$slice": ["$a", -2]})),
        Some(bson::bson!([3, 4]))
    );
    assert_eq!(
        e(bson::bson!({"$slice": ["$a", 1, 2]})),
        Some(bson::bson!([2, 3]))
    );
    assert_eq!(
        e(bson::bson!({"$slice": ["$a", -3, 2]})),
        Some(bson::bson!([2, 3]))
    );
    assert_eq!(
        e(bson::bson!({"$isArray": ["$a"]})),
        Some(Bson::Boolean(true))
    );
    assert_eq!(
        e(bson::bson!({"$isArray": "$s"})),
        Some(Bson::Boolean(false))
    );
    assert_eq!(
        e(bson::bson!({"$reverseArray": "$a"})),
        Some(bson::bson!([4, 3, 2, 1]))
    );
    assert_eq!(e(bson::bson!({"$first": "$a"})), Some(Bson::Int32(1)));
    assert_eq!(e(bson::bson!({"$last": "$a"})), Some(Bson::Int32(4)));
    assert_eq!(e(bson::bson!({"$first": [[]]})), None);
}

#[test]
fn scoped_operators_bind_variables() {
    assert_eq!(
        e(bson::bson!({"$filter": {"input": "$a", "as": "x", "cond": {"$gte": ["$$x", 3]}}})),
        Some(bson::bson!([3, 4]))
    );
    assert_eq!(
        e(bson::bson!({"$filter": {"input": "$a", "cond": {"$gt": ["$$this", 1]}, "limit": 2}})),
        Some(bson::bson!([2, 3]))
    );
    assert_eq!(
        e(bson::bson!({"$map": {"input": "$a", "as": "v", "in": {"$multiply": ["$$v", 10]}}})),
        Some(bson::bson!([10, 20, 30, 40]))
    );
    assert_eq!(
        e(bson::bson!({"$map": {"input": "$n", "in": 1}})),
        Some(Bson::Null)
    );
    assert_eq!(
        e(
            bson::bson!({"$reduce": {"input": "$a", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}})
        ),
        Some(Bson::Int32(10))
    );
    assert_eq!(
        e(
            bson::bson!({"$let": {"vars": {"x": 2, "y": {"$size": "$a"}}, "in": {"$multiply": ["$$x", "$$y"]}}})
        ),
        Some(Bson::Int32(8))
    );
    // nested bindings see the outer ones
    assert_eq!(
        e(
            bson::bson!({"$let": {"vars": {"k": 2}, "in": {"$map": {"input": "$a", "in": {"$add": ["$$this", "$$k"]}}}}})
        ),
        Some(bson::bson!([3, 4, 5, 6]))
    );
    assert!(err(bson::bson!({"$add": ["$$nope", 1]})).contains("undefined variable: nope"));
    assert!(err(bson::bson!({"$map": {"input": "$s", "in": 1}})).contains("must be an array"));
}

#[test]
fn switch_picks_the_first_true_branch() {
    let sw = |v: i32| {
        eval(
            bson::bson!({"$switch": {
                "branches": [
                    {"case": {"$gte": ["$v", 90]}, "then": "A"},
                    {"case": {"$gte": ["$v", 80]}, "then": "B"},
                ],
                "default": "F",
            }}),
            doc! {"v": v},
        )
    };
    assert_eq!(sw(95), Some(Bson::String("A".into())));
    assert_eq!(sw(85), Some(Bson::String("B".into())));
    assert_eq!(sw(10), Some(Bson::String("F".into())));
    let msg = err(bson::bson!({"$switch": {"branches": [{"case": false, "then": 1}]}}));
    assert!(msg.contains("no default"), "{msg}");
}

#[test]
fn date_parts_and_date_to_string() {
    // 2014-01-01T08:15:39.736Z, a Wednesday, from MongoDB's manual
    let date = bson::DateTime::from_millis(1_388_564_139_736);
    let d = doc! {"date": date};
    let part = |op: &str| eval(Bson::Document(doc! {op: "$date"}), d.clone());
    assert_eq!(part("$year"), Some(Bson::Int32(2014)));
    assert_eq!(part("$month"), Some(Bson::Int32(1)));
    assert_eq!(part("$dayOfMonth"), Some(Bson::Int32(1)));
    assert_eq!(part("$hour"), Some(Bson::Int32(8)));
    assert_eq!(part("$minute"), Some(Bson::Int32(15)));
    assert_eq!(part("$second"), Some(Bson::Int32(39)));
    assert_eq!(part("$millisecond"), Some(Bson::Int32(736)));
    assert_eq!(part("$dayOfYear"), Some(Bson::Int32(1)));
    assert_eq!(part("$dayOfWeek"), Some(Bson::Int32(4)));
    assert_eq!(part("$week"), Some(Bson::Int32(0)));
    assert_eq!(part("$isoWeek"), Some(Bson::Int32(1)));
    assert_eq!(part("$isoDayOfWeek"), Some(Bson::Int32(3)));
    assert_eq!(part("$isoWeekYear"), Some(Bson::Int32(2014)));
    // a fixed offset moves the hour (and here not the day)
    assert_eq!(
        eval(
            bson::bson!({"$hour": {"date": "$date", "timezone": "-05:00"}}),
            d.clone()
        ),
        Some(Bson::Int32(3))
    );
    assert_eq!(
        eval(
            bson::bson!({"$dateToString": {"format": "%Y-%m-%d %H:%M:%S.%L %j %w %U", "date": "$date"}}),
            d.clone()
        ),
        Some(Bson::String("2014-01-01 08:15:39.736 001 4 00".into()))
    );
    assert_eq!(
        eval(bson::bson!({"$dateToString": {"date": "$date"}}), d.clone()),
        Some(Bson::String("2014-01-01T08:15:39.736Z".into()))
    );
    assert_eq!(
        eval(
            bson::bson!({"$dateToString": {"date": "$none", "onNull": "n/a"}}),
            d.clone()
        ),
        Some(Bson::String("n/a".into()))
    );
    assert_eq!(
        eval(bson::bson!({"$year": "$none"}), d.clone()),
        Some(Bson::Null)
    );
    let msg = err(bson::bson!({"$year": "$s"}));
    assert!(
        msg.contains("can't convert from BSON type string to Date"),
        "{msg}"
    );
    let msg = run_err(
        vec![
            doc! {"$project": {"r": {"$hour": {"date": "$date", "timezone": "America/New_York"}}}},
        ],
        vec![d],
    );
    assert!(msg.contains("unrecognized time zone"), "{msg}");
}
