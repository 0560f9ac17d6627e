//! The planner is pure: these tests run it on checked settings, no server.

use bson::{doc, oid::ObjectId, Bson};
use eve_core::plan::{item_filter, plan_read, projection_for};
use eve_core::request::ReadArgs;
use eve_core::settings::{check, parse_str, Format};
use eve_core::Domain;
use eve_query::Filter;

fn domain(yaml: &str) -> Domain {
    check(
        parse_str(yaml, Format::Yaml).unwrap(),
        &eve_schema::Registry::default(),
    )
    .unwrap()
}

const SETTINGS: &str = r#"
DOMAIN:
  people:
    schema:
      name: {type: string}
      ref: {type: objectid}
      code: {type: string}
      secret: {type: string}
    query_objectid_as_string: true
    datasource: {filter: {active: true}}
  invoices:
    url: 'people/<regex("[a-f0-9]{24}"):contact_id>/invoices'
    schema: {contact_id: {type: objectid}, n: {type: integer}}
"#;

fn args() -> ReadArgs {
    ReadArgs {
        page: 1,
        ..ReadArgs::default()
    }
}

#[test]
fn client_where_is_anded_with_the_datasource_filter() {
    let d = domain(SETTINGS);
    let res = &d.resources["people"];
    let plan = plan_read(
        &d,
        res,
        &ReadArgs {
            where_: Some(r#"{"name": "x"}"#.into()),
            ..args()
        },
        &[],
    )
    .unwrap();
    let expected = Filter::eq("name", "x").and(Filter::eq("active", true));
    assert_eq!(plan.query.filter, expected);
}

#[test]
fn sub_resource_variables_filter_and_are_converted() {
    let d = domain(SETTINGS);
    let res = &d.resources["invoices"];
    let hex = "5f0000000000000000000001";
    let plan = plan_read(&d, res, &args(), &[("contact_id".into(), hex.into())]).unwrap();
    assert_eq!(
        plan.query.filter,
        Filter::eq("contact_id", ObjectId::parse_str(hex).unwrap())
    );
}

#[test]
fn hex_strings_become_object_ids_only_where_allowed() {
    let d = domain(SETTINGS);
    let res = &d.resources["people"];
    let hex = "5f0000000000000000000001";
    let w = format!(r#"{{"ref": "{hex}", "code": "{hex}"}}"#);
    let plan = plan_read(
        &d,
        res,
        &ReadArgs {
            where_: Some(w),
            ..args()
        },
        &[],
    )
    .unwrap();
    let doc = plan.query.filter.to_document();
    let text = format!("{doc:?}");
    // `ref` is typed objectid; `code` is a string and query_objectid_as_string is on.
    assert!(text.contains("ObjectId"), "{text}");
    assert!(text.contains(&format!("\"{hex}\"")), "{text}");
}

#[test]
fn rfc1123_strings_become_dates() {
    let d = domain(SETTINGS);
    let res = &d.resources["people"];
    let w = r#"{"name": {"$gte": "Wed, 25 Feb 1987 17:00:00 GMT"}}"#;
    let plan = plan_read(
        &d,
        res,
        &ReadArgs {
            where_: Some(w.into()),
            ..args()
        },
        &[],
    )
    .unwrap();
    let doc = plan.query.filter.to_document();
    let Some(Bson::Array(and)) = doc.get("$and") else {
        panic!("{doc:?}")
    };
    let Bson::Document(first) = &and[0] else {
        panic!()
    };
    let gte = first.get_document("name").unwrap().get("$gte").unwrap();
    assert!(matches!(gte, Bson::DateTime(_)), "{gte:?}");
}

#[test]
fn paging_is_clamped() {
    let d = domain(SETTINGS);
    let res = &d.resources["people"];
    let plan = plan_read(
        &d,
        res,
        &ReadArgs {
            page: 3,
            max_results: Some(500),
            ..args()
        },
        &[],
    )
    .unwrap();
    assert_eq!(plan.max_results, Some(50));
    assert_eq!(plan.query.skip, 100);
    assert_eq!(plan.query.limit, Some(50));
    assert!(plan.count);
}

#[test]
fn schema_projection_hides_unknown_fields_and_keeps_meta() {
    let d = domain(SETTINGS);
    let res = &d.resources["people"];
    let p = projection_for(&d, res, None).unwrap();
    for f in [
        "name", "ref", "code", "secret", "_id", "_updated", "_created", "_etag",
    ] {
        assert_eq!(p.get(f), Some(&Bson::Int32(1)), "{f}");
    }
    let p = projection_for(&d, res, Some(&doc! {"name": 1, "unknown": 1})).unwrap();
    assert!(p.get("unknown").is_none());
    assert_eq!(p.get("name"), Some(&Bson::Int32(1)));
    let p = projection_for(&d, res, Some(&doc! {"secret": 0})).unwrap();
    assert!(p.get("secret").is_none());
    assert_eq!(p.get("name"), Some(&Bson::Int32(1)));
}

#[test]
fn exclusive_datasource_projection_can_be_overridden_by_clients() {
    let d = domain("DOMAIN: {people: {schema: {a: {type: string}, big: {type: string}}, datasource: {projection: {big: 0}}}}");
    let res = &d.resources["people"];
    assert!(projection_for(&d, res, None).unwrap().get("big").is_none());
    assert_eq!(
        projection_for(&d, res, Some(&doc! {"big": 1}))
            .unwrap()
            .get("big"),
        Some(&Bson::Int32(1))
    );
}

#[test]
fn inclusive_datasource_projection_cannot_be_widened() {
    let d = domain("DOMAIN: {people: {schema: {a: {type: string}, pw: {type: string}}, datasource: {projection: {a: 1}}}}");
    let res = &d.resources["people"];
    let p = projection_for(&d, res, Some(&doc! {"pw": 1})).unwrap();
    assert!(p.get("pw").is_none());
}

#[test]
fn item_filter_converts_ids_and_keeps_the_datasource_filter() {
    let d = domain(SETTINGS);
    let res = &d.resources["people"];
    let hex = "5f0000000000000000000001";
    let f = item_filter(&d, res, "_id", hex, &[]).unwrap();
    assert_eq!(
        f,
        Filter::eq("_id", ObjectId::parse_str(hex).unwrap()).and(Filter::eq("active", true))
    );
}

#[test]
fn empty_allowed_filters_ignore_where() {
    let d = domain("ALLOWED_FILTERS: []\nDOMAIN: {people: {}}");
    let res = &d.resources["people"];
    let plan = plan_read(
        &d,
        res,
        &ReadArgs {
            where_: Some("not even valid".into()),
            ..args()
        },
        &[],
    )
    .unwrap();
    assert_eq!(plan.query.filter, Filter::All);
}

/// Issue #9 (item 3): the datasource filter is converted (dates, ObjectIds)
/// and parsed once, when the Domain is built.
#[test]
fn the_datasource_filter_is_compiled_at_start_up() {
    let d = domain(
        "DOMAIN:\n  events:\n    schema: {at: {type: datetime}, owner: {type: objectid}}\n    datasource: {filter: {at: {$gte: 'Tue, 02 Apr 2013 10:29:13 GMT'}, owner: '5f0000000000000000000001'}}\n",
    );
    let owner = ObjectId::parse_str("5f0000000000000000000001").unwrap();
    let at = bson::DateTime::from_millis(1_364_898_553_000);
    let expected = Filter::parse(&doc! {"at": {"$gte": at}, "owner": owner}).unwrap();
    assert_eq!(
        d.resources["events"].datasource.compiled_filter.as_ref(),
        Some(&expected)
    );
}

/// Requests merge the compiled filter; they never re-read the filter as
/// written.
#[test]
fn requests_merge_the_compiled_datasource_filter() {
    let mut d = domain(SETTINGS);
    let people = std::sync::Arc::get_mut(d.resources.get_mut("people").unwrap()).unwrap();
    people.datasource.compiled_filter = Some(Filter::eq("compiled", 1));
    let res = &d.resources["people"];
    let hex = "5f0000000000000000000001";
    let f = item_filter(&d, res, "_id", hex, &[]).unwrap();
    assert_eq!(
        f,
        Filter::eq("_id", ObjectId::parse_str(hex).unwrap()).and(Filter::eq("compiled", 1))
    );
    let plan = plan_read(&d, res, &args(), &[]).unwrap();
    assert_eq!(plan.query.filter, Filter::eq("compiled", 1));
}
