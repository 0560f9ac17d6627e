//! Geospatial queries: the operands of `$geoWithin` and `$geoIntersects`
//! parsed into shapes, stored values read as geometries, and the
//! predicates and distances MongoDB evaluates, computed with the `geo`
//! crate.
//!
//! Semantics (docs/geo.md):
//!
//! * A stored location is a GeoJSON geometry (`Point`, `MultiPoint`,
//!   `LineString`, `MultiLineString`, `Polygon`, `MultiPolygon`,
//!   `GeometryCollection`), a legacy coordinate pair `[x, y]`, or a
//!   legacy embedded pair `{lng: x, lat: y}` (the first two numbers).
//! * `$geoWithin` with `$geometry` (a `Polygon` or `MultiPolygon`) and
//!   `$geoIntersects` (any geometry) compare longitude/latitude in the
//!   plane, as a `2d` index does; MongoDB's `2dsphere` draws polygon
//!   edges as great circles, which differs from this only for edges many
//!   degrees long (docs/geo.md, "Deviations").
//! * `$box`, `$polygon` and `$center` are flat; `$centerSphere` (radius in
//!   radians) and GeoJSON distances are spherical, on MongoDB's Earth
//!   radius ([`EARTH_RADIUS_M`]).
//!
//! Operands are bounded: at most [`MAX_GEO_POSITIONS`] positions per
//! shape, so a hostile query cannot make evaluation unbounded.

use bson::{Bson, Document};
use geo::{
    BoundingRect, Contains, Coord, Distance, Euclidean, Geometry, GeometryCollection,
    HaversineMeasure, Intersects, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon, Rect,
};

use crate::QueryError;

#[cfg(test)]
mod tests;

/// MongoDB's Earth radius in meters (`kRadiusOfEarthInMeters`), used for
/// GeoJSON distances, so that `$maxDistance` boundaries agree with it.
pub const EARTH_RADIUS_M: f64 = 6_378_100.0;

/// Most positions one query shape (or one `$near` point's parameters)
/// may hold; beyond it the query is refused with 400.
pub const MAX_GEO_POSITIONS: usize = 10_000;

/// Which geo predicate a [`GeoCond`] tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoOp {
    /// `$geoWithin`: the stored geometry lies inside the shape.
    Within,
    /// `$geoIntersects`: the stored geometry and the shape share a point.
    Intersects,
}

/// The shape of a geo condition.
#[derive(Debug, Clone, PartialEq)]
pub enum GeoShape {
    /// A GeoJSON geometry (`$geometry`).
    Geometry(Geometry<f64>),
    /// `$box`: bottom-left and top-right corners, flat.
    Box(Rect<f64>),
    /// `$polygon`: a legacy polygon (a ring of pairs), flat.
    Polygon(Polygon<f64>),
    /// `$center`: center and radius in coordinate units, flat.
    Center(Point<f64>, f64),
    /// `$centerSphere`: center and radius in radians, on the sphere.
    CenterSphere(Point<f64>, f64),
}

/// A parsed `$geoWithin` or `$geoIntersects` condition.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoCond {
    /// The predicate.
    pub op: GeoOp,
    /// The shape, compiled.
    pub shape: GeoShape,
    /// The operand as written (printed back by `Filter::to_document`).
    pub operand: Document,
}

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

