//! Order-preserving binary encoding of BSON values, and extraction of the
//! index entries of a document.
//!
//! [`encode_value`] maps a BSON value to bytes such that comparing two
//! encodings byte by byte (what SQLite does with `BLOB`s) gives MongoDB's
//! comparison order of the values, the order `eve_query::compare_bson`
//! implements:
//!
//! ```text
//! MinKey < undefined < null < numbers < strings (symbols) < documents
//!   < arrays < binary < ObjectId < bool < date < timestamp < regex
//!   < db pointer < code < code with scope < MaxKey
//! ```
//!
//! Every encoding starts with a one-byte *type tag* (the bracket above) and
//! is self-delimiting (no encoding is a proper prefix of another), so a
//! compound key is simply the concatenation of its components.
//!
//! Numbers (Int32, Int64, Double, Decimal128) share one tag and are encoded
//! by exact mathematical value: the value is written as a decimal
//! `0.d1d2… × 10^exp` (computed exactly, with a small big-number routine for
//! doubles), so `Int64(2^53 + 1)` and `Double(2^53)` differ while `Int32(1)`
//! and `Double(1.0)` encode identically. NaN sorts below every number, as in
//! MongoDB. A Decimal128 is encoded as its nearest double, because that is
//! how `eve_query::compare_bson` compares it.

use bson::{Bson, Document};

/// Type tags, in MongoDB's canonical type order.
pub(crate) mod tag {
    pub const MIN_KEY: u8 = 0x01;
    pub const UNDEFINED: u8 = 0x03;
    pub const NULL: u8 = 0x05;
    pub const NUMBER: u8 = 0x10;
    pub const STRING: u8 = 0x20;
    pub const DOCUMENT: u8 = 0x30;
    pub const ARRAY: u8 = 0x40;
    pub const BINARY: u8 = 0x50;
    pub const OBJECT_ID: u8 = 0x60;
    pub const BOOL: u8 = 0x70;
    pub const DATE: u8 = 0x80;
    pub const TIMESTAMP: u8 = 0x90;
    pub const REGEX: u8 = 0xA0;
    pub const DB_POINTER: u8 = 0xA8;
    pub const CODE: u8 = 0xB0;
    pub const CODE_WITH_SCOPE: u8 = 0xB8;
    pub const MAX_KEY: u8 = 0xFF;
}

/// Number classes, after the number tag.
mod class {
    pub const NAN: u8 = 0x01;
    pub const NEG_INF: u8 = 0x02;
    pub const NEGATIVE: u8 = 0x03;
    pub const ZERO: u8 = 0x04;
    pub const POSITIVE: u8 = 0x05;
    pub const POS_INF: u8 = 0x06;
}

/// The order-preserving encoding of one value.
pub fn encode_value(value: &Bson) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode_into(value, &mut out);
    out
}

/// The type tag `value` encodes with (its comparison bracket).
pub(crate) fn type_tag(value: &Bson) -> u8 {
    match value {
        Bson::MinKey => tag::MIN_KEY,
        Bson::Undefined => tag::UNDEFINED,
        Bson::Null => tag::NULL,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => tag::NUMBER,
        Bson::String(_) | Bson::Symbol(_) => tag::STRING,
        Bson::Document(_) => tag::DOCUMENT,
        Bson::Array(_) => tag::ARRAY,
        Bson::Binary(_) => tag::BINARY,
        Bson::ObjectId(_) => tag::OBJECT_ID,
        Bson::Boolean(_) => tag::BOOL,
        Bson::DateTime(_) => tag::DATE,
        Bson::Timestamp(_) => tag::TIMESTAMP,
        Bson::RegularExpression(_) => tag::REGEX,
        Bson::DbPointer(_) => tag::DB_POINTER,
        Bson::JavaScriptCode(_) => tag::CODE,
        Bson::JavaScriptCodeWithScope(_) => tag::CODE_WITH_SCOPE,
        Bson::MaxKey => tag::MAX_KEY,
    }
}

