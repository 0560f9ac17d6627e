//! MongoDB's total order over BSON values.
//!
//! Values are first ranked by their *canonical type* (the "type bracket"):
//! MinKey < Undefined < Null < numbers < strings/symbols < documents <
//! arrays < binary data < ObjectId < booleans < dates < timestamps <
//! regexes < DBPointer < JavaScript < JavaScript with scope < MaxKey.
//! Inside a bracket, numbers compare by value whatever their BSON type,
//! strings by their bytes, documents and arrays element by element.

use std::cmp::Ordering;

use bson::{Bson, Document};

/// The rank of a value's type in MongoDB's comparison order. Values of
/// different brackets never compare equal, and `$gt`/`$lt` only compare
/// values of the same bracket.
pub(crate) fn canonical_type(v: &Bson) -> i32 {
    match v {
        Bson::MinKey => -1,
        Bson::Undefined => 0,
        Bson::Null => 5,
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => 10,
        Bson::String(_) | Bson::Symbol(_) => 15,
        Bson::Document(_) => 20,
        Bson::Array(_) => 25,
        Bson::Binary(_) => 30,
        Bson::ObjectId(_) => 35,
        Bson::Boolean(_) => 40,
        Bson::DateTime(_) => 45,
        Bson::Timestamp(_) => 47,
        Bson::RegularExpression(_) => 50,
        Bson::DbPointer(_) => 55,
        Bson::JavaScriptCode(_) => 60,
        Bson::JavaScriptCodeWithScope(_) => 65,
        Bson::MaxKey => 127,
    }
}

/// A BSON number in a form that can be compared exactly.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

/// The numeric value of a number-bracket value (`None` for other types).
/// Decimal128 values are approximated by the nearest double.
pub(crate) fn as_num(v: &Bson) -> Option<Num> {
    match v {
        Bson::Int32(i) => Some(Num::Int(i64::from(*i))),
        Bson::Int64(i) => Some(Num::Int(*i)),
        Bson::Double(d) => Some(Num::Float(*d)),
        Bson::Decimal128(d) => Some(Num::Float(decimal_to_f64(d))),
        _ => None,
    }
}

/// Approximates a Decimal128 by a double, through its string form
/// (`"1.5E+3"`, `"NaN"`, `"-Infinity"`, ...).
pub(crate) fn decimal_to_f64(d: &bson::Decimal128) -> f64 {
    d.to_string().parse::<f64>().unwrap_or(f64::NAN)
}

pub(crate) fn is_nan(n: Num) -> bool {
    matches!(n, Num::Float(f) if f.is_nan())
}

/// Compares an integer with a double without losing precision.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        // NaN sorts below every other number.
        return Ordering::Greater;
    }
    // 2^63 as a double; every i64 is strictly below it.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let t = f.trunc();
    // `t` is in [-2^63, 2^63) so the cast is exact.
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

/// Numeric order with NaN below everything and NaN == NaN (MongoDB's sort
/// order; query operators treat NaN specially, see `eval`).
pub(crate) fn cmp_num(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (Num::Int(x), Num::Float(y)) => cmp_int_float(x, y),
        (Num::Float(x), Num::Int(y)) => cmp_int_float(y, x).reverse(),
        (Num::Float(x), Num::Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            // Neither is NaN, so partial_cmp is total here (and -0 == 0).
            (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        },
    }
}

fn string_of(v: &Bson) -> Option<&str> {
    match v {
        Bson::String(s) | Bson::Symbol(s) => Some(s),
        _ => None,
    }
}

