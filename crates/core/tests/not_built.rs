//! Fail closed (issue #20): settings asking for a feature that is not built
//! yet are refused with their key path, values that disable the feature
//! still start, and harmless ones start with a warning.

use eve_core::settings::{check, parse_str, Format, SettingsError};
use eve_core::Domain;
use eve_schema::Registry;

fn yaml(text: &str) -> Result<Domain, SettingsError> {
    check(
        parse_str(text, Format::Yaml).expect("valid YAML"),
        &Registry::default(),
    )
}

#[track_caller]
fn refused(text: &str) -> SettingsError {
    match yaml(text) {
        Ok(d) => panic!(
            "expected a refusal for:\n{text}\nwarnings: {:#?}",
            d.warnings
        ),
        Err(e) => e,
    }
}

#[track_caller]
fn started(text: &str) -> Domain {
    yaml(text).unwrap_or_else(|e| panic!("expected to start:\n{text}\ngot:\n{e}"))
}

const MONGO_IMPLIED: &str =
    "names MongoDB, but without MONGO_URI or MONGO_HOST the data layer is the embedded store";
const MONGO_NOT_YET: &str = "not supported by eve-rs yet (issue #10)";
const MONGO_OPTION: &str = "this client option is not applied by eve-rs yet (issue #10)";

/// (settings, key path refused, start of its message)
const CASES: &[(&str, &str, &str)] = &[
    (
        "MONGO_DBNAME: apitest\nDOMAIN: {}",
        "MONGO_DBNAME",
        MONGO_IMPLIED,
    ),
    ("MONGO_PORT: 27017\nDOMAIN: {}", "MONGO_PORT", MONGO_IMPLIED),
    (
        "DATA_LAYER: mongo\nMONGO_AUTH_MECHANISM_PROPERTIES: {x: 1}\nDOMAIN: {}",
        "MONGO_AUTH_MECHANISM_PROPERTIES",
        MONGO_NOT_YET,
    ),
    (
        "MONGO_URI: mongodb://h/db\nMONGO_OPTIONS: {maxPoolSize: 5}\nDOMAIN: {}",
        "MONGO_OPTIONS.maxPoolSize",
        MONGO_OPTION,
    ),
];

#[test]
fn each_not_built_setting_is_refused_with_its_path_and_what_to_do() {
    for (text, path, message) in CASES {
        let e = refused(text);
        let found: Vec<&str> = e
            .problems
            .iter()
            .filter(|p| p.path == *path)
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{text}: one problem at {path}, got:\n{e}");
        assert!(
            found[0].starts_with(message),
            "{text}: {path}: expected {message:?}, got {:?}",
            found[0]
        );
        // every message says what to do
        assert!(
            found[0].contains("remove") || found[0].contains("DATA_LAYER: embedded"),
            "{text}: {}",
            found[0]
        );
    }
}

#[test]
fn values_that_disable_a_feature_still_start() {
    let d = started(
        r#"
AUTH: null
ALLOWED_ROLES: []
ALLOWED_READ_ROLES: []
ALLOWED_WRITE_ROLES: []
ALLOWED_ITEM_ROLES: []
ALLOWED_ITEM_READ_ROLES: []
ALLOWED_ITEM_WRITE_ROLES: []
AUTH_FIELD: null
RATE_LIMIT_GET: null
RATE_LIMIT_POST: null
RATE_LIMIT_PATCH: null
RATE_LIMIT_DELETE: null
SOFT_DELETE: false
VERSIONING: false
OPLOG: false
OPLOG_ENDPOINT: null
DATA_LAYER: embedded
DOMAIN:
  a:
    authentication: null
    allowed_roles: []
    allowed_read_roles: []
    allowed_write_roles: []
    allowed_item_roles: []
    allowed_item_read_roles: []
    allowed_item_write_roles: []
    auth_field: null
    soft_delete: false
    versioning: false
    mongo_prefix: MONGO
    datasource: {aggregation: null}
  b: {authentication: false}
"#,
    );
    let a = &d.resources["a"];
    assert!(!a.soft_delete && !a.versioning && a.auth_field.is_none());
    assert!(a.datasource.aggregation.is_none());
    assert!(d.warnings.is_empty(), "{:#?}", d.warnings);
}

#[test]
fn mongodb_settings_select_mongodb_unless_the_file_names_another_layer() {
    let text = "MONGO_HOST: db\nMONGO_PORT: 27018\nMONGO_DBNAME: apitest\nDOMAIN: {}";
    let d = started(text);
    assert_eq!(d.settings.data_layer, eve_core::DataLayerKind::Mongo);
    assert_eq!(d.settings.mongo.host.as_deref(), Some("db"));
    assert_eq!(d.settings.mongo.port, Some(27018));
    assert_eq!(d.settings.mongo.dbname.as_deref(), Some("apitest"));
    assert!(d.warnings.is_empty(), "{:#?}", d.warnings);
    let d = started(&format!("DATA_LAYER: embedded\n{text}"));
    assert_eq!(d.settings.data_layer, eve_core::DataLayerKind::Embedded);
    for key in ["MONGO_HOST", "MONGO_DBNAME"] {
        let expected = format!(
            "{key} is ignored: DATA_LAYER is embedded, the data is stored in the embedded store, not in MongoDB"
        );
        assert!(d.warnings.contains(&expected), "{:#?}", d.warnings);
    }
    // a resource's mongo_prefix names another database: refused even then
    let e = refused("DATA_LAYER: embedded\nDOMAIN: {a: {mongo_prefix: USERS}}");
    assert!(e.has_problem_at("DOMAIN.a.mongo_prefix"), "{e}");
}

