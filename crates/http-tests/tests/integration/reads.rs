//! Reads: pagination, HATEOAS, filtering, sorting, projections, lookups
//! (features.md §3.2, §3.3, §5, §6, §8, §9, §10, §29).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::common::{enc, TestApp, PEOPLE};

async fn seeded(n: usize) -> TestApp {
    let t = TestApp::new(PEOPLE).await;
    let docs: Vec<Value> = (0..n)
        .map(|i| json!({"lastname": format!("L{i:02}"), "age": i}))
        .collect();
    let r = t
        .post("/people", &serde_json::to_string(&docs).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t
}

fn lastnames(v: &Value) -> Vec<String> {
    v["_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["lastname"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn empty_collection_is_served() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.get("/people").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"_items": [], "_links": {"parent": {"title": "home", "href": "/"}, "self": {"title": "people", "href": "people"}}, "_meta": {"page": 1, "max_results": 25, "total": 0}})
    );
    assert_eq!(r.header("x-total-count"), Some("0"));
    assert!(r.header("last-modified").is_none());
    assert!(r.header("etag").is_none());
}

#[tokio::test]
async fn collection_items_carry_meta_fields_and_self_links() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t
        .create(
            "/people",
            r#"{"firstname": "John", "lastname": "Doe", "born": "Thu, 27 Aug 1970 14:37:13 GMT"}"#,
        )
        .await;
    let r = t.get("/people").await;
    let item = &r.json()["_items"][0];
    let keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "firstname",
            "lastname",
            "born",
            "_updated",
            "_created",
            "_etag",
            "_id",
            "_links"
        ]
    );
    assert_eq!(item["born"], "Thu, 27 Aug 1970 14:37:13 GMT");
    assert_eq!(item["_etag"], etag.as_str());
    assert_eq!(
        item["_links"],
        json!({"self": {"title": "person", "href": format!("people/{id}")}})
    );
    assert_eq!(r.header("last-modified"), item["_updated"].as_str());
}

#[tokio::test]
async fn pagination_meta_and_links() {
    let t = seeded(7).await;
    let r = t.get("/people?max_results=2&page=2&foo=bar").await;
    let j = r.json();
    assert_eq!(j["_meta"], json!({"page": 2, "max_results": 2, "total": 7}));
    assert_eq!(lastnames(&j), ["L02", "L03"]);
    assert_eq!(
        j["_links"],
        json!({
            "parent": {"title": "home", "href": "/"},
            "self": {"title": "people", "href": "people?max_results=2&page=2&foo=bar"},
            "next": {"title": "next page", "href": "people?max_results=2&page=3&foo=bar"},
            "last": {"title": "last page", "href": "people?max_results=2&page=4&foo=bar"},
            "prev": {"title": "previous page", "href": "people?max_results=2&foo=bar"}
        })
    );
    assert_eq!(r.header("x-total-count"), Some("7"));
}

#[tokio::test]
async fn max_results_is_clamped_and_bad_paging_values_fall_back() {
    let t = seeded(3).await;
    assert_eq!(
        t.get("/people?max_results=100").await.json()["_meta"]["max_results"],
        50
    );
    assert_eq!(
        t.get("/people?max_results=-1").await.json()["_meta"]["max_results"],
        25
    );
    assert_eq!(
        t.get("/people?max_results=abc").await.json()["_meta"]["max_results"],
        25
    );
    assert_eq!(t.get("/people?page=0").await.json()["_meta"]["page"], 1);
    assert_eq!(t.get("/people?page=-2").await.json()["_meta"]["page"], 2);
    let beyond = t.get("/people?page=9").await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(beyond.json()["_items"], json!([]));
}

