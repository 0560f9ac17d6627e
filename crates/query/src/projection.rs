//! The `projection` parameter and applying a projection to a document.

use std::collections::HashMap;

use bson::{Bson, Document};

use crate::{json_to_bson, QueryError};

/// Parses a `projection` value (a JSON object of field → 0/1).
///
/// ```
/// use bson::doc;
/// assert_eq!(eve_query::parse_projection(r#"{"born": 0}"#), Ok(doc! {"born": 0}));
/// assert!(eve_query::parse_projection("[1]").is_err());
/// ```
pub fn parse_projection(raw: &str) -> Result<Document, QueryError> {
    let v: serde_json::Value =
        serde_json::from_str(raw).map_err(|_| QueryError::ProjectionSyntax)?;
    match json_to_bson(&v) {
        Bson::Document(d) => Ok(d),
        _ => Err(QueryError::ProjectionSyntax),
    }
}

/// Python truthiness of a projection value: `1`, `true`, non-empty strings
/// and containers include; `0`, `false`, `null`, `""` exclude.
pub(crate) fn is_truthy(v: &Bson) -> bool {
    match v {
        Bson::Boolean(b) => *b,
        Bson::Int32(i) => *i != 0,
        Bson::Int64(i) => *i != 0,
        Bson::Double(d) => *d != 0.0,
        Bson::Decimal128(d) => crate::compare::decimal_to_f64(d) != 0.0,
        Bson::Null | Bson::Undefined => false,
        Bson::String(s) => !s.is_empty(),
        Bson::Array(a) => !a.is_empty(),
        Bson::Document(d) => !d.is_empty(),
        _ => true,
    }
}

/// A set of dotted paths as a tree; `whole` marks a path that ends here.
#[derive(Default)]
struct PathTree {
    whole: bool,
    children: HashMap<String, PathTree>,
}

impl PathTree {
    fn add(&mut self, path: &str) {
        let mut node = self;
        for part in path.split('.') {
            if node.whole {
                // A shorter path already covers this one.
                return;
            }
            node = node.children.entry(part.to_string()).or_default();
        }
        node.whole = true;
        node.children.clear();
    }
}

/// Applies a MongoDB-style projection: with at least one inclusion (a
/// truthy value) only the included paths are kept and every exclusion is
/// dropped (spec §29.1: inclusion wins); otherwise the excluded paths are
/// removed. Dotted paths descend into sub-documents and into the documents
/// of arrays. An empty projection returns the document unchanged.
///
/// Nothing is kept implicitly (not even `_id`): the caller adds the
/// always-returned meta fields to the projection itself. Projection
/// operators (`$slice`, `$elemMatch`, ...) are not interpreted; a
/// non-empty operator document counts as an inclusion.
///
/// ```
/// use bson::doc;
/// use eve_query::apply_projection;
/// let d = doc! {"a": {"b": 1, "c": 2}, "d": 3};
/// assert_eq!(apply_projection(&d, &doc! {"a.b": 1}), doc! {"a": {"b": 1}});
/// assert_eq!(apply_projection(&d, &doc! {"a.b": 0}), doc! {"a": {"c": 2}, "d": 3});
/// assert_eq!(apply_projection(&d, &doc! {"d": 1, "a": 0}), doc! {"d": 3});
/// ```
pub fn apply_projection(doc: &Document, projection: &Document) -> Document {
    project_document(doc.clone(), projection)
}

/// [`apply_projection`] on an owned document: kept values are moved, not
/// copied. This is the one projection of eve-rs: the HTTP layer applies it
/// to every document it serves.
///
/// ```
/// use bson::doc;
/// let d = doc! {"items": [{"price": 5, "sku": "a"}, {"price": 7}], "n": 1};
/// assert_eq!(
///     eve_query::project_document(d, &doc! {"items.price": 1}),
///     doc! {"items": [{"price": 5}, {"price": 7}]},
/// );
/// ```
pub fn project_document(doc: Document, projection: &Document) -> Document {
    Projection::new(projection).apply(doc)
}

/// A projection parsed once into path trees, to apply to many documents
/// (a page) without re-reading the projection document for each one.
/// [`project_document`] is `Projection::new(p).apply(doc)`.
///
/// ```
/// use bson::doc;
/// let p = eve_query::Projection::new(&doc! {"a": 1});
/// assert_eq!(p.apply(doc! {"a": 1, "b": 2}), doc! {"a": 1});
/// assert_eq!(p.apply(doc! {"b": 2}), doc! {});
/// ```
#[derive(Default)]
pub struct Projection {
    include: PathTree,
    exclude: PathTree,
    any_include: bool,
}

impl Projection {
    /// Parses `projection` (field → 0/1, Python truthiness; inclusion wins).
    pub fn new(projection: &Document) -> Self {
        let mut p = Projection::default();
        for (path, v) in projection {
            if is_truthy(v) {
                p.any_include = true;
                p.include.add(path);
            } else {
                p.exclude.add(path);
            }
        }
        p
    }

    /// Applies the projection to one document.
    pub fn apply(&self, doc: Document) -> Document {
        if self.any_include {
            keep_included(doc, &self.include)
        } else if self.exclude.children.is_empty() {
            doc
        } else {
            drop_excluded(doc, &self.exclude)
        }
    }
}