#[test]
fn aggregations_are_refused_only_where_a_read_cannot_be_kept_to_the_callers_documents() {
    let e = refused(
        r#"
DOMAIN:
  a: {datasource: {aggregation: {pipeline: [{$facet: {x: [{$graphLookup: {from: b, startWith: $k, connectFromField: k, connectToField: k, as: j}}]}}]}}}
  b: {auth_field: owner, schema: {k: {type: string}}}
  c: {datasource: {source: b, aggregation: {pipeline: [{$lookup: {from: b, localField: k, foreignField: k, as: j}}, {$collStats: {}}]}}}
  d: {datasource: {source: b, aggregation: {pipeline: [{$lookup: {from: b, localField: k, foreignField: k, as: j}}]}}}
  e: {auth_field: owner, datasource: {aggregation: {pipeline: [{$count: n}]}}}
"#,
    );
    let paths: Vec<&str> = e.problems.iter().map(|p| p.path.as_str()).collect();
    // d and e are kept to the caller's documents at request time
    assert_eq!(
        paths,
        [
            "DOMAIN.a.datasource.aggregation.pipeline[0].$facet.x[0].$graphLookup",
            "DOMAIN.c.datasource.aggregation.pipeline[1].$collStats"
        ],
        "{e}"
    );
}

#[test]
fn a_value_of_the_wrong_type_gets_one_problem_not_two() {
    let e = refused("RATE_LIMIT_GET: [1]\nDOMAIN: {a: {allowed_roles: admin}}");
    assert_eq!(e.problems.len(), 2, "{e}");
    assert!(e.problems[0]
        .message
        .starts_with("expected null or [requests, seconds]"));
    assert!(
        e.problems[1]
            .message
            .starts_with("expected a list of strings"),
        "{e}"
    );
}

#[test]
fn settings_whose_absence_is_harmless_start_with_a_warning() {
    let d = started(
        r#"
PUBLIC_METHODS: [GET]
PUBLIC_ITEM_METHODS: [GET]
DOMAIN:
  people:
    public_methods: [GET]
    public_item_methods: [GET]
    embedded_fields: [boss]
    mongo_write_concern: {w: 1}
    schema:
      boss: {type: objectid, data_relation: {resource: people, embeddable: true}}
      team:
        type: list
        schema: {type: objectid, data_relation: {resource: people, embeddable: true}}
      plain: {type: objectid, data_relation: {resource: people}}
"#,
    );
    let expected = [
        "DOMAIN.people.mongo_write_concern: ignored: the embedded store commits every write durably",
    ];
    let mut got = d.warnings.clone();
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn compatibility_doc_lists_every_refusal_message() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/compatibility.md"
    ))
    .expect("docs/compatibility.md");
    let not_built = doc
        .split("## Not built yet")
        .nth(1)
        .expect("a 'Not built yet' section");
    for (text, path, _) in CASES {
        let e = refused(text);
        let problem = e
            .problems
            .iter()
            .find(|p| p.path == *path)
            .expect("refused");
        assert!(
            not_built.contains(&problem.message),
            "docs/compatibility.md 'Not built yet' lacks the message of {path}: {}",
            problem.message
        );
    }
}

#[test]
fn versioning_is_built_and_starts() {
    // Issue #12 item 3: document versioning is built.
    let d =
        started("VERSIONING: true\nVERSIONS: _history\nDOMAIN: {a: {}, b: {versioning: false}}");
    assert!(d.resources["a"].versioning && !d.resources["b"].versioning);
    assert_eq!(
        d.resources["a"].versions_collection(&d.settings).as_deref(),
        Some("a_history")
    );
    assert!(d.collections.contains_key("a_history"));
    assert!(!d.collections.contains_key("b_history"));
    let e = refused("VERSIONS: ''\nDOMAIN: {a: {versioning: true}}");
    assert!(e.has_problem_at("VERSIONS"), "{e}");
}

#[test]
fn a_postgres_data_layer_with_its_uri_starts() {
    // Issue #11: the PostgreSQL layer is built, so its settings start.
    let d = started("DATA_LAYER: postgres\nPOSTGRES_URI: postgres://u@h/db\nDOMAIN: {}");
    assert_eq!(
        d.settings.data_layer,
        eve_core::DataLayerKind::Postgres {
            uri: "postgres://u@h/db".into()
        }
    );
    let e = refused("DATA_LAYER: postgres\nDOMAIN: {}");
    assert!(
        e.problems
            .iter()
            .any(|p| p.path == "POSTGRES_URI" && p.message.contains("required")),
        "{e}"
    );
}
