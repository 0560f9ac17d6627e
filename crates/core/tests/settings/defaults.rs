//! Defaults: globals and resources get the values of settings.md; resources
//! inherit globals.

use super::*;

#[test]
fn minimal_file_gets_the_global_defaults_of_settings_md() {
    let d = ok("DOMAIN: {}");
    let s = &d.settings;
    assert_eq!(s.data_layer, DataLayerKind::Embedded);
    assert_eq!(s.url_prefix, "");
    assert_eq!(s.api_version, "");
    assert_eq!(s.info, None);
    assert_eq!(s.resource_methods, vec![Method::Get]);
    assert_eq!(s.item_methods, vec![Method::Get]);
    assert!(s.allow_override_http_method);
    let m = &s.meta;
    let names = [
        (&m.id_field, "_id"),
        (&m.last_updated, "_updated"),
        (&m.date_created, "_created"),
        (&m.etag, "_etag"),
        (&m.items, "_items"),
        (&m.meta, "_meta"),
        (&m.links, "_links"),
        (&m.status, "_status"),
        (&m.status_ok, "OK"),
        (&m.status_err, "ERR"),
        (&m.issues, "_issues"),
        (&m.error, "_error"),
        (&m.version, "_version"),
        (&m.latest_version, "_latest_version"),
        (&m.version_id_suffix, "_document"),
        (&m.deleted, "_deleted"),
    ];
    for (got, want) in names {
        assert_eq!(got, want);
    }
    let p = &s.params;
    let params = [
        (&p.where_, "where"),
        (&p.sort, "sort"),
        (&p.page, "page"),
        (&p.max_results, "max_results"),
        (&p.projection, "projection"),
        (&p.embedded, "embedded"),
        (&p.aggregation, "aggregate"),
        (&p.version, "version"),
        (&p.show_deleted, "show_deleted"),
    ];
    for (got, want) in params {
        assert_eq!(got, want);
    }
    assert_eq!(s.date_format.pattern(), "%a, %d %b %Y %H:%M:%S GMT");
    assert_eq!(s.renderers, vec![RendererName::Json, RendererName::Xml]);
    assert!(!s.json_sort_keys);
    assert_eq!(s.json_request_content_types, vec!["application/json"]);
    assert_eq!(
        s.standard_errors,
        vec![400, 401, 403, 404, 405, 406, 409, 410, 412, 422, 428, 429]
    );
    assert!(!s.debug);
    assert!(s.extra_response_fields.is_empty());
    assert!(s.bandwidth_saver);
    assert_eq!(s.jsonp_argument, None);
    assert_eq!(s.header_total_count, "X-Total-Count");
    assert_eq!(s.pagination_default, 25);
    assert!(!s.validate_filters);
    assert_eq!(s.mongo_query_blacklist, vec!["$where", "$regex"]);
    assert!(s.if_match);
    assert!(s.enforce_if_match);
    assert_eq!(s.validation_error_status, 422);
    assert!(!s.validation_error_as_list);
    assert!(s.upsert_on_put);
    assert!(!s.auto_create_lists);
    assert!(!s.auto_collapse_multi_keys);
    assert_eq!(s.cache_control, "");
    assert_eq!(s.cache_expires, 0);
    assert!(!s.cors.is_enabled());
    assert!(s.cors.headers.is_empty() && s.cors.expose_headers.is_empty());
    assert!(!s.cors.allow_credentials);
    assert_eq!(s.cors.max_age, 21600);
    assert!(s.hateoas);
    assert_eq!(s.schema_endpoint, None);
    assert!(d.resources.is_empty());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
}

#[test]
fn empty_resource_gets_the_resource_defaults_of_settings_md() {
    let d = ok("DOMAIN: {people: {}}");
    let r = res(&d, "people");
    assert_eq!(r.name, "people");
    assert_eq!(r.url, "people");
    assert!(matches!(&r.url_parts[..], [UrlPart::Literal(s)] if s == "people"));
    assert_eq!(r.resource_title, "people");
    assert_eq!(r.item_title, "People");
    assert_eq!(r.datasource.source, "people");
    assert!(r.datasource.filter.is_none() && r.datasource.projection.is_none());
    assert!(r.datasource.default_sort.is_none() && r.datasource.aggregation.is_none());
    assert_eq!(r.resource_methods, vec![Method::Get]);
    assert_eq!(r.item_methods, vec![Method::Get]);
    assert_eq!(r.cache_control, "");
    assert_eq!(r.cache_expires, 0);
    assert_eq!(r.id_field, "_id");
    assert!(r.item_lookup);
    assert_eq!(r.item_lookup_field, "_id");
    match &r.item_url {
        UrlRule::Regex(re) => {
            assert!(re.is_match("5f0c6b1e9d1b2c3d4e5f6a7b"));
            assert!(!re.is_match("5f0c6b1e9d1b2c3d4e5f6a7"));
        }
        other => panic!("{other:?}"),
    }
    assert!(r.additional_lookup.is_none());
    assert_eq!(r.allowed_filters, vec!["*"]);
    assert!(
        r.sorting && r.pagination && r.projection && r.embedding && r.hateoas && r.bulk_enabled
    );
    assert_eq!(r.pagination_limit, 50);
    assert!(!r.optimize_pagination_for_speed);
    assert!(r.embedded_fields.is_empty());
    assert!(!r.allow_unknown && !r.soft_delete && !r.versioning && !r.internal_resource);
    assert!(r.merge_nested_documents && r.normalize_dotted_fields && r.normalize_on_patch);
    assert!(r.etag_ignore_fields.is_empty());
    assert!(!r.query_objectid_as_string);
    assert!(r.mongo_query_whitelist.is_empty());
    assert!(r.indexes.is_empty());
    assert_eq!(r.auth_field, None);
    assert!(r.extra_response_fields.is_empty());
    // the automatic id field
    assert_eq!(
        r.schema_as_written().get("_id"),
        Some(&serde_json::json!({"type": "objectid"}))
    );
}

