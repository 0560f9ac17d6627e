//! Dotted-path lookup with MongoDB's implicit array traversal.
//!
//! `a.b` on `{a: [{b: 1}, {b: 2}]}` reaches `1` and `2`; a numeric
//! component indexes an array (`items.0.price`) and also looks inside
//! element documents for a field of that name. A document on the way that
//! lacks the next field is a *missing* branch (it matters for `{f: null}`
//! and `$exists`); scalars inside arrays are not branches at all.

use bson::{Bson, Document};

/// One branch reached by a path: `Some(value)` or `None` when missing.
pub(crate) type Reached<'a> = Option<&'a Bson>;

/// Every branch reached by `path` in `doc`. Never empty for a path whose
/// first component is absent (one missing branch); may be empty when the
/// path only runs through arrays of scalars.
pub(crate) fn resolve<'a>(doc: &'a Document, path: &str) -> Vec<Reached<'a>> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut out = Vec::new();
    in_document(doc, &parts, &mut out);
    out
}

fn in_document<'a>(doc: &'a Document, parts: &[&str], out: &mut Vec<Reached<'a>>) {
    match doc.get(parts[0]) {
        Some(v) => in_value(v, &parts[1..], out),
        None => out.push(None),
    }
}

fn in_value<'a>(v: &'a Bson, rest: &[&str], out: &mut Vec<Reached<'a>>) {
    if rest.is_empty() {
        out.push(Some(v));
        return;
    }
    match v {
        Bson::Document(d) => in_document(d, rest, out),
        Bson::Array(items) => {
            let index = array_index(rest[0]);
            if let Some(e) = index.and_then(|i| items.get(i)) {
                in_value(e, &rest[1..], out);
            }
            for e in items {
                if let Bson::Document(d) = e {
                    match d.get(rest[0]) {
                        Some(inner) => in_value(inner, &rest[1..], out),
                        // An element document without the field is a missing
                        // branch, unless the component was an array index.
                        None if index.is_none() => out.push(None),
                        None => {}
                    }
                }
            }
        }
        _ => out.push(None),
    }
}

/// A path component usable as an array index: plain decimal digits.
fn array_index(part: &str) -> Option<usize> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// The values found at a dotted path, descending through documents and
/// arrays (see the module docs). Missing branches are left out; an array
/// found at the end of the path is returned whole, not element by element.
///
/// ```
/// use bson::{doc, Bson};
/// let d = doc! {"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}]};
/// let found = eve_query::values_at_path(&d, "a.b");
/// assert_eq!(found, vec![&Bson::Int32(1), &Bson::Array(vec![2.into(), 3.into()])]);
/// ```
pub fn values_at_path<'a>(doc: &'a Document, path: &str) -> Vec<&'a Bson> {
    resolve(doc, path).into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn top_level_and_nested_fields() {
        let d = doc! {"a": 1, "b": {"c": {"d": "x"}}};
        assert_eq!(resolve(&d, "a"), vec![Some(&Bson::Int32(1))]);
        assert_eq!(resolve(&d, "b.c.d"), vec![Some(&Bson::String("x".into()))]);
        assert_eq!(resolve(&d, "zz"), vec![None]);
        assert_eq!(resolve(&d, "b.zz"), vec![None]);
        assert_eq!(resolve(&d, "a.zz"), vec![None], "a scalar has no fields");
    }

    #[test]
    fn arrays_of_documents_are_traversed() {
        let d = doc! {"a": [{"b": 1}, {"c": 2}, 5]};
        assert_eq!(resolve(&d, "a.b"), vec![Some(&Bson::Int32(1)), None]);
    }

    #[test]
    fn arrays_of_scalars_reach_nothing() {
        let d = doc! {"a": [1, 2], "e": []};
        assert!(resolve(&d, "a.b").is_empty());
        assert!(resolve(&d, "e.b").is_empty());
    }

    #[test]
    fn numeric_components_index_arrays() {
        let d = doc! {"items": [{"price": 5}, {"price": 7}], "tags": ["x", "y"]};
        assert_eq!(resolve(&d, "items.1.price"), vec![Some(&Bson::Int32(7))]);
        assert_eq!(resolve(&d, "tags.0"), vec![Some(&Bson::String("x".into()))]);
        assert!(resolve(&d, "tags.5").is_empty());
    }

    #[test]
    fn numeric_components_also_match_field_names_in_elements() {
        let d = doc! {"a": [{"0": "named"}, "idx"]};
        assert_eq!(
            resolve(&d, "a.0"),
            vec![
                Some(&Bson::Document(doc! {"0": "named"})),
                Some(&Bson::String("named".into()))
            ]
        );
    }

    #[test]
    fn nested_arrays_are_not_traversed_implicitly() {
        let d = doc! {"a": [[{"b": 1}]]};
        assert!(resolve(&d, "a.b").is_empty());
        assert_eq!(resolve(&d, "a.0.0.b"), vec![Some(&Bson::Int32(1))]);
    }

    #[test]
    fn values_at_path_drops_missing_branches() {
        let d = doc! {"a": [{"b": 1}, {"c": 2}]};
        assert_eq!(values_at_path(&d, "a.b"), vec![&Bson::Int32(1)]);
        assert!(values_at_path(&d, "nope").is_empty());
    }
}
