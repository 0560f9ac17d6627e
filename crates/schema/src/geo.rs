//! GeoJSON types (features.md §36), with Eve's exact acceptance rules:
//! only `Point` (and the members of collections) has its `type` name
//! checked, rings are not checked for closure, and unless custom fields
//! are allowed a GeoJSON object has exactly two members.

use bson::{Bson, Document};

/// The GeoJSON schema types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeoKind {
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
    GeometryCollection,
    Feature,
    FeatureCollection,
}

impl GeoKind {
    /// The schema type name (`point`, ...).
    pub(crate) fn from_type_name(name: &str) -> Option<GeoKind> {
        Some(match name {
            "point" => GeoKind::Point,
            "multipoint" => GeoKind::MultiPoint,
            "linestring" => GeoKind::LineString,
            "multilinestring" => GeoKind::MultiLineString,
            "polygon" => GeoKind::Polygon,
            "multipolygon" => GeoKind::MultiPolygon,
            "geometrycollection" => GeoKind::GeometryCollection,
            "feature" => GeoKind::Feature,
            "featurecollection" => GeoKind::FeatureCollection,
            _ => return None,
        })
    }

    /// A geometry named by a GeoJSON `type` member (`Point`, ...).
    fn from_geometry_name(name: &str) -> Option<GeoKind> {
        Some(match name {
            "Point" => GeoKind::Point,
            "MultiPoint" => GeoKind::MultiPoint,
            "LineString" => GeoKind::LineString,
            "MultiLineString" => GeoKind::MultiLineString,
            "Polygon" => GeoKind::Polygon,
            "MultiPolygon" => GeoKind::MultiPolygon,
            "GeometryCollection" => GeoKind::GeometryCollection,
            _ => return None,
        })
    }

    /// Whether `value` is a valid GeoJSON object of this kind.
    pub(crate) fn accepts(self, value: &Bson, custom_fields: bool) -> bool {
        let Bson::Document(d) = value else {
            return false;
        };
        if !d.contains_key("type") || (!custom_fields && d.len() != 2) {
            return false;
        }
        match self {
            GeoKind::Point => {
                d.get_str("type").ok() == Some("Point")
                    && d.get("coordinates").is_some_and(position)
            }
            GeoKind::MultiPoint | GeoKind::LineString => nested(d, 1),
            GeoKind::MultiLineString | GeoKind::Polygon => nested(d, 2),
            GeoKind::MultiPolygon => nested(d, 3),
            GeoKind::GeometryCollection => match d.get("geometries") {
                Some(Bson::Array(gs)) => gs.iter().all(|g| by_type_member(g, custom_fields)),
                _ => false,
            },
            GeoKind::Feature => d
                .get("geometry")
                .is_some_and(|g| by_type_member(g, custom_fields)),
            GeoKind::FeatureCollection => match d.get("features") {
                Some(Bson::Array(fs)) => fs
                    .iter()
                    .all(|f| GeoKind::Feature.accepts(f, custom_fields)),
                _ => false,
            },
        }
    }
}

/// A geometry validated as the kind its `type` member names.
fn by_type_member(g: &Bson, custom_fields: bool) -> bool {
    let Bson::Document(d) = g else { return false };
    match d.get_str("type").ok().and_then(GeoKind::from_geometry_name) {
        Some(kind) => kind.accepts(g, custom_fields),
        None => false,
    }
}

/// A position: a list of at least two numbers (booleans count, as in
/// Python).
fn position(v: &Bson) -> bool {
    match v {
        Bson::Array(a) => {
            a.len() > 1
                && a.iter().all(|x| {
                    matches!(
                        x,
                        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Boolean(_)
                    )
                })
        }
        _ => false,
    }
}

/// `coordinates` holds positions nested `depth` levels deep.
fn nested(d: &Document, depth: usize) -> bool {
    fn walk(v: &Bson, depth: usize) -> bool {
        if depth == 0 {
            return position(v);
        }
        match v {
            Bson::Array(a) => a.iter().all(|x| walk(x, depth - 1)),
            // Eve iterates strings and mappings too; their members are
            // never positions, and an empty one passes.
            Bson::String(s) => s.is_empty(),
            Bson::Document(m) => m.is_empty(),
            _ => false,
        }
    }
    d.get("coordinates").is_some_and(|c| walk(c, depth))
}
