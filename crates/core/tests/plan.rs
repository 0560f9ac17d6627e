//! The planner is pure: these tests parse requests and plan them on checked
//! settings, no server. One test (at least) per endpoint kind, and the
//! filter merge (URL variables, datasource, owner, where).

use std::sync::Arc;

use bson::{doc, oid::ObjectId, Bson};
use eve_core::plan::{
    item_filter, projection_for, DeleteCollectionPlan, DeleteItemPlan, EditKind, EditPlan,
    InsertPlan, ItemPlan, ReadPlan,
};
use eve_core::request::{ApiRequest, Conditions, EndpointKind, HttpMethod, IfMatch, Route};
use eve_core::settings::{check, parse_str, Format};
use eve_core::{plan, Access, ApiError, Domain, Plan};
use eve_query::{Filter, SortDir};

fn domain(yaml: &str) -> Domain {
    check(
        parse_str(yaml, Format::Yaml).unwrap(),
        &eve_schema::Registry::default(),
    )
    .unwrap()
}

const SETTINGS: &str = r#"
SCHEMA_ENDPOINT: schema
DOMAIN:
  people:
    schema:
      name: {type: string}
      ref: {type: objectid}
      code: {type: string}
      secret: {type: string}
    query_objectid_as_string: true
    datasource: {filter: {active: true}}
    auth_field: owner
    mongo_indexes:
      loc_geo: [[loc, "2dsphere"]]
  invoices:
    url: 'people/<regex("[a-f0-9]{24}"):contact_id>/invoices'
    auth_field: owner
    schema: {contact_id: {type: objectid}, n: {type: integer}}
    resource_methods: [GET, POST, DELETE]
    item_methods: [GET, PATCH, PUT, DELETE]
"#;

const HEX: &str = "5f0000000000000000000001";

fn oid(hex: &str) -> ObjectId {
    ObjectId::parse_str(hex).unwrap()
}

/// The route the router would build for `kind` on `resource`.
fn route(
    d: &Domain,
    kind: EndpointKind,
    resource: Option<&str>,
    lookup: Option<(&str, &str)>,
    url_vars: &[(&str, &str)],
) -> Route {
    Route {
        kind,
        resource: resource.map(|r| d.resources[r].clone()),
        url_vars: url_vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        lookup: lookup.map(|(k, v)| (k.to_string(), v.to_string())),
        resource_path: resource.unwrap_or_default().to_string(),
    }
}

fn request(
    d: &Domain,
    method: &str,
    route: Route,
    args: &[(&str, &str)],
    conditions: Conditions,
) -> Result<ApiRequest, ApiError> {
    let args = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ApiRequest::parse(d, HttpMethod::parse(method), route, args, conditions)
}

/// Parses and plans a request for an anonymous requester.
fn plan_of(
    d: &Domain,
    method: &str,
    route: Route,
    args: &[(&str, &str)],
) -> Result<Plan, ApiError> {
    let req = request(d, method, route, args, Conditions::default())?;
    plan(&req, &Access::anonymous(), d)
}

/// The plan of `GET /<resource>` with these query arguments.
fn page(d: &Domain, resource: &str, args: &[(&str, &str)]) -> Result<ReadPlan, ApiError> {
    page_at(d, resource, args, &[])
}

fn page_at(
    d: &Domain,
    resource: &str,
    args: &[(&str, &str)],
    url_vars: &[(&str, &str)],
) -> Result<ReadPlan, ApiError> {
    let r = route(d, EndpointKind::Collection, Some(resource), None, url_vars);
    match plan_of(d, "GET", r, args)? {
        Plan::Page(p) => Ok(p),
        other => panic!("not a page plan: {other:?}"),
    }
}