fn encode_into(value: &Bson, out: &mut Vec<u8>) {
    out.push(type_tag(value));
    match value {
        Bson::MinKey | Bson::MaxKey | Bson::Null | Bson::Undefined => {}
        Bson::Int32(i) => encode_integer(i64::from(*i), out),
        Bson::Int64(i) => encode_integer(*i, out),
        Bson::Double(d) => encode_double(*d, out),
        // eve-query compares a Decimal128 as its nearest double; the index
        // must agree with it, so it encodes that double.
        Bson::Decimal128(d) => encode_double(d.to_string().parse::<f64>().unwrap_or(f64::NAN), out),
        Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => {
            encode_bytes(s.as_bytes(), out)
        }
        Bson::Document(d) => encode_document(d, out),
        Bson::Array(a) => {
            for v in a {
                encode_into(v, out);
            }
            out.push(0);
        }
        Bson::Binary(b) => {
            // MongoDB orders binary data by length, then subtype, then bytes.
            let len = u32::try_from(b.bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.push(u8::from(b.subtype));
            out.extend_from_slice(&b.bytes);
        }
        Bson::ObjectId(oid) => out.extend_from_slice(&oid.bytes()),
        Bson::Boolean(b) => out.push(u8::from(*b)),
        Bson::DateTime(dt) => out.extend_from_slice(&flip_i64(dt.timestamp_millis())),
        Bson::Timestamp(ts) => {
            out.extend_from_slice(&ts.time.to_be_bytes());
            out.extend_from_slice(&ts.increment.to_be_bytes());
        }
        Bson::RegularExpression(re) => {
            encode_bytes(re.pattern.as_str().as_bytes(), out);
            encode_bytes(re.options.as_str().as_bytes(), out);
        }
        Bson::JavaScriptCodeWithScope(c) => {
            encode_bytes(c.code.as_bytes(), out);
            encode_document(&c.scope, out);
        }
        Bson::DbPointer(p) => {
            // The fields are private; like eve-query, order this (rare,
            // deprecated) bracket by the debug form.
            encode_bytes(format!("{p:?}").as_bytes(), out);
        }
    }
}

/// Documents compare element by element (type bracket, then field name,
/// then value); a document that is a prefix of another is smaller.
fn encode_document(d: &Document, out: &mut Vec<u8>) {
    for (k, v) in d {
        out.push(type_tag(v));
        encode_bytes(k.as_bytes(), out);
        encode_into(v, out);
    }
    out.push(0);
}

/// Byte strings: `00` is escaped as `00 FF`, the end is `00 00`, so a
/// string sorts before its extensions and the encoding is self-delimiting.
fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

fn flip_i64(i: i64) -> [u8; 8] {
    ((i as u64) ^ (1 << 63)).to_be_bytes()
}

fn encode_integer(i: i64, out: &mut Vec<u8>) {
    if i == 0 {
        out.push(class::ZERO);
        return;
    }
    let digits: Vec<u8> = i
        .unsigned_abs()
        .to_string()
        .bytes()
        .map(|b| b - b'0')
        .collect();
    let exp = digits.len() as i64;
    encode_finite(i < 0, digits, exp, out);
}

fn encode_double(d: f64, out: &mut Vec<u8>) {
    if d.is_nan() {
        out.push(class::NAN);
        return;
    }
    if d.is_infinite() {
        out.push(if d > 0.0 {
            class::POS_INF
        } else {
            class::NEG_INF
        });
        return;
    }
    if d == 0.0 {
        out.push(class::ZERO);
        return;
    }
    let (digits, exp) = exact_decimal(d.abs());
    encode_finite(d < 0.0, digits, exp, out);
}

/// Writes a non-zero finite number `±0.d1d2… × 10^exp` (`d1 != 0`).
fn encode_finite(negative: bool, mut digits: Vec<u8>, exp: i64, out: &mut Vec<u8>) {
    while digits.last() == Some(&0) {
        digits.pop();
    }
    let mut body = Vec::with_capacity(5 + digits.len() / 2 + 2);
    let exp = exp.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    body.extend_from_slice(&((exp as u32) ^ (1 << 31)).to_be_bytes());
    // Two digits per byte, `1..=100`; `0` terminates. An odd trailing digit
    // is padded with a zero, which does not change the value.
    for pair in digits.chunks(2) {
        let hi = pair[0];
        let lo = pair.get(1).copied().unwrap_or(0);
        body.push(hi * 10 + lo + 1);
    }
    body.push(0);
    if negative {
        out.push(class::NEGATIVE);
        out.extend(body.iter().map(|b| !b));
    } else {
        out.push(class::POSITIVE);
        out.extend_from_slice(&body);
    }
}

/// The exact decimal expansion of a positive finite double: its digits
/// (first one non-zero) and exponent `e` with `d = 0.digits × 10^e`.
fn exact_decimal(d: f64) -> (Vec<u8>, i64) {
    let bits = d.to_bits();
    let raw_exp = ((bits >> 52) & 0x7FF) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e2) = if raw_exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), raw_exp - 1075)
    };
    while m & 1 == 0 && m != 0 {
        m >>= 1;
        e2 += 1;
    }
    let mut big = BigDec::from_u64(m);
    if e2 >= 0 {
        big.mul_pow(2, e2 as u32);
        let digits = big.digits();
        let exp = digits.len() as i64;
        (digits, exp)
    } else {
        // m × 2^e2 = m × 5^-e2 × 10^e2
        big.mul_pow(5, (-e2) as u32);
        let digits = big.digits();
        let exp = digits.len() as i64 + e2;
        (digits, exp)
    }
}

