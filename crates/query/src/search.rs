//! Geo and text searches in a client `where`: `{field: {$near: …}}`,
//! `{field: {$nearSphere: …}}` and `{$text: {$search: …}}` are not filters
//! (they order or score documents, and need a special index), so they are
//! lifted out of the query document into typed [`Near`] and
//! [`TextSearch`] values that a data layer with geo or text search runs,
//! and that the others refuse.

use bson::{Bson, Document};

pub use crate::text::TextSearch;
use crate::QueryError;

/// A proximity search: documents whose `field` is near `point`, nearest
/// first.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    /// The location field (dotted path).
    pub field: String,
    /// The point: longitude then latitude (GeoJSON), or x then y (legacy
    /// coordinate pair).
    pub point: [f64; 2],
    /// Farthest distance: meters for a GeoJSON point, coordinate units
    /// (radians for `$nearSphere`) for a legacy pair.
    pub max_distance: Option<f64>,
    /// Nearest distance, same units.
    pub min_distance: Option<f64>,
    /// Distances on a sphere (`$nearSphere`, or a GeoJSON point) rather
    /// than on a plane.
    pub spherical: bool,
    /// The point was given as GeoJSON (`$geometry`), distances in meters.
    pub geojson: bool,
}

impl Near {
    /// How distances are measured: meters on the sphere for a GeoJSON
    /// point, radians on the sphere for `$nearSphere` with a legacy pair,
    /// coordinate units in the plane for `$near` with a legacy pair.
    pub fn metric(&self) -> crate::Metric {
        match (self.geojson, self.spherical) {
            (true, _) => crate::Metric::Sphere(crate::EARTH_RADIUS_M),
            (false, true) => crate::Metric::Sphere(1.0),
            (false, false) => crate::Metric::Flat,
        }
    }

    /// The bounding box `[min_x, min_y, max_x, max_y]` of every location
    /// stored at `field` in `doc` (what an index of bounding boxes
    /// records), `None` when it holds none.
    pub fn field_bounds(doc: &Document, field: &str) -> Option<[f64; 4]> {
        let mut out: Option<[f64; 4]> = None;
        for_each_location(doc, field, |g| {
            if let Some(b) = crate::bounding_box(g) {
                out = Some(match out {
                    None => b,
                    Some(o) => [
                        o[0].min(b[0]),
                        o[1].min(b[1]),
                        o[2].max(b[2]),
                        o[3].max(b[3]),
                    ],
                });
            }
        });
        out
    }

    /// The distance from the point to the nearest location stored at the
    /// field of `doc` (a field holding several, as an array, counts its
    /// nearest), `None` when the document has no location there.
    pub fn distance_to(&self, doc: &Document) -> Option<f64> {
        let point = geo::Point::new(self.point[0], self.point[1]);
        let metric = self.metric();
        let mut best: Option<f64> = None;
        for_each_location(doc, &self.field, |g| {
            let d = crate::geo_distance(metric, point, g);
            best = Some(best.map_or(d, |b| b.min(d)));
        });
        best
    }

    /// The box `[min_x, min_y, max_x, max_y]` holding every location
    /// within `$maxDistance` of the point (`None` without one): what an
    /// index of bounding boxes is searched with. On the sphere the box is
    /// in degrees and covers the whole longitude range when the cap
    /// reaches a pole or the antimeridian.
    pub fn search_box(&self) -> Option<[f64; 4]> {
        let max = self.max_distance?;
        let [x, y] = self.point;
        match self.metric() {
            crate::Metric::Flat => Some([x - max, y - max, x + max, y + max]),
            crate::Metric::Sphere(radius) => {
                let r = max / radius;
                let dlat = r.to_degrees();
                let (lat0, lat1) = (y - dlat, y + dlat);
                let full = [-180.0, lat0.max(-90.0), 180.0, lat1.min(90.0)];
                if lat0 <= -90.0 || lat1 >= 90.0 || r >= std::f64::consts::FRAC_PI_2 {
                    return Some(full);
                }
                let ratio = r.sin() / y.to_radians().cos();
                if ratio >= 1.0 {
                    return Some(full);
                }
                let dlon = ratio.asin().to_degrees();
                if x - dlon < -180.0 || x + dlon > 180.0 {
                    return Some(full);
                }
                Some([x - dlon, lat0, x + dlon, lat1])
            }
        }
    }

