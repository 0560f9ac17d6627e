//! Fuzz harnesses of eve-rs (issue #6, docs/robustness.md). Each function
//! takes arbitrary bytes and must return without panicking, whatever the
//! input; where a documented invariant exists (a filter prints to a query
//! that parses back to the same filter) it is asserted too.
//!
//! The same functions run two ways:
//! - as cargo-fuzz (libFuzzer) targets, `fuzz/fuzz_targets/*.rs`, with a
//!   nightly toolchain: `scripts/fuzz.sh MINUTES`;
//! - as proptest property tests on stable, from the workspace
//!   (`crates/core/tests/fuzz_smoke.rs` includes this file), which is how
//!   CI runs them (a short smoke run) and how `scripts/fuzz.sh` runs them
//!   when no nightly toolchain is available.

#![allow(missing_docs)]

use std::sync::OnceLock;

use bson::{doc, Bson, Document};
use eve_core::request::{ApiRequest, Conditions, EndpointKind, HttpMethod, Route};
use eve_core::settings::Format;
use eve_core::{Domain, Resource};

/// Settings of the resource the read and validator harnesses use: one
/// field of each common type, nesting, lists, rules with patterns.
pub const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
MONGO_QUERY_BLACKLIST: ["$where"]
DOMAIN:
  things:
    schema:
      name: {type: string, minlength: 1, maxlength: 20, regex: "^[a-z]+$"}
      n: {type: integer, min: 0, max: 100}
      f: {type: float}
      num: {type: number}
      ok: {type: boolean}
      at: {type: datetime}
      ref: {type: objectid}
      tags: {type: list, schema: {type: string, allowed: [a, b, c]}}
      pair: {type: list, items: [{type: integer}, {type: string}]}
      sub:
        type: dict
        schema:
          x: {type: integer, required: true}
          y: {type: string, nullable: true, default: "d"}
          deep: {type: dict, schema: {z: {type: list, schema: {type: dict, schema: {w: {type: integer}}}}}}
      any: {anyof: [{type: integer}, {type: string, maxlength: 3}]}
      free: {type: dict, allow_unknown: true}
"#;

fn domain() -> &'static Domain {
    static DOMAIN: OnceLock<Domain> = OnceLock::new();
    DOMAIN.get_or_init(|| {
        let raw = eve_core::settings::parse_str(SETTINGS, Format::Yaml).expect("fuzz settings");
        eve_core::settings::check(raw, &eve_schema::Registry::default()).expect("fuzz settings")
    })
}

fn resource() -> &'static Resource {
    &domain().resources["things"]
}

/// Parses and plans `GET /things?<name>=<raw>` as the pipeline does.
fn plan_get(name: &str, raw: String) -> Option<eve_core::Plan> {
    let route = Route {
        kind: EndpointKind::Collection,
        resource: Some(domain().resources["things"].clone()),
        url_vars: Vec::new(),
        lookup: None,
        resource_path: "things".into(),
    };
    let args = vec![(name.to_string(), raw)];
    let req = ApiRequest::parse(
        domain(),
        HttpMethod::Get,
        route,
        args,
        Conditions::default(),
    );
    eve_core::plan(&req.ok()?, &eve_core::Access::anonymous(), domain()).ok()
}

/// Documents the filters are evaluated against.
fn samples() -> Vec<Document> {
    vec![
        doc! {},
        doc! {"name": "abc", "n": 3, "tags": ["a", "b"], "sub": {"x": 1, "y": null}},
        doc! {"n": 3.5, "f": f64::NAN, "at": bson::DateTime::from_millis(0), "ref": bson::oid::ObjectId::from_bytes([1; 12])},
        doc! {"sub": [{"x": 1}, {"x": [2, 3]}], "pair": [1, "x"], "any": "é😀"},
        doc! {"name": Bson::Null, "tags": [], "free": {"$weird": 1, "": [[]]}},
    ]
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn has_nan(d: &Document) -> bool {
    format!("{d:?}").contains("NaN")
}

/// The `where` parsers (JSON and Python forms), operator checks, filter
/// building and evaluation, through the planner.
pub fn where_clause(data: &[u8]) {
    let raw = text(data);
    if let Ok(query) = eve_query::parse_where(&raw) {
        let _ = eve_query::check_operators(&query, &[], &["$where".to_string()]);
        if let Ok(filter) = eve_query::Filter::parse(&query) {
            let printed = filter.to_document();
            let again = eve_query::Filter::parse(&printed)
                .unwrap_or_else(|e| panic!("printed filter {printed:?} does not parse: {e}"));
            if !has_nan(&printed) {
                assert_eq!(again.to_document(), printed, "print/parse round trip");
            }
            for d in samples() {
                let _ = filter.matches(&d);
            }
        }
    }
    if let Some(eve_core::Plan::Page(plan)) = plan_get("where", raw) {
        for d in samples() {
            let _ = plan.query.filter.matches(&d);
        }
    }
}

/// The `sort` parser and sorting by what it returns.
pub fn sort(data: &[u8]) {
    let raw = text(data);
    if let Ok(spec) = eve_query::parse_sort(&raw) {
        let mut docs = samples();
        eve_query::sort_documents(&mut docs, &spec);
    }
    let _ = plan_get("sort", raw);
}

/// The `projection` parser and applying a projection.
pub fn projection(data: &[u8]) {
    let raw = text(data);
    if let Ok(p) = eve_query::parse_projection(&raw) {
        for d in samples() {
            let _ = eve_query::apply_projection(&d, &p);
        }
    }
    if let Ok(p) = eve_core::plan::parse_client_projection(&raw) {
        let _ = eve_core::plan::projection_for(domain(), resource(), Some(&p));
    }
}

/// The settings loader: YAML and JSON text, checked into a `Domain`; every
/// schema that compiles validates a few documents.
pub fn settings(data: &[u8]) {
    let raw = text(data);
    for format in [Format::Yaml, Format::Json] {
        let Ok(parsed) = eve_core::settings::parse_str(&raw, format) else {
            continue;
        };
        let Ok(domain) = eve_core::settings::check(parsed, &eve_schema::Registry::default()) else {
            continue;
        };
        for res in domain.resources.values() {
            let opts = eve_schema::Options {
                resource: res.name.clone(),
                allow_unknown: res.allow_unknown,
                id_field: res.id_field.clone(),
            };
            for d in samples() {
                let d = res
                    .schema
                    .serialize_payload(d, &domain.settings.date_format);
                let _ = res.schema.validate(d, eve_schema::Mode::Insert, &opts);
            }
        }
    }
}

/// The validator: a JSON document through the type serializers and every
/// validation mode.
pub fn validator(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Bson::Document(d) = eve_query::json_to_bson(&value) else {
        return;
    };
    let res = resource();
    let d = res
        .schema
        .serialize_payload(d, &domain().settings.date_format);
    let opts = eve_schema::Options {
        resource: res.name.clone(),
        allow_unknown: res.allow_unknown,
        id_field: res.id_field.clone(),
    };
    let original = doc! {"_id": bson::oid::ObjectId::from_bytes([2; 12]), "name": "abc", "n": 1, "sub": {"x": 1}};
    let _ = res
        .schema
        .validate(d.clone(), eve_schema::Mode::Insert, &opts);
    let _ = res.schema.validate(
        d.clone(),
        eve_schema::Mode::Replace {
            original: &original,
        },
        &opts,
    );
    for normalize in [true, false] {
        let _ = res.schema.validate(
            d.clone(),
            eve_schema::Mode::Update {
                original: &original,
                normalize,
            },
            &opts,
        );
    }
}
