//! Built-in named coercers (validation.md §7): the callables Eve users
//! write in Python (`int`, `float`, `str`, `bool`, ...), with Python's
//! semantics and error texts.

use bson::{oid::ObjectId, Bson};
use eve_query::DateFormat;

use crate::pyfmt::{self, Num};

const BUILTIN: &[&str] = &[
    "int", "float", "str", "bool", "to_bool", "lower", "upper", "strip", "datetime", "objectid",
];

/// Whether `name` is a built-in coercer.
pub(crate) fn is_builtin_coercer(name: &str) -> bool {
    BUILTIN.contains(&name)
}

/// An integer as stored: Int32 when it fits, Int64 otherwise.
pub(crate) fn int_bson(i: i64) -> Bson {
    i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
}

/// Parses an integer the way Python's `int(str)` does (surrounding
/// whitespace, optional sign, digits with single underscores between).
pub(crate) fn parse_py_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let n: i64 = clean.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// Parses a float the way Python's `float(str)` does.
pub(crate) fn parse_py_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        let neg = lower.starts_with('-');
        let v = if unsigned == "nan" {
            f64::NAN
        } else {
            f64::INFINITY
        };
        return Some(if neg { -v } else { v });
    }
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    t.parse().ok()
}

/// Applies the built-in coercer `name`.
pub(crate) fn builtin(name: &str, v: &Bson, date_format: &DateFormat) -> Result<Bson, String> {
    match name {
        "int" => match v {
            Bson::String(s) => parse_py_int(s)
                .map(int_bson)
                .ok_or_else(|| format!("invalid literal for int() with base 10: {}", pyfmt::str_repr(s))),
            other => match pyfmt::as_num(other) {
                Some(Num::Int(i)) => Ok(int_bson(i as i64)),
                Some(Num::Float(f)) if f.is_nan() => Err("cannot convert float NaN to integer".into()),
                Some(Num::Float(f)) if f.is_infinite() => Err("cannot convert float infinity to integer".into()),
                Some(Num::Float(f)) => Ok(int_bson(f.trunc() as i64)),
                None => Err(format!(
                    "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                    pyfmt::type_name(other)
                )),
            },
        },
        "float" => match v {
            Bson::String(s) => parse_py_float(s)
                .map(Bson::Double)
                .ok_or_else(|| format!("could not convert string to float: {}", pyfmt::str_repr(s))),
            other => match pyfmt::as_num(other) {
                Some(Num::Int(i)) => Ok(Bson::Double(i as f64)),
                Some(Num::Float(f)) => Ok(Bson::Double(f)),
                None => Err(format!("float() argument must be a string or a real number, not '{}'", pyfmt::type_name(other))),
            },
        },
        "str" => Ok(Bson::String(pyfmt::py_str(v))),
        "bool" => Ok(Bson::Boolean(pyfmt::truthy(v))),
        // `to_bool` also passes booleans through: the boolean serializer
        // has already converted "true"/"false" on boolean fields.
        "to_bool" if matches!(v, Bson::Boolean(_)) => Ok(v.clone()),
        "to_bool" | "lower" | "upper" | "strip" => match v {
            Bson::String(s) => Ok(match name {
                "to_bool" => Bson::Boolean(matches!(s.to_lowercase().as_str(), "true" | "1")),
                "lower" => Bson::String(s.to_lowercase()),
                "upper" => Bson::String(s.to_uppercase()),
                _ => Bson::String(s.trim().to_string()),
            }),
            other => {
                let method = if name == "to_bool" { "lower" } else { name };
                Err(format!("'{}' object has no attribute '{method}'", pyfmt::type_name(other)))
            }
        },
        "datetime" => match v {
            Bson::String(s) => date_format.parse(s).map(Bson::DateTime).ok_or_else(|| {
                format!("time data {} does not match format {}", pyfmt::str_repr(s), pyfmt::str_repr(date_format.pattern()))
            }),
            Bson::DateTime(_) => Ok(v.clone()),
            other => Err(format!("strptime() argument 1 must be str, not {}", pyfmt::type_name(other))),
        },
        "objectid" => match v {
            Bson::ObjectId(_) => Ok(v.clone()),
            Bson::String(s) => ObjectId::parse_str(s).map(Bson::ObjectId).map_err(|_| {
                format!("{} is not a valid ObjectId, it must be a 12-byte input or a 24-character hex string", pyfmt::str_repr(s))
            }),
            other => Err(format!("id must be an instance of (bytes, str, ObjectId), not <class '{}'>", pyfmt::type_name(other))),
        },
        other => Err(format!("unknown coercer '{other}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn df() -> DateFormat {
        DateFormat::rfc1123()
    }

    #[test]
    fn int_follows_python() {
        assert_eq!(
            builtin("int", &Bson::String(" -12 ".into()), &df()),
            Ok(Bson::Int32(-12))
        );
        assert_eq!(
            builtin("int", &Bson::Double(5.9), &df()),
            Ok(Bson::Int32(5))
        );
        assert_eq!(
            builtin("int", &Bson::Boolean(true), &df()),
            Ok(Bson::Int32(1))
        );
        assert_eq!(
            builtin("int", &Bson::String("abc".into()), &df()),
            Err("invalid literal for int() with base 10: 'abc'".into())
        );
        assert_eq!(
            builtin("int", &Bson::Null, &df()),
            Err("int() argument must be a string, a bytes-like object or a real number, not 'NoneType'".into())
        );
    }

    #[test]
    fn float_str_bool_follow_python() {
        assert_eq!(
            builtin("float", &Bson::String("2.5".into()), &df()),
            Ok(Bson::Double(2.5))
        );
        assert_eq!(
            builtin("float", &Bson::String("x".into()), &df()),
            Err("could not convert string to float: 'x'".into())
        );
        assert_eq!(
            builtin("str", &Bson::Boolean(true), &df()),
            Ok(Bson::String("True".into()))
        );
        assert_eq!(
            builtin("str", &Bson::Double(5.0), &df()),
            Ok(Bson::String("5.0".into()))
        );
        assert_eq!(
            builtin("bool", &Bson::String("false".into()), &df()),
            Ok(Bson::Boolean(true))
        );
        assert_eq!(
            builtin("to_bool", &Bson::String("TRUE".into()), &df()),
            Ok(Bson::Boolean(true))
        );
        assert_eq!(
            builtin("to_bool", &Bson::String("false".into()), &df()),
            Ok(Bson::Boolean(false))
        );
    }

    #[test]
    fn datetime_and_objectid_report_python_texts() {
        assert_eq!(
            builtin("datetime", &Bson::String("x".into()), &df()),
            Err("time data 'x' does not match format '%a, %d %b %Y %H:%M:%S GMT'".into())
        );
        assert_eq!(
            builtin("objectid", &Bson::String("abc".into()), &df()),
            Err("'abc' is not a valid ObjectId, it must be a 12-byte input or a 24-character hex string".into())
        );
    }
}