/// A tiny unsigned big number in base 10^9, little-endian limbs.
struct BigDec {
    limbs: Vec<u64>,
}

const LIMB: u64 = 1_000_000_000;

impl BigDec {
    fn from_u64(mut v: u64) -> Self {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push(v % LIMB);
            v /= LIMB;
        }
        BigDec { limbs }
    }

    fn mul_small(&mut self, k: u64) {
        let mut carry = 0u64;
        for limb in &mut self.limbs {
            let p = *limb * k + carry;
            *limb = p % LIMB;
            carry = p / LIMB;
        }
        while carry > 0 {
            self.limbs.push(carry % LIMB);
            carry /= LIMB;
        }
    }

    /// Multiplies by `base^n` (`base` is 2 or 5), in chunks that keep every
    /// limb product below 2^64.
    fn mul_pow(&mut self, base: u64, mut n: u32) {
        let (chunk, chunk_pow) = if base == 2 {
            (1u64 << 29, 29)
        } else {
            (1_220_703_125u64, 13)
        };
        while n >= chunk_pow {
            self.mul_small(chunk);
            n -= chunk_pow;
        }
        if n > 0 {
            self.mul_small(base.pow(n));
        }
    }

    fn digits(&self) -> Vec<u8> {
        let mut s = String::new();
        for (i, limb) in self.limbs.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&limb.to_string());
            } else {
                s.push_str(&format!("{limb:09}"));
            }
        }
        s.bytes().map(|b| b - b'0').collect()
    }
}

/// The length of the first encoded value at the start of `key` (a key is
/// a concatenation of encodings); `None` when `key` is malformed.
pub(crate) fn first_component_len(key: &[u8]) -> Option<usize> {
    value_len(key, 0)
}

/// The length of the first `n` encoded values at the start of `key`;
/// `None` when `key` has fewer or is malformed.
pub(crate) fn components_len(key: &[u8], n: usize) -> Option<usize> {
    (0..n).try_fold(0, |at, _| value_len(key, at))
}

