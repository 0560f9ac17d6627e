//! Settings of embedding (features.md §30): `EMBEDDED_MAX_DOCUMENTS`,
//! embeddable versioned relations (accepted and resolved as versioned),
//! the warning for `embedded_fields` that embed nothing, and embedding
//! settings that start without a warning now that embedding is built.

use eve_core::settings::{check, parse_str, Format, SettingsError};
use eve_core::Domain;
use eve_schema::Registry;

fn yaml(text: &str) -> Result<Domain, SettingsError> {
    check(
        parse_str(text, Format::Yaml).expect("valid YAML"),
        &Registry::default(),
    )
}

#[test]
fn embedded_max_documents_defaults_to_1000_and_must_be_positive() {
    let d = yaml("DOMAIN: {}").unwrap();
    assert_eq!(d.settings.embedded_max_documents, 1000);
    assert!(d.warnings.is_empty(), "{:#?}", d.warnings);
    let d = yaml("EMBEDDED_MAX_DOCUMENTS: 7\nDOMAIN: {}").unwrap();
    assert_eq!(d.settings.embedded_max_documents, 7);
    assert!(d.warnings.is_empty(), "{:#?}", d.warnings);
    for bad in ["0", "-1", "many", "[1]"] {
        let e = yaml(&format!("EMBEDDED_MAX_DOCUMENTS: {bad}\nDOMAIN: {{}}")).unwrap_err();
        assert!(e.has_problem_at("EMBEDDED_MAX_DOCUMENTS"), "{bad}: {e}");
    }
}

#[test]
fn embedding_settings_start_without_a_warning() {
    let d = yaml(
        r#"
EMBEDDING: true
DOMAIN:
  people:
    embedded_fields: [boss, team]
    schema:
      boss: {type: objectid, data_relation: {resource: people, embeddable: true}}
      team:
        type: list
        schema: {type: objectid, data_relation: {resource: people, embeddable: true}}
      plain: {type: objectid, data_relation: {resource: people}}
"#,
    )
    .unwrap();
    assert!(d.warnings.is_empty(), "{:#?}", d.warnings);
    let people = &d.resources["people"];
    assert!(people.embedding);
    assert_eq!(people.embedded_fields, ["boss", "team"]);
}

#[test]
fn embedded_fields_that_embed_nothing_get_a_warning() {
    let d = yaml(
        r#"
DOMAIN:
  people:
    embedded_fields: [boss, plain, nope]
    schema:
      boss: {type: objectid, data_relation: {resource: people, embeddable: true}}
      plain: {type: objectid, data_relation: {resource: people}}
"#,
    )
    .unwrap();
    assert_eq!(
        d.warnings,
        [
            "DOMAIN.people.embedded_fields: 'plain' is not an embeddable data_relation and is never embedded",
            "DOMAIN.people.embedded_fields: 'nope' is not an embeddable data_relation and is never embedded",
        ]
    );
}

#[test]
fn an_embeddable_versioned_relation_starts_and_resolves_as_versioned() {
    let d = yaml(
        r#"
DOMAIN:
  people: {versioning: true, schema: {name: {type: string}}}
  notes:
    schema:
      top:
        type: dict
        schema: {_id: {type: objectid}, _version: {type: integer}}
        data_relation: {resource: people, field: _id, embeddable: true, version: true}
      inner:
        type: dict
        schema:
          who:
            type: dict
            schema: {_id: {type: objectid}, _version: {type: integer}}
            data_relation: {resource: people, field: _id, embeddable: true, version: true}
      listed:
        type: list
        schema:
          type: dict
          schema: {_id: {type: objectid}, _version: {type: integer}}
          data_relation: {resource: people, field: _id, embeddable: true, version: true}
      plain: {type: objectid, data_relation: {resource: people, embeddable: true}}
"#,
    )
    .unwrap();
    assert!(d.warnings.is_empty(), "{:#?}", d.warnings);
    let paths = eve_core::embed::parse_embedded(
        &d,
        &d.resources["notes"],
        Some(r#"{"top": 1, "inner.who": 1, "listed": 1, "plain": 1}"#),
    )
    .unwrap();
    let mut got: Vec<(&str, &str, bool)> = paths
        .iter()
        .map(|p| (p.path.as_str(), p.field.as_str(), p.versioned))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("inner.who", "_id", true),
            ("listed", "_id", true),
            ("plain", "_id", false),
            ("top", "_id", true),
        ]
    );
}

#[test]
fn compatibility_doc_no_longer_lists_the_refusal() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/compatibility.md"
    ))
    .expect("docs/compatibility.md");
    assert!(
        !doc.contains("embedding a versioned data_relation is not available"),
        "docs/compatibility.md"
    );
}

#[test]
fn relations_to_resources_clients_cannot_read_are_never_embedded() {
    let d = yaml(
        r#"
DOMAIN:
  secrets: {internal_resource: true, schema: {v: {type: string}}}
  hidden: {resource_methods: [POST], item_methods: [], schema: {v: {type: string}}}
  notes:
    schema:
      s: {type: objectid, data_relation: {resource: secrets, embeddable: true}}
      h:
        type: list
        schema: {type: objectid, data_relation: {resource: hidden, embeddable: true}}
      n: {type: objectid, data_relation: {resource: notes, embeddable: true}}
"#,
    )
    .unwrap();
    assert_eq!(
        d.warnings,
        [
            "DOMAIN.notes.schema.s.data_relation.embeddable: 'secrets' is internal or serves no GET: its documents are never embedded",
            "DOMAIN.notes.schema.h.schema.data_relation.embeddable: 'hidden' is internal or serves no GET: its documents are never embedded",
        ]
    );
    let notes = &d.resources["notes"];
    let paths =
        eve_core::embed::parse_embedded(&d, notes, Some(r#"{"s": 1, "h": 1, "n": 1}"#)).unwrap();
    let names: Vec<&str> = paths.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(names, ["n"]);
}
