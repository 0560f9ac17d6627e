//! Expression operators, evaluated one at a time in a `$project`.

use bson::{doc, Bson};

use super::{eval, run_err};

#[test]
fn arithmetic_follows_mongodb_type_rules() {
    let d = doc! {"i": 7, "l": Bson::Int64(3), "f": 2.5, "big": i32::MAX, "huge": i64::MAX};
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$i", 1]}), d.clone()),
        Some(Bson::Int32(8))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$big", 1]}), d.clone()),
        Some(Bson::Int64(2_147_483_648))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$i", "$l"]}), d.clone()),
        Some(Bson::Int64(10))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$i", "$f"]}), d.clone()),
        Some(Bson::Double(9.5))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$huge", 1]}), d.clone()),
        Some(Bson::Double(9_223_372_036_854_775_808.0))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$subtract": ["$i", 10]}), d.clone()),
        Some(Bson::Int32(-3))
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$multiply": ["$i", "$l", 2]}),
            d.clone()
        ),
        Some(Bson::Int64(42))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$divide": [9, 2]}), d.clone()),
        Some(Bson::Double(4.5))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$divide": [10, 2]}), d.clone()),
        Some(Bson::Double(5.0))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$mod": ["$i", 3]}), d.clone()),
        Some(Bson::Int32(1))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$mod": [-7, 3]}), d.clone()),
        Some(Bson::Int32(-1))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$mod": ["$i", "$l"]}), d.clone()),
        Some(Bson::Int64(1))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$mod": [7.5, 2]}), d.clone()),
        Some(Bson::Double(1.5))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$i", "$nope"]}), d.clone()),
        Some(Bson::Null)
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$multiply": ["$i", Bson::Null]}),
            d.clone()
        ),
        Some(Bson::Null)
    );
    let msg = run_err(
        vec![doc! {"$project": {"r": {"$divide": ["$i", 0]}}}],
        vec![d.clone()],
    );
    assert!(msg.contains("can't $divide by zero"), "{msg}");
    let msg = run_err(
        vec![doc! {"$project": {"r": {"$mod": ["$i", 0]}}}],
        vec![d.clone()],
    );
    assert!(msg.contains("can't $mod by 0"), "{msg}");
    let msg = run_err(
        vec![doc! {"$project": {"r": {"$add": ["$i", "x"]}}}],
        vec![d],
    );
    assert!(
        msg.contains("$add only supports numeric or date types, not string"),
        "{msg}"
    );
}

#[test]
fn date_arithmetic() {
    let t = bson::DateTime::from_millis(1_000_000);
    let d = doc! {"t": t, "u": bson::DateTime::from_millis(400_000)};
    assert_eq!(
        eval(Bson::Document(doc! {"$add": ["$t", 5000]}), d.clone()),
        Some(Bson::DateTime(bson::DateTime::from_millis(1_005_000)))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$subtract": ["$t", "$u"]}), d.clone()),
        Some(Bson::Int64(600_000))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$subtract": ["$t", 1000]}), d.clone()),
        Some(Bson::DateTime(bson::DateTime::from_millis(999_000)))
    );
    let msg = run_err(
        vec![doc! {"$project": {"r": {"$add": ["$t", "$u"]}}}],
        vec![d],
    );
    assert!(msg.contains("only one date"), "{msg}");
}

#[test]
fn comparison_uses_bson_order_with_missing_below_null() {
    let d = doc! {"qty": 250, "s": "abc", "n": Bson::Null};
    let t = Some(Bson::Boolean(true));
    let f = Some(Bson::Boolean(false));
    assert_eq!(
        eval(Bson::Document(doc! {"$eq": ["$qty", 250.0]}), d.clone()),
        t
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$gte": ["$qty", 250]}), d.clone()),
        t
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$lt": ["$qty", 250]}), d.clone()),
        f
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$ne": ["$qty", 250]}), d.clone()),
        f
    );
    // Numbers sort before strings whatever their values.
    assert_eq!(
        eval(Bson::Document(doc! {"$gt": ["$s", 1_000_000]}), d.clone()),
        t
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$cmp": ["$qty", 100]}), d.clone()),
        Some(Bson::Int32(1))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$cmp": ["$qty", 250]}), d.clone()),
        Some(Bson::Int32(0))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$cmp": ["$nope", "$n"]}), d.clone()),
        Some(Bson::Int32(-1))
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$eq": ["$nope", Bson::Null]}),
            d.clone()
        ),
        f
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$lte": ["$n", Bson::Null]}), d),
        t
    );
}