#[test]
fn client_where_is_anded_with_the_datasource_filter() {
    let d = domain(SETTINGS);
    let plan = page(&d, "people", &[("where", r#"{"name": "x"}"#)]).unwrap();
    let expected = Filter::eq("name", "x").and(Filter::eq("active", true));
    assert_eq!(plan.query.filter, expected);
    assert_eq!(plan.collection, "people");
}

#[test]
fn near_and_text_are_lifted_out_of_the_where_into_the_query() {
    let d = domain(SETTINGS);
    let w = r#"{"loc": {"$near": {"$geometry": {"type": "Point", "coordinates": [2.35, 48.85]}, "$maxDistance": 500}}, "name": "x"}"#;
    let plan = page(&d, "people", &[("where", w)]).unwrap();
    assert_eq!(
        plan.query.filter,
        Filter::eq("name", "x").and(Filter::eq("active", true))
    );
    assert_eq!(
        plan.query.near,
        Some(eve_query::Near {
            field: "loc".into(),
            point: [2.35, 48.85],
            max_distance: Some(500.0),
            min_distance: None,
            spherical: true,
            geojson: true,
        })
    );
    assert_eq!(plan.query.text, None);
    let w = r#"{"$text": {"$search": "rust eve"}}"#;
    let plan = page(&d, "people", &[("where", w)]).unwrap();
    assert_eq!(plan.query.filter, Filter::eq("active", true));
    assert_eq!(
        plan.query.text,
        Some(eve_query::TextSearch::new("rust eve"))
    );
    assert_eq!(plan.query.near, None);
    // Misplaced searches, malformed geo operands and a $near on a field
    // without a geo index are 400s.
    for w in [
        r#"{"$or": [{"$text": {"$search": "x"}}]}"#,
        r#"{"loc": {"$geoWithin": {"$center": [[0, 0], -1]}}}"#,
        r#"{"code": {"$near": [0, 0]}}"#,
    ] {
        assert!(
            matches!(
                page(&d, "people", &[("where", w)]),
                Err(ApiError::InvalidQuery(_))
            ),
            "{w}"
        );
    }
}

#[test]
fn sub_resource_variables_filter_and_are_converted() {
    let d = domain(SETTINGS);
    let plan = page_at(&d, "invoices", &[], &[("contact_id", HEX)]).unwrap();
    assert_eq!(plan.query.filter, Filter::eq("contact_id", oid(HEX)));
}

#[test]
fn hex_strings_become_object_ids_only_where_allowed() {
    let d = domain(SETTINGS);
    let w = format!(r#"{{"ref": "{HEX}", "code": "{HEX}"}}"#);
    let plan = page(&d, "people", &[("where", &w)]).unwrap();
    let doc = plan.query.filter.to_document();
    let text = format!("{doc:?}");
    // `ref` is typed objectid; `code` is a string and query_objectid_as_string is on.
    assert!(text.contains("ObjectId"), "{text}");
    assert!(text.contains(&format!("\"{HEX}\"")), "{text}");
}

#[test]
fn rfc1123_strings_become_dates() {
    let d = domain(SETTINGS);
    let w = r#"{"name": {"$gte": "Wed, 25 Feb 1987 17:00:00 GMT"}}"#;
    let plan = page(&d, "people", &[("where", w)]).unwrap();
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
    let plan = page(&d, "people", &[("page", "3"), ("max_results", "500")]).unwrap();
    assert_eq!(plan.max_results, Some(50));
    assert_eq!(plan.query.skip, 100);
    assert_eq!(plan.query.limit, Some(50));
    assert!(plan.count);
}

#[test]
fn the_page_query_carries_the_projection_and_the_sort() {
    let d = domain("DOMAIN: {people: {schema: {a: {type: string}, b: {type: string}}, datasource: {default_sort: [[a, -1]]}}}");
    let plan = page(&d, "people", &[("projection", r#"{"a": 1}"#)]).unwrap();
    let projection = plan.query.projection.expect("a projection");
    assert_eq!(projection.get("a"), Some(&Bson::Int32(1)));
    assert!(projection.get("b").is_none());
    assert_eq!(plan.query.sort, vec![("a".to_string(), SortDir::Desc)]);
    let plan = page(&d, "people", &[("sort", "b")]).unwrap();
    assert_eq!(plan.query.sort, vec![("b".to_string(), SortDir::Asc)]);
}

#[test]
fn where_errors_come_before_sort_and_projection_errors() {
    let d = domain(SETTINGS);
    let err = page(
        &d,
        "people",
        &[
            ("where", "{not json"),
            ("sort", "[[[["),
            ("projection", r#"{"a": 1, "b": 0}"#),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, ApiError::InvalidQuery(_)), "{err:?}");
    let err = page(&d, "people", &[("projection", r#"{"a": 1, "b": 0}"#)]).unwrap_err();
    assert!(
        matches!(err, ApiError::ProjectionMixesInclusionAndExclusion),
        "{err:?}"
    );
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
    let f = item_filter(&d, res, "_id", HEX, &[]).unwrap();
    assert_eq!(
        f,
        Filter::eq("_id", oid(HEX)).and(Filter::eq("active", true))
    );
}

#[test]
fn empty_allowed_filters_ignore_where() {
    let d = domain("ALLOWED_FILTERS: []\nDOMAIN: {people: {}}");
    let plan = page(&d, "people", &[("where", "not even valid")]).unwrap();
    assert_eq!(plan.query.filter, Filter::All);
}

/// Issue #9 (item 3): the datasource filter is converted (dates, ObjectIds)
/// and parsed once, when the Domain is built.
#[test]
fn the_datasource_filter_is_compiled_at_start_up() {
    let d = domain(
        "DOMAIN:\n  events:\n    schema: {at: {type: datetime}, owner: {type: objectid}}\n    datasource: {filter: {at: {$gte: 'Tue, 02 Apr 2013 10:29:13 GMT'}, owner: '5f0000000000000000000001'}}\n",
    );
    let at = bson::DateTime::from_millis(1_364_898_553_000);
    let expected = Filter::parse(&doc! {"at": {"$gte": at}, "owner": oid(HEX)}).unwrap();
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
    let people = Arc::get_mut(d.resources.get_mut("people").unwrap()).unwrap();
    people.datasource.compiled_filter = Some(Filter::eq("compiled", 1));
    let res = &d.resources["people"];
    let f = item_filter(&d, res, "_id", HEX, &[]).unwrap();
    assert_eq!(
        f,
        Filter::eq("_id", oid(HEX)).and(Filter::eq("compiled", 1))
    );
    let plan = page(&d, "people", &[]).unwrap();
    assert_eq!(plan.query.filter, Filter::eq("compiled", 1));
}

// ---- one plan per endpoint kind (issue #9 item 3) ----

#[test]
fn home_and_schema_plan_without_a_resource() {
    let d = domain(SETTINGS);
    let home = route(&d, EndpointKind::Home, None, None, &[]);
    assert_eq!(plan_of(&d, "GET", home.clone(), &[]).unwrap(), Plan::Home);
    assert_eq!(plan_of(&d, "HEAD", home, &[]).unwrap(), Plan::Home);
    let all = route(&d, EndpointKind::Schema, None, None, &[]);
    assert_eq!(plan_of(&d, "GET", all, &[]).unwrap(), Plan::Schema(None));
    let one = route(
        &d,
        EndpointKind::Schema,
        None,
        Some(("resource", "people")),
        &[],
    );
    assert_eq!(
        plan_of(&d, "GET", one, &[]).unwrap(),
        Plan::Schema(Some("people".into()))
    );
}

#[test]
fn an_item_read_is_the_lookup_anded_with_the_scope_limited_to_one() {
    let d = domain(SETTINGS);
    let r = route(
        &d,
        EndpointKind::Item,
        Some("invoices"),
        Some(("_id", HEX)),
        &[("contact_id", "5f00000000000000000000aa")],
    );
    let Plan::Item(ItemPlan {
        collection,
        query,
        page,
        max_results,
    }) = plan_of(&d, "GET", r, &[("projection", r#"{"n": 0}"#)]).unwrap()
    else {
        panic!("not an item plan")
    };
    assert_eq!(collection, "invoices");
    assert_eq!(
        query.filter,
        Filter::eq("_id", oid(HEX)).and(Filter::eq("contact_id", oid("5f00000000000000000000aa")))
    );
    assert_eq!(query.limit, Some(1));
    let projection = query.projection.expect("a projection");
    assert!(projection.get("n").is_none());
    assert_eq!(projection.get("contact_id"), Some(&Bson::Int32(1)));
    assert_eq!((page, max_results), (1, Some(25)));
}

#[test]
fn an_item_read_ignores_a_bad_where_but_not_a_bad_projection() {
    let d = domain(SETTINGS);
    let r = route(
        &d,
        EndpointKind::Item,
        Some("people"),
        Some(("_id", HEX)),
        &[],
    );
    assert!(matches!(
        plan_of(&d, "GET", r.clone(), &[("where", "{bad")]).unwrap(),
        Plan::Item(_)
    ));
    assert!(matches!(
        plan_of(&d, "GET", r, &[("projection", "{bad")]),
        Err(ApiError::InvalidQuery(_))
    ));
}

#[test]
fn a_version_read_is_planned_only_for_versioned_resources() {
    let mut d = domain(SETTINGS);
    let r = route(
        &d,
        EndpointKind::Item,
        Some("people"),
        Some(("_id", HEX)),
        &[],
    );
    assert!(matches!(
        plan_of(&d, "GET", r, &[("version", "2")]).unwrap(),
        Plan::Item(_)
    ));
    // Switched on by hand (the settings file says nothing of it).
    Arc::get_mut(d.resources.get_mut("people").unwrap())
        .unwrap()
        .versioning = true;
    let r = route(
        &d,
        EndpointKind::Item,
        Some("people"),
        Some(("_id", HEX)),
        &[],
    );
    let Plan::Version(v) = plan_of(&d, "GET", r, &[("version", "2")]).unwrap() else {
        panic!("not a version plan")
    };
    assert_eq!(v.version.as_deref(), Some("2"));
    assert_eq!(v.as_of, None);
    assert_eq!(
        v.item.query.filter,
        Filter::eq("_id", oid(HEX)).and(Filter::eq("active", true))
    );
}

#[test]
fn an_aggregation_endpoint_plans_an_aggregation() {
    let mut d = domain(SETTINGS);
    Arc::get_mut(d.resources.get_mut("people").unwrap())
        .unwrap()
        .datasource
        .aggregation = Some(eve_core::Aggregation {
        pipeline: vec![doc! {"$match": {"a": "$a"}}],
        options: None,
    });
    let r = route(&d, EndpointKind::Collection, Some("people"), None, &[]);
    let Plan::Aggregate(a) = plan_of(&d, "GET", r, &[("aggregate", r#"{"$a": 1}"#)]).unwrap()
    else {
        panic!("not an aggregation plan")
    };
    assert_eq!(a.collection, "people");
    assert_eq!(a.pipeline, vec![doc! {"$match": {"a": 1}}]);
    assert_eq!((a.page, a.max_results, a.paginate), (1, Some(25), true));
    let r = route(&d, EndpointKind::Collection, Some("people"), None, &[]);
    let err = plan_of(&d, "GET", r, &[("aggregate", "[1]")]).unwrap_err();
    assert!(
        matches!(err, eve_core::ApiError::AggregationUnparsable),
        "{err:?}"
    );
}

#[test]
fn an_insert_writes_the_url_variables_of_schema_fields() {
    let d = domain(SETTINGS);
    let r = route(
        &d,
        EndpointKind::Collection,
        Some("invoices"),
        None,
        &[("contact_id", HEX)],
    );
    assert_eq!(
        plan_of(&d, "POST", r, &[]).unwrap(),
        Plan::Insert(InsertPlan {
            collection: "invoices".into(),
            url_fields: vec![("contact_id".into(), HEX.into())],
        })
    );
}

#[test]
fn edits_carry_the_scoped_item_filter_and_the_typed_if_match() {
    let d = domain(SETTINGS);
    let r = route(
        &d,
        EndpointKind::Item,
        Some("invoices"),
        Some(("_id", HEX)),
        &[("contact_id", "5f00000000000000000000aa")],
    );
    let expected_filter =
        Filter::eq("_id", oid(HEX)).and(Filter::eq("contact_id", oid("5f00000000000000000000aa")));
    let conditions = Conditions::from_headers(Some(b"\"abc\""), None, None);
    for (method, kind) in [("PUT", EditKind::Replace), ("PATCH", EditKind::Update)] {
        let req = request(&d, method, r.clone(), &[], conditions.clone()).unwrap();
        assert_eq!(
            plan(&req, &Access::anonymous(), &d).unwrap(),
            Plan::Edit(EditPlan {
                kind,
                collection: "invoices".into(),
                filter: expected_filter.clone(),
                if_match: IfMatch::Etag("abc".into()),
                // UPSERT_ON_PUT is on by default, as in Eve.
                upsert: kind == EditKind::Replace,
                url_fields: vec![("contact_id".into(), "5f00000000000000000000aa".into())],
                any_owner: None,
            })
        );
    }
}

#[test]
fn put_upserts_only_with_upsert_on_put() {
    let off = domain(&format!("UPSERT_ON_PUT: false\n{SETTINGS}"));
    let r = route(
        &off,
        EndpointKind::Item,
        Some("invoices"),
        Some(("_id", HEX)),
        &[],
    );
    let Plan::Edit(put) = plan_of(&off, "PUT", r, &[]).unwrap() else {
        panic!()
    };
    assert!(!put.upsert);
    let d = domain(&format!("UPSERT_ON_PUT: true\n{SETTINGS}"));
    let r = route(
        &d,
        EndpointKind::Item,
        Some("invoices"),
        Some(("_id", HEX)),
        &[],
    );
    let Plan::Edit(put) = plan_of(&d, "PUT", r.clone(), &[]).unwrap() else {
        panic!()
    };
    assert!(put.upsert);
    let Plan::Edit(patch) = plan_of(&d, "PATCH", r, &[]).unwrap() else {
        panic!()
    };
    assert!(!patch.upsert);
}

#[test]
fn deletes_are_scoped_and_ignore_the_client_where() {
    let d = domain(SETTINGS);
    let r = route(
        &d,
        EndpointKind::Item,
        Some("people"),
        Some(("_id", HEX)),
        &[],
    );
    assert_eq!(
        plan_of(&d, "DELETE", r, &[]).unwrap(),
        Plan::DeleteItem(DeleteItemPlan {
            collection: "people".into(),
            filter: Filter::eq("_id", oid(HEX)).and(Filter::eq("active", true)),
            if_match: IfMatch::Absent,
        })
    );
    let r = route(
        &d,
        EndpointKind::Collection,
        Some("invoices"),
        None,
        &[("contact_id", HEX)],
    );
    assert_eq!(
        plan_of(&d, "DELETE", r, &[("where", r#"{"n": 1}"#)]).unwrap(),
        Plan::DeleteCollection(DeleteCollectionPlan {
            collection: "invoices".into(),
            filter: Filter::eq("contact_id", oid(HEX)),
        })
    );
}

#[test]
fn methods_no_endpoint_kind_serves_are_refused() {
    let d = domain(SETTINGS);
    let item = route(
        &d,
        EndpointKind::Item,
        Some("people"),
        Some(("_id", HEX)),
        &[],
    );
    assert!(matches!(
        plan_of(&d, "POST", item, &[]),
        Err(ApiError::MethodNotAllowed)
    ));
    let extra = route(
        &d,
        EndpointKind::AdditionalItem,
        Some("people"),
        Some(("name", "x")),
        &[],
    );
    assert!(matches!(
        plan_of(&d, "DELETE", extra, &[]),
        Err(ApiError::MethodNotAllowed)
    ));
    let home = route(&d, EndpointKind::Home, None, None, &[]);
    assert!(matches!(
        plan_of(&d, "POST", home, &[]),
        Err(ApiError::MethodNotAllowed)
    ));
}

#[test]
fn the_owner_filter_of_the_access_is_merged_into_every_scope() {
    let d = domain(SETTINGS);
    let owner = Access {
        user: Some("ann".into()),
        owner_value: Some(Bson::String("ann".into())),
        ..Access::default()
    };
    let plan_for = |method: &str, r: Route, args: &[(&str, &str)]| {
        let req = request(&d, method, r, args, Conditions::default()).unwrap();
        plan(&req, &owner, &d).unwrap()
    };
    // where ∧ URL variables ∧ datasource ∧ owner, in this order.
    let r = route(&d, EndpointKind::Collection, Some("people"), None, &[]);
    let Plan::Page(p) = plan_for("GET", r, &[("where", r#"{"name": "x"}"#)]) else {
        panic!()
    };
    assert_eq!(
        p.query.filter,
        Filter::eq("name", "x")
            .and(Filter::eq("active", true))
            .and(Filter::eq("owner", "ann"))
    );
    let r = route(
        &d,
        EndpointKind::Item,
        Some("people"),
        Some(("_id", HEX)),
        &[],
    );
    let Plan::Item(i) = plan_for("GET", r.clone(), &[]) else {
        panic!()
    };
    let item = Filter::eq("_id", oid(HEX))
        .and(Filter::eq("active", true))
        .and(Filter::eq("owner", "ann"));
    assert_eq!(i.query.filter, item);
    let Plan::DeleteItem(del) = plan_for("DELETE", r, &[]) else {
        panic!()
    };
    assert_eq!(del.filter, item);
    let r = route(
        &d,
        EndpointKind::Collection,
        Some("invoices"),
        None,
        &[("contact_id", HEX)],
    );
    let Plan::DeleteCollection(all) = plan_for("DELETE", r, &[]) else {
        panic!()
    };
    assert_eq!(
        all.filter,
        Filter::eq("contact_id", oid(HEX)).and(Filter::eq("owner", "ann"))
    );
}

/// ann, with her auth value; `via` as the HTTP pipeline sets it.
fn ann() -> Access {
    Access {
        user: Some("ann".into()),
        owner_value: Some(Bson::String("ann".into())),
        ..Access::default()
    }
}

#[test]
fn a_where_on_the_owner_field_must_name_the_users_own_value() {
    let d = domain(SETTINGS);
    let plan_for = |w: &str| {
        let r = route(&d, EndpointKind::Collection, Some("people"), None, &[]);
        let req = request(&d, "GET", r, &[("where", w)], Conditions::default()).unwrap();
        plan(&req, &ann(), &d)
    };
    // Another value, at the top or in the top-level `$and`: 401.
    for w in [
        r#"{"owner": "bob"}"#,
        r#"{"owner": {"$ne": "ann"}}"#,
        r#"{"$and": [{"name": "x"}, {"owner": "bob"}]}"#,
        r#"owner == "bob""#,
    ] {
        assert!(
            matches!(plan_for(w), Err(ApiError::OwnerFilterConflict)),
            "{w}"
        );
    }
    // Their own value, or anything deeper (ANDed with the owner filter,
    // so it can only narrow): planned.
    for w in [
        r#"{"owner": "ann"}"#,
        r#"{"$or": [{"owner": "bob"}, {"name": "x"}]}"#,
    ] {
        let Ok(Plan::Page(p)) = plan_for(w) else {
            panic!("{w}")
        };
        assert!(
            format!("{:?}", p.query.filter).contains(r#"Eq(String("ann"))"#),
            "{w}"
        );
    }
    // Without an auth value the field is an ordinary filter.
    let r = route(&d, EndpointKind::Collection, Some("people"), None, &[]);
    let req = request(
        &d,
        "GET",
        r,
        &[("where", r#"{"owner": "bob"}"#)],
        Conditions::default(),
    )
    .unwrap();
    assert!(plan(&req, &Access::anonymous(), &d).is_ok());
}

#[test]
fn a_restricted_put_also_names_the_item_whoever_owns_it() {
    let d = domain(SETTINGS);
    let r = route(
        &d,
        EndpointKind::Item,
        Some("people"),
        Some(("_id", HEX)),
        &[],
    );
    let edit = |method: &str, access: &Access| {
        let req = request(&d, method, r.clone(), &[], Conditions::default()).unwrap();
        match plan(&req, access, &d).unwrap() {
            Plan::Edit(e) => e,
            other => panic!("{other:?}"),
        }
    };
    let put = edit("PUT", &ann());
    let anyone = Filter::eq("_id", oid(HEX)).and(Filter::eq("active", true));
    assert_eq!(put.any_owner, Some(anyone.clone()));
    assert_eq!(put.filter, anyone.and(Filter::eq("owner", "ann")));
    // PATCH answers 404 for another's document: no such filter.
    assert_eq!(edit("PATCH", &ann()).any_owner, None);
    assert_eq!(edit("PUT", &Access::anonymous()).any_owner, None);
}

#[test]
fn each_resource_is_restricted_by_its_own_auth_field() {
    let d = domain(
        "AUTH_FIELD: owner\nDOMAIN: {a: {}, b: {auth_field: author}, c: {auth_field: null}}",
    );
    let a = ann();
    let res = |n: &str| d.resources[n].clone();
    assert_eq!(a.owner_filter_for(&res("a")), Filter::eq("owner", "ann"));
    assert_eq!(a.owner_filter_for(&res("b")), Filter::eq("author", "ann"));
    assert_eq!(a.owner_filter_for(&res("c")), Filter::All);
    assert_eq!(Access::anonymous().owner_filter_for(&res("a")), Filter::All);
    // The field decided for the resource a request names.
    let via = eve_core::access::Via {
        method: "GET".into(),
        item: true,
    };
    assert_eq!(
        a.clone()
            .restricted_to(&res("b"), via.clone())
            .owner_field
            .as_deref(),
        Some("author")
    );
    assert_eq!(a.restricted_to(&res("c"), via).owner_field, None);
}
