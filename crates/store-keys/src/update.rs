//! MongoDB's update operators on one document, as every layer that
//! stores BSON bytes applies them: `$set` and `$unset` of dotted paths,
//! and `_id` first in a stored document.

use bson::{oid::ObjectId, Bson, Document};
use eve_store::{StoreError, StoreResult};

/// Refuses an `_id` MongoDB refuses (an array).
pub fn check_id(id: &Bson) -> StoreResult<()> {
    match id {
        Bson::Array(_) => Err(StoreError::InvalidQuery("_id cannot be an array".into())),
        _ => Ok(()),
    }
}

/// The document as stored: `_id` first (a new ObjectId when missing).
pub fn with_id_first(mut doc: Document, id: Option<Bson>) -> (Bson, Document) {
    let id = id
        .or_else(|| doc.remove("_id"))
        .unwrap_or_else(|| Bson::ObjectId(ObjectId::new()));
    doc.remove("_id");
    let mut out = Document::new();
    out.insert("_id", id.clone());
    out.extend(doc);
    (id, out)
}

/// `old` after MongoDB's `$set` of `set` (dotted paths) then `$unset` of
/// `unset`; `_id` (and any path under it) is never changed.
pub fn apply_update(old: &Document, set: &Document, unset: &[String]) -> StoreResult<Document> {
    let mut new = old.clone();
    for (path, value) in set {
        if path == "_id" || path.starts_with("_id.") {
            // `_id` is immutable; the stored one stays.
            continue;
        }
        set_path(&mut new, path, value.clone()).map_err(StoreError::InvalidQuery)?;
    }
    for path in unset {
        if path == "_id" || path.starts_with("_id.") {
            continue;
        }
        unset_path(&mut new, path).map_err(StoreError::InvalidQuery)?;
    }
    Ok(new)
}

/// MongoDB `$unset` of one dotted path: removes the field; a missing path
/// (or one through a scalar) changes nothing; a numeric segment into an
/// array sets that element to null, as MongoDB does.
pub fn unset_path(doc: &mut Document, path: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("invalid update path '{path}'"));
    }
    unset_in_doc(doc, &segments);
    Ok(())
}

fn unset_in_doc(doc: &mut Document, segments: &[&str]) {
    match segments {
        [] => {}
        [last] => {
            doc.remove(*last);
        }
        [seg, rest @ ..] => {
            if let Some(child) = doc.get_mut(*seg) {
                unset_in_value(child, rest);
            }
        }
    }
}

fn unset_in_value(target: &mut Bson, segments: &[&str]) {
    match target {
        Bson::Document(d) => unset_in_doc(d, segments),
        Bson::Array(items) => {
            let Some((seg, rest)) = segments.split_first() else {
                return;
            };
            let Ok(i) = seg.parse::<usize>() else {
                return;
            };
            let Some(item) = items.get_mut(i) else {
                return;
            };
            if rest.is_empty() {
                *item = Bson::Null;
            } else {
                unset_in_value(item, rest);
            }
        }
        _ => {}
    }
}

/// The largest array position `set_path` pads up to, against runaway
/// allocations from a hostile path like `a.999999999`.
const MAX_ARRAY_PAD: usize = 100_000;

/// MongoDB `$set` of one dotted path: intermediate documents are created,
/// numeric segments index into arrays (padding with nulls).
pub fn set_path(doc: &mut Document, path: &str, value: Bson) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("invalid update path '{path}'"));
    }
    // The path would build a document deeper than the store holds (and the
    // descent below recurses once per segment).
    if segments.len() > eve_store::MAX_DOCUMENT_DEPTH {
        return Err(format!(
            "the update path has {} segments, deeper than a document may hold",
            segments.len()
        ));
    }
    set_in_doc(doc, &segments, value, path)
}

fn set_in_doc(
    doc: &mut Document,
    segments: &[&str],
    value: Bson,
    path: &str,
) -> Result<(), String> {
    let Some((seg, rest)) = segments.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        doc.insert(*seg, value);
        return Ok(());
    }
    if !doc.contains_key(*seg) {
        doc.insert(*seg, Document::new());
    }
    match doc.get_mut(*seg) {
        Some(child) => set_in_value(child, rest, value, path),
        None => Err(format!("cannot set '{path}'")),
    }
}

