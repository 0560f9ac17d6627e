//! `2dsphere` indexes are SQLite R*Trees kept with the documents: a
//! `$near` with `$maxDistance` reads only the documents near the point,
//! and moves, deletes and index rebuilds keep the tree right.

use bson::{doc, Document};
use eve_query::{Filter, Near};
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec};

use crate::{open, tempdir};

fn geo_index() -> IndexSpec {
    IndexSpec {
        name: "loc_geo".into(),
        keys: vec![("loc".into(), IndexKey::Special("2dsphere".into()))],
        unique: false,
        sparse: false,
        text: None,
    }
}

fn point(lon: f64, lat: f64) -> Document {
    doc! {"type": "Point", "coordinates": [lon, lat]}
}

fn near(lon: f64, lat: f64, max: f64) -> FindQuery {
    let mut q = FindQuery::new(Filter::All);
    q.near = Some(Near {
        field: "loc".into(),
        point: [lon, lat],
        max_distance: Some(max),
        min_distance: None,
        spherical: true,
        geojson: true,
    });
    q
}

/// The rows of the collection's R*Tree, read with SQLite directly.
fn tree_rows(dir: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("eve.sqlite3")).expect("open");
    let table: String = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE sql LIKE '%USING rtree%'",
            [],
            |r| r.get(0),
        )
        .expect("an R*Tree table");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

fn ints(docs: &[Document]) -> Vec<i32> {
    docs.iter().filter_map(|d| d.get_i32("_id").ok()).collect()
}

#[tokio::test]
async fn near_reads_the_r_tree_and_writes_keep_it_right() {
    let dir = tempdir();
    let store = open(dir.path());
    // Documents written before the index exist: the index build fills it.
    store
        .insert(
            "places",
            (0..2000)
                .map(|i| doc! {"_id": i, "loc": point(-170.0 + f64::from(i) * 0.1, 10.0)})
                .collect(),
        )
        .await
        .expect("insert");
    store
        .prepare_collection("places", &[geo_index()])
        .await
        .expect("prepare");
    store
        .insert("places", vec![doc! {"_id": 5000, "name": "nowhere"}])
        .await
        .expect("insert");
    let found = store
        .find("places", &near(-170.0, 10.0, 25_000.0))
        .await
        .expect("near");
    assert_eq!(ints(&found), [0, 1, 2]);

    // Moved: found at the new place, not at the old one.
    store
        .update_one(
            "places",
            &Filter::parse(&doc! {"_id": 1}).expect("filter"),
            doc! {"loc": point(50.0, 50.0)},
        )
        .await
        .expect("update");
    let found = store
        .find("places", &near(-170.0, 10.0, 25_000.0))
        .await
        .expect("near");
    assert_eq!(ints(&found), [0, 2]);
    let found = store
        .find("places", &near(50.0, 50.0, 1_000.0))
        .await
        .expect("near");
    assert_eq!(ints(&found), [1]);

    // Deleted: gone from the tree too.
    store
        .delete_many(
            "places",
            &Filter::parse(&doc! {"_id": {"$lt": 1000}}).expect("filter"),
        )
        .await
        .expect("delete");
    drop(store);
    assert_eq!(tree_rows(dir.path()), 1000, "one box per located document");

    // Reopened: the tree is still in use.
    let store = open(dir.path());
    let found = store
        .find("places", &near(-70.0, 10.0, 12_000.0))
        .await
        .expect("near");
    assert_eq!(ints(&found), [1000, 1001]);
}