#[tokio::test]
async fn optimized_pagination_skips_the_count() {
    let yaml = PEOPLE.replace(
        "item_title: person",
        "item_title: person\n    optimize_pagination_for_speed: true",
    );
    let t = TestApp::new(&yaml).await;
    t.create("/people", r#"{"lastname": "A"}"#).await;
    let r = t.get("/people").await;
    let j = r.json();
    assert_eq!(j["_meta"], json!({"page": 1, "max_results": 25}));
    assert!(r.header("x-total-count").is_none());
    assert_eq!(j["_links"]["next"]["href"], "people?page=2");
    assert!(j["_links"].get("last").is_none());
    assert_eq!(j["_links"]["self"]["href"], "people");
}

#[tokio::test]
async fn pagination_off_returns_everything_without_meta() {
    let yaml = format!("PAGINATION: false\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    let docs: Vec<Value> = (0..30)
        .map(|i| json!({"lastname": format!("N{i:02}")}))
        .collect();
    t.post("/people", &serde_json::to_string(&docs).unwrap())
        .await;
    let j = t.get("/people").await.json();
    assert_eq!(j["_items"].as_array().unwrap().len(), 30);
    assert!(j.get("_meta").is_none());
}

#[tokio::test]
async fn where_in_mongo_json() {
    let t = seeded(5).await;
    let j = t
        .get(&format!("/people?where={}", enc(r#"{"age": {"$gte": 3}}"#)))
        .await
        .json();
    assert_eq!(lastnames(&j), ["L03", "L04"]);
    let j = t
        .get(&format!(
            "/people?where={}",
            enc(r#"{"$or": [{"age": 1}, {"lastname": "L04"}]}"#)
        ))
        .await
        .json();
    assert_eq!(lastnames(&j), ["L01", "L04"]);
}

#[tokio::test]
async fn where_in_python_form() {
    let t = seeded(5).await;
    let j = t
        .get(&format!(
            "/people?where={}",
            enc(r#"age>2 and lastname!="L04""#)
        ))
        .await
        .json();
    assert_eq!(lastnames(&j), ["L03"]);
    let j = t
        .get(&format!("/people?where={}", enc(r#"lastname=="L01""#)))
        .await
        .json();
    assert_eq!(lastnames(&j), ["L01"]);
}

#[tokio::test]
async fn where_on_dates_converts_rfc1123_strings() {
    let t = TestApp::new(PEOPLE).await;
    t.create(
        "/people",
        r#"{"lastname": "Old", "born": "Thu, 27 Aug 1970 14:37:13 GMT"}"#,
    )
    .await;
    t.create(
        "/people",
        r#"{"lastname": "New", "born": "Wed, 25 Feb 1987 17:00:00 GMT"}"#,
    )
    .await;
    let w = enc(r#"{"born": {"$gte": "Wed, 25 Feb 1987 17:00:00 GMT"}}"#);
    assert_eq!(
        lastnames(&t.get(&format!("/people?where={w}")).await.json()),
        ["New"]
    );
}

#[tokio::test]
async fn where_on_ids_converts_hex_strings() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "A"}"#).await;
    t.create("/people", r#"{"lastname": "B"}"#).await;
    let w = enc(&format!(r#"{{"_id": "{id}"}}"#));
    assert_eq!(
        lastnames(&t.get(&format!("/people?where={w}")).await.json()),
        ["A"]
    );
}

#[tokio::test]
async fn bad_where_is_400() {
    let t = seeded(1).await;
    for bad in [
        r#"{"lastname": {"$foo": 1}}"#,
        "lastname ==",
        "[1]",
        r#"{"$where": "1"}"#,
        r#"{"a": {"$regex": "x"}}"#,
    ] {
        let r = t.get(&format!("/people?where={}", enc(bad))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert_eq!(r.json()["_error"]["code"], 400);
    }
}

#[tokio::test]
async fn allowed_filters_reject_other_fields() {
    let yaml = PEOPLE.replace(
        "item_title: person",
        "item_title: person\n    allowed_filters: [lastname]",
    );
    let t = TestApp::new(&yaml).await;
    let r = t
        .get(&format!("/people?where={}", enc(r#"{"age": 1}"#)))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["_error"]["message"], "filter on 'age' not allowed");
    assert_eq!(
        t.get(&format!("/people?where={}", enc(r#"{"lastname": "x"}"#)))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn empty_allowed_filters_ignore_where() {
    let yaml = format!("ALLOWED_FILTERS: []\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    t.create("/people", r#"{"lastname": "A"}"#).await;
    let r = t
        .get(&format!("/people?where={}", enc(r#"{"lastname": "zzz"}"#)))
        .await;
    assert_eq!(r.json()["_meta"]["total"], 1);
}

#[tokio::test]
async fn sorting_in_both_syntaxes() {
    let t = seeded(3).await;
    assert_eq!(
        lastnames(&t.get("/people?sort=-age").await.json()),
        ["L02", "L01", "L00"]
    );
    assert_eq!(
        lastnames(
            &t.get(&format!("/people?sort={}", enc(r#"[("age", -1)]"#)))
                .await
                .json()
        ),
        ["L02", "L01", "L00"]
    );
    assert_eq!(
        t.get(&format!("/people?sort={}", enc(r#"[("age", -1"#)))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn default_sort_applies_without_client_sort() {
    let yaml = PEOPLE.replace(
        "item_title: person",
        "item_title: person\n    datasource: {default_sort: [[age, -1]]}",
    );
    let t = TestApp::new(&yaml).await;
    t.post(
        "/people",
        r#"[{"lastname": "A", "age": 1}, {"lastname": "B", "age": 2}]"#,
    )
    .await;
    assert_eq!(lastnames(&t.get("/people").await.json()), ["B", "A"]);
    assert_eq!(
        lastnames(&t.get("/people?sort=age").await.json()),
        ["A", "B"]
    );
}

#[tokio::test]
async fn client_projection_includes_or_excludes_but_keeps_meta() {
    let t = TestApp::new(PEOPLE).await;
    t.create(
        "/people",
        r#"{"firstname": "John", "lastname": "Doe", "age": 3}"#,
    )
    .await;
    let j = t
        .get(&format!("/people?projection={}", enc(r#"{"lastname": 1}"#)))
        .await
        .json();
    let mut keys: Vec<String> = j["_items"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["_created", "_etag", "_id", "_links", "_updated", "lastname"]
    );
    let j = t
        .get(&format!("/people?projection={}", enc(r#"{"age": 0}"#)))
        .await
        .json();
    assert!(j["_items"][0].get("age").is_none());
    assert_eq!(j["_items"][0]["firstname"], "John");
    assert_eq!(
        t.get("/people?projection=[1]").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn fields_outside_the_schema_are_not_served() {
    let t = TestApp::new("DOMAIN: {works: {}}").await;
    t.app
        .store()
        .insert("works", vec![bson::doc! {"title": "hidden"}])
        .await
        .unwrap();
    let j = t.get("/works").await.json();
    let item = &j["_items"][0];
    assert!(item.get("title").is_none());
    assert_eq!(item["_created"], "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(item["_etag"].as_str().unwrap().len(), 40);
}

#[tokio::test]
async fn item_get_has_etag_last_modified_and_links() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t.get(&format!("/people/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("etag").unwrap(), format!("\"{etag}\""));
    let j = r.json();
    assert_eq!(r.header("last-modified"), j["_updated"].as_str());
    assert_eq!(
        j["_links"],
        json!({
            "self": {"title": "person", "href": format!("people/{id}")},
            "parent": {"title": "home", "href": "/"},
            "collection": {"title": "people", "href": "people"}
        })
    );
}

#[tokio::test]
async fn missing_item_is_404_and_bad_id_is_unknown_url() {
    let t = TestApp::new(PEOPLE).await;
    assert_eq!(
        t.get("/people/5f0000000000000000000001").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/people/not-an-id").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn additional_lookup_serves_the_same_document() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t.get("/people/Doe").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["_id"], id.as_str());
    assert_eq!(r.json()["_links"]["self"]["href"], format!("people/{id}"));
    // read-only
    assert_eq!(
        t.send("DELETE", "/people/Doe", &[], None).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn related_links_point_at_referenced_documents() {
    let t = TestApp::new(PEOPLE).await;
    let (pid, _) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t
        .post("/works", &format!(r#"{{"title": "t", "owner": "{pid}"}}"#))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.json()["_links"]["related"],
        json!({"owner": {"title": "person", "href": format!("people/{pid}")}})
    );
    let j = t.get("/works").await.json();
    assert_eq!(
        j["_items"][0]["_links"]["related"]["owner"]["href"],
        format!("people/{pid}")
    );
}

#[tokio::test]
async fn renamed_query_parameters_are_used_in_links_and_meta() {
    let yaml = format!("QUERY_MAX_RESULTS: limit\nQUERY_PAGE: p\n{PEOPLE}");
    let t = TestApp::new(&yaml).await;
    t.post("/people", r#"[{"lastname": "A"}, {"lastname": "B"}]"#)
        .await;
    let j = t.get("/people?limit=1").await.json();
    assert_eq!(j["_meta"], json!({"limit": 1, "p": 1, "total": 2}));
    assert_eq!(j["_links"]["next"]["href"], "people?limit=1&p=2");
}

#[tokio::test]
async fn mixed_projection_is_refused() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let mixed = enc(r#"{"lastname": 1, "age": 0}"#);
    for url in [
        format!("/people?projection={mixed}"),
        format!("/people/{id}?projection={mixed}"),
    ] {
        let r = t.get(&url).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.json()["_error"]["message"],
            "projection cannot mix inclusion and exclusion"
        );
    }
}

#[tokio::test]
async fn lists_of_references_get_a_list_of_related_links() {
    let yaml = r#"
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  people: {schema: {name: {type: string}}}
  teams:
    schema:
      members: {type: list, schema: {type: objectid, data_relation: {resource: people}}}
"#;
    let t = TestApp::new(yaml).await;
    let (a, _) = t.create("/people", r#"{"name": "a"}"#).await;
    let (b, _) = t.create("/people", r#"{"name": "b"}"#).await;
    let r = t
        .post("/teams", &format!(r#"{{"members": ["{a}", "{b}"]}}"#))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(
        r.json()["_links"]["related"],
        json!({"members": [
            {"title": "People", "href": format!("people/{a}")},
            {"title": "People", "href": format!("people/{b}")}
        ]})
    );
}

/// Expected answers taken from the oracle with the same settings.
#[tokio::test]
async fn validate_filters_checks_where_against_the_schema() {
    let yaml = r#"
VALIDATE_FILTERS: true
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  people:
    schema:
      name: {type: string, maxlength: 5}
      age: {type: integer}
      loc: {type: dict, schema: {city: {type: string}}}
      tags: {type: list, schema: {type: dict, schema: {k: {type: string}}}}
      ref: {type: objectid}
"#;
    let t = TestApp::new(yaml).await;
    t.create("/people", r#"{"name": "ann", "age": 5}"#).await;
    let valid = [
        r#"{"age": 5}"#,
        r#"{"loc.city": "Rome"}"#,
        r#"{"tags.k": "a"}"#,
        r#"{"_id": "5f0000000000000000000001"}"#,
        r#"{"ref": "5f0000000000000000000001"}"#,
        "age==5",
    ];
    for w in valid {
        let r = t.get(&format!("/people?where={}", enc(w))).await;
        assert_eq!(r.status, StatusCode::OK, "{w}: {}", r.text);
    }
    let invalid = [
        (r#"{"age": "x"}"#, "age"),
        (r#"{"age": {"$gt": 1}}"#, "age"),
        (r#"{"name": "toolongname"}"#, "name"),
        (r#"{"nope": 1}"#, "nope"),
        (r#"{"$or": [{"age": 1}, {"name": 2}]}"#, "name"),
        (r#"{"loc.city": 5}"#, "loc.city"),
        (r#"{"tags.k": 1}"#, "tags.k"),
        (r#"{"_created": "x"}"#, "_created"),
        (r#"age=="x""#, "age"),
    ];
    for (w, key) in invalid {
        let r = t.get(&format!("/people?where={}", enc(w))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{w}: {}", r.text);
        assert_eq!(
            r.json(),
            json!({"_status": "ERR", "_error": {"code": 400, "message": format!("filter on '{key}' is invalid")}})
        );
    }
}

#[tokio::test]
async fn filters_are_not_validated_by_default() {
    let t = seeded(1).await;
    let r = t
        .get(&format!("/people?where={}", enc(r#"{"age": "x"}"#)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

/// A page's `_meta.total` and its `_items` come from one snapshot of the
/// store: with documents being inserted meanwhile, a page large enough to
/// hold every match always holds exactly `total` items.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn page_total_and_items_agree_under_concurrent_inserts() {
    // The reader reads until the inserter is done (bounded by a deadline
    // and a round cap), so a slow first POST on a loaded machine cannot
    // use up its rounds before any write happened.
    const INSERTS: usize = 150;
    const MAX_ROUNDS: usize = 100_000;
    let t = TestApp::new(
        "PAGINATION_LIMIT: 1000\nRESOURCE_METHODS: [GET, POST]\nDOMAIN:\n  things:\n    schema:\n      n: {type: integer}\n",
    )
    .await;
    let done = std::sync::atomic::AtomicBool::new(false);
    let inserter = async {
        for n in 0..INSERTS {
            let r = t.post("/things", &format!(r#"{{"n": {n}}}"#)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let reader = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let (mut rounds, mut sizes) = (0, std::collections::BTreeSet::new());
        while rounds < MAX_ROUNDS
            && std::time::Instant::now() < deadline
            && !done.load(std::sync::atomic::Ordering::SeqCst)
        {
            let j = t.get("/things?max_results=1000").await.json();
            let items = j["_items"].as_array().map_or(0, Vec::len);
            assert_eq!(
                j["_meta"]["total"],
                json!(items),
                "round {rounds}: total and items disagree"
            );
            sizes.insert(items);
            rounds += 1;
            tokio::task::yield_now().await;
        }
        sizes
    };
    let ((), sizes) = tokio::join!(inserter, reader);
    assert!(
        sizes.len() > 2,
        "the reads never saw the collection grow (sizes {sizes:?}): no race was tested"
    );
    let j = t.get("/things?max_results=1000").await.json();
    assert_eq!(j["_meta"]["total"], json!(INSERTS));
}
