use bson::{bson, doc, Bson};

use super::*;
use crate::{Filter, Near};

fn within(operand: Document, v: Bson) -> bool {
    GeoCond::parse(GeoOp::Within, &operand)
        .unwrap_or_else(|e| panic!("{operand}: {e}"))
        .matches_value(&v)
}

fn point(x: f64, y: f64) -> Bson {
    bson!({"type": "Point", "coordinates": [x, y]})
}

fn square() -> Document {
    doc! {"$geometry": {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}}
}

#[test]
fn geo_within_a_polygon_holds_points_inside_and_on_the_edge() {
    assert!(within(square(), point(5.0, 5.0)));
    assert!(within(square(), point(10.0, 5.0)));
    assert!(!within(square(), point(11.0, 5.0)));
    assert!(within(square(), bson!([2, 3])), "legacy pairs are points");
    assert!(within(square(), bson!({"lng": 2, "lat": 3})));
    assert!(!within(square(), bson!("not a place")));
}

#[test]
fn geo_within_needs_every_part_of_a_line_or_polygon_inside() {
    let inside = bson!({"type": "LineString", "coordinates": [[1, 1], [9, 9]]});
    let across = bson!({"type": "LineString", "coordinates": [[1, 1], [19, 9]]});
    assert!(within(square(), inside));
    assert!(!within(square(), across));
    let small = bson!({"type": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 1]]]});
    assert!(within(square(), small));
}

#[test]
fn legacy_shapes_are_flat() {
    assert!(within(doc! {"$box": [[0, 0], [10, 10]]}, point(10.0, 10.0)));
    assert!(!within(
        doc! {"$box": [[0, 0], [10, 10]]},
        point(10.5, 10.0)
    ));
    assert!(within(
        doc! {"$polygon": [[0, 0], [10, 0], [0, 10]]},
        point(2.0, 2.0)
    ));
    assert!(!within(
        doc! {"$polygon": [[0, 0], [10, 0], [0, 10]]},
        point(6.0, 6.0)
    ));
    assert!(within(doc! {"$center": [[0, 0], 5]}, point(3.0, 4.0)));
    assert!(!within(doc! {"$center": [[0, 0], 5]}, point(3.0, 4.1)));
}

#[test]
fn center_sphere_measures_great_circle_angles() {
    // Paris to London is about 344 km: 0.054 radians on MongoDB's radius.
    let paris = [2.3522, 48.8566];
    let london = point(-0.1276, 51.5072);
    assert!(within(
        doc! {"$centerSphere": [paris.to_vec(), 0.055]},
        london.clone()
    ));
    assert!(!within(
        doc! {"$centerSphere": [paris.to_vec(), 0.053]},
        london
    ));
}

#[test]
fn geo_intersects_takes_any_geometry() {
    let line = doc! {"$geometry": {"type": "LineString", "coordinates": [[5, -5], [5, 15]]}};
    let c = GeoCond::parse(GeoOp::Intersects, &line).unwrap();
    assert!(c.matches_value(
        &bson!({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]})
    ));
    assert!(c.matches_value(&point(5.0, 0.0)));
    assert!(!c.matches_value(&point(6.0, 0.0)));
}

#[test]
fn malformed_or_oversized_shapes_are_refused() {
    for (op, operand) in [
        (GeoOp::Within, doc! {}),
        (GeoOp::Within, doc! {"$box": [[0, 0]]}),
        (GeoOp::Within, doc! {"$center": [[0, 0], -1]}),
        (GeoOp::Within, doc! {"$centerSphere": [[500, 0], 1]}),
        (GeoOp::Within, doc! {"$polygon": [[0, 0], [1, 1]]}),
        (
            GeoOp::Within,
            doc! {"$geometry": {"type": "Point", "coordinates": [1, 2]}},
        ),
        (
            GeoOp::Within,
            doc! {"$geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1]]]}},
        ),
        (GeoOp::Intersects, doc! {"$box": [[0, 0], [1, 1]]}),
        (
            GeoOp::Intersects,
            doc! {"$geometry": {"type": "Point", "coordinates": [200, 0]}},
        ),
        (
            GeoOp::Intersects,
            doc! {"$geometry": {"type": "Blob", "coordinates": [0, 0]}},
        ),
        (
            GeoOp::Intersects,
            doc! {"$geometry": {"type": "Point", "coordinates": [0, 0]}, "$box": 1},
        ),
    ] {
        assert!(
            GeoCond::parse(op, &operand).is_err(),
            "{operand} was accepted"
        );
    }
    let many: Vec<Bson> = (0..=MAX_GEO_POSITIONS)
        .map(|i| bson!([f64::from(i as u32 % 90), 0.0]))
        .collect();
    let err = GeoCond::parse(GeoOp::Within, &doc! {"$polygon": many}).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
}

#[test]
fn geo_filters_print_back_as_written() {
    let q = doc! {"loc": {"$geoWithin": {"$box": [[0, 0], [1, 1]]}}};
    let f = Filter::parse(&q).unwrap();
    assert_eq!(f.to_document(), q);
    assert!(f.matches(&doc! {"loc": [0.5, 0.5]}));
    assert!(
        f.matches(&doc! {"loc": [[5, 5], [0.5, 0.5]]}),
        "any of an array of points"
    );
}

#[test]
fn near_distances_are_meters_for_geojson_and_units_for_pairs() {
    let near = |geojson, spherical| Near {
        field: "loc".into(),
        point: [0.0, 0.0],
        max_distance: None,
        min_distance: None,
        spherical,
        geojson,
    };
    let d = doc! {"loc": {"type": "Point", "coordinates": [0, 1]}};
    let meters = near(true, true).distance_to(&d).unwrap();
    assert!((meters - 111_319.5).abs() < 1.0, "{meters}");
    let radians = near(false, true)
        .distance_to(&doc! {"loc": [0, 1]})
        .unwrap();
    assert!((radians - 1f64.to_radians()).abs() < 1e-9);
    assert_eq!(
        near(false, false).distance_to(&doc! {"loc": [3, 4]}),
        Some(5.0)
    );
    assert_eq!(near(false, false).distance_to(&doc! {"other": 1}), None);
    let inside = doc! {"loc": {"type": "Polygon", "coordinates": [[[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]]}};
    assert_eq!(near(true, true).distance_to(&inside), Some(0.0));
}