    /// Whether a distance lies within `$minDistance` and `$maxDistance`
    /// (both inclusive, as MongoDB's).
    pub fn in_range(&self, d: f64) -> bool {
        self.min_distance.is_none_or(|min| d >= min) && self.max_distance.is_none_or(|max| d <= max)
    }

    /// The condition as the client wrote it, for a layer that runs it
    /// natively: `{"$near": …}` or `{"$nearSphere": …}` with its
    /// distances.
    pub fn to_operator_document(&self) -> Document {
        let op = if self.spherical && !self.geojson {
            "$nearSphere"
        } else {
            "$near"
        };
        let mut d = Document::new();
        if self.geojson {
            let mut inner = Document::new();
            inner.insert(
                "$geometry",
                bson::doc! {"type": "Point", "coordinates": [self.point[0], self.point[1]]},
            );
            if let Some(max) = self.max_distance {
                inner.insert("$maxDistance", max);
            }
            if let Some(min) = self.min_distance {
                inner.insert("$minDistance", min);
            }
            d.insert(op, inner);
        } else {
            d.insert(op, vec![self.point[0], self.point[1]]);
            if let Some(max) = self.max_distance {
                d.insert("$maxDistance", max);
            }
            if let Some(min) = self.min_distance {
                d.insert("$minDistance", min);
            }
        }
        d
    }

    /// A filter that counts what the search returns, for stores whose
    /// count refuses `$near` (MongoDB's `countDocuments`): the field
    /// within `$maxDistance` (`$centerSphere` or `$center`) and not within
    /// `$minDistance`; with no `$maxDistance`, every document with a
    /// location at the field.
    pub fn count_filter_document(&self) -> Document {
        let center = vec![Bson::from(self.point[0]), Bson::from(self.point[1])];
        let shape = |r: f64| match self.metric() {
            crate::Metric::Sphere(radius) => {
                bson::doc! {"$geoWithin": {"$centerSphere": [center.clone(), r / radius]}}
            }
            crate::Metric::Flat => bson::doc! {"$geoWithin": {"$center": [center.clone(), r]}},
        };
        let mut and = vec![match self.max_distance {
            Some(max) => bson::doc! {self.field.clone(): shape(max)},
            None => bson::doc! {self.field.clone(): {"$exists": true}},
        }];
        if let Some(min) = self.min_distance.filter(|m| *m > 0.0) {
            and.push(bson::doc! {"$nor": [{self.field.clone(): shape(min)}]});
        }
        bson::doc! {"$and": and}
    }
}

/// Calls `f` with each location stored at `field` of `doc`: the value
/// itself, or the elements of an array that is not a legacy pair.
fn for_each_location(doc: &Document, field: &str, mut f: impl FnMut(&geo::Geometry<f64>)) {
    for v in crate::path::resolve(doc, field).into_iter().flatten() {
        if let Some(g) = crate::stored_geometry(v) {
            f(&g);
            continue;
        }
        if let Bson::Array(items) = v {
            for g in items.iter().filter_map(crate::stored_geometry) {
                f(&g);
            }
        }
    }
}

/// What [`lift_searches`] took out of a query document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Searches {
    /// The `$near`/`$nearSphere` condition, if any.
    pub near: Option<Near>,
    /// The `$text` condition, if any.
    pub text: Option<TextSearch>,
}

fn invalid(message: impl Into<String>) -> QueryError {
    QueryError::Invalid(message.into())
}

/// Removes a top-level `$text` and top-level `{field: {$near|$nearSphere:
/// …}}` conditions from `query` and returns them typed. At most one of
/// each; `$near` and `$text` together, or either below the top level (in
/// `$and`, `$or`, …), are refused as MongoDB refuses them, as are
/// malformed operands. Other geo operators (`$geoWithin`, …) are left in
/// place, for [`Filter::parse`](crate::Filter::parse) to refuse.
///
/// ```
/// use bson::doc;
/// use eve_query::lift_searches;
///
/// let mut q = doc! {"loc": {"$near": [1.0, 2.0], "$maxDistance": 5}, "kind": "cafe"};
/// let s = lift_searches(&mut q).unwrap();
/// assert_eq!(q, doc! {"kind": "cafe"});
/// let near = s.near.unwrap();
/// assert_eq!((near.field.as_str(), near.point, near.max_distance), ("loc", [1.0, 2.0], Some(5.0)));
/// ```
pub fn lift_searches(query: &mut Document) -> Result<Searches, QueryError> {
    let mut out = Searches::default();
    if let Some(text) = query.remove("$text") {
        out.text = Some(parse_text(&text)?);
    }
    let near_fields: Vec<String> = query
        .iter()
        .filter(|(k, v)| !k.starts_with('$') && is_near(v))
        .map(|(k, _)| k.clone())
        .collect();
    if near_fields.len() > 1 {
        return Err(invalid(
            "only one $near or $nearSphere is allowed in a query",
        ));
    }
    if let Some(field) = near_fields.into_iter().next() {
        let Some(Bson::Document(cond)) = query.remove(&field) else {
            return Err(invalid("$near needs an operator document"));
        };
        out.near = Some(parse_near(field, &cond)?);
    }
    if out.near.is_some() && out.text.is_some() {
        return Err(invalid("$text and $near cannot be used in one query"));
    }
    for (k, v) in query.iter() {
        refuse_nested(k, v, 0)?;
    }
    Ok(out)
}

