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

mod entries;
mod length;

pub use entries::{index_entries, index_values, key_text, KeyError};
pub use length::{components_len, first_component_len, prefix_successor};

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
pub fn type_tag(value: &Bson) -> u8 {
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

#[cfg(test)]
mod tests;