#[test]
fn null_resource_definition_is_an_empty_one() {
    let d = ok("DOMAIN:\n  people:\n");
    assert_eq!(res(&d, "people").url, "people");
}

#[test]
fn resources_inherit_globals_and_override_them() {
    let d = ok(r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH]
PAGINATION_LIMIT: 10
SORTING: false
CACHE_CONTROL: max-age=20
CACHE_EXPIRES: 20
HATEOAS: false
ALLOWED_FILTERS: []
EXTRA_RESPONSE_FIELDS: [a]
MONGO_QUERY_WHITELIST: [$foo]
DOMAIN:
  a: {schema: {x: {type: string}}}
  b:
    schema: {x: {type: string}}
    resource_methods: [GET]
    item_methods: [GET, PUT, DELETE]
    pagination_limit: 5
    sorting: true
    cache_control: no-cache
    cache_expires: 1
    hateoas: true
    allowed_filters: [x]
    extra_response_fields: [b]
    mongo_query_whitelist: [$bar]
"#);
    let a = res(&d, "a");
    assert_eq!(a.resource_methods, vec![Method::Get, Method::Post]);
    assert_eq!(a.item_methods, vec![Method::Get, Method::Patch]);
    assert_eq!(a.pagination_limit, 10);
    assert!(!a.sorting && !a.hateoas);
    assert_eq!(
        (a.cache_control.as_str(), a.cache_expires),
        ("max-age=20", 20)
    );
    assert!(a.allowed_filters.is_empty());
    assert_eq!(a.extra_response_fields, vec!["a"]);
    assert_eq!(a.mongo_query_whitelist, vec!["$foo"]);
    let b = res(&d, "b");
    assert_eq!(b.resource_methods, vec![Method::Get]);
    assert_eq!(
        b.item_methods,
        vec![Method::Get, Method::Put, Method::Delete]
    );
    assert_eq!(b.pagination_limit, 5);
    assert!(b.sorting && b.hateoas);
    assert_eq!((b.cache_control.as_str(), b.cache_expires), ("no-cache", 1));
    assert_eq!(b.allowed_filters, vec!["x"]);
    assert_eq!(b.extra_response_fields, vec!["b"]);
    assert_eq!(
        b.mongo_query_whitelist,
        vec!["$foo", "$bar"],
        "resource list plus the global one"
    );
}

#[test]
fn methods_are_case_insensitive_and_deduplicated() {
    let d = ok("RESOURCE_METHODS: [get, Post, GET]\nITEM_METHODS: [delete]\nDOMAIN: {a: {schema: {x: {type: string}}}}");
    assert_eq!(d.settings.resource_methods, vec![Method::Get, Method::Post]);
    assert_eq!(d.settings.item_methods, vec![Method::Delete]);
}

#[test]
fn item_methods_default_to_get_when_item_lookup_is_false() {
    let d = ok("ITEM_METHODS: [GET, DELETE]\nDOMAIN: {a: {item_lookup: false}, b: {}}");
    assert!(!res(&d, "a").item_lookup);
    assert_eq!(res(&d, "a").item_methods, vec![Method::Get]);
    assert_eq!(res(&d, "b").item_methods, vec![Method::Get, Method::Delete]);
}

#[test]
fn global_meta_names_and_params_are_configurable() {
    let d = ok(
        "ID_FIELD: id\nITEMS: items\nQUERY_WHERE: filter\nDATE_CREATED: created\nDOMAIN: {a: {}}",
    );
    assert_eq!(d.settings.meta.id_field, "id");
    assert_eq!(d.settings.meta.items, "items");
    assert_eq!(d.settings.meta.date_created, "created");
    assert_eq!(d.settings.params.where_, "filter");
    let a = res(&d, "a");
    assert_eq!(a.id_field, "id");
    assert_eq!(
        a.item_lookup_field, "id",
        "ITEM_LOOKUP_FIELD follows ID_FIELD"
    );
    assert!(a.schema_as_written().contains_key("id") && !a.schema_as_written().contains_key("_id"));
}

#[test]
fn item_lookup_field_follows_item_lookup_field_setting_not_the_resource_id_field() {
    let d = ok("DOMAIN: {a: {id_field: code, schema: {code: {type: string}}}, b: {item_lookup_field: slug}}");
    assert_eq!(res(&d, "a").id_field, "code");
    assert_eq!(res(&d, "a").item_lookup_field, "_id");
    assert_eq!(res(&d, "b").item_lookup_field, "slug");
}
