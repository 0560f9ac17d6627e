//! Inputs of the validator benchmark (`benches/validate.rs`): a schema of
//! 21 rules over eight fields (nested dict and list item schemas included)
//! and a valid document of about 1 KB, plus an invalid variant.

use bson::Document;
use eve_query::{json_to_bson, DateFormat};
use eve_schema::{Registry, Schema};
use indexmap::IndexMap;
use serde_json::{json, Value};

/// The schema: 21 rules (counting `type`, `required`, `schema` ... each
/// once).
pub fn schema_json() -> Value {
    json!({
        "name": {"type": "string", "required": true, "maxlength": 50},
        "email": {"type": "string", "regex": "[^@]+@[^@]+\\.[a-z]+"},
        "age": {"type": "integer", "min": 0, "max": 150},
        "role": {"type": "string", "allowed": ["admin", "user", "guest"]},
        "tags": {"type": "list", "schema": {"type": "string"}},
        "address": {"type": "dict", "schema": {
            "city": {"type": "string", "required": true},
            "zip": {"type": "string", "regex": "[0-9]{5}"}
        }},
        "bio": {"type": "string", "maxlength": 800}
    })
}

/// Number of rules in [`schema_json`].
pub fn rule_count() -> usize {
    fn count(v: &Value) -> usize {
        match v {
            Value::Object(rules) => rules
                .iter()
                .map(|(k, v)| {
                    1 + match (k.as_str(), v) {
                        ("schema", Value::Object(m)) if m.contains_key("type") => count(v),
                        ("schema", Value::Object(m)) => m.values().map(count).sum(),
                        _ => 0,
                    }
                })
                .sum(),
            _ => 0,
        }
    }
    schema_json()
        .as_object()
        .expect("object")
        .values()
        .map(count)
        .sum()
}

/// The compiled schema.
pub fn schema() -> Schema {
    let def: IndexMap<String, Value> = serde_json::from_value(schema_json()).expect("schema map");
    Schema::compile(&def, &Registry::default(), &DateFormat::rfc1123()).expect("valid schema")
}

/// A valid document of about 1 KB (as JSON).
pub fn document_json() -> Value {
    json!({
        "name": "Ada Lovelace",
        "email": "ada@analytical-engine.org",
        "age": 36,
        "role": "admin",
        "tags": ["math", "poetry", "engines", "notes", "bernoulli", "computing"],
        "address": {"city": "London", "zip": "10001"},
        "bio": "Augusta Ada King, Countess of Lovelace, was an English mathematician and \
                writer, chiefly known for her work on Charles Babbage's proposed mechanical \
                general-purpose computer, the Analytical Engine. She was the first to \
                recognise that the machine had applications beyond pure calculation, and \
                published the first algorithm intended to be carried out by such a machine. \
                As a result, she is often regarded as one of the first computer programmers. \
                Her notes on the engine include what is recognised as the first algorithm \
                for a machine: a method for computing Bernoulli numbers. Between 1842 and \
                1843 she translated an article by the Italian engineer Luigi Menabrea. \
                Her work was rediscovered in the twentieth century, and the Ada \
                programming language is named after her."
    })
}

/// [`document_json`] as a BSON document.
pub fn document() -> Document {
    match json_to_bson(&document_json()) {
        bson::Bson::Document(d) => d,
        _ => unreachable!("an object"),
    }
}

/// The document with five failing fields (type, regex, max, allowed,
/// nested required).
pub fn invalid_document() -> Document {
    let mut j = document_json();
    j["age"] = json!(400);
    j["email"] = json!("not an email");
    j["role"] = json!("owner");
    j["tags"] = json!(["ok", 5]);
    j["address"] = json!({"zip": "1"});
    match json_to_bson(&j) {
        bson::Bson::Document(d) => d,
        _ => unreachable!("an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eve_schema::{Mode, Options};

    fn options() -> Options {
        Options {
            resource: "people".into(),
            allow_unknown: false,
            id_field: "_id".into(),
        }
    }

    #[test]
    fn the_inputs_have_the_advertised_sizes() {
        assert_eq!(rule_count(), 21);
        let size = serde_json::to_vec(&document_json()).expect("json").len();
        assert!((900..=1200).contains(&size), "{size} bytes");
    }

    #[test]
    fn the_document_is_valid_and_the_variant_is_not() {
        let s = schema();
        let ok = s.validate(document(), Mode::Insert, &options());
        assert!(ok.issues.is_empty(), "{:?}", ok.issues);
        let bad = s.validate(invalid_document(), Mode::Insert, &options());
        assert_eq!(bad.issues.fields.len(), 5, "{:?}", bad.issues);
    }
}
