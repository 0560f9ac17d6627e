//! Value conversion: client strings (query values, URL variables, item
//! lookups) turned into the BSON types the documents store, as Eve does
//! (dates in `DATE_FORMAT`, 24-hex ObjectIds, the schema's serializers).
//! Used when a request is parsed, when it is planned, and at start-up
//! (datasource filters).

use bson::{Bson, Document};
use eve_query::DateFormat;

use crate::domain::{Domain, Resource};

/// Converts a value taken from the URL (item lookup, sub-resource
/// variable) to the type of `field`: the schema's type serializers run first
/// (integers, ObjectIds, UUIDs, custom types); a value they leave as a
/// string is converted as query strings are (dates, 24-hex ids), unless the
/// field is declared a string.
pub fn lookup_value(domain: &Domain, res: &Resource, field: &str, raw: &str) -> Bson {
    let types = res.schema.field_types(field);
    if types.iter().any(|t| t == "string") {
        return Bson::String(raw.to_string());
    }
    let mut probe = Document::new();
    probe.insert(field, raw);
    let probe = res
        .schema
        .serialize_payload(probe, &domain.settings.date_format);
    match probe.get(field) {
        Some(Bson::String(_)) | None => {
            convert_value(domain, res, field, Bson::String(raw.to_string()))
        }
        Some(converted) => converted.clone(),
    }
}

/// Converts client values in a query document: strings in `DATE_FORMAT`
/// become dates (any field); 24-hex strings become ObjectIds for the id
/// field, `objectid` fields, and any field unless `query_objectid_as_string`.
pub fn convert_query(domain: &Domain, res: &Resource, query: &mut Document) {
    convert_query_with(&domain.settings.date_format, res, query);
}

/// [`convert_query`] with only the setting it reads, so that start-up can
/// run it before the [`Domain`] exists.
pub(crate) fn convert_query_with(date_format: &DateFormat, res: &Resource, query: &mut Document) {
    for (key, value) in query.iter_mut() {
        match key.as_str() {
            "$and" | "$or" | "$nor" => {
                if let Bson::Array(items) = value {
                    for item in items {
                        if let Bson::Document(d) = item {
                            convert_query_with(date_format, res, d);
                        }
                    }
                }
            }
            _ => convert_in_place(date_format, res, key, value),
        }
    }
}

fn convert_in_place(date_format: &DateFormat, res: &Resource, path: &str, value: &mut Bson) {
    match value {
        Bson::String(_) => {
            let v = std::mem::replace(value, Bson::Null);
            *value = convert_value_with(date_format, res, path, v);
        }
        Bson::Array(items) => {
            for item in items {
                convert_in_place(date_format, res, path, item);
            }
        }
        Bson::Document(d) => {
            let is_operator_doc = d.keys().next().is_some_and(|k| k.starts_with('$'));
            for (k, v) in d.iter_mut() {
                if k == "$elemMatch" {
                    if let Bson::Document(inner) = v {
                        if inner.keys().next().is_some_and(|k| k.starts_with('$')) {
                            for (_, iv) in inner.iter_mut() {
                                convert_in_place(date_format, res, path, iv);
                            }
                        } else {
                            for (ik, iv) in inner.iter_mut() {
                                convert_in_place(date_format, res, &format!("{path}.{ik}"), iv);
                            }
                        }
                    }
                } else if matches!(
                    k.as_str(),
                    "$regex" | "$options" | "$type" | "$exists" | "$size" | "$mod"
                ) {
                    // operands that are never dates or ids
                } else if is_operator_doc {
                    convert_in_place(date_format, res, path, v);
                } else {
                    convert_in_place(date_format, res, &format!("{path}.{k}"), v);
                }
            }
        }
        _ => {}
    }
}

/// Converts one string value for `path` (see [`convert_query`]).
pub fn convert_value(domain: &Domain, res: &Resource, path: &str, value: Bson) -> Bson {
    convert_value_with(&domain.settings.date_format, res, path, value)
}

fn convert_value_with(date_format: &DateFormat, res: &Resource, path: &str, value: Bson) -> Bson {
    let Bson::String(s) = &value else {
        return value;
    };
    if let Some(date) = date_format.parse(s) {
        return Bson::DateTime(date);
    }
    if is_object_id(s) {
        let objectid_field =
            path == res.id_field || res.schema.field_types(path).iter().any(|t| t == "objectid");
        if objectid_field || !res.query_objectid_as_string {
            if let Ok(oid) = bson::oid::ObjectId::parse_str(s) {
                return Bson::ObjectId(oid);
            }
        }
    }
    value
}

/// A 24-character hexadecimal string.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
