//! Unit tests of the key encoding and of index entries.

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