/// Where the encoded value starting at `at` ends.
fn value_len(key: &[u8], at: usize) -> Option<usize> {
    let t = *key.get(at)?;
    let body = at + 1;
    match t {
        tag::MIN_KEY | tag::MAX_KEY | tag::NULL | tag::UNDEFINED => Some(body),
        tag::NUMBER => match *key.get(body)? {
            class::POSITIVE => terminated(key, body + 5, 0x00),
            class::NEGATIVE => terminated(key, body + 5, 0xFF),
            _ => Some(body + 1),
        },
        tag::STRING | tag::CODE | tag::DB_POINTER => string_end(key, body),
        tag::DOCUMENT => {
            let mut pos = body;
            loop {
                if *key.get(pos)? == 0 {
                    return Some(pos + 1);
                }
                pos = string_end(key, pos + 1)?;
                pos = value_len(key, pos)?;
            }
        }
        tag::ARRAY => {
            let mut pos = body;
            loop {
                if *key.get(pos)? == 0 {
                    return Some(pos + 1);
                }
                pos = value_len(key, pos)?;
            }
        }
        tag::BINARY => {
            let len = u32::from_be_bytes(key.get(body..body + 4)?.try_into().ok()?) as usize;
            let end = body.checked_add(5)?.checked_add(len)?;
            (end <= key.len()).then_some(end)
        }
        tag::OBJECT_ID => fixed(key, body, 12),
        tag::BOOL => fixed(key, body, 1),
        tag::DATE | tag::TIMESTAMP => fixed(key, body, 8),
        tag::REGEX => string_end(key, string_end(key, body)?),
        tag::CODE_WITH_SCOPE => {
            let pos = string_end(key, body)?;
            // The scope is a document body without its tag.
            let mut pos = pos;
            loop {
                if *key.get(pos)? == 0 {
                    return Some(pos + 1);
                }
                pos = string_end(key, pos + 1)?;
                pos = value_len(key, pos)?;
            }
        }
        _ => None,
    }
}

fn fixed(key: &[u8], at: usize, n: usize) -> Option<usize> {
    let end = at + n;
    (end <= key.len()).then_some(end)
}

/// The end of a digit run closed by `terminator`.
fn terminated(key: &[u8], at: usize, terminator: u8) -> Option<usize> {
    let rest = key.get(at..)?;
    rest.iter()
        .position(|&b| b == terminator)
        .map(|p| at + p + 1)
}

/// The end of an escaped byte string (`00 FF` escapes, `00 00` ends).
fn string_end(key: &[u8], at: usize) -> Option<usize> {
    let mut pos = at;
    loop {
        if *key.get(pos)? == 0 {
            match *key.get(pos + 1)? {
                0 => return Some(pos + 2),
                0xFF => pos += 2,
                _ => return None,
            }
        } else {
            pos += 1;
        }
    }
}

/// The smallest byte string greater than every string starting with
/// `prefix`; `None` when there is none (all bytes `FF`).
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last != 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// The values an index sees at a dotted path: paths descend through
/// arrays (by position when the segment is a number, and into every
/// element document), and an array at the end of the path contributes its
/// elements (an empty array contributes itself).
pub(crate) fn index_values<'a>(
    doc: &'a Document,
    path: &str,
    saw_array: &mut bool,
) -> Vec<&'a Bson> {
    let mut segments = path.split('.');
    let mut out = Vec::new();
    let Some(first) = segments.next() else {
        return out;
    };
    let rest: Vec<&str> = segments.collect();
    if let Some(v) = doc.get(first) {
        collect_values(v, &rest, &mut out, saw_array);
    }
    out
}

