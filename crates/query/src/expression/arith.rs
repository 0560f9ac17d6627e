//! Arithmetic with MongoDB's aggregation type rules: `int` op `int` stays
//! an `int` unless it overflows (then `long`), `long` overflow gives a
//! `double`, and any `double` operand gives a `double`.

use bson::Bson;

use super::agg_err;
use crate::QueryError;

/// A number operand of an arithmetic expression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    /// BSON `int` (32 bits).
    Int(i32),
    /// BSON `long` (64 bits).
    Long(i64),
    /// BSON `double`.
    Double(f64),
}

impl Num {
    /// The number a BSON value holds; `Ok(None)` for a non-number,
    /// an error for Decimal128, which this engine does not compute with
    /// (refused rather than approximated).
    pub(crate) fn of(v: &Bson, op: &str) -> Result<Option<Num>, QueryError> {
        Ok(match v {
            Bson::Int32(i) => Some(Num::Int(*i)),
            Bson::Int64(i) => Some(Num::Long(*i)),
            Bson::Double(d) => Some(Num::Double(*d)),
            Bson::Decimal128(_) => {
                return Err(agg_err(format!(
                    "{op} on a Decimal128 value is not supported by the in-memory aggregation"
                )))
            }
            _ => None,
        })
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => f64::from(i),
            // Precision loss is the documented behaviour of long → double.
            #[allow(clippy::cast_precision_loss)]
            Num::Long(i) => i as f64,
            Num::Double(d) => d,
        }
    }

    pub(crate) fn as_i64(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i64::from(i)),
            Num::Long(i) => Some(i),
            Num::Double(_) => None,
        }
    }

    /// The BSON value of this number.
    pub(crate) fn into_bson(self) -> Bson {
        match self {
            Num::Int(i) => Bson::Int32(i),
            Num::Long(i) => Bson::Int64(i),
            Num::Double(d) => Bson::Double(d),
        }
    }
}

/// Integer arithmetic with the promotion ladder `int` → `long` → `double`.
fn combine(
    a: Num,
    b: Num,
    i32_op: fn(i32, i32) -> Option<i32>,
    i64_op: fn(i64, i64) -> Option<i64>,
    f_op: fn(f64, f64) -> f64,
) -> Num {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => match i32_op(x, y) {
            Some(r) => Num::Int(r),
            None => match i64_op(i64::from(x), i64::from(y)) {
                Some(r) => Num::Long(r),
                None => Num::Double(f_op(a.as_f64(), b.as_f64())),
            },
        },
        (Num::Double(_), _) | (_, Num::Double(_)) => Num::Double(f_op(a.as_f64(), b.as_f64())),
        _ => {
            let (x, y) = (a.as_i64().unwrap_or(0), b.as_i64().unwrap_or(0));
            match i64_op(x, y) {
                Some(r) => Num::Long(r),
                None => Num::Double(f_op(a.as_f64(), b.as_f64())),
            }
        }
    }
}

/// `a + b`.
pub(crate) fn add(a: Num, b: Num) -> Num {
    combine(a, b, i32::checked_add, i64::checked_add, |x, y| x + y)
}

/// `a - b`.
pub(crate) fn subtract(a: Num, b: Num) -> Num {
    combine(a, b, i32::checked_sub, i64::checked_sub, |x, y| x - y)
}

/// `a * b`.
pub(crate) fn multiply(a: Num, b: Num) -> Num {
    combine(a, b, i32::checked_mul, i64::checked_mul, |x, y| x * y)
}

/// `a / b`: always a double, as MongoDB's `$divide`.
pub(crate) fn divide(a: Num, b: Num) -> Result<Num, QueryError> {
    let d = b.as_f64();
    if d == 0.0 {
        return Err(agg_err("can't $divide by zero".into()));
    }
    Ok(Num::Double(a.as_f64() / d))
}

/// `a % b` with the sign of the dividend; integer types stay integers.
pub(crate) fn modulo(a: Num, b: Num) -> Result<Num, QueryError> {
    let zero = match b {
        Num::Int(i) => i == 0,
        Num::Long(i) => i == 0,
        Num::Double(d) => d == 0.0,
    };
    if zero {
        return Err(agg_err("can't $mod by 0".into()));
    }
    Ok(combine(
        a,
        b,
        // MIN % -1 overflows in Rust; its remainder is 0.
        |x, y| Some(x.checked_rem(y).unwrap_or(0)),
        |x, y| Some(x.checked_rem(y).unwrap_or(0)),
        |x, y| x % y,
    ))
}

/// A double rounded to whole milliseconds, for date arithmetic.
pub(crate) fn millis(n: Num) -> Result<i64, QueryError> {
    match n {
        Num::Int(i) => Ok(i64::from(i)),
        Num::Long(i) => Ok(i),
        Num::Double(d) => {
            let r = d.round();
            // i64::MIN as f64 is exact; MAX as f64 rounds up to 2^63.
            #[allow(clippy::cast_precision_loss)]
            if r.is_nan() || r < i64::MIN as f64 || r >= i64::MAX as f64 {
                return Err(agg_err("date arithmetic overflow".into()));
            }
            #[allow(clippy::cast_possible_truncation)]
            Ok(r as i64)
        }
    }
}

/// An integral number as an index (`$arrayElemAt`).
pub(crate) fn integral(n: Num) -> Option<i64> {
    match n {
        Num::Int(i) => Some(i64::from(i)),
        Num::Long(i) => Some(i),
        Num::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Some(d as i64)
        }
        Num::Double(_) => None,
    }
}
