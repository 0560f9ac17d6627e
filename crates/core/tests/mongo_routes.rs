//! `mongo_prefix` and per-resource `mongo_write_concern` (issue #10,
//! features.md §42.1–42.2): read on MongoDB, refused or ignored elsewhere.

use eve_core::settings::{check, parse_str, Format, SettingsError};
use eve_core::{Domain, MongoWriteAck};
use eve_schema::Registry;

fn yaml(text: &str) -> Result<Domain, SettingsError> {
    let raw = parse_str(text, Format::Yaml).expect("valid YAML");
    check(raw, &Registry::default())
}

fn problems(text: &str) -> Vec<(String, String)> {
    let e = yaml(text).expect_err("refused");
    e.problems
        .iter()
        .map(|p| (p.path.clone(), p.message.clone()))
        .collect()
}

#[test]
fn a_prefix_reads_its_own_connection_keys() {
    let d = yaml(
        "MONGO_URI: mongodb://a/main\nMONGO2_URI: mongodb://b/other\nMONGO2_USERNAME: u\n\
         MONGO2_PASSWORD: p\nMONGO2_WRITE_CONCERN: {w: majority}\n\
         DOMAIN: {people: {mongo_prefix: MONGO2}, books: {}, notes: {mongo_prefix: MONGO}}",
    )
    .expect("starts");
    let routes = &d.settings.mongo_routes;
    assert_eq!(routes.prefixes.len(), 1, "{routes:?}");
    let other = &routes.prefixes["MONGO2"];
    assert_eq!(other.uri.as_deref(), Some("mongodb://b/other"));
    assert_eq!(other.username.as_deref(), Some("u"));
    assert_eq!(other.write_w, Some(MongoWriteAck::Named("majority".into())));
    assert_eq!(d.settings.mongo.uri.as_deref(), Some("mongodb://a/main"));
    assert_eq!(d.settings.mongo.write_w, None);
    assert_eq!(routes.resources["people"].prefix, "MONGO2");
    // resources on the default prefix without a write concern need no route
    assert!(!routes.resources.contains_key("books"));
    assert!(!routes.resources.contains_key("notes"));
}

#[test]
fn a_resource_write_concern_is_read_with_its_path() {
    let d = yaml(
        "DATA_LAYER: mongo\nDOMAIN: {a: {mongo_write_concern: {w: 3, j: true, wtimeout: 50}}}",
    )
    .expect("starts");
    let wc = d.settings.mongo_routes.resources["a"]
        .write_concern
        .clone()
        .expect("a write concern");
    assert_eq!(wc.w, Some(MongoWriteAck::Nodes(3)));
    assert_eq!(wc.journal, Some(true));
    assert_eq!(wc.timeout_ms, Some(50));
    assert_eq!(d.settings.mongo_routes.resources["a"].prefix, "MONGO");

    let p = problems("DATA_LAYER: mongo\nDOMAIN: {a: {mongo_write_concern: {w: 0}}}");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "DOMAIN.a.mongo_write_concern.w");
    assert!(
        p[0].1
            .starts_with("w: 0 (unacknowledged writes) is refused"),
        "{p:?}"
    );
    let p = problems("DATA_LAYER: mongo\nDOMAIN: {a: {mongo_write_concern: {x: 1}}}");
    assert_eq!(p[0].0, "DOMAIN.a.mongo_write_concern.x", "{p:?}");
}

#[test]
fn a_prefix_without_connection_keys_is_refused() {
    let p = problems("DATA_LAYER: mongo\nDOMAIN: {a: {mongo_prefix: USERS}}");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "DOMAIN.a.mongo_prefix");
    assert!(p[0].1.contains("none of USERS_URI, USERS_HOST"), "{p:?}");
    let p = problems("DATA_LAYER: mongo\nmongo_URI: x\nDOMAIN: {a: {mongo_prefix: mongo}}");
    assert!(
        p.iter()
            .any(|(path, m)| path == "DOMAIN.a.mongo_prefix" && m.contains("not a settings prefix")),
        "{p:?}"
    );
}

#[test]
fn a_prefix_checks_its_keys_like_mongo() {
    let p = problems(
        "DATA_LAYER: mongo\nUSERS_URI: http://x\nUSERS_PORT: 0\nUSERS_USERNAME: u\n\
         USERS_OPTIONS: {maxPoolSize: 3}\nDOMAIN: {a: {mongo_prefix: USERS}}",
    );
    let paths: Vec<&str> = p.iter().map(|(path, _)| path.as_str()).collect();
    for want in [
        "USERS_URI",
        "USERS_PORT",
        "USERS_PASSWORD",
        "USERS_OPTIONS.maxPoolSize",
    ] {
        assert!(paths.contains(&want), "{want} missing in {p:?}");
    }
}

#[test]
fn other_layers_refuse_a_prefix_and_ignore_a_write_concern() {
    for (layer, head) in [
        ("embedded", "DATA_LAYER: embedded\n"),
        ("embedded", ""),
        (
            "postgres",
            "DATA_LAYER: postgres\nPOSTGRES_URI: postgres://u@h/db\n",
        ),
    ] {
        let text =
            format!("{head}USERS_URI: mongodb://h/u\nDOMAIN: {{a: {{mongo_prefix: USERS}}}}");
        let p = problems(&text);
        let at: Vec<_> = p
            .iter()
            .filter(|(path, _)| path == "DOMAIN.a.mongo_prefix")
            .collect();
        assert_eq!(at.len(), 1, "{layer}: {p:?}");
        assert!(at[0].1.contains("would share that one store"), "{p:?}");
    }
    let d =
        yaml("DATA_LAYER: embedded\nDOMAIN: {a: {mongo_write_concern: {w: 2}}}").expect("starts");
    assert_eq!(
        d.warnings,
        ["DOMAIN.a.mongo_write_concern: ignored: the embedded store commits every write durably"]
    );
    assert!(d.settings.mongo_routes.resources.is_empty());
}
