//! Payload preparation, before validation: dotted keys expanded
//! (`NORMALIZE_DOTTED_FIELDS`), single values wrapped into lists
//! (`AUTO_CREATE_LISTS`), sub-resource URL variables injected and the
//! schema's type serializers run. The same for HTTP requests and the data
//! API. The request layer bounds the nesting depth of what it hands in, so
//! the recursion below stays within `MAX_JSON_DEPTH` levels for client
//! input.

use bson::{Bson, Document};
use eve_core::{Domain, Resource};

/// Turns one payload element into a document ready for validation;
/// `None` when it is not a document.
pub(crate) fn prepare(
    domain: &Domain,
    res: &Resource,
    input: Bson,
    url_vars: &[(String, String)],
) -> Option<Document> {
    let Bson::Document(mut doc) = input else {
        return None;
    };
    // Without dotted keys the expansion would rebuild the same document.
    if res.normalize_dotted_fields && has_dotted_keys(&doc) {
        doc = expand_dotted(doc);
    }
    if domain.settings.auto_create_lists {
        auto_create_lists(&res.schema, &mut doc, "");
    }
    if !url_vars.is_empty() {
        let schema_fields = res.schema.field_names();
        for (field, raw) in url_vars {
            if field != &res.id_field && schema_fields.contains(&field.as_str()) {
                doc.insert(field.clone(), Bson::String(raw.clone()));
            }
        }
    }
    Some(
        res.schema
            .serialize_payload(doc, &domain.settings.date_format),
    )
}

/// `AUTO_CREATE_LISTS`: a single (non-null) value sent for a field whose
/// type includes `list` becomes a one-element list, at any depth of dict
/// schemas and list-of-dict schemas, before the type serializers run (as
/// Eve does while serializing the payload).
fn auto_create_lists(schema: &eve_schema::Schema, doc: &mut Document, prefix: &str) {
    for (key, value) in doc.iter_mut() {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let is_list_field = schema.field_types(&path).iter().any(|t| t == "list");
        if is_list_field && !matches!(value, Bson::Array(_) | Bson::Null) {
            let single = std::mem::replace(value, Bson::Null);
            *value = Bson::Array(vec![single]);
        }
        match value {
            Bson::Document(sub) => auto_create_lists(schema, sub, &path),
            Bson::Array(items) => {
                for item in items {
                    if let Bson::Document(sub) = item {
                        auto_create_lists(schema, sub, &path);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether [`expand_dotted`] has anything to expand (it descends into
/// sub-documents, not into lists).
fn has_dotted_keys(doc: &Document) -> bool {
    doc.iter()
        .any(|(k, v)| k.contains('.') || matches!(v, Bson::Document(d) if has_dotted_keys(d)))
}

/// Expands dotted keys (`"a.b": 1` → `{"a": {"b": 1}}`).
fn expand_dotted(doc: Document) -> Document {
    let mut out = Document::new();
    for (key, value) in doc {
        let value = match value {
            Bson::Document(d) => Bson::Document(expand_dotted(d)),
            other => other,
        };
        insert_path(&mut out, &key, value);
    }
    out
}

fn insert_path(doc: &mut Document, path: &str, value: Bson) {
    match path.split_once('.') {
        Some((head, rest)) if !head.is_empty() && !rest.is_empty() => {
            if !matches!(doc.get(head), Some(Bson::Document(_))) {
                doc.insert(head, Document::new());
            }
            if let Some(Bson::Document(sub)) = doc.get_mut(head) {
                insert_path(sub, rest, value);
            }
        }
        _ => match (doc.get_mut(path), value) {
            (Some(Bson::Document(existing)), Bson::Document(new)) => {
                for (k, v) in new {
                    insert_path(existing, &k, v);
                }
            }
            (_, value) => {
                doc.insert(path, value);
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn dotted_keys_expand_and_merge_with_nested_ones() {
        let expanded = expand_dotted(doc! {"a.b": 1, "a": {"c": 2}, "x": {"y.z": 3}});
        assert_eq!(expanded, doc! {"a": {"b": 1, "c": 2}, "x": {"y": {"z": 3}}});
        assert!(!has_dotted_keys(&expanded));
    }
}