fn collect_values<'a>(
    value: &'a Bson,
    segments: &[&str],
    out: &mut Vec<&'a Bson>,
    saw_array: &mut bool,
) {
    let Some((seg, rest)) = segments.split_first() else {
        match value {
            Bson::Array(items) => {
                *saw_array = true;
                if items.is_empty() {
                    out.push(value);
                } else {
                    out.extend(items.iter());
                }
            }
            _ => out.push(value),
        }
        return;
    };
    match value {
        Bson::Document(d) => {
            if let Some(v) = d.get(*seg) {
                collect_values(v, rest, out, saw_array);
            }
        }
        Bson::Array(items) => {
            *saw_array = true;
            // Only plain digits index an array (as `eve_query` reads paths).
            let position = if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                seg.parse::<usize>().ok()
            } else {
                None
            };
            if let Some(i) = position {
                if let Some(v) = items.get(i) {
                    collect_values(v, rest, out, saw_array);
                }
            }
            for item in items {
                if let Bson::Document(d) = item {
                    if let Some(v) = d.get(*seg) {
                        collect_values(v, rest, out, saw_array);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Why a document cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyError(pub String);

/// The entries (encoded keys, deduplicated and sorted) a document puts in
/// an index over `fields`, and whether an array was met on the way.
///
/// * `sparse`: a document missing the first field gets no entry;
/// * otherwise a missing field is indexed as null;
/// * an array yields one entry per element; a compound index may meet an
///   array in at most one of its fields (MongoDB's "parallel arrays" rule).
pub(crate) fn index_entries<'a, I>(
    doc: &Document,
    fields: I,
    sparse: bool,
) -> Result<(Vec<Vec<u8>>, bool), KeyError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut per_field: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut multikey = false;
    let mut array_fields = 0;
    for (i, field) in fields.into_iter().enumerate() {
        let mut saw_array = false;
        let values = index_values(doc, field, &mut saw_array);
        if saw_array {
            multikey = true;
            array_fields += 1;
        }
        if values.is_empty() && i == 0 && sparse {
            return Ok((Vec::new(), false));
        }
        let mut encoded: Vec<Vec<u8>> = if values.is_empty() {
            vec![encode_value(&Bson::Null)]
        } else {
            values.into_iter().map(encode_value).collect()
        };
        encoded.sort();
        encoded.dedup();
        per_field.push(encoded);
    }
    if array_fields > 1 {
        return Err(KeyError("cannot index parallel arrays".into()));
    }
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    for options in per_field {
        let mut next = Vec::with_capacity(keys.len() * options.len());
        for prefix in &keys {
            for option in &options {
                let mut k = prefix.clone();
                k.extend_from_slice(option);
                next.push(k);
            }
        }
        keys = next;
    }
    keys.sort();
    keys.dedup();
    Ok((keys, multikey))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId, Decimal128};

    fn enc(v: impl Into<Bson>) -> Vec<u8> {
        encode_value(&v.into())
    }

    #[test]
    fn equal_numbers_of_different_types_encode_alike() {
        assert_eq!(enc(1i32), enc(1i64));
        assert_eq!(enc(1i32), enc(1.0f64));
        assert_eq!(enc(0.0f64), enc(-0.0f64));
        assert_eq!(enc(-250i64), enc(-250.0f64));
        let d: Decimal128 = "1.50"
            .parse()
            .unwrap_or_else(|_| Decimal128::from_bytes([0; 16]));
        assert_eq!(enc(d), enc(1.5f64));
        let d: Decimal128 = "1.05E+3"
            .parse()
            .unwrap_or_else(|_| Decimal128::from_bytes([0; 16]));
        assert_eq!(enc(d), enc(1050i32));
    }

    #[test]
    fn numbers_order_exactly() {
        let big = 1i64 << 53;
        assert!(enc(big) < enc(big + 1));
        assert!(
            enc((big + 1) as f64) < enc(big + 1),
            "2^53+1 as f64 rounds down"
        );
        assert!(enc(i64::MAX) < enc(9.3e18f64));
        assert!(enc(i64::MIN) == enc(-(2f64.powi(63))));
        assert!(enc(f64::NAN) < enc(f64::NEG_INFINITY));
        assert!(enc(f64::NEG_INFINITY) < enc(i64::MIN));
        assert!(enc(-1.5f64) < enc(-1i32));
        assert!(enc(-1i32) < enc(0i32));
        assert!(enc(0i32) < enc(f64::MIN_POSITIVE / 1e10));
        assert!(enc(0.1f64) < enc(f64::from_bits(0.1f64.to_bits() + 1)));
        assert!(enc(f64::MAX) < enc(f64::INFINITY));
        assert!(enc(10i32) > enc(9.999f64));
    }

    #[test]
    fn brackets_follow_mongodb_order() {
        let ordered = vec![
            Bson::MinKey,
            Bson::Null,
            Bson::Int32(5),
            Bson::String("a".into()),
            Bson::Document(doc! {"a": 1}),
            Bson::Array(vec![Bson::Int32(1)]),
            Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![1],
            }),
            Bson::ObjectId(ObjectId::new()),
            Bson::Boolean(false),
            Bson::DateTime(bson::DateTime::from_millis(0)),
            Bson::Timestamp(bson::Timestamp {
                time: 1,
                increment: 1,
            }),
            Bson::MaxKey,
        ];
        for pair in ordered.windows(2) {
            assert!(
                encode_value(&pair[0]) < encode_value(&pair[1]),
                "{:?} < {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn strings_sort_before_their_extensions() {
        assert!(enc("a") < enc("a\0"));
        assert!(enc("a\0") < enc("a\u{1}"));
        assert!(enc("ab") < enc("b"));
        assert!(enc("") < enc("\0"));
    }

    #[test]
    fn multikey_entries_are_deduplicated() {
        let d = doc! {"tags": ["x", "y", "x"]};
        let (keys, multikey) = index_entries(&d, ["tags"], false).unwrap_or_default();
        assert!(multikey);
        assert_eq!(keys.len(), 2);
    }

    #[test]
    fn sparse_skips_missing_first_field_and_non_sparse_indexes_null() {
        let d = doc! {"b": 1};
        assert_eq!(
            index_entries(&d, ["a"], true).unwrap_or_default().0.len(),
            0
        );
        assert_eq!(
            index_entries(&d, ["a"], false).unwrap_or_default().0,
            vec![enc(Bson::Null)]
        );
    }

    #[test]
    fn paths_descend_through_arrays() {
        let d = doc! {"items": [{"price": 3}, {"price": 4}, {"other": 1}]};
        let (keys, multikey) = index_entries(&d, ["items.price"], false).unwrap_or_default();
        assert!(multikey);
        assert_eq!(keys, vec![enc(3), enc(4)]);
        let (keys, _) = index_entries(&d, ["items.0.price"], false).unwrap_or_default();
        assert_eq!(keys, vec![enc(3)]);
    }

    #[test]
    fn parallel_arrays_are_refused() {
        let d = doc! {"a": [1, 2], "b": [3, 4]};
        assert!(index_entries(&d, ["a", "b"], false).is_err());
    }

    #[test]
    fn prefix_successor_skips_ff() {
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF]), None);
    }

    mod order {
        //! The encoding agrees with `eve_query::compare_bson` on every pair.
        use super::*;
        use bson::{spec::BinarySubtype, Binary, Decimal128, Regex, Timestamp};
        use proptest::prelude::*;

        fn number() -> impl Strategy<Value = Bson> {
            let edge_ints = prop::sample::select(vec![
                0i64,
                1,
                -1,
                2,
                (1 << 53) - 1,
                1 << 53,
                (1 << 53) + 1,
                i64::MAX,
                i64::MIN,
                i64::MAX - 1,
                1 << 62,
            ]);
            let edge_floats = prop::sample::select(vec![
                0.0f64,
                -0.0,
                0.5,
                1.0,
                -1.5,
                9_007_199_254_740_992.0,
                9_223_372_036_854_775_808.0,
                -9_223_372_036_854_775_808.0,
                f64::MAX,
                f64::MIN_POSITIVE,
                5e-324,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                0.1,
            ]);
            prop_oneof![
                any::<i32>().prop_map(Bson::Int32),
                any::<i64>().prop_map(Bson::Int64),
                any::<f64>().prop_map(Bson::Double),
                (-1000i32..1000).prop_map(Bson::Int32),
                (-1000i32..1000).prop_map(|i| Bson::Double(f64::from(i) / 4.0)),
                edge_ints.clone().prop_map(Bson::Int64),
                edge_ints.prop_map(|i| Bson::Double(i as f64)),
                edge_floats.prop_map(Bson::Double),
                prop::sample::select(vec![
                    "1",
                    "1.0",
                    "-0",
                    "0.1",
                    "1E+400",
                    "NaN",
                    "-Infinity",
                    "2.5",
                    "9007199254740993"
                ])
                .prop_map(|s| Bson::Decimal128(
                    s.parse()
                        .unwrap_or_else(|_| Decimal128::from_bytes([0; 16]))
                )),
            ]
        }

        fn text() -> impl Strategy<Value = String> {
            prop::collection::vec(
                prop::sample::select(vec!['a', 'b', '\0', '\u{1}', 'é', '\u{ff}']),
                0..4,
            )
            .prop_map(|cs| cs.into_iter().collect())
        }

        fn scalar() -> impl Strategy<Value = Bson> {
            prop_oneof![
                Just(Bson::MinKey),
                Just(Bson::MaxKey),
                Just(Bson::Null),
                Just(Bson::Undefined),
                number(),
                number(),
                text().prop_map(Bson::String),
                text().prop_map(Bson::Symbol),
                text().prop_map(Bson::JavaScriptCode),
                (
                    prop::collection::vec(any::<u8>(), 0..3),
                    prop::sample::select(vec![0u8, 4, 0x80])
                )
                    .prop_map(|(bytes, st)| Bson::Binary(Binary {
                        subtype: BinarySubtype::from(st),
                        bytes
                    })),
                prop::array::uniform12(prop::sample::select(vec![0u8, 1, 0xFF]))
                    .prop_map(|b| Bson::ObjectId(ObjectId::from_bytes(b))),
                any::<bool>().prop_map(Bson::Boolean),
                prop_oneof![any::<i64>(), -3i64..3]
                    .prop_map(|ms| Bson::DateTime(bson::DateTime::from_millis(ms))),
                (0u32..3, 0u32..3)
                    .prop_map(|(time, increment)| Bson::Timestamp(Timestamp { time, increment })),
                (text(), prop::sample::select(vec!["", "i", "im"])).prop_filter_map(
                    "regex",
                    |(p, o)| {
                        let pattern = bson::raw::CString::try_from(p).ok()?;
                        let options = bson::raw::CString::try_from(o).ok()?;
                        Some(Bson::RegularExpression(Regex { pattern, options }))
                    }
                ),
            ]
        }

        fn value() -> impl Strategy<Value = Bson> {
            scalar().prop_recursive(3, 16, 3, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
                    prop::collection::vec((prop::sample::select(vec!["a", "b", ""]), inner), 0..3)
                        .prop_map(|kvs| {
                            let mut d = Document::new();
                            for (k, v) in kvs {
                                d.insert(k, v);
                            }
                            Bson::Document(d)
                        }),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            #[test]
            fn encoding_order_is_compare_bson_order(a in value(), b in value()) {
                let expected = eve_query::compare_bson(&a, &b);
                let actual = encode_value(&a).cmp(&encode_value(&b));
                prop_assert_eq!(actual, expected, "{:?} vs {:?}", a, b);
            }

            #[test]
            fn the_first_component_of_a_key_is_found(a in value(), b in value()) {
                let mut key = encode_value(&a);
                let len = key.len();
                key.extend(encode_value(&b));
                prop_assert_eq!(first_component_len(&key), Some(len));
            }

            #[test]
            fn compound_keys_order_lexicographically(a in (value(), value()), b in (value(), value())) {
                let expected = eve_query::compare_bson(&a.0, &b.0).then(eve_query::compare_bson(&a.1, &b.1));
                let mut ka = encode_value(&a.0);
                ka.extend(encode_value(&a.1));
                let mut kb = encode_value(&b.0);
                kb.extend(encode_value(&b.1));
                prop_assert_eq!(ka.cmp(&kb), expected);
            }
        }
    }
}
