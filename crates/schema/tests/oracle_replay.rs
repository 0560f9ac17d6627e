//! Replays every case recorded from Python Eve by
//! `scripts/oracle/gen_validation_cases.py` (tests/data/oracle_cases.json)
//! through `serialize_payload` + `validate`, resolving pending store checks
//! against an in-memory fake of the seeded documents, and compares the
//! resulting `_issues` with Eve's, key order included.

use bson::{oid::ObjectId, Bson, Document};
use eve_query::{json_to_bson, DateFormat};
use eve_schema::{Mode, Options, PendingCheck, Registry, Schema};
use indexmap::IndexMap;
use serde_json::Value;

fn to_doc(v: &Value) -> Document {
    match json_to_bson(v) {
        Bson::Document(d) => d,
        other => panic!("not a document: {other:?}"),
    }
}

/// Stored form of a seeded/original document: ids as ObjectIds, the rest
/// through the schema's serializers.
fn stored(schema: &Schema, v: &Value) -> Document {
    let mut d = schema.serialize_payload(to_doc(v), &DateFormat::rfc1123());
    if let Some(Bson::String(s)) = d.get("_id").cloned() {
        if let Ok(oid) = ObjectId::parse_str(&s) {
            d.insert("_id", oid);
        }
    }
    d
}

fn lookup<'a>(doc: &'a Document, dotted: &str) -> Vec<&'a Bson> {
    let mut cur: Vec<&Bson> = Vec::new();
    let mut parts = dotted.split('.');
    let Some(first) = parts.next() else {
        return cur;
    };
    if let Some(v) = doc.get(first) {
        cur.push(v);
    }
    for p in parts {
        let mut next = Vec::new();
        for v in cur {
            match v {
                Bson::Document(d) => next.extend(d.get(p)),
                Bson::Array(a) => next.extend(
                    a.iter()
                        .filter_map(|x| x.as_document().and_then(|d| d.get(p))),
                ),
                _ => {}
            }
        }
        cur = next;
    }
    cur
}

fn matches(stored: &Bson, wanted: &Bson) -> bool {
    stored == wanted || matches!(stored, Bson::Array(a) if a.contains(wanted))
}

#[test]
fn replays_oracle_cases() {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/oracle_cases.json"
    ))
    .unwrap();
    let data: Value = serde_json::from_str(&raw).unwrap();
    let cases = data["cases"].as_array().unwrap();
    let users_schema = Schema::compile(
        &serde_json::from_value(serde_json::json!({"name": {"type": "string"}})).unwrap(),
        &Registry::default(),
        &DateFormat::rfc1123(),
    )
    .unwrap();
    let df = DateFormat::rfc1123();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let def: IndexMap<String, Value> = serde_json::from_value(case["schema"].clone()).unwrap();
        let schema = Schema::compile(&def, &Registry::default(), &df)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let options = Options {
            resource: case["resource"].as_str().unwrap().to_string(),
            allow_unknown: case["resource_settings"]["allow_unknown"]
                .as_bool()
                .unwrap_or(false),
            id_field: "_id".into(),
        };
        let original = case["original"]
            .as_object()
            .map(|_| stored(&schema, &case["original"]));
        let mode = match (case["mode"].as_str().unwrap(), &original) {
            ("insert", _) => Mode::Insert,
            ("replace", Some(o)) => Mode::Replace { original: o },
            ("update", Some(o)) => Mode::Update {
                original: o,
                normalize: true,
            },
            other => panic!("{name}: bad mode {other:?}"),
        };
        let payload = schema.serialize_payload(to_doc(&case["payload"]), &df);
        // The fake store: seeded documents per resource.
        let seeds = case["seed"].as_object().cloned().unwrap_or_default();
        let docs_of = |res: &str| -> Vec<Document> {
            let key = if res == options.resource { "self" } else { res };
            let s = if res == "users" {
                &users_schema
            } else {
                &schema
            };
            seeds
                .get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|d| stored(s, d)).collect())
                .unwrap_or_default()
        };
        let failed = |check: &PendingCheck| match check {
            PendingCheck::Unique { field, value, .. } => docs_of(&options.resource)
                .iter()
                .any(|d| lookup(d, field).into_iter().any(|v| matches(v, value))),
            PendingCheck::DataRelation {
                resource,
                field,
                value,
                ..
            } => !docs_of(resource)
                .iter()
                .any(|d| lookup(d, field).into_iter().any(|v| matches(v, value))),
        };
        // The first pass lists the checks; the second replays them with the
        // store's answers, as eve-core does.
        let first = schema.validate(payload.clone(), mode, &options);
        let outcome = if first.pending.is_empty() {
            first
        } else {
            let second = schema.validate_with_checks(payload, mode, &options, &failed);
            assert_eq!(
                second.pending, first.pending,
                "{name}: same checks in both passes"
            );
            // The simpler route, Issues::add, agrees except for the order of
            // several store messages on one field.
            let mut simple = first.clone();
            for c in &first.pending {
                if failed(c) {
                    let (path, text) = match c {
                        PendingCheck::Unique { path, value, .. } => {
                            (path, Schema::unique_message(value))
                        }
                        PendingCheck::DataRelation {
                            path,
                            resource,
                            field,
                            value,
                        } => (path, Schema::data_relation_message(value, resource, field)),
                    };
                    simple.issues.add(path, text);
                }
            }
            let sorted = |v: Value| {
                let mut t = serde_json::to_string(&v).unwrap().into_bytes();
                t.sort();
                t
            };
            assert_eq!(
                sorted(simple.issues.to_json(false)),
                sorted(second.issues.to_json(false)),
                "{name}"
            );
            second
        };

        let as_list = case["as_list"].as_bool().unwrap_or(false);
        let got = if outcome.issues.is_empty() {
            Value::Null
        } else {
            outcome.issues.to_json(as_list)
        };
        let expected = if case.get("deviation").is_some() {
            case["product_issues"].clone()
        } else if case["status"].as_u64().unwrap() < 300 {
            Value::Null
        } else {
            case["issues"].clone()
        };
        // Compare the serialized text so that key order counts too.
        if serde_json::to_string(&got).unwrap() != serde_json::to_string(&expected).unwrap() {
            failures.push(format!(
                "{name} payload={} as_list={as_list}\n   want {expected}\n   got  {got}",
                case["payload"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} oracle cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
