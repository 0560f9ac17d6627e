//! Behaviour the oracle cannot show (eve-oracle drops Python-only settings
//! such as `coerce`, typesavers and registry extensions) or that eve-rs
//! adds: compile errors, extensions, coercion, modes, serializers.

use std::sync::Arc;

use bson::{doc, oid::ObjectId, Bson, Document};
use eve_query::{json_to_bson, DateFormat};
use eve_schema::{
    ConstraintKind, DefaultSetterError, Mode, Options, PendingCheck, Registry, Schema, SchemaError,
};
use indexmap::IndexMap;
use serde_json::{json, Value};

fn def(v: Value) -> IndexMap<String, Value> {
    serde_json::from_value(v).unwrap()
}

fn compile_with(schema: Value, registry: &Registry) -> Schema {
    Schema::compile(&def(schema), registry, &DateFormat::rfc1123())
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn compile(schema: Value) -> Schema {
    compile_with(schema, &Registry::default())
}

fn opts() -> Options {
    Options {
        resource: "things".into(),
        allow_unknown: false,
        id_field: "_id".into(),
    }
}

fn payload(v: Value) -> Document {
    match json_to_bson(&v) {
        Bson::Document(d) => d,
        _ => panic!("payload must be an object"),
    }
}

/// Serializes and validates `body` in `mode`; returns `_issues` (null when
/// valid), the normalized document and the pending checks.
fn run(schema: &Schema, body: Value, mode: Mode<'_>) -> (Value, Document, Vec<PendingCheck>) {
    let doc = schema.serialize_payload(payload(body), &DateFormat::rfc1123());
    let out = schema.validate(doc, mode, &opts());
    let issues = if out.issues.is_empty() {
        Value::Null
    } else {
        out.issues.to_json(false)
    };
    (issues, out.document, out.pending)
}

fn issues(schema: &Schema, body: Value) -> Value {
    run(schema, body, Mode::Insert).0
}

fn compile_errors(schema: Value) -> Vec<(String, String)> {
    match Schema::compile(&def(schema), &Registry::default(), &DateFormat::rfc1123()) {
        Ok(_) => Vec::new(),
        Err(errs) => errs
            .into_iter()
            .map(|SchemaError { path, message }| (path, message))
            .collect(),
    }
}

#[test]
fn compile_reports_every_problem_with_its_path() {
    let errs = compile_errors(json!({
        "a": {"type": "strng", "maxlenght": 3},
        "location": {"type": "dict", "schema": {"city": {"type": 5}, "bad.name": {"type": "string"}}},
        "b$": {"type": "string"},
        "c": {"minlength": "x", "regex": "(", "coerce": "nope", "check_with": "missing", "default_setter": "nothing"},
        "d": {"type": "objectid", "data_relation": {"field": "_id"}},
        "e": {"type": "datetime", "min": "yesterday"},
        "f": {"anyof": [{"type": "integer"}, {"tpye": "string"}]},
        "g": {"type": "dict", "schema": {"h": {"type": "dict", "schema": {"i.j": {"type": "string"}}}}},
    }));
    let paths: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
    for want in [
        "a.type",
        "a.maxlenght",
        "location.schema.city.type",
        "location.schema.bad.name",
        "b$",
        "c.minlength",
        "c.regex",
        "c.coerce",
        "c.check_with",
        "c.default_setter",
        "d.data_relation.resource",
        "e.min",
        "f.anyof.1.tpye",
    ] {
        assert!(paths.contains(&want), "missing {want} in {errs:?}");
    }
    // Only the first level of dict schemas is checked for dotted names.
    assert!(!paths.iter().any(|p| p.contains("i.j")), "{errs:?}");
    assert!(errs.contains(&("a.maxlenght".into(), "unknown rule 'maxlenght'".into())));
    assert!(errs.contains(&("a.type".into(), "unknown type 'strng'".into())));
}

#[test]
fn compile_accepts_the_whole_grammar() {
    let s = compile(json!({
        "a": {"type": "string", "required": true, "nullable": true, "empty": false, "readonly": false,
              "minlength": 1, "maxlength": 5, "allowed": ["x"], "forbidden": ["y"], "regex": "^x$",
              "meta": {"any": "thing"}, "unique": true, "versioned": false, "default": "x",
              "coerce": ["strip", "lower"], "excludes": "b", "dependencies": {"b": 1}},
        "b": {"type": ["integer", "string"], "anyof_type": ["integer"], "oneof": [{"min": 1}], "unique_to_user": true,
              "unique_within_resource": true, "rename_handler": "str"},
        "l": {"type": "list", "schema": {"type": "integer"}, "contains": 1, "items": [{"type": "integer"}],
              "keyschema": {"type": "string"}},
        "m": {"type": "dict", "valueschema": {"type": "integer"}, "keysrules": {"regex": "[a-z]+"},
              "allow_unknown": {"type": "string"}, "purge_unknown": true, "require_all": true},
        "when": {"type": "datetime", "min": "Tue, 02 Apr 2013 10:29:13 GMT", "default": "Tue, 02 Apr 2013 10:29:13 GMT"},
        "geo": {"type": ["point", "polygon", "featurecollection"]},
        "o": {"type": "objectid", "data_relation": {"resource": "users", "embeddable": true}},
    }));
    assert_eq!(s.field_names(), ["a", "b", "l", "m", "when", "geo", "o"]);
    assert_eq!(s.field_types("b"), ["integer", "string"]);
    assert_eq!(
        s.data_relations(),
        [("o".to_string(), "users".to_string(), None)]
    );
}

#[test]
fn field_types_descend_into_dicts_and_lists() {
    let s = compile(json!({
        "loc": {"type": "dict", "schema": {"city": {"type": "string"}, "pos": {"type": "point"}}},
        "tags": {"type": "list", "schema": {"type": "dict", "schema": {"id": {"type": "objectid",
                 "data_relation": {"resource": "tags", "field": "_id"}}}}},
    }));
    assert_eq!(s.field_types("loc.city"), ["string"]);
    assert_eq!(s.field_types("loc.pos"), ["point"]);
    assert_eq!(s.field_types("tags.id"), ["objectid"]);
    assert!(s.field_types("loc.nope").is_empty());
    assert_eq!(
        s.data_relations(),
        [(
            "tags.id".to_string(),
            "tags".to_string(),
            Some("_id".to_string())
        )]
    );
}

#[test]
fn builtin_coercers_follow_python() {
    let s = compile(json!({
        "badco": {"type": "integer", "coerce": "int"},
        "n": {"type": "integer", "nullable": true, "coerce": "int"},
        "flag": {"type": "boolean", "coerce": "to_bool"},
        "pybool": {"coerce": "bool"},
        "name": {"type": "string", "coerce": ["strip", "lower"]},
        "chain": {"type": "string", "coerce": ["int", "str"]},
        "s": {"type": "string", "coerce": "str"},
        "when": {"type": "datetime", "coerce": "datetime"},
        "ref": {"type": "objectid", "coerce": "objectid"},
        "f": {"type": "float", "coerce": "float"},
    }));
    let table = [
        (
            json!({"badco": "abc"}),
            json!({"badco": ["field 'badco' cannot be coerced: invalid literal for int() with base 10: 'abc'", "must be of integer type"]}),
        ),
        (json!({"badco": "12"}), Value::Null),
        (json!({"n": null}), Value::Null),
        (json!({"flag": "FALSE"}), Value::Null),
        (json!({"name": "  ABC "}), Value::Null),
        (
            json!({"chain": "x"}),
            json!({"chain": "field 'chain' cannot be coerced: invalid literal for int() with base 10: 'x'"}),
        ),
        (json!({"s": 5}), Value::Null),
        (
            json!({"f": "x"}),
            json!({"f": ["field 'f' cannot be coerced: could not convert string to float: 'x'", "must be of float type"]}),
        ),
        (
            json!({"badco": [1]}),
            json!({"badco": ["field 'badco' cannot be coerced: int() argument must be a string, a bytes-like object or a real number, not 'list'", "must be of integer type"]}),
        ),
    ];
    for (body, want) in table {
        assert_eq!(issues(&s, body.clone()), want, "{body}");
    }
    let (_, doc, _) = run(
        &s,
        json!({"flag": "false", "pybool": "false", "name": "  ABC ", "chain": "07", "s": true}),
        Mode::Insert,
    );
    assert!(!doc.get_bool("flag").unwrap());
    assert!(
        doc.get_bool("pybool").unwrap(),
        "Python bool('false') is True"
    );
    assert_eq!(doc.get_str("name").unwrap(), "abc");
    assert_eq!(doc.get_str("chain").unwrap(), "7");
    assert_eq!(doc.get_str("s").unwrap(), "True");
}

#[test]
fn typesavers_expand_to_logical_rules() {
    let s = compile(json!({
        "ts": {"anyof_type": ["string", "integer"]},
        "rx": {"type": "string", "anyof_regex": ["^ham", "spam$"]},
        "os": {"type": "dict", "oneof_schema": [{"a": {"type": "integer", "required": true}},
                                                 {"b": {"type": "string", "required": true}}]},
    }));
    let table = [
        (json!({"ts": "x"}), Value::Null),
        (json!({"ts": 1}), Value::Null),
        (
            json!({"ts": 1.5}),
            json!({"ts": ["no definitions validate", {"anyof definition 0": "must be of string type",
                                                       "anyof definition 1": "must be of integer type"}]}),
        ),
        // Full-match semantics: `^ham` + `$` accepts only "ham".
        (json!({"rx": "ham"}), Value::Null),
        (json!({"rx": "spam"}), Value::Null),
        (
            json!({"rx": "hammy"}),
            json!({"rx": ["no definitions validate", {"anyof definition 0": "value does not match regex '^ham'",
                                                       "anyof definition 1": "value does not match regex 'spam$'"}]}),
        ),
        (
            json!({"rx": "x"}),
            json!({"rx": ["no definitions validate", {"anyof definition 0": "value does not match regex '^ham'",
                                                       "anyof definition 1": "value does not match regex 'spam$'"}]}),
        ),
        (json!({"os": {"a": 1}}), Value::Null),
        (
            json!({"os": {"a": 1, "b": "x"}}),
            json!({"os": ["none or more than one rule validate",
                          {"oneof definition 0": {"b": "unknown field"}, "oneof definition 1": {"a": "unknown field"}}]}),
        ),
    ];
    for (body, want) in table {
        assert_eq!(issues(&s, body.clone()), want, "{body}");
    }
}

#[test]
fn datetime_constraints_are_parsed_with_date_format() {
    let s = compile(json!({
        "born": {"type": "datetime", "min": "Wed, 25 Feb 1987 17:00:00 GMT", "max": "Fri, 01 Jan 2010 00:00:00 GMT"},
        "at": {"type": "datetime", "default": "Tue, 02 Apr 2013 10:29:13 GMT"},
    }));
    assert_eq!(
        issues(&s, json!({"born": "Tue, 24 Feb 1987 17:00:00 GMT"})),
        json!({"born": "min value is 1987-02-25 17:00:00"})
    );
    assert_eq!(
        issues(&s, json!({"born": "Sat, 02 Jan 2010 00:00:00 GMT"})),
        json!({"born": "max value is 2010-01-01 00:00:00"})
    );
    let (i, doc, _) = run(
        &s,
        json!({"born": "Mon, 01 Jan 2001 00:00:00 GMT"}),
        Mode::Insert,
    );
    assert_eq!(i, Value::Null);
    assert!(matches!(doc.get("born"), Some(Bson::DateTime(_))));
    assert!(
        matches!(doc.get("at"), Some(Bson::DateTime(_))),
        "datetime default is a date"
    );
}

#[test]
fn registry_rules_types_and_checks_are_usable() {
    let registry = Registry::new()
        .register_rule(
            "isodd",
            ConstraintKind::Boolean,
            Arc::new(|c, _field, v, _ctx| {
                let n = match v {
                    Bson::Int32(i) => *i as i64,
                    Bson::Int64(i) => *i,
                    _ => return None,
                };
                (c.as_bool() == Some(true) && n % 2 == 0).then(|| "Value must be an odd number".to_string())
            }),
        )
        .register_type(
            "uuid",
            Arc::new(|v| matches!(v, Bson::String(s) if s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4)),
        )
        .register_check_with(
            "vat",
            Arc::new(|field, v, ctx| match v {
                Bson::String(s) if s.starts_with("IT") && s.len() == 13 => Vec::new(),
                _ => vec![format!("{field} is not a valid VAT number for {}", ctx.resource)],
            }),
        )
        .register_coercer("double", Arc::new(|v| match v {
            Bson::Int32(i) => Ok(Bson::Int32(i * 2)),
            _ => Err("not a number".into()),
        }))
        .register_default_setter("from_name", Arc::new(|doc| match doc.get_str("name") {
            Ok(n) => Ok(Bson::String(format!("{n}-slug"))),
            Err(_) => Ok(Bson::String("anon".into())),
        }))
        .register_default_setter("fails", Arc::new(|_| Err(DefaultSetterError::Failed("boom".into()))))
        .register_default_setter("a_from_b", Arc::new(|doc| doc.get("b").cloned().ok_or(DefaultSetterError::MissingField("b".into()))))
        .register_default_setter("b_from_a", Arc::new(|doc| doc.get("a").cloned().ok_or(DefaultSetterError::MissingField("a".into()))));
    let s = compile_with(
        json!({
            "oddity": {"type": "integer", "isodd": true},
            "id2": {"type": "uuid"},
            "vat": {"type": "string", "check_with": "vat", "maxlength": 13},
            "twice": {"type": "integer", "coerce": "double"},
            "name": {"type": "string"},
            "slug": {"type": "string", "default_setter": "from_name"},
        }),
        &registry,
    );
    assert_eq!(
        issues(&s, json!({"oddity": 2})),
        json!({"oddity": "Value must be an odd number"})
    );
    assert_eq!(issues(&s, json!({"oddity": 3})), Value::Null);
    assert_eq!(
        issues(&s, json!({"id2": "123e4567-e89b-12d3-a456-426614174000"})),
        Value::Null
    );
    assert_eq!(
        issues(&s, json!({"id2": "nope"})),
        json!({"id2": "must be of uuid type"})
    );
    assert_eq!(
        issues(&s, json!({"vat": "DE12345678901234"})),
        json!({"vat": ["vat is not a valid VAT number for things", "max length is 13"]}),
        "custom messages sort before rule messages, as in Cerberus"
    );
    assert_eq!(
        issues(&s, json!({"twice": "x"})),
        json!({"twice": ["field 'twice' cannot be coerced: not a number", "must be of integer type"]})
    );
    let (i, doc, _) = run(&s, json!({"twice": 4, "name": "Ann"}), Mode::Insert);
    assert_eq!(i, Value::Null);
    assert_eq!(doc.get_i32("twice").unwrap(), 8);
    assert_eq!(doc.get_str("slug").unwrap(), "Ann-slug");
    // A stored field is not recomputed in PUT/PATCH.
    let stored = doc! {"name": "Old", "slug": "old-slug"};
    let (_, doc, _) = run(
        &s,
        json!({"name": "New"}),
        Mode::Replace { original: &stored },
    );
    assert!(!doc.contains_key("slug"));

    let s = compile_with(
        json!({"x": {"type": "string", "default_setter": "fails"},
               "a": {"type": "integer", "default_setter": "a_from_b"},
               "b": {"type": "integer", "default_setter": "b_from_a"}}),
        &registry,
    );
    assert_eq!(
        issues(&s, json!({})),
        json!({"a": "default value for 'a' cannot be set: Circular dependencies of default setters.",
               "b": "default value for 'b' cannot be set: Circular dependencies of default setters.",
               "x": "default value for 'x' cannot be set: boom"})
    );
    assert_eq!(
        issues(&s, json!({"b": 2})),
        json!({"x": "default value for 'x' cannot be set: boom"}),
        "a setter waiting for a field runs once the field is there"
    );
}

#[test]
fn rename_and_rename_handler_move_fields_first() {
    let registry = Registry::new().register_coercer(
        "upper_name",
        Arc::new(|v| match v {
            Bson::String(s) => Ok(Bson::String(s.to_uppercase())),
            _ => Err("bad".into()),
        }),
    );
    let s = compile_with(
        json!({"old": {"rename": "new"}, "new": {"type": "integer"}, "x": {"rename_handler": "upper_name"},
               "X": {"type": "string"}}),
        &registry,
    );
    let (i, doc, _) = run(&s, json!({"old": 1, "x": "v"}), Mode::Insert);
    assert_eq!(i, Value::Null);
    assert_eq!(doc, doc! {"new": 1, "X": "v"});
}

#[test]
fn modes_handle_required_readonly_defaults_and_dependencies() {
    let s = compile(json!({
        "a": {"type": "string", "required": true},
        "ro": {"type": "string", "readonly": true},
        "dep": {"type": "string", "dependencies": "b"},
        "b": {"type": "string"},
        "c": {"type": "string", "default": "cd"},
        "sub": {"type": "dict", "schema": {"p": {"type": "string", "default": "pd"}, "q": {"type": "string"}}},
    }));
    let stored = doc! {"_id": ObjectId::new(), "a": "x", "ro": "stored", "b": "y", "c": "keep"};
    // Insert: required enforced, readonly rejected.
    assert_eq!(
        issues(&s, json!({"ro": "z"})),
        json!({"a": "required field", "ro": "field is read-only"})
    );
    // Replace: readonly accepted when unchanged; defaults applied.
    let (i, doc, _) = run(
        &s,
        json!({"a": "x", "ro": "stored"}),
        Mode::Replace { original: &stored },
    );
    assert_eq!(i, Value::Null);
    assert_eq!(doc.get_str("c").unwrap(), "cd");
    let (i, _, _) = run(
        &s,
        json!({"a": "x", "ro": "new"}),
        Mode::Replace { original: &stored },
    );
    assert_eq!(i, json!({"ro": "field is read-only"}));
    // Update: no required; stored dependencies count; stored fields keep
    // their value; sub-document defaults are filled in.
    let upd = Mode::Update {
        original: &stored,
        normalize: true,
    };
    let (i, doc, _) = run(&s, json!({"dep": "x", "sub": {"q": "v"}}), upd);
    assert_eq!(i, Value::Null);
    assert!(
        !doc.contains_key("c"),
        "stored field not reset to its default"
    );
    assert_eq!(
        doc.get_document("sub").unwrap(),
        &doc! {"q": "v", "p": "pd"}
    );
    let (_, doc, _) = run(
        &s,
        json!({"b": "z"}),
        Mode::Update {
            original: &stored,
            normalize: false,
        },
    );
    assert_eq!(
        doc,
        doc! {"b": "z"},
        "no normalization without normalize_on_patch"
    );
    let bare = doc! {"a": "x"};
    let (i, _, _) = run(
        &s,
        json!({"dep": "x"}),
        Mode::Update {
            original: &bare,
            normalize: true,
        },
    );
    assert_eq!(i, json!({"dep": "field 'b' is required"}));
}

#[test]
fn meta_and_id_fields() {
    let s = compile(json!({"name": {"type": "string"}}));
    assert_eq!(
        issues(&s, json!({"_updated": "x", "_etag": "y"})),
        json!({"_etag": "unknown field", "_updated": "unknown field"})
    );
    let (i, doc, _) = run(
        &s,
        json!({"_id": "5f0000000000000000000001", "name": "x"}),
        Mode::Insert,
    );
    assert_eq!(i, Value::Null, "id_field is implicitly an objectid field");
    assert!(doc.contains_key("_id"));
    assert_eq!(
        issues(&s, json!({"_id": 5})),
        json!({"_id": "must be of objectid type"})
    );
}

#[test]
fn pending_checks_describe_store_lookups() {
    let s = compile(json!({
        "u": {"type": "string", "unique": true},
        "w": {"type": "string", "unique_within_resource": true},
        "sub": {"type": "dict", "schema": {"k": {"type": "string", "unique_to_user": true}}},
        "refs": {"type": "list", "schema": {"type": "objectid", "data_relation": {"resource": "users"}}},
        "dbr": {"type": "dbref", "data_relation": {"resource": "users", "field": "_id"}},
        "v": {"type": "dict", "data_relation": {"resource": "users", "field": "_id", "version": true}},
    }));
    let oid = ObjectId::parse_str("5f0000000000000000000001").unwrap();
    let (i, _, pending) = run(
        &s,
        json!({"u": "a", "w": "b", "sub": {"k": "c"}, "refs": ["5f0000000000000000000001"],
               "dbr": {"$ref": "users", "$id": "5f0000000000000000000001"}, "v": {"_id": 1}}),
        Mode::Insert,
    );
    assert_eq!(
        i,
        json!({"v": "versioned data_relation must be a dict with fields '_id' and '_version'"})
    );
    assert_eq!(
        pending,
        vec![
            PendingCheck::Unique {
                path: vec!["u".into()],
                field: "u".into(),
                value: "a".into(),
                within_resource: false,
                to_user: false
            },
            PendingCheck::Unique {
                path: vec!["w".into()],
                field: "w".into(),
                value: "b".into(),
                within_resource: true,
                to_user: false
            },
            PendingCheck::Unique {
                path: vec!["sub".into(), "k".into()],
                field: "sub.k".into(),
                value: "c".into(),
                within_resource: false,
                to_user: true
            },
            PendingCheck::DataRelation {
                path: vec!["refs".into(), "0".into()],
                resource: "users".into(),
                field: "_id".into(),
                value: Bson::ObjectId(oid)
            },
            // A DBRef's `$id` is converted like a plain id (oracle:
            // scripts/compare/writes/dbref.json).
            PendingCheck::DataRelation {
                path: vec!["dbr".into()],
                resource: "users".into(),
                field: "_id".into(),
                value: Bson::ObjectId(oid)
            },
        ]
    );
    assert_eq!(
        Schema::unique_message(&Bson::Null),
        "value 'None' is not unique"
    );
    assert_eq!(
        Schema::unique_message(&Bson::Double(1.0)),
        "value '1.0' is not unique"
    );
    assert_eq!(
        Schema::data_relation_message(&Bson::ObjectId(oid), "users", "_id"),
        "value '5f0000000000000000000001' must exist in resource 'users', field '_id'."
    );
    let mut s2 = compile(json!({"o": {"type": "string", "data_relation": {"resource": "people"}}}));
    s2.set_relation_id_field("people", "slug");
    let (_, _, pending) = run(&s2, json!({"o": "x"}), Mode::Insert);
    assert!(matches!(&pending[0], PendingCheck::DataRelation { field, .. } if field == "slug"));
}

#[test]
fn serializers_convert_payload_values() {
    let s = compile(json!({
        "i": {"type": "integer"}, "f": {"type": "float"}, "n": {"type": "number"}, "b": {"type": "boolean"},
        "d": {"type": "datetime"}, "o": {"type": "objectid"}, "dec": {"type": "decimal"},
        "r": {"type": "dbref"},
        "sub": {"type": "dict", "schema": {"when": {"type": "datetime"}}},
        "l": {"type": "list", "schema": {"type": "objectid"}},
        "it": {"type": "list", "items": [{"type": "integer"}, {"type": "boolean"}]},
        "vs": {"type": "dict", "valuesrules": {"type": "objectid"}},
        "any": {"anyof": [{"type": "datetime"}, {"type": "string"}]},
        "ii": {"type": "integer"},
    }));
    let oid = ObjectId::parse_str("5f0000000000000000000001").unwrap();
    let d = DateFormat::rfc1123()
        .parse("Tue, 02 Apr 2013 10:29:13 GMT")
        .unwrap();
    let out = s.serialize_payload(
        payload(json!({
            "i": "5", "f": 2, "n": "3.5", "b": "TRUE", "d": "Tue, 02 Apr 2013 10:29:13 GMT",
            "o": "5f0000000000000000000001", "dec": 1.5, "r": {"$col": "users", "$id": 1},
            "sub": {"when": "Tue, 02 Apr 2013 10:29:13 GMT"}, "l": ["5f0000000000000000000001"],
            "it": [2.0, 0], "vs": {"k": "5f0000000000000000000001"},
            "any": "Tue, 02 Apr 2013 10:29:13 GMT", "ii": 5.5, "unknown": "5",
        })),
        &DateFormat::rfc1123(),
    );
    assert_eq!(out.get("i"), Some(&Bson::Int32(5)));
    assert_eq!(out.get("f"), Some(&Bson::Double(2.0)));
    assert_eq!(out.get("n"), Some(&Bson::Double(3.5)));
    assert_eq!(out.get("b"), Some(&Bson::Boolean(true)));
    assert_eq!(out.get("d"), Some(&Bson::DateTime(d)));
    assert_eq!(out.get("o"), Some(&Bson::ObjectId(oid)));
    assert_eq!(out.get("dec").map(|v| v.to_string()), Some("1.5".into()));
    assert_eq!(
        out.get_document("r").unwrap(),
        &doc! {"$ref": "users", "$id": 1}
    );
    assert_eq!(
        out.get_document("sub").unwrap(),
        &doc! {"when": Bson::DateTime(d)}
    );
    assert_eq!(out.get_array("l").unwrap(), &vec![Bson::ObjectId(oid)]);
    assert_eq!(
        out.get_array("it").unwrap(),
        &vec![Bson::Int32(2), Bson::Boolean(false)]
    );
    // Mapping values are stored as sent (see mapping_values_are_validated_not_converted).
    assert_eq!(
        out.get_document("vs").unwrap(),
        &doc! {"k": "5f0000000000000000000001"}
    );
    assert_eq!(out.get("any"), Some(&Bson::DateTime(d)));
    assert_eq!(
        out.get("ii"),
        Some(&Bson::Double(5.5)),
        "safer integer serializer leaves 5.5 to validation"
    );
    assert_eq!(out.get_str("unknown").unwrap(), "5");
}

#[test]
fn geojson_custom_fields_option() {
    let strict = compile(json!({"p": {"type": "point"}, "f": {"type": "feature"}}));
    let lax = compile_with(
        json!({"p": {"type": "point"}, "f": {"type": "feature"}}),
        &Registry::new().allow_custom_fields_in_geojson(true),
    );
    let body = json!({"p": {"type": "Point", "coordinates": [1, 2], "crs": {}},
                      "f": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}}});
    assert_eq!(
        issues(&strict, body.clone()),
        json!({"f": "must be of feature type", "p": "must be of point type"})
    );
    assert_eq!(issues(&lax, body), Value::Null);
}

