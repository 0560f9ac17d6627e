//! Hash sets of BSON values under MongoDB equality, so that `$in`, `$nin`
//! and `$all` with many operands over large arrays cost one hash lookup
//! per value instead of a comparison with every operand.
//!
//! The hash is consistent with `compare::bson_eq`: numbers hash by their
//! value as a double (`1`, `1.0`, `NumberLong(1)` and `Decimal128("1")`
//! collide, `-0.0` is `0.0`, every NaN is one NaN), strings and symbols
//! by their bytes, documents and arrays by their elements in order. Two
//! values with the same hash are then compared with `bson_eq` itself, so
//! the exact cross-type rules (a long above 2^53 and the nearest double
//! differ) are the comparator's. Keys are random per set, so clients
//! cannot choose colliding operands.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use bson::Bson;

use crate::compare::{as_num, bson_eq, canonical_type, Num};

/// Operand lists at least this long are matched through an [`EqSet`];
/// shorter ones are compared one by one (cheaper than hashing).
pub(crate) const SET_LOOKUP_MIN: usize = 8;

/// Values, found by MongoDB equality.
pub(crate) struct EqSet<'a> {
    state: RandomState,
    buckets: HashMap<u64, Vec<&'a Bson>>,
}

impl<'a> EqSet<'a> {
    /// A set of `values`.
    pub(crate) fn new(values: impl IntoIterator<Item = &'a Bson>) -> Self {
        let mut set = EqSet {
            state: RandomState::new(),
            buckets: HashMap::new(),
        };
        for v in values {
            let h = set.hash(v);
            let bucket = set.buckets.entry(h).or_default();
            if !bucket.iter().any(|x| bson_eq(x, v)) {
                bucket.push(v);
            }
        }
        set
    }

    /// Whether the set holds a value equal to `v`.
    pub(crate) fn contains(&self, v: &Bson) -> bool {
        self.buckets
            .get(&self.hash(v))
            .is_some_and(|bucket| bucket.iter().any(|x| bson_eq(x, v)))
    }

    fn hash(&self, v: &Bson) -> u64 {
        let mut h = self.state.build_hasher();
        feed(v, &mut h);
        h.finish()
    }
}

fn feed_bytes(b: &[u8], h: &mut impl Hasher) {
    h.write_usize(b.len());
    h.write(b);
}