#[test]
fn boolean_cond_and_if_null() {
    let d = doc! {"qty": 300, "zero": 0, "desc": Bson::Null, "arr": []};
    let t = Some(Bson::Boolean(true));
    let f = Some(Bson::Boolean(false));
    assert_eq!(
        eval(Bson::Document(doc! {"$and": [1, "green"]}), d.clone()),
        t
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$and": [Bson::Null, true]}), d.clone()),
        f
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$and": ["$zero", true]}), d.clone()),
        f
    );
    assert_eq!(eval(Bson::Document(doc! {"$and": []}), d.clone()), t);
    assert_eq!(
        eval(Bson::Document(doc! {"$or": ["$nope", "$arr"]}), d.clone()),
        t
    );
    assert_eq!(eval(Bson::Document(doc! {"$not": ["$nope"]}), d.clone()), t);
    assert_eq!(eval(Bson::Document(doc! {"$not": [[false]]}), d.clone()), f);
    assert_eq!(
        eval(
            Bson::Document(doc! {"$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}}),
            d.clone()
        ),
        Some(Bson::Int32(30))
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$cond": [{"$lt": ["$qty", 250]}, 30, 20]}),
            d.clone()
        ),
        Some(Bson::Int32(20))
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$ifNull": ["$desc", "Unspecified"]}),
            d.clone()
        ),
        Some(Bson::String("Unspecified".into()))
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$ifNull": ["$nope", "$desc", "$qty"]}),
            d.clone()
        ),
        Some(Bson::Int32(300))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$ifNull": ["$zero", 1]}), d),
        Some(Bson::Int32(0))
    );
}

#[test]
fn strings_and_arrays() {
    let d = doc! {"item": "ABC1", "description": "Product 1", "n": Bson::Null, "a": [1, 2, 3], "docs": [{"x": 1}, {"y": 2}, {"x": 3}]};
    assert_eq!(
        eval(
            Bson::Document(doc! {"$concat": ["$item", " - ", "$description"]}),
            d.clone()
        ),
        Some(Bson::String("ABC1 - Product 1".into()))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$concat": ["$item", "$n"]}), d.clone()),
        Some(Bson::Null)
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$toLower": "$item"}), d.clone()),
        Some(Bson::String("abc1".into()))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$toUpper": "$description"}), d.clone()),
        Some(Bson::String("PRODUCT 1".into()))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$toUpper": "$n"}), d.clone()),
        Some(Bson::String(String::new()))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$size": "$a"}), d.clone()),
        Some(Bson::Int32(3))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$arrayElemAt": ["$a", 0]}), d.clone()),
        Some(Bson::Int32(1))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$arrayElemAt": ["$a", -1]}), d.clone()),
        Some(Bson::Int32(3))
    );
    assert_eq!(
        eval(Bson::Document(doc! {"$arrayElemAt": ["$a", 15]}), d.clone()),
        None
    );
    assert_eq!(
        eval(
            Bson::Document(doc! {"$arrayElemAt": ["$nope", 0]}),
            d.clone()
        ),
        Some(Bson::Null)
    );
    // A path through an array of documents gives the array of what it finds.
    assert_eq!(
        eval(Bson::String("$docs.x".into()), d.clone()),
        Some(Bson::Array(vec![1.into(), 3.into()]))
    );
    assert_eq!(
        eval(Bson::String("$$ROOT.item".into()), d.clone()),
        Some(Bson::String("ABC1".into()))
    );
    let msg = run_err(
        vec![doc! {"$project": {"r": {"$size": "$nope"}}}],
        vec![d.clone()],
    );
    assert!(
        msg.contains("must be an array") && msg.contains("missing"),
        "{msg}"
    );
    let msg = run_err(
        vec![doc! {"$project": {"r": {"$concat": ["$item", 1]}}}],
        vec![d],
    );
    assert!(
        msg.contains("$concat only supports strings, not int"),
        "{msg}"
    );
}