#[test]
fn purge_unknown_and_allow_unknown_rules_normalize_sub_documents() {
    let s = compile(json!({
        "pu": {"type": "dict", "purge_unknown": true, "schema": {"a": {"type": "string"}}},
        "au": {"type": "dict", "allow_unknown": {"type": "integer", "coerce": "int"}, "schema": {}},
    }));
    let (i, doc, _) = run(
        &s,
        json!({"pu": {"a": "x", "z": 1}, "au": {"k": "5"}}),
        Mode::Insert,
    );
    assert_eq!(i, Value::Null);
    assert_eq!(doc, doc! {"pu": {"a": "x"}, "au": {"k": 5}});
}

#[test]
fn issues_render_as_lists_when_asked() {
    let s = compile(
        json!({"dsch": {"type": "dict", "schema": {"a": {"type": "integer"},
                           "b": {"type": "dict", "schema": {"c": {"type": "string", "required": true}}}}}}),
    );
    let out = s.validate(
        payload(json!({"dsch": {"a": "x", "b": {}}})),
        Mode::Insert,
        &opts(),
    );
    assert_eq!(
        out.issues.to_json(true),
        json!({"dsch": [{"a": ["must be of integer type"], "b": [{"c": ["required field"]}]}]})
    );
}

#[test]
fn mapping_values_are_validated_not_converted() {
    // Eve never converts mapping values (its `valueschema` serializer branch
    // is dead: Cerberus renames the rule to `valuesrules` in place), so a
    // string against an integer rule is an error under either name, also
    // inside a dict value; ObjectId-like strings are valid objectids and
    // stay strings (oracle: scripts/compare/writes/maps.json).
    let s = compile(json!({
        "vs": {"type": "dict", "valuesrules": {"type": "integer", "min": 10}},
        "old": {"type": "dict", "valueschema": {"type": "integer"}},
        "ids": {"type": "dict", "valueschema": {"type": "objectid"}},
        "subs": {"type": "dict", "valuesrules": {"type": "dict", "schema": {"n": {"type": "integer"}}}},
        "ks": {"type": "dict", "keysrules": {"type": "string", "regex": "[a-z]+"}},
        "ko": {"type": "dict", "keyschema": {"type": "string", "minlength": 3}},
    }));
    assert_eq!(
        issues(
            &s,
            json!({"vs": {"k1": "1", "k2": 5, "k3": 12}, "old": {"a": "2"}})
        ),
        json!({"vs": {"k1": "must be of integer type", "k2": "min value is 10"},
               "old": {"a": "must be of integer type"}})
    );
    assert_eq!(
        issues(&s, json!({"ks": {"AB": 1, "ok": 2}, "ko": {"ab": 1}})),
        json!({"ks": {"AB": "value does not match regex '[a-z]+'"}, "ko": {"ab": "min length is 3"}})
    );
    assert_eq!(
        issues(&s, json!({"subs": {"x": {"n": "7"}}})),
        json!({"subs": {"x": {"n": "must be of integer type"}}})
    );
    let (errs, out, _) = run(
        &s,
        json!({"ids": {"a": "5f0000000000000000000001"}, "subs": {"x": {"n": 7}}}),
        Mode::Insert,
    );
    assert_eq!(errs, Value::Null);
    assert_eq!(
        out.get_document("ids").unwrap(),
        &doc! {"a": "5f0000000000000000000001"}
    );
    assert_eq!(out.get_document("subs").unwrap(), &doc! {"x": {"n": 7}});
}

#[test]
fn dbref_relations_are_checked_by_their_converted_id() {
    // Eve looks the `$id` up through its query converter: an ObjectId-like
    // string is looked up as an ObjectId, anything else as it is.
    let s = compile(json!({"r": {"type": "dbref", "data_relation": {"resource": "people"}}}));
    let oid = ObjectId::parse_str("5f0000000000000000000001").unwrap();
    for (id, looked_up) in [
        (json!("5f0000000000000000000001"), Bson::ObjectId(oid)),
        (json!("notanid"), Bson::String("notanid".into())),
        (json!(7), Bson::Int32(7)),
    ] {
        let (errs, out, pending) = run(
            &s,
            json!({"r": {"$col": "people", "$id": id.clone()}}),
            Mode::Insert,
        );
        assert_eq!(errs, Value::Null);
        assert!(
            matches!(&pending[..], [PendingCheck::DataRelation { value, .. }] if *value == looked_up),
            "{id}: {pending:?}"
        );
        // Stored as sent.
        assert_eq!(
            out.get_document("r").unwrap().get("$id"),
            Some(&json_to_bson(&id))
        );
    }
}
