//! Soft delete in the planner (features.md §31, §6.7): which plans hide
//! soft-deleted documents and with which filter; the settings that name
//! the flag and the parameter; the indexes of `unique` fields.

use bson::{oid::ObjectId, Bson};
use eve_core::plan::{DeleteCollectionPlan, DeleteItemPlan, ItemPlan, ReadPlan};
use eve_core::request::{ApiRequest, Conditions, EndpointKind, HttpMethod, Route};
use eve_core::settings::{check, parse_str, Format};
use eve_core::{plan, Access, Domain, Plan};
use eve_query::{Cond, Filter};

const SETTINGS: &str = r#"
SOFT_DELETE: true
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  people:
    schema:
      name: {type: string, unique: true}
    datasource: {filter: {active: true}}
  notes:
    soft_delete: false
    schema: {name: {type: string, unique: true}}
"#;

const HEX: &str = "5f0000000000000000000001";

fn domain(yaml: &str) -> Domain {
    check(
        parse_str(yaml, Format::Yaml).unwrap(),
        &eve_schema::Registry::default(),
    )
    .unwrap()
}

fn route(d: &Domain, kind: EndpointKind, resource: &str, item: bool) -> Route {
    Route {
        kind,
        resource: Some(d.resources[resource].clone()),
        url_vars: Vec::new(),
        lookup: item.then(|| ("_id".to_string(), HEX.to_string())),
        resource_path: resource.to_string(),
    }
}

fn plan_of(d: &Domain, method: &str, route: Route, args: &[(&str, &str)]) -> Plan {
    let args = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let req = ApiRequest::parse(
        d,
        HttpMethod::parse(method),
        route,
        args,
        Conditions::default(),
    )
    .unwrap();
    plan(&req, &Access::anonymous(), d).unwrap()
}

fn page_filter(d: &Domain, resource: &str, args: &[(&str, &str)]) -> Filter {
    let r = route(d, EndpointKind::Collection, resource, false);
    match plan_of(d, "GET", r, args) {
        Plan::Page(ReadPlan { query, .. }) => query.filter,
        other => panic!("not a page: {other:?}"),
    }
}

fn not_deleted(field: &str) -> Filter {
    Filter::Field {
        path: field.into(),
        cond: Cond::Ne(Bson::Boolean(true)),
    }
}

fn active() -> Filter {
    Filter::eq("active", true)
}

#[test]
fn collection_reads_hide_deleted_documents_after_the_other_filters() {
    let d = domain(SETTINGS);
    assert_eq!(
        page_filter(&d, "people", &[]),
        active().and(not_deleted("_deleted"))
    );
    // The client `where` comes first, as every other filter.
    assert_eq!(
        page_filter(&d, "people", &[("where", r#"{"name": "a"}"#)]),
        Filter::eq("name", "a")
            .and(active())
            .and(not_deleted("_deleted"))
    );
    // A resource that does not soft delete hides nothing.
    assert_eq!(page_filter(&d, "notes", &[]), Filter::All);
}

#[test]
fn show_deleted_or_a_where_on_the_flag_shows_them() {
    let d = domain(SETTINGS);
    for value in ["", "0", "false"] {
        assert_eq!(
            page_filter(&d, "people", &[("show_deleted", value)]),
            active(),
            "show_deleted={value}"
        );
    }
    assert_eq!(
        page_filter(&d, "people", &[("where", r#"{"_deleted": true}"#)]),
        Filter::eq("_deleted", true).and(active())
    );
    let both = r#"{"$and": [{"_deleted": true}, {"name": "a"}]}"#;
    let f = page_filter(&d, "people", &[("where", both)]);
    assert!(!format!("{f:?}").contains("Ne("), "{f:?}");
    // Inside `$or` it does not count (as Eve's `query_contains_field`).
    let either = r#"{"$or": [{"_deleted": true}, {"name": "a"}]}"#;
    let f = page_filter(&d, "people", &[("where", either)]);
    assert!(format!("{f:?}").contains("Ne("), "{f:?}");
    // The Python-like form too.
    assert_eq!(
        page_filter(&d, "people", &[("where", "_deleted == True")]),
        Filter::eq("_deleted", true).and(active())
    );
}

#[test]
fn item_reads_edits_and_item_deletes_find_deleted_documents() {
    let d = domain(SETTINGS);
    let id = Filter::eq("_id", ObjectId::parse_str(HEX).unwrap());
    let item = route(&d, EndpointKind::Item, "people", true);
    match plan_of(&d, "GET", item.clone(), &[]) {
        Plan::Item(ItemPlan { query, .. }) => assert_eq!(query.filter, id.clone().and(active())),
        other => panic!("{other:?}"),
    }
    for method in ["PATCH", "PUT"] {
        match plan_of(&d, method, item.clone(), &[]) {
            Plan::Edit(edit) => assert_eq!(edit.filter, id.clone().and(active()), "{method}"),
            other => panic!("{other:?}"),
        }
    }
    match plan_of(&d, "DELETE", item, &[]) {
        Plan::DeleteItem(DeleteItemPlan { filter, .. }) => {
            assert_eq!(filter, id.and(active()))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_collection_delete_selects_the_live_documents() {
    let d = domain(SETTINGS);
    let r = route(&d, EndpointKind::Collection, "people", false);
    match plan_of(&d, "DELETE", r, &[("show_deleted", "")]) {
        Plan::DeleteCollection(DeleteCollectionPlan { filter, .. }) => {
            assert_eq!(filter, active().and(not_deleted("_deleted")))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_flag_and_the_parameter_take_their_configured_names() {
    let d = domain(&format!(
        "DELETED: gone\nSHOW_DELETED_PARAM: all\n{SETTINGS}"
    ));
    assert_eq!(
        page_filter(&d, "people", &[]),
        active().and(not_deleted("gone"))
    );
    assert_eq!(page_filter(&d, "people", &[("all", "1")]), active());
    // The default name is an ordinary argument then.
    assert_eq!(
        page_filter(&d, "people", &[("show_deleted", "")]),
        active().and(not_deleted("gone"))
    );
    assert_eq!(
        page_filter(&d, "people", &[("where", r#"{"gone": true}"#)]),
        Filter::eq("gone", true).and(active())
    );
    // The renamed flag is an automatic field: always projected.
    let r = route(&d, EndpointKind::Collection, "people", false);
    let Plan::Page(p) = plan_of(&d, "GET", r, &[("projection", r#"{"name": 1}"#)]) else {
        panic!()
    };
    assert_eq!(
        p.query.projection.unwrap().get("gone"),
        Some(&Bson::Int32(1))
    );
}

#[test]
fn unique_fields_of_soft_delete_resources_get_plain_indexes() {
    let d = domain(SETTINGS);
    let index = |collection: &str| {
        d.collections[collection]
            .iter()
            .find(|i| i.name == "unique_name")
            .cloned()
            .expect("the index of the unique field")
    };
    // Deleted documents keep their values: only the executor's `unique`
    // check, which skips them, can enforce the rule.
    assert!(!index("people").unique);
    assert!(index("notes").unique);
}

#[test]
fn the_schema_cannot_declare_the_flag() {
    let e = check(
        parse_str(
            "DOMAIN: {a: {soft_delete: true, schema: {_deleted: {type: boolean}}}}",
            Format::Yaml,
        )
        .unwrap(),
        &eve_schema::Registry::default(),
    )
    .unwrap_err();
    assert!(e.has_problem_at("DOMAIN.a.schema._deleted"), "{e}");
    assert!(!e.has_problem_at("DOMAIN.a.soft_delete"), "{e}");
}