/// Documents compare element by element: the canonical type of the
/// values first, then the field name, then the value; a prefix sorts first.
fn cmp_documents(a: &Document, b: &Document) -> Ordering {
    let mut ia = a.iter();
    let mut ib = b.iter();
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((ka, va)), Some((kb, vb))) => {
                let o = canonical_type(va)
                    .cmp(&canonical_type(vb))
                    .then_with(|| ka.as_bytes().cmp(kb.as_bytes()))
                    .then_with(|| compare_bson(va, vb));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

fn cmp_arrays(a: &[Bson], b: &[Bson]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = canonical_type(x)
            .cmp(&canonical_type(y))
            .then_with(|| compare_bson(x, y));
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// MongoDB's comparison order of two BSON values (type brackets first,
/// numbers compared by value across types).
pub fn compare_bson(a: &Bson, b: &Bson) -> Ordering {
    let (ta, tb) = (canonical_type(a), canonical_type(b));
    if ta != tb {
        return ta.cmp(&tb);
    }
    match (a, b) {
        _ if ta == 10 => match (as_num(a), as_num(b)) {
            (Some(x), Some(y)) => cmp_num(x, y),
            _ => Ordering::Equal,
        },
        _ if ta == 15 => match (string_of(a), string_of(b)) {
            (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()),
            _ => Ordering::Equal,
        },
        (Bson::Document(x), Bson::Document(y)) => cmp_documents(x, y),
        (Bson::Array(x), Bson::Array(y)) => cmp_arrays(x, y),
        (Bson::Binary(x), Bson::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| u8::from(x.subtype).cmp(&u8::from(y.subtype)))
            .then_with(|| x.bytes.cmp(&y.bytes)),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.timestamp_millis().cmp(&y.timestamp_millis()),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => {
            (x.time, x.increment).cmp(&(y.time, y.increment))
        }
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => x
            .pattern
            .as_str()
            .as_bytes()
            .cmp(y.pattern.as_str().as_bytes())
            .then_with(|| {
                x.options
                    .as_str()
                    .as_bytes()
                    .cmp(y.options.as_str().as_bytes())
            }),
        // DBPointer fields are private in the bson crate; their debug form
        // gives a deterministic (if arbitrary) order.
        (Bson::DbPointer(x), Bson::DbPointer(y)) => format!("{x:?}").cmp(&format!("{y:?}")),
        (Bson::JavaScriptCode(x), Bson::JavaScriptCode(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Bson::JavaScriptCodeWithScope(x), Bson::JavaScriptCodeWithScope(y)) => x
            .code
            .as_bytes()
            .cmp(y.code.as_bytes())
            .then_with(|| cmp_documents(&x.scope, &y.scope)),
        // MinKey, MaxKey, Null, Undefined: one value per bracket.
        _ => Ordering::Equal,
    }
}

/// MongoDB equality: same bracket and equal in the comparison order, so
/// `1 == 1.0 == NumberLong(1)` and NaN equals NaN.
pub(crate) fn bson_eq(a: &Bson, b: &Bson) -> bool {
    canonical_type(a) == canonical_type(b) && compare_bson(a, b) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId, Binary, Decimal128, Timestamp};

    fn dec(s: &str) -> Bson {
        Bson::Decimal128(s.parse::<Decimal128>().unwrap())
    }

    #[test]
    fn type_brackets_follow_mongodb_order() {
        let ordered = vec![
            Bson::MinKey,
            Bson::Undefined,
            Bson::Null,
            Bson::Int32(5),
            Bson::String("a".into()),
            Bson::Document(doc! {"a": 1}),
            Bson::Array(vec![Bson::Int32(1)]),
            Bson::Binary(Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![1],
            }),
            Bson::ObjectId(ObjectId::from_bytes([0; 12])),
            Bson::Boolean(false),
            Bson::DateTime(bson::DateTime::from_millis(0)),
            Bson::Timestamp(Timestamp {
                time: 1,
                increment: 1,
            }),
            Bson::RegularExpression(bson::Regex {
                pattern: "a".to_string().try_into().unwrap(),
                options: "".to_string().try_into().unwrap(),
            }),
            Bson::JavaScriptCode("x".into()),
            Bson::MaxKey,
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(compare_bson(a, b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn numbers_compare_by_value_across_types() {
        assert_eq!(
            compare_bson(&Bson::Int32(1), &Bson::Double(1.0)),
            Ordering::Equal
        );
        assert_eq!(
            compare_bson(&Bson::Int64(2), &Bson::Double(1.5)),
            Ordering::Greater
        );
        assert_eq!(
            compare_bson(&Bson::Int32(1), &Bson::Int64(2)),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&dec("1.5"), &Bson::Double(1.5)),
            Ordering::Equal
        );
        assert_eq!(compare_bson(&dec("2"), &Bson::Int32(3)), Ordering::Less);
    }

    #[test]
    fn large_integers_compare_exactly_with_doubles() {
        let big = 9_007_199_254_740_993_i64; // 2^53 + 1, not representable as f64
        assert_eq!(
            compare_bson(&Bson::Int64(big), &Bson::Double(9_007_199_254_740_992.0)),
            Ordering::Greater
        );
        assert_eq!(
            compare_bson(&Bson::Int64(i64::MAX), &Bson::Double(9.3e18)),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&Bson::Int64(i64::MIN), &Bson::Double(-9.3e18)),
            Ordering::Greater
        );
        assert_eq!(
            compare_bson(&Bson::Int64(-3), &Bson::Double(-2.5)),
            Ordering::Less
        );
    }

    #[test]
    fn nan_sorts_below_all_numbers_and_equals_itself() {
        assert_eq!(
            compare_bson(&Bson::Double(f64::NAN), &Bson::Double(f64::NEG_INFINITY)),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&Bson::Double(f64::NAN), &Bson::Int64(i64::MIN)),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&Bson::Double(f64::NAN), &Bson::Double(f64::NAN)),
            Ordering::Equal
        );
        assert_eq!(
            compare_bson(&Bson::Double(-0.0), &Bson::Double(0.0)),
            Ordering::Equal
        );
    }

    #[test]
    fn strings_compare_by_bytes_and_symbols_share_the_bracket() {
        assert_eq!(
            compare_bson(&Bson::String("B".into()), &Bson::String("a".into())),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&Bson::String("a".into()), &Bson::Symbol("a".into())),
            Ordering::Equal
        );
        assert_eq!(
            compare_bson(&Bson::String("ab".into()), &Bson::String("a".into())),
            Ordering::Greater
        );
    }

    #[test]
    fn a_string_is_always_greater_than_a_number() {
        assert_eq!(
            compare_bson(&Bson::String("".into()), &Bson::Double(f64::INFINITY)),
            Ordering::Greater
        );
    }

    #[test]
    fn documents_compare_type_then_key_then_value() {
        assert_eq!(
            compare_bson(&doc! {"a": 1}.into(), &doc! {"b": 0}.into()),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&doc! {"a": 2}.into(), &doc! {"a": 1}.into()),
            Ordering::Greater
        );
        assert_eq!(
            compare_bson(&doc! {"b": 1}.into(), &doc! {"a": "x"}.into()),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&doc! {"a": 1}.into(), &doc! {"a": 1, "b": 1}.into()),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(
                &doc! {"a": 1, "b": 2}.into(),
                &doc! {"a": 1.0, "b": 2_i64}.into()
            ),
            Ordering::Equal
        );
    }

    #[test]
    fn arrays_compare_element_wise_then_by_length() {
        let a = |v: Vec<Bson>| Bson::Array(v);
        assert_eq!(
            compare_bson(&a(vec![1.into(), 2.into()]), &a(vec![1.into(), 3.into()])),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&a(vec![1.into()]), &a(vec![1.into(), 0.into()])),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&a(vec!["x".into()]), &a(vec![5.into()])),
            Ordering::Greater
        );
    }

    #[test]
    fn binary_compares_length_then_subtype_then_bytes() {
        let bin = |s: u8, b: Vec<u8>| {
            Bson::Binary(Binary {
                subtype: s.into(),
                bytes: b,
            })
        };
        assert_eq!(
            compare_bson(&bin(0, vec![9]), &bin(0, vec![0, 0])),
            Ordering::Less
        );
        assert_eq!(
            compare_bson(&bin(1, vec![0]), &bin(0, vec![9])),
            Ordering::Greater
        );
        assert_eq!(
            compare_bson(&bin(0, vec![1]), &bin(0, vec![2])),
            Ordering::Less
        );
    }

    #[test]
    fn dates_timestamps_and_booleans_compare_naturally() {
        let d = |m| Bson::DateTime(bson::DateTime::from_millis(m));
        assert_eq!(compare_bson(&d(-5), &d(3)), Ordering::Less);
        assert_eq!(
            compare_bson(&Bson::Boolean(true), &Bson::Boolean(false)),
            Ordering::Greater
        );
        let ts = |t, i| {
            Bson::Timestamp(Timestamp {
                time: t,
                increment: i,
            })
        };
        assert_eq!(compare_bson(&ts(1, 5), &ts(2, 0)), Ordering::Less);
        assert_eq!(compare_bson(&ts(2, 1), &ts(2, 0)), Ordering::Greater);
    }

    #[test]
    fn equality_requires_the_same_bracket() {
        assert!(bson_eq(&Bson::Int32(1), &Bson::Double(1.0)));
        assert!(!bson_eq(&Bson::Int32(1), &Bson::String("1".into())));
        assert!(!bson_eq(&Bson::Null, &Bson::Undefined));
        assert!(bson_eq(&Bson::Double(f64::NAN), &Bson::Double(f64::NAN)));
    }
}