/// Feeds `v` to `h` so that values equal under `bson_eq` feed the same.
fn feed(v: &Bson, h: &mut impl Hasher) {
    h.write_i32(canonical_type(v));
    if let Some(n) = as_num(v) {
        let f = match n {
            // An integer equal to a double converts to exactly that double.
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        };
        let bits = if f.is_nan() {
            f64::NAN.to_bits()
        } else if f == 0.0 {
            0
        } else {
            f.to_bits()
        };
        h.write_u64(bits);
        return;
    }
    match v {
        Bson::String(s) | Bson::Symbol(s) => feed_bytes(s.as_bytes(), h),
        Bson::Document(d) => {
            h.write_usize(d.len());
            for (k, v) in d {
                feed_bytes(k.as_bytes(), h);
                feed(v, h);
            }
        }
        Bson::Array(items) => {
            h.write_usize(items.len());
            for item in items {
                feed(item, h);
            }
        }
        Bson::Binary(b) => {
            h.write_u8(u8::from(b.subtype));
            feed_bytes(&b.bytes, h);
        }
        Bson::ObjectId(id) => h.write(&id.bytes()),
        Bson::Boolean(b) => h.write_u8(u8::from(*b)),
        Bson::DateTime(d) => h.write_i64(d.timestamp_millis()),
        Bson::Timestamp(t) => {
            h.write_u32(t.time);
            h.write_u32(t.increment);
        }
        Bson::RegularExpression(re) => {
            feed_bytes(re.pattern.as_str().as_bytes(), h);
            feed_bytes(re.options.as_str().as_bytes(), h);
        }
        Bson::DbPointer(p) => feed_bytes(format!("{p:?}").as_bytes(), h),
        Bson::JavaScriptCode(code) => feed_bytes(code.as_bytes(), h),
        Bson::JavaScriptCodeWithScope(c) => {
            feed_bytes(c.code.as_bytes(), h);
            feed(&Bson::Document(c.scope.clone()), h);
        }
        // One value per bracket (null, undefined, MinKey, MaxKey); numbers
        // were fed above.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, Decimal128};

    fn dec(s: &str) -> Bson {
        Bson::Decimal128(s.parse::<Decimal128>().unwrap())
    }

    #[test]
    fn numbers_are_found_across_types() {
        let items = [Bson::Int32(1), Bson::String("x".into())];
        let set = EqSet::new(items.iter());
        assert!(set.contains(&Bson::Double(1.0)));
        assert!(set.contains(&Bson::Int64(1)));
        assert!(set.contains(&dec("1")));
        assert!(set.contains(&dec("1.0")));
        assert!(!set.contains(&Bson::Double(1.5)));
        assert!(!set.contains(&Bson::String("1".into())));
        assert!(set.contains(&Bson::Symbol("x".into())));
    }

    #[test]
    fn zero_nan_and_large_integers_follow_the_comparator() {
        let items = [
            Bson::Double(-0.0),
            Bson::Double(f64::NAN),
            Bson::Int64(9_007_199_254_740_993),
        ];
        let set = EqSet::new(items.iter());
        assert!(set.contains(&Bson::Int32(0)));
        assert!(set.contains(&Bson::Double(-f64::NAN)));
        assert!(set.contains(&dec("NaN")));
        assert!(set.contains(&Bson::Int64(9_007_199_254_740_993)));
        // 2^53 + 1 and the double 2^53 hash alike but are not equal.
        assert!(!set.contains(&Bson::Double(9_007_199_254_740_992.0)));
    }

    #[test]
    fn documents_and_arrays_match_whole_and_in_order() {
        let items = [
            Bson::Document(doc! {"a": 1, "b": [1, 2]}),
            Bson::Array(vec![1.into(), "x".into()]),
            Bson::Null,
        ];
        let set = EqSet::new(items.iter());
        assert!(set.contains(&Bson::Document(doc! {"a": 1.0, "b": [1_i64, 2.0]})));
        assert!(!set.contains(&Bson::Document(doc! {"b": [1, 2], "a": 1})));
        assert!(set.contains(&Bson::Array(vec![1.0.into(), "x".into()])));
        assert!(!set.contains(&Bson::Array(vec!["x".into(), 1.into()])));
        assert!(set.contains(&Bson::Null));
        assert!(!set.contains(&Bson::Undefined));
    }

    #[test]
    fn membership_agrees_with_bson_eq_on_every_pair_of_tricky_values() {
        let values = vec![
            Bson::Int32(0),
            Bson::Int32(1),
            Bson::Int64(1),
            Bson::Double(1.0),
            Bson::Double(-0.0),
            Bson::Double(0.5),
            Bson::Double(f64::NAN),
            Bson::Double(f64::INFINITY),
            Bson::Double(f64::NEG_INFINITY),
            Bson::Double(9_007_199_254_740_992.0),
            Bson::Int64(9_007_199_254_740_992),
            Bson::Int64(9_007_199_254_740_993),
            Bson::Int64(i64::MAX),
            Bson::Double(9_223_372_036_854_775_808.0),
            dec("1"),
            dec("1.00"),
            dec("-0"),
            dec("0.5"),
            dec("NaN"),
            dec("Infinity"),
            Bson::String("1".into()),
            Bson::Symbol("1".into()),
            Bson::String(String::new()),
            Bson::Null,
            Bson::Undefined,
            Bson::MinKey,
            Bson::MaxKey,
            Bson::Boolean(true),
            Bson::Array(vec![]),
            Bson::Array(vec![1.into()]),
            Bson::Array(vec![1.0.into()]),
            Bson::Document(doc! {}),
            Bson::Document(doc! {"a": 1}),
            Bson::Document(doc! {"a": 1.0}),
            Bson::Document(doc! {"a": "1"}),
            Bson::DateTime(bson::DateTime::from_millis(1)),
        ];
        for x in &values {
            let set = EqSet::new([x]);
            for v in &values {
                assert_eq!(set.contains(v), bson_eq(x, v), "{x:?} holds {v:?}?");
            }
        }
    }

    #[test]
    fn equal_operands_are_kept_once() {
        let items = [Bson::Int32(1), Bson::Double(1.0), Bson::Int64(1)];
        let set = EqSet::new(items.iter());
        assert_eq!(set.buckets.values().map(Vec::len).sum::<usize>(), 1);
    }
}
