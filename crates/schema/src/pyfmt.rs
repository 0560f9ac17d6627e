//! Python value semantics the messages and rules depend on: `str()` and
//! `repr()` printing, `==` across numeric types, ordering with "cannot
//! compare" and truthiness. Eve's texts embed values printed by Python, so
//! these have to match byte for byte.

use std::cmp::Ordering;

use bson::Bson;

/// Python `repr()` of a float (shortest round-trip digits, exponent form
/// below 1e-4 and from 1e16).
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits, e.g. "1.5e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point >= n {
            format!("{}{}.0", digits, "0".repeat((point - n) as usize))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let mant = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits.clone()
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

/// Python `repr()` of a string: single quotes unless the text contains a
/// single quote and no double quote.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn datetime_str(d: &bson::DateTime) -> String {
    let c = d.to_chrono();
    let ms = d.timestamp_millis().rem_euclid(1000);
    if ms == 0 {
        c.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!("{}.{:06}", c.format("%Y-%m-%d %H:%M:%S"), ms * 1000)
    }
}

/// Python `str()` of a value as Eve holds it.
pub(crate) fn py_str(v: &Bson) -> String {
    match v {
        Bson::String(s) => s.clone(),
        Bson::ObjectId(o) => o.to_hex(),
        Bson::DateTime(d) => datetime_str(d),
        Bson::Decimal128(d) => d.to_string(),
        _ => py_repr(v),
    }
}