fn set_in_value(
    target: &mut Bson,
    segments: &[&str],
    value: Bson,
    path: &str,
) -> Result<(), String> {
    match target {
        Bson::Document(d) => set_in_doc(d, segments, value, path),
        Bson::Array(items) => {
            let Some((seg, rest)) = segments.split_first() else {
                return Ok(());
            };
            let i: usize = seg
                .parse()
                .map_err(|_| format!("cannot create field '{seg}' in an array (path '{path}')"))?;
            if i > MAX_ARRAY_PAD {
                return Err(format!("array position {i} too large in '{path}'"));
            }
            while items.len() <= i {
                items.push(Bson::Null);
            }
            if rest.is_empty() {
                items[i] = value;
                return Ok(());
            }
            if matches!(items[i], Bson::Null) {
                items[i] = Bson::Document(Document::new());
            }
            set_in_value(&mut items[i], rest, value, path)
        }
        other => Err(format!(
            "cannot create field '{}' in element of type {:?} (path '{path}')",
            segments.first().copied().unwrap_or(""),
            other.element_type()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn set_path_creates_intermediate_documents() {
        let mut d = doc! {"a": 1};
        assert!(set_path(&mut d, "b.c.d", Bson::Int32(2)).is_ok());
        assert_eq!(d, doc! {"a": 1, "b": {"c": {"d": 2}}});
        assert!(set_path(&mut d, "b.c.e", Bson::Int32(3)).is_ok());
        assert_eq!(d, doc! {"a": 1, "b": {"c": {"d": 2, "e": 3}}});
        let deep = vec!["x"; 100_000].join(".");
        assert!(set_path(&mut d, &deep, Bson::Int32(4)).is_err());
        assert_eq!(d, doc! {"a": 1, "b": {"c": {"d": 2, "e": 3}}});
    }

    #[test]
    fn set_path_indexes_into_arrays() {
        let mut d = doc! {"a": [1, {"x": 1}]};
        assert!(set_path(&mut d, "a.1.x", Bson::Int32(9)).is_ok());
        assert!(set_path(&mut d, "a.3", Bson::Int32(7)).is_ok());
        assert_eq!(d, doc! {"a": [1, {"x": 9}, null, 7]});
    }

    #[test]
    fn set_path_refuses_to_descend_into_scalars() {
        let mut d = doc! {"a": 1};
        assert!(set_path(&mut d, "a.b", Bson::Int32(2)).is_err());
        assert!(set_path(&mut d, "a..b", Bson::Int32(2)).is_err());
        assert!(set_path(&mut d, "", Bson::Int32(2)).is_err());
        let mut d = doc! {"a": [1]};
        assert!(set_path(&mut d, "a.x", Bson::Int32(2)).is_err());
        assert!(set_path(&mut d, "a.99999999999", Bson::Int32(2)).is_err());
    }

    #[test]
    fn unset_path_removes_fields_and_nulls_array_elements() {
        let mut d = doc! {"a": {"b": 1, "c": 2}, "l": [1, {"x": 1, "y": 2}], "s": 3};
        assert!(unset_path(&mut d, "a.b").is_ok());
        assert!(unset_path(&mut d, "l.1.x").is_ok());
        assert!(unset_path(&mut d, "l.0").is_ok());
        assert!(unset_path(&mut d, "s.z").is_ok());
        assert!(unset_path(&mut d, "missing.deep").is_ok());
        assert_eq!(d, doc! {"a": {"c": 2}, "l": [null, {"y": 2}], "s": 3});
        assert!(unset_path(&mut d, "a..b").is_err());
    }

    #[test]
    fn stored_documents_put_id_first() {
        let (id, d) = with_id_first(doc! {"a": 1, "_id": 5}, None);
        assert_eq!(id, Bson::Int32(5));
        assert_eq!(d.keys().next().map(String::as_str), Some("_id"));
        let (id, _) = with_id_first(doc! {"a": 1}, None);
        assert!(matches!(id, Bson::ObjectId(_)));
    }
}
