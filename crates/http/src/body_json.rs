//! Parsing a JSON request body under the request limits (docs/robustness.md):
//! nesting depth and the number of documents of a bulk POST are checked
//! *while* parsing, so a refused body stops at the first element past the
//! limit instead of being built in full first; integers a document store
//! cannot hold exactly (outside the signed 64-bit range) are refused instead
//! of silently becoming floats.

use std::cell::Cell;
use std::fmt;

use eve_core::{ApiError, ApiResult};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::limits::{bulk_error, depth_error};

/// The limits one body is parsed under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// Most nested arrays and objects (`MAX_JSON_DEPTH`).
    pub max_depth: usize,
    /// Most elements of a top-level array (`MAX_BULK_ITEMS`), if bounded.
    pub max_items: Option<usize>,
}

/// Which limit stopped the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tripped {
    Depth,
    Items,
    /// A `u64` above `i64::MAX`.
    BigInteger(u64),
    /// An integral float of magnitude 2^63 or more: maybe an integer literal
    /// too long for `u64`, to be confirmed on the raw text.
    MaybeBigInteger,
}

struct State {
    limits: BodyLimits,
    tripped: Cell<Option<Tripped>>,
}

impl State {
    fn trip<E: de::Error>(&self, what: Tripped) -> E {
        self.tripped.set(Some(what));
        E::custom("request limit")
    }
}