fn number(v: &Bson) -> Option<f64> {
    let n = match v {
        Bson::Int32(i) => f64::from(*i),
        #[allow(clippy::cast_precision_loss)]
        Bson::Int64(i) => *i as f64,
        Bson::Double(d) => *d,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Reads a position (`[x, y, …]`, at least two finite numbers).
fn position(v: &Bson) -> Option<Coord<f64>> {
    let Bson::Array(items) = v else { return None };
    if items.len() < 2 {
        return None;
    }
    Some(Coord {
        x: number(&items[0])?,
        y: number(&items[1])?,
    })
}

/// Counts positions as they are read, refusing more than the budget.
/// Query shapes also need closed polygon rings of at least four
/// positions (`strict`); stored values are read as the validator let
/// them in.
struct Budget {
    left: usize,
    strict: bool,
    exceeded: bool,
}

impl Budget {
    fn take(&mut self, n: usize) -> Option<()> {
        match self.left.checked_sub(n) {
            Some(left) => {
                self.left = left;
                Some(())
            }
            None => {
                self.exceeded = true;
                None
            }
        }
    }
}

fn positions(v: &Bson, budget: &mut Budget) -> Option<Vec<Coord<f64>>> {
    let Bson::Array(items) = v else { return None };
    budget.take(items.len())?;
    items.iter().map(position).collect()
}

fn ring(v: &Bson, budget: &mut Budget) -> Option<LineString<f64>> {
    Some(LineString::new(positions(v, budget)?))
}

fn polygon(v: &Bson, budget: &mut Budget) -> Option<Polygon<f64>> {
    let Bson::Array(rings) = v else { return None };
    let strict = budget.strict;
    let mut rings = rings.iter().map(|r| {
        ring(r, budget).filter(|l| !strict || (l.0.len() >= 4 && l.0.first() == l.0.last()))
    });
    let exterior = rings.next()??;
    let interiors = rings.collect::<Option<Vec<_>>>()?;
    Some(Polygon::new(exterior, interiors))
}

fn each<T>(
    v: &Bson,
    budget: &mut Budget,
    f: impl Fn(&Bson, &mut Budget) -> Option<T>,
) -> Option<Vec<T>> {
    let Bson::Array(items) = v else { return None };
    items.iter().map(|i| f(i, budget)).collect()
}

/// Reads a GeoJSON geometry object, within `budget` positions (nested
/// collections count against it too). `None` when it is not one.
fn geojson(d: &Document, budget: &mut Budget, depth: usize) -> Option<Geometry<f64>> {
    let Some(Bson::String(kind)) = d.get("type") else {
        return None;
    };
    if kind == "GeometryCollection" {
        if depth > 8 {
            return None;
        }
        let Some(Bson::Array(members)) = d.get("geometries") else {
            return None;
        };
        budget.take(members.len())?;
        let members = members
            .iter()
            .map(|m| match m {
                Bson::Document(m) => geojson(m, budget, depth + 1),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        return Some(Geometry::GeometryCollection(GeometryCollection::new_from(
            members,
        )));
    }
    let c = d.get("coordinates")?;
    Some(match kind.as_str() {
        "Point" => {
            budget.take(1)?;
            Geometry::Point(Point(position(c)?))
        }
        "MultiPoint" => Geometry::MultiPoint(MultiPoint::new(
            positions(c, budget)?.into_iter().map(Point).collect(),
        )),
        "LineString" => Geometry::LineString(ring(c, budget)?),
        "MultiLineString" => {
            Geometry::MultiLineString(MultiLineString::new(each(c, budget, ring)?))
        }
        "Polygon" => Geometry::Polygon(polygon(c, budget)?),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon::new(each(c, budget, polygon)?)),
        _ => return None,
    })
}

/// The geometry a stored value holds, if any: GeoJSON, a legacy pair
/// `[x, y]`, or a legacy embedded pair (the first two values of a
/// document without `type`, e.g. `{lng: 1, lat: 2}`). Stored values are
/// bounded by the document size; no position budget applies.
pub fn stored_geometry(v: &Bson) -> Option<Geometry<f64>> {
    match v {
        Bson::Array(_) => position(v).map(|c| Geometry::Point(Point(c))),
        Bson::Document(d) if d.contains_key("type") => geojson(
            d,
            &mut Budget {
                left: usize::MAX,
                strict: false,
                exceeded: false,
            },
            0,
        ),
        Bson::Document(d) => {
            let mut values = d.values();
            let x = number(values.next()?)?;
            let y = number(values.next()?)?;
            Some(Geometry::Point(Point::new(x, y)))
        }
        _ => None,
    }
}

fn lon_lat_ok(g: &Geometry<f64>) -> bool {
    use geo::CoordsIter;
    g.coords_iter()
        .all(|c| (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y))
}

fn pair_and_radius(op: &str, v: &Bson) -> Result<(Point<f64>, f64), QueryError> {
    let bad = || {
        invalid(format!(
            "{op} needs [[x, y], radius] with a non-negative radius"
        ))
    };
    let Bson::Array(items) = v else {
        return Err(bad());
    };
    let [center, radius] = items.as_slice() else {
        return Err(bad());
    };
    let center = position(center).ok_or_else(bad)?;
    let radius = number(radius).filter(|r| *r >= 0.0).ok_or_else(bad)?;
    Ok((Point(center), radius))
}

/// Parses the operand of `$geoWithin` (`within`) or `$geoIntersects`.
///
/// ```
/// use bson::doc;
/// use eve_query::{GeoCond, GeoOp};
///
/// let c = GeoCond::parse(GeoOp::Within, &doc! {"$box": [[0, 0], [10, 10]]}).unwrap();
/// assert!(c.matches_value(&bson::bson!([5, 5])));
/// assert!(!c.matches_value(&bson::bson!({"type": "Point", "coordinates": [11, 5]})));
/// ```
impl GeoCond {
    /// Parses `operand`, the document after `$geoWithin`/`$geoIntersects`.
    pub fn parse(op: GeoOp, operand: &Document) -> Result<GeoCond, QueryError> {
        let name = match op {
            GeoOp::Within => "$geoWithin",
            GeoOp::Intersects => "$geoIntersects",
        };
        let mut keys = operand.iter();
        let (Some((key, value)), None) = (keys.next(), keys.next()) else {
            return Err(invalid(format!("{name} needs exactly one shape operator")));
        };
        let too_big = || {
            invalid(format!(
                "{name}: a shape may hold at most {MAX_GEO_POSITIONS} positions"
            ))
        };
        let mut budget = Budget {
            left: MAX_GEO_POSITIONS,
            strict: true,
            exceeded: false,
        };
        let shape = match (op, key.as_str()) {
            (_, "$geometry") => {
                let Bson::Document(g) = value else {
                    return Err(invalid(format!(
                        "{name}: $geometry must be a GeoJSON object"
                    )));
                };
                let geometry = geojson(g, &mut budget, 0).ok_or_else(|| {
                    if budget.exceeded {
                        too_big()
                    } else {
                        invalid(format!("{name}: $geometry is not a valid GeoJSON geometry (polygon rings need four positions or more, the last equal to the first)"))
                    }
                })?;
                if !lon_lat_ok(&geometry) {
                    return Err(invalid(format!(
                        "{name}: longitude/latitude out of bounds in $geometry"
                    )));
                }
                if op == GeoOp::Within
                    && !matches!(geometry, Geometry::Polygon(_) | Geometry::MultiPolygon(_))
                {
                    return Err(invalid(
                        "$geoWithin: $geometry must be a Polygon or a MultiPolygon",
                    ));
                }
                GeoShape::Geometry(geometry)
            }
            (GeoOp::Within, "$box") => {
                let bad = || invalid("$box needs two corners [[x1, y1], [x2, y2]]");
                let Bson::Array(corners) = value else {
                    return Err(bad());
                };
                let [a, b] = corners.as_slice() else {
                    return Err(bad());
                };
                let (a, b) = (position(a).ok_or_else(bad)?, position(b).ok_or_else(bad)?);
                GeoShape::Box(Rect::new(a, b))
            }
            (GeoOp::Within, "$polygon") => {
                let points = positions(value, &mut budget).ok_or_else(|| {
                    if budget.exceeded {
                        too_big()
                    } else {
                        invalid("$polygon needs an array of [x, y] points")
                    }
                })?;
                if points.len() < 3 {
                    return Err(invalid("$polygon needs at least three points"));
                }
                // `Polygon::new` closes the ring.
                GeoShape::Polygon(Polygon::new(LineString::new(points), Vec::new()))
            }
            (GeoOp::Within, "$center") => {
                let (c, r) = pair_and_radius("$center", value)?;
                GeoShape::Center(c, r)
            }
            (GeoOp::Within, "$centerSphere") => {
                let (c, r) = pair_and_radius("$centerSphere", value)?;
                if !(-180.0..=180.0).contains(&c.x()) || !(-90.0..=90.0).contains(&c.y()) {
                    return Err(invalid("$centerSphere: longitude/latitude out of bounds"));
                }
                GeoShape::CenterSphere(c, r)
            }
            (_, other) => {
                return Err(invalid(format!("{name}: unknown shape operator {other}")));
            }
        };
        Ok(GeoCond {
            op,
            shape,
            operand: operand.clone(),
        })
    }

    /// Whether one stored value satisfies the condition (a value that is
    /// no geometry never does).
    pub fn matches_value(&self, v: &Bson) -> bool {
        match stored_geometry(v) {
            Some(g) => self.matches_geometry(&g),
            None => false,
        }
    }

    /// Whether a geometry satisfies the condition.
    pub fn matches_geometry(&self, g: &Geometry<f64>) -> bool {
        match (self.op, &self.shape) {
            (GeoOp::Intersects, GeoShape::Geometry(shape)) => shape.intersects(g),
            (GeoOp::Within, GeoShape::Geometry(shape)) => within_area(shape, g),
            (_, GeoShape::Box(rect)) => all_coords(g, |c| {
                c.x >= rect.min().x
                    && c.x <= rect.max().x
                    && c.y >= rect.min().y
                    && c.y <= rect.max().y
            }),
            (_, GeoShape::Polygon(p)) => within_area(&Geometry::Polygon(p.clone()), g),
            (_, GeoShape::Center(center, r)) => {
                all_coords(g, |c| Euclidean.distance(*center, Point(c)) <= *r)
            }
            (_, GeoShape::CenterSphere(center, r)) => {
                all_coords(g, |c| central_angle(*center, Point(c)) <= *r)
            }
        }
    }
}

/// Whether every position of `g` satisfies `f` (enough for a convex
/// shape: a box, a circle, a spherical cap under a hemisphere).
fn all_coords(g: &Geometry<f64>, f: impl Fn(Coord<f64>) -> bool) -> bool {
    use geo::CoordsIter;
    let mut any = false;
    let all = g.coords_iter().all(|c| {
        any = true;
        f(c)
    });
    any && all
}

/// `g` lies inside the area `shape` (boundary included for points).
fn within_area(shape: &Geometry<f64>, g: &Geometry<f64>) -> bool {
    match g {
        Geometry::Point(p) => shape.intersects(p),
        Geometry::MultiPoint(mp) => !mp.0.is_empty() && mp.iter().all(|p| shape.intersects(p)),
        Geometry::GeometryCollection(gc) => {
            !gc.0.is_empty() && gc.iter().all(|m| within_area(shape, m))
        }
        other => shape.contains(other),
    }
}

/// The angle between two longitude/latitude points seen from the
/// Earth's center, in radians (haversine on the unit sphere).
pub fn central_angle(a: Point<f64>, b: Point<f64>) -> f64 {
    HaversineMeasure::new(1.0).distance(a, b)
}

/// How a `$near` measures: on the sphere (GeoJSON point: meters;
/// `$nearSphere` with a legacy pair: radians) or in the plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// Great-circle distance times this radius (meters or 1 for radians).
    Sphere(f64),
    /// Euclidean distance in coordinate units.
    Flat,
}

/// The distance from `point` to the nearest part of `g` under `metric`:
/// zero inside a polygon, else the distance to the nearest point of the
/// geometry (exact in the plane; on the sphere, to the nearest vertex, or
/// along a segment for points within it).
pub fn distance(metric: Metric, point: Point<f64>, g: &Geometry<f64>) -> f64 {
    match metric {
        Metric::Flat => Euclidean.distance(&point, g),
        Metric::Sphere(radius) => {
            use geo::CoordsIter;
            if matches!(
                g,
                Geometry::Polygon(_) | Geometry::MultiPolygon(_) | Geometry::GeometryCollection(_)
            ) && g.intersects(&point)
            {
                return 0.0;
            }
            g.coords_iter()
                .map(|c| central_angle(point, Point(c)))
                .fold(f64::INFINITY, f64::min)
                * radius
        }
    }
}

/// The bounding box of a stored geometry: `(min_x, min_y, max_x, max_y)`.
pub fn bounding_box(g: &Geometry<f64>) -> Option<[f64; 4]> {
    g.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}
