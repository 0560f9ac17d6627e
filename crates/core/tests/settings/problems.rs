//! Problems (with their key paths) and warnings.

use super::*;

#[test]
fn missing_domain_is_a_problem() {
    assert_problem(&err("PAGINATION_LIMIT: 3"), "DOMAIN");
    assert_problem(&err("DOMAIN: [a, b]"), "DOMAIN");
    assert_problem(&err("DOMAIN: {a: 3}"), "DOMAIN.a");
}

#[test]
fn wrong_value_types_are_problems_naming_the_key() {
    let e = err(r#"
PAGINATION_LIMIT: "x"
PAGINATION_DEFAULT: -1
HATEOAS: "yes"
URL_PREFIX: 3
INFO: [a]
CACHE_EXPIRES: 1.5
STANDARD_ERRORS: [400, 1000]
VALIDATION_ERROR_STATUS: "422"
X_MAX_AGE: "x"
DOMAIN:
  a:
    pagination: 1
    embedded_fields: x
    etag_ignore_fields: [1]
    cache_control: 3
"#);
    for path in [
        "PAGINATION_LIMIT",
        "PAGINATION_DEFAULT",
        "HATEOAS",
        "URL_PREFIX",
        "INFO",
        "CACHE_EXPIRES",
        "STANDARD_ERRORS.1",
        "VALIDATION_ERROR_STATUS",
        "X_MAX_AGE",
        "DOMAIN.a.pagination",
        "DOMAIN.a.embedded_fields",
        "DOMAIN.a.etag_ignore_fields.0",
        "DOMAIN.a.cache_control",
    ] {
        assert_problem(&e, path);
    }
}

#[test]
fn unsupported_methods_are_problems() {
    let e = err(r#"
RESOURCE_METHODS: [FOO]
ITEM_METHODS: [POST]
DOMAIN:
  a: {resource_methods: [PUT], item_methods: GET}
"#);
    for path in [
        "RESOURCE_METHODS",
        "ITEM_METHODS",
        "DOMAIN.a.resource_methods",
        "DOMAIN.a.item_methods",
    ] {
        assert_problem(&e, path);
    }
    assert!(e.to_string().contains("FOO"));
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let e = err("PAGINATION_LIMIT: x\nSORTING: 1\nDOMAIN: {a: {hateoas: 2}, b: {url: ''}}");
    assert_eq!(e.problems.len(), 4, "{e}");
}

#[test]
fn display_lists_one_problem_per_line() {
    let e = err("PAGINATION_LIMIT: x\nSORTING: 1\nDOMAIN: {}");
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("PAGINATION_LIMIT: "), "{text}");
    assert!(lines[1].starts_with("SORTING: "), "{text}");
}

#[test]
fn renderers_accept_names_and_eve_class_aliases() {
    let d = ok("RENDERERS: [xml, eve.render.JSONRenderer]\nDOMAIN: {}");
    assert_eq!(
        d.settings.renderers,
        vec![RendererName::Xml, RendererName::Json]
    );
    let d = ok("RENDERERS: [eve.render.XMLRenderer]\nDOMAIN: {}");
    assert_eq!(d.settings.renderers, vec![RendererName::Xml]);
}

#[test]
fn unknown_or_empty_renderers_are_problems() {
    assert_problem(&err("RENDERERS: [yaml]\nDOMAIN: {}"), "RENDERERS");
    assert_problem(&err("RENDERERS: []\nDOMAIN: {}"), "RENDERERS");
    assert_problem(&err("RENDERERS: json\nDOMAIN: {}"), "RENDERERS");
}

#[test]
fn deprecated_json_and_xml_switches_select_renderers() {
    let d = ok("XML: false\nDOMAIN: {}");
    assert_eq!(d.settings.renderers, vec![RendererName::Json]);
    assert_warning(&d, "deprecated");
}

#[test]
fn date_format_must_be_a_string() {
    assert_problem(&err("DATE_FORMAT: 3\nDOMAIN: {}"), "DATE_FORMAT");
    let d = ok("DATE_FORMAT: '%Y-%m-%d'\nDOMAIN: {}");
    assert_eq!(d.settings.date_format.pattern(), "%Y-%m-%d");
}

#[test]
fn data_layer_defaults_to_embedded_and_mongo_settings_need_it_explicitly() {
    assert_eq!(
        ok("DOMAIN: {}").settings.data_layer,
        DataLayerKind::Embedded
    );
    // MongoDB settings imply MongoDB, which is not built (tests/not_built.rs);
    // naming the embedded store explicitly keeps them, ignored.
    let d = ok("MONGO_HOST: db\nDATA_LAYER: embedded\nDOMAIN: {}");
    assert_eq!(d.settings.data_layer, DataLayerKind::Embedded);
    assert_warning(&d, "MONGO_HOST is ignored: DATA_LAYER is embedded");
    let d = ok("DATA_LAYER: EMBEDDED\nDOMAIN: {}");
    assert_eq!(d.settings.data_layer, DataLayerKind::Embedded);
}

#[test]
fn postgres_needs_a_uri_and_unknown_layers_are_problems() {
    assert_problem(&err("DATA_LAYER: postgres\nDOMAIN: {}"), "POSTGRES_URI");
    assert_problem(&err("DATA_LAYER: redis\nDOMAIN: {}"), "DATA_LAYER");
    assert_warning(
        &ok("POSTGRES_URI: postgres://h/db\nDOMAIN: {}"),
        "POSTGRES_URI",
    );
}

#[test]
fn url_prefix_and_api_version_lose_their_slashes() {
    let d = ok("URL_PREFIX: /api/\nAPI_VERSION: v1/\nDOMAIN: {}");
    assert_eq!(d.settings.url_prefix, "api");
    assert_eq!(d.settings.api_version, "v1");
}

// ---------------------------------------------------------------- warnings

#[test]
fn unknown_top_level_keys_are_warnings_not_errors() {
    let d = ok("PAGINATON_LIMIT: 3\ndomain: {}\nDOMAIN: {}");
    assert_warning(&d, "PAGINATON_LIMIT");
    assert_warning(&d, "'domain'");
}

#[test]
fn every_settings_md_key_is_known() {
    let d = ok(r#"
ITEM_TITLE: x
ITEM_CACHE_CONTROL: ""
PUBLIC_METHODS: []
PUBLIC_ITEM_METHODS: []
ALLOWED_ROLES: []
ALLOWED_READ_ROLES: []
ALLOWED_WRITE_ROLES: []
ALLOWED_ITEM_ROLES: []
ALLOWED_ITEM_READ_ROLES: []
ALLOWED_ITEM_WRITE_ROLES: []
AUTH: null
AUTH_FIELD: null
VERSIONING: false
VERSIONS: _versions
VERSION_PARAM: version
VERSION_DIFF_INCLUDE: []
SOFT_DELETE: false
SHOW_DELETED_PARAM: show_deleted
OPLOG: false
OPLOG_NAME: oplog
OPLOG_METHODS: [DELETE, POST, PATCH, PUT]
OPLOG_ENDPOINT: null
OPLOG_AUDIT: true
OPLOG_CHANGE_METHODS: [DELETE, PATCH, PUT]
OPLOG_RETURN_EXTRA_FIELD: false
EXTENDED_MEDIA_INFO: []
RETURN_MEDIA_AS_BASE64_STRING: true
RETURN_MEDIA_AS_URL: false
MEDIA_ENDPOINT: media
MEDIA_URL: 'regex("[a-f0-9]{24}")'
MEDIA_BASE_URL: null
MULTIPART_FORM_FIELDS_AS_JSON: false
AUTO_COLLAPSE_MULTI_KEYS: false
ALLOW_CUSTOM_FIELDS_IN_GEOJSON: false
RATE_LIMIT_GET: null
RATE_LIMIT_POST: null
RATE_LIMIT_PUT: null
DATA_LAYER: embedded
MONGO_HOST: localhost
MONGO_PORT: 27017
MONGO_DBNAME: eve
MONGO_USERNAME: u
MONGO_PASSWORD: p
MONGO_AUTH_SOURCE: admin
MONGO_AUTH_MECHANISM: SCRAM-SHA-256
MONGO_AUTH_MECHANISM_PROPERTIES: null
MONGO_REPLICA_SET: rs0
MONGO_OPTIONS: {connect: true}
MONGO_WRITE_CONCERN: {w: 1}
MONGO_QUERY_BLACKLIST: [$where, $regex]
MONGO_QUERY_WHITELIST: []
USERS_URI: mongodb://other/db
USERS_DBNAME: users
ITEM_LOOKUP: true
ITEM_LOOKUP_FIELD: _id
ITEM_URL: 'regex("[a-f0-9]{24}")'
INTERNAL_RESOURCE: false
SCHEMA_ENDPOINT: null
ALLOW_UNKNOWN: false
BULK_ENABLED: true
MERGE_NESTED_DOCUMENTS: true
NORMALIZE_DOTTED_FIELDS: true
NORMALIZE_ON_PATCH: true
OPTIMIZE_PAGINATION_FOR_SPEED: false
PROJECTION: true
EMBEDDING: true
DOMAIN: {}
"#);
    // the only warnings: the ten MongoDB connection settings with a value
    // (MONGO_AUTH_MECHANISM_PROPERTIES is null), ignored with DATA_LAYER: embedded
    assert_eq!(d.warnings.len(), 10, "{:#?}", d.warnings);
    assert!(
        d.warnings
            .iter()
            .all(|w| w.starts_with("MONGO_") && w.contains("is ignored: DATA_LAYER is embedded")),
        "{:#?}",
        d.warnings
    );
}

#[test]
fn settings_that_are_only_type_checked_still_report_wrong_types() {
    let e = err("OPLOG: 1\nMEDIA_URL: 'nope'\nRATE_LIMIT_GET: [1]\nMONGO_PORT: x\nALLOWED_ROLES: admin\nDOMAIN: {}");
    for path in [
        "OPLOG",
        "MEDIA_URL",
        "RATE_LIMIT_GET",
        "MONGO_PORT",
        "ALLOWED_ROLES",
    ] {
        assert_problem(&e, path);
    }
}

#[test]
fn flask_settings_and_document_class_are_ignored_with_a_warning() {
    let d = ok("SERVER_NAME: x\nSECRET_KEY: s\nMONGO_DOCUMENT_CLASS: dict\nDOMAIN: {}");
    assert_warning(&d, "SERVER_NAME");
    assert_warning(&d, "SECRET_KEY");
    assert_warning(&d, "MONGO_DOCUMENT_CLASS");
}

#[test]
fn validate_filtering_warns_that_the_setting_is_validate_filters() {
    let d = ok("VALIDATE_FILTERING: true\nDOMAIN: {}");
    assert!(!d.settings.validate_filters);
    assert_warning(&d, "VALIDATE_FILTERS");
}

#[test]
fn removing_where_or_regex_from_the_blacklist_warns() {
    let d = ok("MONGO_QUERY_BLACKLIST: []\nDOMAIN: {}");
    assert!(d.settings.mongo_query_blacklist.is_empty());
    assert_warning(&d, "$where");
    assert_warning(&d, "$regex");
    let d = ok("MONGO_QUERY_BLACKLIST: [$where]\nDOMAIN: {}");
    assert_eq!(d.warnings.len(), 1);
    assert_warning(&d, "$regex");
}

#[test]
fn unknown_resource_and_datasource_keys_are_warnings() {
    let d = ok("DOMAIN: {a: {pagnation: false, datasource: {sorce: x}}}");
    assert_warning(&d, "pagnation");
    assert_warning(&d, "sorce");
}

/// Issue #9 (item 3): an invalid datasource filter stops the start-up with
/// its key path; before, it started and every request on the resource
/// answered 500.
#[test]
fn an_invalid_datasource_filter_is_a_problem_at_start_up() {
    for filter in [
        "{name: {$bogus: 1}}",
        "{$or: 3}",
        "{n: {$in: 5}}",
        "{s: {$regex: '('}}",
    ] {
        let e = err(&format!(
            "DOMAIN:\n  people:\n    schema: {{name: {{type: string}}}}\n    datasource: {{filter: {filter}}}\n"
        ));
        assert_problem(&e, "DOMAIN.people.datasource.filter");
        assert!(e.to_string().contains("invalid query"), "{filter}: {e}");
    }
    // Valid filters, including operators and dates written as strings, start.
    let d = yaml(
        "DOMAIN:\n  people:\n    schema: {name: {type: string}, n: {type: integer}}\n    datasource: {filter: {name: {$in: [a, b]}, n: {$gte: 2}}}\n",
    )
    .expect("a valid filter starts");
    assert!(d.resources.contains_key("people"));
}