fn keep_included(doc: Document, tree: &PathTree) -> Document {
    let mut out = Document::new();
    for (k, v) in doc {
        let Some(node) = tree.children.get(&k) else {
            continue;
        };
        if node.whole {
            out.insert(k, v);
            continue;
        }
        match v {
            Bson::Document(d) => {
                out.insert(k, keep_included(d, node));
            }
            Bson::Array(items) => {
                out.insert(k, Bson::Array(keep_in_array(items, node)));
            }
            // A scalar has none of the sub-paths.
            _ => {}
        }
    }
    out
}

fn keep_in_array(items: Vec<Bson>, tree: &PathTree) -> Vec<Bson> {
    items
        .into_iter()
        .filter_map(|e| match e {
            Bson::Document(d) => Some(Bson::Document(keep_included(d, tree))),
            Bson::Array(inner) => Some(Bson::Array(keep_in_array(inner, tree))),
            _ => None,
        })
        .collect()
}

fn drop_excluded(doc: Document, tree: &PathTree) -> Document {
    let mut out = Document::new();
    for (k, v) in doc {
        match tree.children.get(&k) {
            None => {
                out.insert(k, v);
            }
            Some(node) if node.whole => {}
            Some(node) => {
                let v = drop_in_value(v, node);
                out.insert(k, v);
            }
        }
    }
    out
}

fn drop_in_value(v: Bson, tree: &PathTree) -> Bson {
    match v {
        Bson::Document(d) => Bson::Document(drop_excluded(d, tree)),
        Bson::Array(items) => {
            Bson::Array(items.into_iter().map(|e| drop_in_value(e, tree)).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn parse_projection_accepts_only_json_objects() {
        assert_eq!(
            parse_projection(r#"{"a": 1, "b": 0}"#),
            Ok(doc! {"a": 1, "b": 0})
        );
        for raw in ["", "[1]", "1", "{'a': 1}", "{\"a\": 1", "null"] {
            assert_eq!(
                parse_projection(raw),
                Err(QueryError::ProjectionSyntax),
                "{raw:?}"
            );
        }
        assert_eq!(
            QueryError::ProjectionSyntax.to_string(),
            "Unable to parse `projection` clause"
        );
    }

    #[test]
    fn inclusion_keeps_only_listed_fields_in_document_order() {
        let d = doc! {"z": 1, "a": 2, "m": 3};
        assert_eq!(
            apply_projection(&d, &doc! {"m": 1, "z": true}),
            doc! {"z": 1, "m": 3}
        );
    }

    #[test]
    fn exclusion_removes_listed_fields() {
        let d = doc! {"z": 1, "a": 2, "m": 3};
        assert_eq!(
            apply_projection(&d, &doc! {"a": 0, "m": false}),
            doc! {"z": 1}
        );
    }

    #[test]
    fn mixed_projection_lets_inclusion_win() {
        let d = doc! {"a": 1, "b": 2, "c": 3};
        assert_eq!(apply_projection(&d, &doc! {"a": 1, "b": 0}), doc! {"a": 1});
    }

    #[test]
    fn empty_projection_returns_the_document() {
        let d = doc! {"a": 1};
        assert_eq!(apply_projection(&d, &doc! {}), d);
    }

    #[test]
    fn dotted_inclusion_descends_into_arrays_of_documents() {
        let d = doc! {"a": [{"b": 1, "c": 2}, {"c": 3}, 5, [{"b": 4}]], "x": 1};
        assert_eq!(
            apply_projection(&d, &doc! {"a.b": 1}),
            doc! {"a": [{"b": 1}, {}, [{"b": 4}]]}
        );
    }

    #[test]
    fn dotted_inclusion_skips_scalars_and_keeps_empty_subdocuments() {
        let d = doc! {"a": 5, "s": {"c": 1}};
        assert_eq!(
            apply_projection(&d, &doc! {"a.b": 1, "s.b": 1}),
            doc! {"s": {}}
        );
    }

    #[test]
    fn dotted_exclusion_descends_into_arrays_of_documents() {
        let d = doc! {"a": [{"b": 1, "c": 2}, 7], "s": {"b": 1, "c": 2}};
        assert_eq!(
            apply_projection(&d, &doc! {"a.b": 0, "s.c": 0}),
            doc! {"a": [{"c": 2}, 7], "s": {"b": 1}}
        );
    }

    #[test]
    fn a_shorter_path_covers_longer_ones() {
        let d = doc! {"a": {"b": 1, "c": 2}};
        assert_eq!(apply_projection(&d, &doc! {"a.b": 1, "a": 1}), d);
        assert_eq!(apply_projection(&d, &doc! {"a": 1, "a.b": 1}), d);
    }

    #[test]
    fn truthiness_follows_python() {
        assert!(is_truthy(&Bson::Int32(2)));
        assert!(is_truthy(&Bson::Double(-0.5)));
        assert!(is_truthy(&Bson::String("x".into())));
        assert!(!is_truthy(&Bson::Int64(0)));
        assert!(!is_truthy(&Bson::Null));
        assert!(!is_truthy(&Bson::String(String::new())));
    }
}
