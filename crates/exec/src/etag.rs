//! ETags (features.md §12.1): the SHA-1 digest of a document's relaxed
//! Extended JSON with sorted keys, Python's separators and ASCII escapes,
//! byte-compatible with the digests Eve computes. The executor stamps them
//! on writes and compares them on conditional edits; the renderer sends
//! them in `ETag` headers.

use bson::{Bson, Document};
use sha1::{Digest, Sha1};

/// The ETag digest of a document (features.md §12.1): SHA-1 of its relaxed
/// Extended JSON with sorted keys, Python separators and ASCII escapes,
/// after removing `ignore` fields (dotted paths allowed). Byte-compatible
/// with Eve's digests.
pub fn document_etag(doc: &Document, ignore: &[String]) -> String {
    let mut text = String::with_capacity(1024);
    if ignore.is_empty() {
        write_document(doc, &mut text);
    } else {
        let mut doc = doc.clone();
        for field in ignore {
            remove_path(&mut doc, field);
        }
        write_document(&doc, &mut text);
    }
    let digest = Sha1::digest(text.as_bytes());
    hex::encode(digest)
}

fn remove_path(doc: &mut Document, path: &str) {
    match path.split_once('.') {
        Some((head, rest)) => {
            if let Some(Bson::Document(sub)) = doc.get_mut(head) {
                remove_path(sub, rest);
            }
        }
        None => {
            doc.remove(path);
        }
    }
}

/// A document with sorted keys (keys are unique: the order is total).
fn write_document(d: &Document, out: &mut String) {
    let mut entries: Vec<(&String, &Bson)> = d.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_py_string(k, out);
        out.push_str(": ");
        write_extended(v, out);
    }
    out.push('}');
}

fn write_extended(value: &Bson, out: &mut String) {
    use std::fmt::Write;
    match value {
        Bson::Document(d) => write_document(d, out),
        Bson::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_extended(v, out);
            }
            out.push(']');
        }
        Bson::String(s) => write_py_string(s, out),
        Bson::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Bson::Null | Bson::Undefined => out.push_str("null"),
        // Writing into a String cannot fail.
        Bson::Int32(i) => {
            let _ = write!(out, "{i}");
        }
        Bson::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Bson::Double(f) => out.push_str(&python_float_repr(*f)),
        Bson::ObjectId(o) => {
            out.push_str("{\"$oid\": \"");
            out.push_str(&o.to_hex());
            out.push_str("\"}");
        }
        // pymongo writes dates before the epoch as a millisecond count.
        Bson::DateTime(d) if d.timestamp_millis() < 0 => {
            let _ = write!(
                out,
                "{{\"$date\": {{\"$numberLong\": \"{}\"}}}}",
                d.timestamp_millis()
            );
        }
        Bson::DateTime(d) => {
            let c = d.to_chrono();
            let format = if d.timestamp_millis().rem_euclid(1000) == 0 {
                "%Y-%m-%dT%H:%M:%SZ"
            } else {
                "%Y-%m-%dT%H:%M:%S%.3fZ"
            };
            out.push_str("{\"$date\": \"");
            let _ = write!(out, "{}", c.format(format));
            out.push_str("\"}");
        }
        Bson::Decimal128(d) => {
            out.push_str("{\"$numberDecimal\": ");
            write_py_string(&d.to_string(), out);
            out.push('}');
        }
        other => {
            // Rare types: any stable text that changes with the value.
            write_py_string(&format!("{other:?}"), out);
        }
    }
}

/// Python's `repr(float)` for the common cases (exponent written `e+16`).
fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);

        return format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let s = format!("{f:?}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

fn write_py_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    // Writing into a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn etag_matches_the_digest_eve_computes() {
        // Digest taken from the oracle (Python Eve 2.3.1) for this document.
        let at = |y, mo, d, h, mi, s| {
            bson::DateTime::from_chrono(
                chrono::NaiveDate::from_ymd_opt(y, mo, d)
                    .unwrap()
                    .and_hms_opt(h, mi, s)
                    .unwrap()
                    .and_utc(),
            )
        };
        let doc = doc! {
            "firstname": "John", "lastname": "Doe", "born": at(1970, 8, 27, 14, 37, 13),
            "_updated": at(2026, 11, 22, 20, 18, 6), "_created": at(2026, 11, 22, 20, 18, 6),
        };
        assert_eq!(
            document_etag(&doc, &[]),
            "5bcdc8f128a41a0724d38492c2d5f2323e1a8656"
        );
    }

    #[test]
    fn etag_of_every_common_type_is_stable() {
        // Digests computed before the single-buffer rewrite of
        // `document_etag`: the text it hashes must not change.
        let oid = bson::oid::ObjectId::parse_str("5f8d0d55b54764421b7156c9").unwrap();
        let doc = doc! {
            "zeta": "caf\u{e9} \"q\" \\ \n\t\u{1}\u{1F600}",
            "alpha": 1_i32, "neg": -42_i64, "big": 9_007_199_254_740_993_i64,
            "floats": [0.0, -0.0, 1.5, 1e16, 1.5e-7, 123456.789, f64::NAN, f64::INFINITY],
            "flags": [true, false, bson::Bson::Null],
            "when": bson::DateTime::from_millis(1_700_000_000_000),
            "whenms": bson::DateTime::from_millis(1_700_000_000_123),
            "oid": oid,
            "nested": {"b": {"y": [1_i32, {"k": "v"}]}, "a": "x"},
            "dec": bson::Bson::Decimal128("1.25".parse().unwrap()),
        };
        assert_eq!(
            document_etag(&doc, &[]),
            "9dcde0ba73f0991ae753e9f9716be564887a3e5a"
        );
        assert_eq!(
            document_etag(
                &doc,
                &["nested.b.y".into(), "alpha".into(), "missing.x".into()]
            ),
            "1d5f86d16cdfd29e1695ccc4e3246f369e90adaf"
        );
    }

    #[test]
    fn etag_ignores_listed_fields_including_dotted_ones() {
        let a = doc! {"x": 1, "sub": {"y": 2, "z": 3}};
        let b = doc! {"x": 1, "sub": {"y": 5, "z": 3}};
        assert_ne!(document_etag(&a, &[]), document_etag(&b, &[]));
        assert_eq!(
            document_etag(&a, &["sub.y".into()]),
            document_etag(&b, &["sub.y".into()])
        );
    }

    #[test]
    fn python_float_repr_matches_python() {
        assert_eq!(python_float_repr(1.0), "1.0");
        assert_eq!(python_float_repr(2.5), "2.5");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(1.5e-7), "1.5e-07");
    }
}