/// Python `repr()` of a value as Eve holds it.
pub(crate) fn py_repr(v: &Bson) -> String {
    match v {
        Bson::Null | Bson::Undefined => "None".into(),
        Bson::Boolean(true) => "True".into(),
        Bson::Boolean(false) => "False".into(),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Double(f) => float_repr(*f),
        Bson::String(s) => str_repr(s),
        Bson::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Bson::Document(d) => {
            if let Some((r, id, db)) = as_dbref(d) {
                return match db {
                    Some(db) => {
                        format!("DBRef({}, {}, {})", str_repr(r), py_repr(id), str_repr(db))
                    }
                    None => format!("DBRef({}, {})", str_repr(r), py_repr(id)),
                };
            }
            let items: Vec<String> = d
                .iter()
                .map(|(k, v)| format!("{}: {}", str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        Bson::ObjectId(o) => format!("ObjectId('{}')", o.to_hex()),
        Bson::DateTime(d) => {
            let c = d.to_chrono();
            let ms = d.timestamp_millis().rem_euclid(1000);
            let base = c
                .format("datetime.datetime(%Y, %-m, %-d, %-H, %-M")
                .to_string();
            let s = c.format("%-S").to_string();
            if ms != 0 {
                format!("{base}, {s}, {})", ms * 1000)
            } else if s != "0" {
                format!("{base}, {s})")
            } else {
                format!("{base})")
            }
        }
        Bson::Decimal128(d) => format!("Decimal128('{d}')"),
        Bson::Binary(b) => format!("b{}", str_repr(&String::from_utf8_lossy(&b.bytes))),
        other => other.to_string(),
    }
}

/// Prints a Python tuple: `('c', 'd')`, `('c',)`.
pub(crate) fn tuple_repr(items: &[Bson]) -> String {
    match items {
        [one] => format!("({},)", py_repr(one)),
        _ => format!(
            "({})",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Prints a Python list.
pub(crate) fn list_repr(items: &[Bson]) -> String {
    format!(
        "[{}]",
        items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
    )
}

/// Prints a Python set (`{'x'}`; `set()` when empty).
pub(crate) fn set_repr(items: &[Bson]) -> String {
    if items.is_empty() {
        return "set()".into();
    }
    format!(
        "{{{}}}",
        items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
    )
}

/// The pieces of a DBRef document (`$ref`, `$id`, optional `$db`).
pub(crate) fn as_dbref(d: &bson::Document) -> Option<(&str, &Bson, Option<&str>)> {
    let keys: Vec<&str> = d.keys().map(String::as_str).collect();
    let ok = matches!(keys.as_slice(), ["$ref", "$id"] | ["$ref", "$id", "$db"]);
    if !ok {
        return None;
    }
    let r = d.get_str("$ref").ok()?;
    let id = d.get("$id")?;
    let db = match d.get("$db") {
        Some(Bson::String(s)) => Some(s.as_str()),
        Some(_) => return None,
        None => None,
    };
    Some((r, id, db))
}

/// A number as Python sees it (booleans are integers).
#[derive(Clone, Copy)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

pub(crate) fn as_num(v: &Bson) -> Option<Num> {
    match v {
        Bson::Boolean(b) => Some(Num::Int(*b as i128)),
        Bson::Int32(i) => Some(Num::Int(*i as i128)),
        Bson::Int64(i) => Some(Num::Int(*i as i128)),
        Bson::Double(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (Num::Int(x), Num::Float(y)) => (x as f64).partial_cmp(&y),
        (Num::Float(x), Num::Int(y)) => x.partial_cmp(&(y as f64)),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y),
    }
}

/// Python `==`.
pub(crate) fn py_eq(a: &Bson, b: &Bson) -> bool {
    if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
        return num_cmp(x, y) == Some(Ordering::Equal);
    }
    match (a, b) {
        (Bson::Array(x), Bson::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Bson::Document(x), Bson::Document(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        (Bson::Undefined, Bson::Null) | (Bson::Null, Bson::Undefined) => true,
        _ => a == b,
    }
}

/// Python `<`-style comparison; `None` where Python raises `TypeError`.
pub(crate) fn py_cmp(a: &Bson, b: &Bson) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (as_num(a), as_num(b)) {
        return num_cmp(x, y);
    }
    match (a, b) {
        (Bson::String(x), Bson::String(y)) => Some(x.chars().cmp(y.chars())),
        (Bson::DateTime(x), Bson::DateTime(y)) => Some(x.cmp(y)),
        (Bson::Decimal128(_), _) | (_, Bson::Decimal128(_)) => {
            let x: f64 = decimal_f64(a)?;
            let y: f64 = decimal_f64(b)?;
            x.partial_cmp(&y)
        }
        (Bson::Array(x), Bson::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                if py_eq(p, q) {
                    continue;
                }
                return py_cmp(p, q);
            }
            Some(x.len().cmp(&y.len()))
        }
        _ => None,
    }
}

fn decimal_f64(v: &Bson) -> Option<f64> {
    match v {
        Bson::Decimal128(d) => d.to_string().parse().ok(),
        other => match as_num(other)? {
            Num::Int(i) => Some(i as f64),
            Num::Float(f) => Some(f),
        },
    }
}

/// Python truthiness.
pub(crate) fn truthy(v: &Bson) -> bool {
    match v {
        Bson::Null | Bson::Undefined => false,
        Bson::Boolean(b) => *b,
        Bson::Int32(i) => *i != 0,
        Bson::Int64(i) => *i != 0,
        Bson::Double(f) => *f != 0.0,
        Bson::String(s) => !s.is_empty(),
        Bson::Array(a) => !a.is_empty(),
        Bson::Document(d) => !d.is_empty(),
        Bson::Binary(b) => !b.bytes.is_empty(),
        _ => true,
    }
}

/// `len()` for sized values (strings count characters).
pub(crate) fn py_len(v: &Bson) -> Option<usize> {
    match v {
        Bson::String(s) => Some(s.chars().count()),
        Bson::Array(a) => Some(a.len()),
        Bson::Document(d) => Some(d.len()),
        Bson::Binary(b) => Some(b.bytes.len()),
        _ => None,
    }
}

/// The Python type name used in `TypeError` texts.
pub(crate) fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Null | Bson::Undefined => "NoneType",
        Bson::Boolean(_) => "bool",
        Bson::Int32(_) | Bson::Int64(_) => "int",
        Bson::Double(_) => "float",
        Bson::String(_) => "str",
        Bson::Array(_) => "list",
        Bson::Document(_) => "dict",
        Bson::ObjectId(_) => "ObjectId",
        Bson::DateTime(_) => "datetime",
        Bson::Decimal128(_) => "Decimal128",
        Bson::Binary(_) => "bytes",
        _ => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(10.9), "10.9");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(float_repr(1e-5), "1e-05");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(123456.0), "123456.0");
        assert_eq!(float_repr(-2.5), "-2.5");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(1.5e300), "1.5e+300");
    }

    #[test]
    fn strings_repr_like_python() {
        assert_eq!(str_repr("a"), "'a'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(str_repr("a\nb"), "'a\\nb'");
    }

    #[test]
    fn collections_repr_like_python() {
        let v = vec![
            Bson::String("c".into()),
            Bson::Int32(1),
            Bson::Double(2.0),
            Bson::Null,
        ];
        assert_eq!(tuple_repr(&v), "('c', 1, 2.0, None)");
        assert_eq!(tuple_repr(&v[..1]), "('c',)");
        assert_eq!(list_repr(&v[..2]), "['c', 1]");
        assert_eq!(set_repr(&v[..1]), "{'c'}");
        let d = bson::doc! {"s": ["one", "two"], "b": true};
        assert_eq!(
            py_repr(&Bson::Document(d)),
            "{'s': ['one', 'two'], 'b': True}"
        );
    }

    #[test]
    fn numbers_compare_across_types() {
        assert!(py_eq(&Bson::Int32(1), &Bson::Double(1.0)));
        assert!(py_eq(&Bson::Boolean(true), &Bson::Int64(1)));
        assert_eq!(py_cmp(&Bson::Int32(1), &Bson::String("x".into())), None);
        assert_eq!(
            py_cmp(&Bson::String("a".into()), &Bson::String("b".into())),
            Some(Ordering::Less)
        );
    }
}
