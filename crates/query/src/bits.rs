//! MongoDB's bitwise query operators: `$bitsAllSet`, `$bitsAllClear`,
//! `$bitsAnySet` and `$bitsAnyClear`.
//!
//! The operand is a bitmask number, a list of bit positions, or a BinData
//! bitmask. Only numbers and BinData values can match:
//!
//! - numbers are read as 64-bit two's complement integers, so a negative
//!   number has every bit above its highest clear bit set (sign extension:
//!   position 200 of `-1` is set); doubles and decimals match only when
//!   they are integral and fit in 64 bits, NaN never does;
//! - BinData values are tested byte by byte, position 0 being the least
//!   significant bit of the first byte; positions past the end are clear;
//! - every other value (strings, booleans, dates, ...) never matches, and
//!   an array matches when one of its elements does.

use bson::{spec::BinarySubtype, Binary, Bson};

use crate::QueryError;

/// Which bitwise test an operator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitTest {
    /// `$bitsAllSet`: every selected bit is 1.
    AllSet,
    /// `$bitsAllClear`: every selected bit is 0.
    AllClear,
    /// `$bitsAnySet`: at least one selected bit is 1.
    AnySet,
    /// `$bitsAnyClear`: at least one selected bit is 0.
    AnyClear,
}

impl BitTest {
    /// The test an operator name stands for.
    pub fn from_operator(op: &str) -> Option<BitTest> {
        match op {
            "$bitsAllSet" => Some(BitTest::AllSet),
            "$bitsAllClear" => Some(BitTest::AllClear),
            "$bitsAnySet" => Some(BitTest::AnySet),
            "$bitsAnyClear" => Some(BitTest::AnyClear),
            _ => None,
        }
    }

    /// The operator name, e.g. `$bitsAllSet`.
    pub fn operator(self) -> &'static str {
        match self {
            BitTest::AllSet => "$bitsAllSet",
            BitTest::AllClear => "$bitsAllClear",
            BitTest::AnySet => "$bitsAnySet",
            BitTest::AnyClear => "$bitsAnyClear",
        }
    }

    /// The answer once every selected bit was looked at: `All*` tests
    /// hold when no bit contradicted them, `Any*` tests fail when no bit
    /// satisfied them.
    fn default_answer(self) -> bool {
        matches!(self, BitTest::AllSet | BitTest::AllClear)
    }

    /// Whether one bit decides the answer: a clear bit fails `AllSet`, a
    /// set bit satisfies `AnySet`, and so on.
    fn decided_by(self, bit_set: bool) -> bool {
        match self {
            BitTest::AllSet | BitTest::AnyClear => !bit_set,
            BitTest::AllClear | BitTest::AnySet => bit_set,
        }
    }
}

/// The bits an operator selects, as the client wrote them.
#[derive(Debug, Clone, PartialEq)]
pub enum BitMask {
    /// A non-negative number whose set bits are selected.
    Number(i64),
    /// Bit positions (each `>= 0`, position 0 being the least significant).
    Positions(Vec<u32>),
    /// A BinData bitmask: bit `j` of byte `i` selects position `8 * i + j`.
    Binary(Binary),
}

impl BitMask {
    /// The selected positions, in no particular order.
    fn positions(&self) -> Box<dyn Iterator<Item = u32> + '_> {
        match self {
            BitMask::Number(n) => Box::new((0..64).filter(move |p| (*n as u64) >> p & 1 == 1)),
            BitMask::Positions(v) => Box::new(v.iter().copied()),
            BitMask::Binary(b) => Box::new(set_positions(&b.bytes)),
        }
    }

    /// The selected bits of a 64-bit number: positions past 63 select the
    /// sign bit, since numbers are sign-extended.
    fn word(&self) -> u64 {
        match self {
            BitMask::Number(n) => *n as u64,
            _ => self.positions().fold(0, |w, p| w | 1 << p.min(63)),
        }
    }

    /// The operand as a query document writes it.
    pub(crate) fn to_bson(&self) -> Bson {
        match self {
            BitMask::Number(n) => i32::try_from(*n).map_or(Bson::Int64(*n), Bson::Int32),
            BitMask::Positions(v) => Bson::Array(
                v.iter()
                    .map(|p| i32::try_from(*p).map_or(Bson::Int64(i64::from(*p)), Bson::Int32))
                    .collect(),
            ),
            BitMask::Binary(b) => Bson::Binary(b.clone()),
        }
    }
}