/// Parses `bytes` as JSON under `limits`: `400` for malformed JSON, a body
/// nested too deep, a bulk list too long or an integer out of range.
pub(crate) fn parse_json_body(bytes: &[u8], limits: BodyLimits) -> ApiResult<Value> {
    let state = State {
        limits,
        tripped: Cell::new(None),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Seed {
        state: &state,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    let max = limits.max_depth;
    match (parsed, state.tripped.get()) {
        (_, Some(Tripped::Depth)) => Err(depth_error(max)),
        (_, Some(Tripped::Items)) => Err(bulk_error(limits.max_items.unwrap_or(0))),
        (_, Some(Tripped::BigInteger(n))) => Err(big_integer_error(&n.to_string())),
        (Ok(value), Some(Tripped::MaybeBigInteger)) => match find_big_integer(bytes) {
            Some(literal) => Err(big_integer_error(literal)),
            None => Ok(value),
        },
        (Ok(value), None) => Ok(value),
        (Err(e), _) => {
            // serde_json's own recursion limit (128) also reads as depth.
            if e.to_string().starts_with("recursion limit exceeded") {
                Err(depth_error(max))
            } else {
                Err(ApiError::MalformedBody(e.to_string()))
            }
        }
    }
}

fn big_integer_error(literal: &str) -> ApiError {
    ApiError::IntegerOutOfRange {
        literal: literal.to_string(),
    }
}

/// The first integer literal (outside strings) of a JSON text that does not
/// fit a signed 64-bit integer. One pass over the bytes.
fn find_big_integer(bytes: &[u8]) -> Option<&str> {
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b == b'-' || b.is_ascii_digit() {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let is_float = i < bytes.len() && matches!(bytes[i], b'.' | b'e' | b'E');
            while i < bytes.len()
                && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
            {
                i += 1;
            }
            let literal = std::str::from_utf8(&bytes[start..i]).ok()?;
            if !is_float && literal.parse::<i64>().is_err() && literal != "-" {
                return Some(literal);
            }
            continue;
        }
        i += 1;
    }
    None
}

#[derive(Clone, Copy)]
struct Seed<'s> {
    state: &'s State,
    /// Arrays and objects enclosing the value being parsed.
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Seed<'_> {
    /// The seed for the elements of a container at this level, or an error
    /// when that container is one level too many.
    fn enter<E: de::Error>(self) -> Result<Self, E> {
        if self.depth + 1 > self.state.limits.max_depth {
            return Err(self.state.trip(Tripped::Depth));
        }
        Ok(Seed {
            state: self.state,
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if i64::try_from(v).is_err() {
            return Err(self.state.trip(Tripped::BigInteger(v)));
        }
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        if v.fract() == 0.0 && v.abs() >= 9.223_372_036_854_776e18 {
            // Kept unless the raw text shows an integer literal.
            if self.state.tripped.get().is_none() {
                self.state.tripped.set(Some(Tripped::MaybeBigInteger));
            }
        }
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let max_items = if self.depth == 0 {
            self.state.limits.max_items
        } else {
            None
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(inner)? {
            if max_items.is_some_and(|max| items.len() >= max) {
                return Err(self.state.trip(Tripped::Items));
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.enter()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_depth: usize, max_items: Option<usize>) -> BodyLimits {
        BodyLimits {
            max_depth,
            max_items,
        }
    }

    fn message(r: ApiResult<Value>) -> String {
        match r {
            Err(
                e @ (ApiError::IntegerOutOfRange { .. }
                | ApiError::BodyTooDeep { .. }
                | ApiError::BulkTooLarge { .. }),
            ) => e.to_string(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn parses_like_serde_json() {
        let text = r#"{"a": [1, -2, 2.5, "x", null, true, {"b": {}}], "a": 3, "c": 18446744073.0}"#;
        let ours = parse_json_body(text.as_bytes(), limits(64, Some(10))).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.to_string(), theirs.to_string());
    }

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert!(parse_json_body(b"1", limits(1, None)).is_ok());
        assert!(parse_json_body(br#"{"a": 1}"#, limits(1, None)).is_ok());
        assert!(
            message(parse_json_body(br#"{"a": [1]}"#, limits(1, None))).contains("MAX_JSON_DEPTH")
        );
        assert!(parse_json_body(br#"{"a": [1]}"#, limits(2, None)).is_ok());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(
            message(parse_json_body(deep.as_bytes(), limits(64, None))).contains("deeper than 64")
        );
    }

    #[test]
    fn a_long_top_level_list_stops_at_the_first_item_past_the_limit() {
        let ok = format!("[{}]", ["{}"; 3].join(","));
        assert!(parse_json_body(ok.as_bytes(), limits(8, Some(3))).is_ok());
        // A broken tail after the limit is never reached: the parse stopped.
        let over = "[{}, {}, {}, {}, this is not JSON";
        assert!(
            message(parse_json_body(over.as_bytes(), limits(8, Some(3))))
                .contains("at most 3 documents")
        );
        // Nested lists are not bulk lists.
        assert!(parse_json_body(b"[[1, 2, 3, 4, 5]]", limits(8, Some(3))).is_ok());
    }

    #[test]
    fn integers_outside_64_bits_are_refused() {
        for (text, literal) in [
            (r#"{"n": 9223372036854775808}"#, "9223372036854775808"),
            (r#"{"n": 18446744073709551615}"#, "18446744073709551615"),
            (
                r#"{"n": 99999999999999999999999}"#,
                "99999999999999999999999",
            ),
            (r#"{"n": [-9223372036854775809]}"#, "-9223372036854775809"),
        ] {
            let m = message(parse_json_body(text.as_bytes(), limits(8, None)));
            assert!(m.contains(literal), "{text}: {m}");
        }
        for text in [
            r#"{"n": 9223372036854775807, "m": -9223372036854775808}"#,
            r#"{"n": 1e300, "m": 9.3e18, "s": "99999999999999999999999"}"#,
            r#"{"n": 1e19, "k\"99999999999999999999": 1}"#,
        ] {
            assert!(
                parse_json_body(text.as_bytes(), limits(8, None)).is_ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_json_is_a_malformed_body() {
        assert!(matches!(
            parse_json_body(b"{\"a\": ", limits(8, None)),
            Err(ApiError::MalformedBody(_))
        ));
        assert!(matches!(
            parse_json_body(b"{} x", limits(8, None)),
            Err(ApiError::MalformedBody(_))
        ));
    }
}
