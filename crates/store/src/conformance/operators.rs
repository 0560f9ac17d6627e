//! Conformance cases for query operators added after the core suite:
//! MongoDB's bitwise operators.

use std::sync::Arc;

use bson::{doc, spec::BinarySubtype, Binary, Bson, Document};

use super::{index, insert, int_ids, prepare, where_ids};
use crate::DataLayer;

fn bin(bytes: &[u8]) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    })
}

fn bit_values() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "a": 54}, // 0b110110
        doc! {"_id": 2, "a": Bson::Int64(-1)},
        doc! {"_id": 3, "a": 6.0},
        doc! {"_id": 4, "a": 6.5},          // not integral: never matches
        doc! {"_id": 5, "a": "54"},         // not a number: never matches
        doc! {"_id": 6, "a": bin(&[0x36])}, // 54 as one byte
        doc! {"_id": 7, "a": [1, 8]},
        doc! {"_id": 8},
        doc! {"_id": 9, "a": f64::NAN},
        doc! {"_id": 10, "a": -2}, // ...11110, sign-extended
    ]
}

/// `$bitsAllSet`, `$bitsAllClear`, `$bitsAnySet` and `$bitsAnyClear` with
/// numeric, position-list and BinData masks select what MongoDB selects:
/// numbers as sign-extended 64-bit integers, integral doubles only,
/// BinData zero-extended, other types never, arrays by element; with and
/// without an index on the field.
pub async fn bitwise_operators_follow_mongodb(store: Arc<dyn DataLayer>) {
    prepare(&store, "bitsix", &[index("a_1", &["a"], false, false)]).await;
    for coll in ["bits", "bitsix"] {
        insert(&store, coll, bit_values()).await;
        let cases: Vec<(Document, Vec<i32>)> = vec![
            (doc! {"a": {"$bitsAllSet": 6}}, vec![1, 2, 3, 6, 10]),
            (
                doc! {"a": {"$bitsAllSet": bin(&[0x06])}},
                vec![1, 2, 3, 6, 10],
            ),
            (doc! {"a": {"$bitsAllClear": [0, 100]}}, vec![1, 3, 6, 7]),
            (doc! {"a": {"$bitsAnySet": [0, 63]}}, vec![2, 7, 10]),
            (doc! {"a": {"$bitsAnyClear": 1}}, vec![1, 3, 6, 7, 10]),
            (
                doc! {"a": {"$not": {"$bitsAnySet": 1}}},
                vec![1, 3, 4, 5, 6, 8, 9, 10],
            ),
            (doc! {"a": {"$bitsAllSet": 6, "$lt": 10}}, vec![2, 3, 10]),
        ];
        for (filter, expected) in cases {
            assert_eq!(
                where_ids(&store, coll, filter.clone()).await,
                int_ids(&expected),
                "{coll}: filter {filter}"
            );
        }
    }
}