/// The positions of the set bits of a byte string.
fn set_positions(bytes: &[u8]) -> impl Iterator<Item = u32> + '_ {
    bytes.iter().enumerate().flat_map(|(i, byte)| {
        (0..8u32)
            .filter(move |j| byte >> j & 1 == 1)
            .map(move |j| i as u32 * 8 + j)
    })
}

fn invalid(msg: String) -> QueryError {
    QueryError::Invalid(msg)
}

/// The doubles that convert to an i64 without saturating: [-2^63, 2^63).
pub(crate) const I64_RANGE: std::ops::Range<f64> =
    -9.223_372_036_854_776e18..9.223_372_036_854_776e18;

/// A number as an exact 64-bit integer: integral doubles and decimals in
/// range, never NaN.
pub(crate) fn exact_integer(v: &Bson) -> Option<i64> {
    let f = match v {
        Bson::Int32(i) => return Some(i64::from(*i)),
        Bson::Int64(i) => return Some(*i),
        Bson::Double(f) => *f,
        Bson::Decimal128(d) => crate::compare::decimal_to_f64(d),
        _ => return None,
    };
    (f.fract() == 0.0 && I64_RANGE.contains(&f)).then_some(f as i64)
}

fn is_number(v: &Bson) -> bool {
    matches!(
        v,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
    )
}

/// Parses the operand of a bitwise operator, refusing what MongoDB
/// refuses: negative or fractional bitmasks, positions that are not
/// non-negative 32-bit integers, and operands of any other type.
pub(crate) fn parse_mask(op: &str, v: &Bson) -> Result<BitMask, QueryError> {
    match v {
        Bson::Array(items) => {
            let mut positions = Vec::with_capacity(items.len());
            for item in items {
                if !is_number(item) {
                    return Err(invalid(format!(
                        "{op}: bit positions must be integers, got {item}"
                    )));
                }
                let Some(p) = exact_integer(item) else {
                    return Err(invalid(format!(
                        "{op}: bit positions must be integers, got {item}"
                    )));
                };
                let Ok(p) = i32::try_from(p) else {
                    return Err(invalid(format!(
                        "{op}: bit position {p} does not fit in a 32-bit signed integer"
                    )));
                };
                let Ok(p) = u32::try_from(p) else {
                    return Err(invalid(format!(
                        "{op}: bit positions must be >= 0, got {p}"
                    )));
                };
                positions.push(p);
            }
            Ok(BitMask::Positions(positions))
        }
        Bson::Binary(b) => Ok(BitMask::Binary(b.clone())),
        n if is_number(n) => match exact_integer(n) {
            Some(m) if m >= 0 => Ok(BitMask::Number(m)),
            Some(m) => Err(invalid(format!(
                "{op}: the bitmask must not be negative, got {m}"
            ))),
            None => Err(invalid(format!(
                "{op}: the bitmask must be an integer that fits in 64 bits, got {n}"
            ))),
        },
        other => Err(invalid(format!(
            "{op} takes a bitmask number, a list of bit positions or BinData, got {other}"
        ))),
    }
}

/// Whether one value passes a bitwise test.
pub(crate) fn bits_match(test: BitTest, mask: &BitMask, v: &Bson) -> bool {
    match v {
        Bson::Binary(b) => binary_match(test, mask, &b.bytes),
        // Non-numbers never match; doubles must be exact 64-bit integers.
        n if is_number(n) => match exact_integer(n) {
            Some(i) => word_match(test, mask.word(), i as u64),
            None => false,
        },
        _ => false,
    }
}

fn word_match(test: BitTest, mask: u64, value: u64) -> bool {
    let selected = value & mask;
    match test {
        BitTest::AllSet => selected == mask,
        BitTest::AllClear => selected == 0,
        BitTest::AnySet => selected != 0,
        BitTest::AnyClear => selected != mask,
    }
}

fn binary_match(test: BitTest, mask: &BitMask, bytes: &[u8]) -> bool {
    for p in mask.positions() {
        let byte = bytes.get((p / 8) as usize).copied().unwrap_or(0);
        let bit_set = byte >> (p % 8) & 1 == 1;
        if test.decided_by(bit_set) {
            return !test.default_answer();
        }
    }
    test.default_answer()
}

