//! Conformance cases for geo queries (docs/geo.md): `$geoWithin` and
//! `$geoIntersects` in filters (find and count), and `$near` searches
//! (distances, order, totals, windows) on a collection with a `2dsphere`
//! index. A layer without [`Capabilities::geo`](crate::Capabilities)
//! skips them with a message.

use std::sync::Arc;

use bson::{doc, Bson, Document};

use super::{count, find, find_where, ids, insert, int_ids, prepare, q};
use crate::{DataLayer, FindQuery, IndexKey, IndexSpec, Near};

fn point(lon: f64, lat: f64) -> Document {
    doc! {"type": "Point", "coordinates": [lon, lat]}
}

/// Paris (1), London (2), Berlin (3), Brussels (4), New York (5), and a
/// document without a location (6).
async fn cities(store: &Arc<dyn DataLayer>, coll: &str) -> bool {
    if !store.capabilities().geo {
        eprintln!("{}: no geo queries; geo cases skipped", store.name());
        return false;
    }
    prepare(
        store,
        coll,
        &[IndexSpec {
            name: "loc_geo".into(),
            keys: vec![("loc".into(), IndexKey::Special("2dsphere".into()))],
            unique: false,
            sparse: false,
            text: None,
        }],
    )
    .await;
    insert(
        store,
        coll,
        vec![
            doc! {"_id": 1, "kind": "capital", "loc": point(2.3522, 48.8566)},
            doc! {"_id": 2, "kind": "capital", "loc": point(-0.1276, 51.5072)},
            doc! {"_id": 3, "kind": "capital", "loc": point(13.405, 52.52)},
            doc! {"_id": 4, "kind": "capital", "loc": point(4.3517, 50.8503)},
            doc! {"_id": 5, "kind": "city", "loc": point(-74.006, 40.7128)},
            doc! {"_id": 6, "kind": "nowhere"},
        ],
    )
    .await;
    true
}

fn sorted_ids(docs: &[Document]) -> Vec<Bson> {
    let mut v: Vec<i32> = docs.iter().filter_map(|d| d.get_i32("_id").ok()).collect();
    v.sort_unstable();
    int_ids(&v)
}

/// `$geoWithin` (`$geometry` polygon, `$box`, `$centerSphere`) and
/// `$geoIntersects` select the same documents in `find` and `count`.
pub async fn geo_filters_select_by_shape(store: Arc<dyn DataLayer>) {
    if !cities(&store, "geo_shapes").await {
        return;
    }
    let europe = doc! {"loc": {"$geoWithin": {"$geometry": {"type": "Polygon",
    "coordinates": [[[0, 45], [15, 45], [15, 55], [0, 55], [0, 45]]]}}}};
    let found = find_where(&store, "geo_shapes", europe.clone()).await;
    assert_eq!(sorted_ids(&found), int_ids(&[1, 3, 4]));
    assert_eq!(count(&store, "geo_shapes", q(europe)).await, 3);
    let boxed = doc! {"loc": {"$geoWithin": {"$box": [[-1, 48], [5, 52]]}}};
    let found = find_where(&store, "geo_shapes", boxed).await;
    assert_eq!(sorted_ids(&found), int_ids(&[1, 2, 4]));
    let cap = doc! {"loc": {"$geoWithin": {"$centerSphere": [[2.3522, 48.8566], 300_000.0 / 6_378_100.0]}}};
    let found = find_where(&store, "geo_shapes", cap).await;
    assert_eq!(sorted_ids(&found), int_ids(&[1, 4]));
    let crossing = doc! {"loc": {"$geoIntersects": {"$geometry": {"type": "Polygon",
    "coordinates": [[[-80, 35], [-70, 35], [-70, 45], [-80, 45], [-80, 35]]]}}}};
    let found = find_where(&store, "geo_shapes", crossing).await;
    assert_eq!(ids(&found), int_ids(&[5]));
}

fn near(max: Option<f64>, min: Option<f64>) -> Near {
    Near {
        field: "loc".into(),
        point: [2.3522, 48.8566],
        max_distance: max,
        min_distance: min,
        spherical: true,
        geojson: true,
    }
}

/// Whether the layer orders `$near` results (the MongoDB test server
/// does not: its cases compare sets, docs/mongodb.md).
fn orders_near(store: &Arc<dyn DataLayer>) -> bool {
    store.name() != "mongo" || std::env::var("EVE_TEST_MONGO_ORDERS_NEAR").as_deref() == Ok("1")
}

/// `$near`: nearest first, within `$minDistance`/`$maxDistance`, other
/// conditions applied, windowed after ordering; `find_page`'s total is the
/// number of documents the search returns.
pub async fn near_orders_by_distance_and_counts_the_matches(store: Arc<dyn DataLayer>) {
    if !cities(&store, "geo_near").await {
        return;
    }
    let ordered = orders_near(&store);
    let check = |found: &[Document], expected: &[i32]| {
        if ordered {
            assert_eq!(ids(found), int_ids(expected));
        } else {
            let mut e = expected.to_vec();
            e.sort_unstable();
            assert_eq!(sorted_ids(found), int_ids(&e));
        }
    };
    let mut query = FindQuery::new(q(doc! {}));
    query.near = Some(near(None, None));
    let (page, total) = store
        .find_page("geo_near", &query, true)
        .await
        .unwrap_or_else(|e| panic!("$near page: {e}"));
    check(&page, &[1, 4, 2, 3, 5]);
    assert_eq!(
        total,
        Some(5),
        "documents without a location are not returned"
    );

    query.near = Some(near(Some(400_000.0), Some(100_000.0)));
    let (page, total) = store
        .find_page("geo_near", &query, true)
        .await
        .unwrap_or_else(|e| panic!("$near ring: {e}"));
    check(&page, &[4, 2]);
    assert_eq!(total, Some(2));

    let mut capitals = FindQuery::new(q(doc! {"kind": "capital"}));
    capitals.near = Some(near(None, None));
    capitals.skip = 1;
    capitals.limit = Some(2);
    let page = find(&store, "geo_near", capitals).await;
    if ordered {
        assert_eq!(ids(&page), int_ids(&[4, 2]));
    } else {
        assert_eq!(page.len(), 2);
    }
}