fn is_near(v: &Bson) -> bool {
    matches!(v, Bson::Document(d) if d.contains_key("$near") || d.contains_key("$nearSphere"))
}

/// Refuses `$text`, `$near` and `$nearSphere` anywhere but the top level.
fn refuse_nested(key: &str, v: &Bson, depth: usize) -> Result<(), QueryError> {
    if matches!(key, "$text" | "$near" | "$nearSphere") {
        return Err(invalid(format!(
            "{key} is only allowed at the top level of a query"
        )));
    }
    if depth > crate::MAX_FILTER_DEPTH {
        // Filter::parse refuses the depth itself.
        return Ok(());
    }
    match v {
        Bson::Document(d) => {
            for (k, inner) in d {
                refuse_nested(k, inner, depth + 1)?;
            }
        }
        Bson::Array(items) => {
            for inner in items {
                refuse_nested("", inner, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn number(v: &Bson, what: &str) -> Result<f64, QueryError> {
    let n = match v {
        Bson::Int32(i) => f64::from(*i),
        #[allow(clippy::cast_precision_loss)]
        Bson::Int64(i) => *i as f64,
        Bson::Double(d) => *d,
        _ => return Err(invalid(format!("{what} must be a number"))),
    };
    if !n.is_finite() {
        return Err(invalid(format!("{what} must be a finite number")));
    }
    Ok(n)
}

fn distance(v: Option<&Bson>, what: &str) -> Result<Option<f64>, QueryError> {
    v.map(|v| {
        let d = number(v, what)?;
        if d < 0.0 {
            return Err(invalid(format!("{what} must be non-negative")));
        }
        Ok(d)
    })
    .transpose()
}

fn pair(v: &Bson, what: &str) -> Result<[f64; 2], QueryError> {
    match v {
        Bson::Array(items) if items.len() == 2 => {
            Ok([number(&items[0], what)?, number(&items[1], what)?])
        }
        _ => Err(invalid(format!("{what} must be a pair of numbers"))),
    }
}

fn parse_near(field: String, cond: &Document) -> Result<Near, QueryError> {
    let (op, spherical_op) = if cond.contains_key("$near") {
        ("$near", false)
    } else {
        ("$nearSphere", true)
    };
    for k in cond.keys() {
        if !matches!(
            k.as_str(),
            "$near" | "$nearSphere" | "$maxDistance" | "$minDistance"
        ) || (k != op && (k == "$near" || k == "$nearSphere"))
        {
            return Err(invalid(format!("{k} cannot be combined with {op}")));
        }
    }
    let operand = cond.get(op).unwrap_or(&Bson::Null);
    let outer_max = distance(cond.get("$maxDistance"), "$maxDistance")?;
    let outer_min = distance(cond.get("$minDistance"), "$minDistance")?;
    match operand {
        Bson::Array(_) => Ok(Near {
            field,
            point: pair(operand, op)?,
            max_distance: outer_max,
            min_distance: outer_min,
            spherical: spherical_op,
            geojson: false,
        }),
        Bson::Document(d) => {
            for k in d.keys() {
                if !matches!(k.as_str(), "$geometry" | "$maxDistance" | "$minDistance") {
                    return Err(invalid(format!("unknown {op} parameter: {k}")));
                }
            }
            let Some(Bson::Document(geometry)) = d.get("$geometry") else {
                return Err(invalid(format!(
                    "{op} needs a $geometry point or a coordinate pair"
                )));
            };
            if geometry.get("type") != Some(&Bson::String("Point".into())) {
                return Err(invalid(format!("{op}: $geometry must be a GeoJSON Point")));
            }
            let point = pair(
                geometry.get("coordinates").unwrap_or(&Bson::Null),
                "$geometry coordinates",
            )?;
            if !(-180.0..=180.0).contains(&point[0]) || !(-90.0..=90.0).contains(&point[1]) {
                return Err(invalid(format!("{op}: longitude/latitude out of bounds")));
            }
            Ok(Near {
                field,
                point,
                max_distance: distance(d.get("$maxDistance"), "$maxDistance")?.or(outer_max),
                min_distance: distance(d.get("$minDistance"), "$minDistance")?.or(outer_min),
                spherical: true,
                geojson: true,
            })
        }
        _ => Err(invalid(format!(
            "{op} needs a $geometry point or a coordinate pair"
        ))),
    }
}

fn parse_text(v: &Bson) -> Result<TextSearch, QueryError> {
    TextSearch::from_operand(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn lifts_text_with_its_options() {
        let mut q = doc! {"$text": {"$search": "coffee -shop", "$language": "es", "$caseSensitive": true}, "a": 1};
        let s = lift_searches(&mut q).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q, doc! {"a": 1});
        assert_eq!(
            s.text,
            Some(TextSearch {
                search: "coffee -shop".into(),
                language: Some("es".into()),
                case_sensitive: true,
                diacritic_sensitive: false,
                score_field: None,
            })
        );
        assert_eq!(s.near, None);
    }

    #[test]
    fn lifts_geojson_and_legacy_near() {
        let mut q = doc! {"loc": {"$near": {"$geometry": {"type": "Point", "coordinates": [-73.9667, 40.78]}, "$maxDistance": 1000, "$minDistance": 10}}};
        let near = lift_searches(&mut q).unwrap_or_else(|e| panic!("{e}")).near;
        assert!(q.is_empty());
        assert_eq!(
            near,
            Some(Near {
                field: "loc".into(),
                point: [-73.9667, 40.78],
                max_distance: Some(1000.0),
                min_distance: Some(10.0),
                spherical: true,
                geojson: true,
            })
        );
        let mut q = doc! {"pos": {"$nearSphere": [1, 2.5], "$maxDistance": 0.1}};
        let near = lift_searches(&mut q).unwrap_or_else(|e| panic!("{e}")).near;
        assert_eq!(
            near,
            Some(Near {
                field: "pos".into(),
                point: [1.0, 2.5],
                max_distance: Some(0.1),
                min_distance: None,
                spherical: true,
                geojson: false,
            })
        );
    }

    #[test]
    fn refuses_misplaced_or_malformed_searches() {
        for (mut q, needle) in [
            (doc! {"$or": [{"$text": {"$search": "x"}}]}, "top level"),
            (doc! {"$and": [{"loc": {"$near": [1, 2]}}]}, "top level"),
            (
                doc! {"$text": {"$search": "x"}, "loc": {"$near": [1, 2]}},
                "cannot be used in one query",
            ),
            (
                doc! {"a": {"$near": [1, 2]}, "b": {"$nearSphere": [1, 2]}},
                "only one",
            ),
            (doc! {"$text": {"$search": 5}}, "must be a string"),
            (doc! {"$text": {}}, "needs a $search"),
            (
                doc! {"$text": {"$search": "x", "$foo": 1}},
                "unknown parameter",
            ),
            (doc! {"loc": {"$near": [1]}}, "pair of numbers"),
            (
                doc! {"loc": {"$near": [1, 2], "$maxDistance": -1}},
                "non-negative",
            ),
            (
                doc! {"loc": {"$near": [1, 2], "$gt": 1}},
                "cannot be combined",
            ),
            (
                doc! {"loc": {"$near": {"$geometry": {"type": "Polygon", "coordinates": [1, 2]}}}},
                "GeoJSON Point",
            ),
            (
                doc! {"loc": {"$near": {"$geometry": {"type": "Point", "coordinates": [200, 2]}}}},
                "out of bounds",
            ),
        ] {
            match lift_searches(&mut q) {
                Err(QueryError::Invalid(m)) => assert!(m.contains(needle), "{m} lacks {needle}"),
                other => panic!("{needle}: {other:?}"),
            }
        }
        // Other geo operators stay for Filter::parse to refuse.
        let mut q = doc! {"loc": {"$geoWithin": {"$center": [[0, 0], 1]}}};
        assert_eq!(lift_searches(&mut q), Ok(Searches::default()));
        assert!(q.contains_key("loc"));
    }
}