/// A BinData bitmask from bytes (generic subtype), for tests and callers
/// that build filters in code.
pub fn binary_mask(bytes: &[u8]) -> BitMask {
    BitMask::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(test: BitTest, mask: BitMask, v: Bson) -> bool {
        bits_match(test, &mask, &v)
    }

    fn bin(bytes: &[u8]) -> Bson {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: bytes.to_vec(),
        })
    }

    #[test]
    fn numbers_against_a_numeric_mask() {
        use BitTest::*;
        // 54 = 0b110110.
        assert!(m(AllSet, BitMask::Number(0b100110), Bson::Int32(54)));
        assert!(!m(AllSet, BitMask::Number(0b1001), Bson::Int32(54)));
        assert!(m(AllClear, BitMask::Number(0b1001), Bson::Int32(54)));
        assert!(!m(AllClear, BitMask::Number(0b11), Bson::Int32(54)));
        assert!(m(AnySet, BitMask::Number(0b11), Bson::Int32(54)));
        assert!(!m(AnySet, BitMask::Number(0b1001), Bson::Int32(54)));
        assert!(m(AnyClear, BitMask::Number(0b11), Bson::Int32(54)));
        assert!(!m(AnyClear, BitMask::Number(0b110), Bson::Int32(54)));
    }

    #[test]
    fn negative_numbers_are_sign_extended() {
        use BitTest::*;
        assert!(m(
            AllSet,
            BitMask::Positions(vec![0, 63, 64, 200]),
            Bson::Int32(-1)
        ));
        assert!(m(
            AllClear,
            BitMask::Positions(vec![0, 63, 200]),
            Bson::Int64(0)
        ));
        // -2 is ...11110: bit 0 clear, every other bit set.
        assert!(m(AnyClear, BitMask::Positions(vec![0]), Bson::Int32(-2)));
        assert!(m(
            AllSet,
            BitMask::Positions(vec![1, 1000]),
            Bson::Int32(-2)
        ));
        // 5 is positive: position 100 reads the clear sign bit.
        assert!(m(AllClear, BitMask::Positions(vec![100]), Bson::Int32(5)));
    }

    #[test]
    fn doubles_match_only_when_integral_and_in_range() {
        use BitTest::*;
        assert!(m(AllSet, BitMask::Number(6), Bson::Double(6.0)));
        assert!(!m(AllSet, BitMask::Number(6), Bson::Double(6.5)));
        assert!(!m(AllClear, BitMask::Number(1), Bson::Double(f64::NAN)));
        assert!(!m(AllClear, BitMask::Number(1), Bson::Double(1e19)));
        assert!(!m(
            AllClear,
            BitMask::Number(1),
            Bson::Double(f64::INFINITY)
        ));
    }

    #[test]
    fn non_numbers_never_match() {
        for test in [
            BitTest::AllSet,
            BitTest::AllClear,
            BitTest::AnySet,
            BitTest::AnyClear,
        ] {
            for v in [
                Bson::String("1".into()),
                Bson::Boolean(true),
                Bson::Null,
                Bson::DateTime(bson::DateTime::from_millis(1)),
            ] {
                assert!(!m(test, BitMask::Number(1), v.clone()), "{test:?} {v}");
            }
        }
    }

    #[test]
    fn binary_values_are_little_endian_by_byte_and_zero_extended() {
        use BitTest::*;
        // 0x20 sets bit 5 of byte 0; 0x01 in byte 1 is position 8.
        assert!(m(
            AllSet,
            BitMask::Positions(vec![5, 8]),
            bin(&[0x20, 0x01])
        ));
        assert!(m(
            AllClear,
            BitMask::Positions(vec![4, 9, 100]),
            bin(&[0x20, 0x01])
        ));
        assert!(m(
            AnyClear,
            BitMask::Positions(vec![5, 100]),
            bin(&[0x20, 0x01])
        ));
        assert!(!m(AnySet, BitMask::Positions(vec![16]), bin(&[0xff, 0xff])));
        assert!(m(AllSet, BitMask::Number(0x120), bin(&[0x20, 0x01])));
    }

    #[test]
    fn binary_masks_select_positions() {
        use BitTest::*;
        assert!(m(AllSet, binary_mask(&[0x20, 0x01]), Bson::Int32(0x120)));
        assert!(!m(AllSet, binary_mask(&[0x20, 0x01]), Bson::Int32(0x20)));
        // Positions past 63 in a BinData mask read the sign bit of numbers.
        let mut far = vec![0u8; 20];
        far[19] = 0x80;
        assert!(m(AllSet, binary_mask(&far), Bson::Int32(-1)));
        assert!(m(AllClear, binary_mask(&far), Bson::Int32(7)));
    }

    #[test]
    fn empty_masks_satisfy_all_and_fail_any() {
        for v in [Bson::Int32(7), bin(&[1])] {
            assert!(m(BitTest::AllSet, BitMask::Positions(vec![]), v.clone()));
            assert!(m(BitTest::AllClear, BitMask::Number(0), v.clone()));
            assert!(!m(BitTest::AnySet, BitMask::Positions(vec![]), v.clone()));
            assert!(!m(BitTest::AnyClear, BitMask::Number(0), v.clone()));
        }
    }

    #[test]
    fn operands_are_checked() {
        let ok = |v: Bson| parse_mask("$bitsAllSet", &v);
        assert_eq!(ok(Bson::Int32(5)), Ok(BitMask::Number(5)));
        assert_eq!(ok(Bson::Double(5.0)), Ok(BitMask::Number(5)));
        assert_eq!(
            ok(Bson::Array(vec![
                Bson::Int32(1),
                Bson::Double(3.0),
                Bson::Int64(70)
            ])),
            Ok(BitMask::Positions(vec![1, 3, 70]))
        );
        assert_eq!(ok(bin(&[1])), Ok(binary_mask(&[1])));
        let err = |v: Bson| match parse_mask("$bitsAllSet", &v) {
            Err(QueryError::Invalid(m)) => m,
            other => panic!("{v}: {other:?}"),
        };
        assert!(err(Bson::Int32(-1)).contains("must not be negative"));
        assert!(err(Bson::Double(1.5)).contains("integer"));
        assert!(err(Bson::Double(f64::NAN)).contains("integer"));
        assert!(err(Bson::Double(1e19)).contains("64 bits"));
        assert!(err(Bson::String("5".into())).contains("takes a bitmask"));
        assert!(err(Bson::Boolean(true)).contains("takes a bitmask"));
        assert!(err(Bson::Array(vec![Bson::Int32(-1)])).contains(">= 0"));
        assert!(err(Bson::Array(vec![Bson::Double(1.5)])).contains("integers"));
        assert!(err(Bson::Array(vec![Bson::String("1".into())])).contains("integers"));
        assert!(err(Bson::Array(vec![Bson::Int64(1 << 40)])).contains("32-bit"));
    }

    #[test]
    fn filters_parse_print_and_match_through_arrays() {
        use crate::Filter;
        use bson::doc;
        let q = doc! {"a": {"$bitsAllSet": [1, 5], "$bitsAnyClear": 3}, "b": {"$bitsAllClear": 4}};
        let f = Filter::parse(&q).unwrap();
        assert_eq!(Filter::parse(&f.to_document()), Ok(f.clone()));
        // 34 = 0b100010: bits 1 and 5 set, bit 0 clear; 3 has bit 2 clear.
        assert!(f.matches(&doc! {"a": [1, 34], "b": 3}));
        // 35 = 0b100011: bits 0 and 1 are both set, so `$bitsAnyClear: 3` fails.
        assert!(!f.matches(&doc! {"a": 35, "b": 3}));
        assert!(!f.matches(&doc! {"b": 3}));
        let not = Filter::parse(&doc! {"a": {"$not": {"$bitsAnySet": 1}}}).unwrap();
        assert!(not.matches(&doc! {}));
        assert!(not.matches(&doc! {"a": "x"}));
        assert!(!not.matches(&doc! {"a": 1}));
        let bin = Filter::parse(&doc! {"a": {"$bitsAnySet": bin(&[0, 2])}}).unwrap();
        assert_eq!(Filter::parse(&bin.to_document()), Ok(bin.clone()));
        assert!(bin.matches(&doc! {"a": 512}));
        assert!(!bin.matches(&doc! {"a": 256}));
    }
}
