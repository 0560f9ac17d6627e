//! Document versioning over HTTP (features.md §22): version numbers in
//! responses, shadow entries in Eve's shape, `?version=N|all|diffs`,
//! caching of versions, hooks, histories removed by DELETE, documents
//! stored before versioning was on, and the eve-rs addition `?as_of=`.
//! Runs on every data layer (`EVE_TEST_BACKEND`).

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use eve_http::{Hooks, Scope};
use serde_json::{json, Value};

use super::common::{enc, TestApp};

/// A versioned resource, and a read-only view of its shadow collection
/// (to check what is stored there, in Eve's shape).
const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  people:
    item_title: person
    versioning: true
    schema:
      name: {type: string}
      age: {type: integer}
      notes: {type: string, versioned: false}
  shadows:
    datasource: {source: people_versions}
    allow_unknown: true
    resource_methods: [GET]
    item_methods: [GET]
  plain:
    schema:
      name: {type: string}
"#;

/// Creates a person, then PATCHes and PUTs it: versions 1 (Ann, 30),
/// 2 (Bea, 30) and 3 (Cid, no age). Returns the id and the last ETag.
async fn three_versions(t: &TestApp) -> (String, String) {
    let (id, etag) = t
        .create("/people", r#"{"name": "Ann", "age": 30, "notes": "n1"}"#)
        .await;
    let url = format!("/people/{id}");
    let r = t.edit("PATCH", &url, &etag, r#"{"name": "Bea"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_version"], 2);
    assert_eq!(r.json()["_latest_version"], 2);
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t
        .edit("PUT", &url, &etag, r#"{"name": "Cid", "notes": "n3"}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_version"], 3);
    (id, r.json()["_etag"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn post_stamps_version_one_and_stores_an_eve_shadow() {
    let t = TestApp::new(SETTINGS).await;
    let r = t
        .post("/people", r#"{"name": "Ann", "age": 30, "notes": "n"}"#)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let j = r.json();
    assert_eq!(j["_version"], 1);
    assert_eq!(j["_latest_version"], 1);
    let id = j["_id"].as_str().unwrap();
    let etag = j["_etag"].as_str().unwrap();

    let item = t.get(&format!("/people/{id}")).await;
    assert_eq!(item.json()["_version"], 1);
    assert_eq!(item.json()["_latest_version"], 1);
    // The ETag header of a versioned item carries the latest version.
    assert_eq!(item.header("etag").unwrap(), format!("\"{etag}1\""));
    assert_eq!(item.json()["_etag"], etag);
    let page = t.get("/people").await.json();
    assert_eq!(page["_items"][0]["_version"], 1);
    assert_eq!(page["_items"][0]["_latest_version"], 1);

    // The shadow entry: versioned fields, `_updated`, `_etag`, the
    // document id under `_id_document`, `_version`; not `notes`
    // (versioned: false) nor `_created`.
    let shadows = t.get("/shadows").await.json();
    assert_eq!(shadows["_meta"]["total"], 1, "{shadows}");
    let s = &shadows["_items"][0];
    assert_eq!(s["_id_document"], id);
    assert_eq!(s["_version"], 1);
    assert_eq!(s["name"], "Ann");
    assert_eq!(s["age"], 30);
    assert_eq!(s["_etag"], etag);
    assert_eq!(s["_updated"], j["_updated"]);
    assert!(s.get("notes").is_none(), "{s}");
    assert_ne!(s["_id"], id);
    let stored = t
        .get(&format!("/shadows/{}", s["_id"].as_str().unwrap()))
        .await
        .json();
    let mut keys: Vec<&str> = stored
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "_links")
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "_created",
            "_etag",
            "_id",
            "_id_document",
            "_updated",
            "_version",
            "age",
            "name"
        ],
        "(_created is the view's default for a document without one)"
    );
}

#[tokio::test]
async fn a_bulk_post_writes_one_shadow_per_document() {
    let t = TestApp::new(SETTINGS).await;
    let r = t.post("/people", r#"[{"name": "A"}, {"name": "B"}]"#).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["_items"][1]["_version"], 1);
    assert_eq!(t.get("/shadows").await.json()["_meta"]["total"], 2);
}

#[tokio::test]
async fn edits_add_versions_and_old_versions_are_synthesised() {
    let t = TestApp::new(SETTINGS).await;
    let (id, _) = three_versions(&t).await;
    let url = format!("/people/{id}");
    assert_eq!(t.get("/shadows").await.json()["_meta"]["total"], 3);

    let latest = t.get(&url).await.json();
    assert_eq!(latest["_version"], 3);
    assert_eq!(latest["name"], "Cid");
    assert!(latest.get("age").is_none());

    let v1 = t.get(&format!("{url}?version=1")).await;
    assert_eq!(v1.status, StatusCode::OK, "{}", v1.text);
    let j = v1.json();
    assert_eq!(j["name"], "Ann");
    assert_eq!(j["age"], 30);
    // Unversioned fields come from the latest document.
    assert_eq!(j["notes"], "n3");
    assert_eq!(j["_version"], 1);
    assert_eq!(j["_latest_version"], 3);
    assert_eq!(j["_id"], id);
    assert_eq!(j["_created"], latest["_created"]);
    assert_eq!(
        j["_links"],
        json!({
            "self": {"title": "person", "href": format!("people/{id}?version=1")},
            "parent": {"title": "person", "href": format!("people/{id}")},
            "collection": {"title": "people", "href": format!("people/{id}?version=all")},
        })
    );
    let v2 = t.get(&format!("{url}?version=2")).await.json();
    assert_eq!(
        (v2["name"].clone(), v2["age"].clone()),
        (json!("Bea"), json!(30))
    );
    assert_eq!(v2["_version"], 2);

    assert_eq!(
        t.get(&format!("{url}?version=4")).await.status,
        StatusCode::NOT_FOUND
    );
    for bad in ["0", "-1", "abc", "1.5"] {
        let r = t.get(&format!("{url}?version={bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
    }
    // A missing document is 404 before the version is looked at.
    let r = t.get("/people/5f0000000000000000000000?version=abc").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn all_versions_are_paged_sorted_and_linked() {
    let t = TestApp::new(SETTINGS).await;
    let (id, _) = three_versions(&t).await;
    let url = format!("/people/{id}");
    let r = t.get(&format!("{url}?version=all")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = r.json();
    let names: Vec<&str> = j["_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann", "Bea", "Cid"]);
    assert_eq!(j["_items"][0]["_version"], 1);
    assert_eq!(j["_items"][0]["_latest_version"], 3);
    assert_eq!(
        j["_items"][1]["_links"]["self"],
        json!({"title": "person", "href": format!("people/{id}?version=2")})
    );
    assert_eq!(
        j["_meta"],
        json!({"page": 1, "max_results": 25, "total": 3})
    );
    assert_eq!(
        j["_links"],
        json!({
            "parent": {"title": "people", "href": "people"},
            "self": {"title": "person", "href": format!("people/{id}?version=all")},
            "collection": {"title": "person", "href": format!("people/{id}")},
        })
    );

    let j = t
        .get(&format!("{url}?version=all&max_results=2&page=2"))
        .await
        .json();
    assert_eq!(j["_items"].as_array().unwrap().len(), 1);
    assert_eq!(j["_items"][0]["name"], "Cid");
    assert_eq!(j["_meta"], json!({"page": 2, "max_results": 2, "total": 3}));
    assert_eq!(
        j["_links"]["prev"]["href"],
        format!("people/{id}?max_results=2&version=all")
    );
    assert!(j["_links"].get("next").is_none());

    let j = t
        .get(&format!(
            "{url}?version=all&sort={}",
            enc("[(\"_version\", -1)]")
        ))
        .await
        .json();
    assert_eq!(j["_items"][0]["name"], "Cid");
    assert_eq!(j["_items"][2]["name"], "Ann");

    // The projection applies to every version.
    let j = t
        .get(&format!(
            "{url}?version=all&projection={}",
            enc(r#"{"age": 1}"#)
        ))
        .await
        .json();
    assert_eq!(j["_items"][0]["age"], 30);
    assert!(j["_items"][0].get("name").is_none());
    assert_eq!(j["_items"][0]["_version"], 1);
    let r = t
        .get(&format!(
            "{url}?version=all&projection={}",
            enc(r#"{"_id_document": 0}"#)
        ))
        .await;
    // `_id_document` is an automatic field: kept whatever the projection
    // (as Eve, whose 400 for a projection without it is unreachable).
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_items"][0]["name"], "Ann");
}

#[tokio::test]
async fn diffs_show_what_each_version_changed() {
    let t = TestApp::new(SETTINGS).await;
    let (id, _) = three_versions(&t).await;
    let j = t
        .get(&format!("/people/{id}?version=diffs&sort=-name"))
        .await
        .json();
    let items = j["_items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{j}");
    // The first version whole.
    assert_eq!(items[0]["name"], "Ann");
    assert_eq!(items[0]["age"], 30);
    assert_eq!(items[0]["_id"], id);
    // Then what changed: the new name, the version and the ETag (never the
    // unchanged id, creation date or latest version).
    assert_eq!(items[1]["name"], "Bea");
    assert_eq!(items[1]["_version"], 2);
    assert!(items[1]["_etag"].is_string());
    assert!(items[1].get("age").is_none(), "{}", items[1]);
    for unchanged in ["_id", "_created", "_latest_version", "notes"] {
        assert!(
            items[1].get(unchanged).is_none(),
            "{unchanged}: {}",
            items[1]
        );
    }
    assert_eq!(
        items[1]["_links"],
        json!({"self": {"title": "person", "href": format!("people/{id}?version=2")}})
    );
    // A removed field is not reported (as in Eve).
    assert_eq!(items[2]["name"], "Cid");
    assert!(items[2].get("age").is_none());
    // The client sort is ignored, and dropped from the links.
    assert_eq!(
        j["_links"]["self"]["href"],
        format!("people/{id}?version=diffs")
    );
}

#[tokio::test]
async fn version_diff_include_fields_are_always_in_diffs() {
    let settings = format!("VERSION_DIFF_INCLUDE: [age]\n{SETTINGS}");
    let t = TestApp::new(&settings).await;
    let (id, _) = three_versions(&t).await;
    let j = t.get(&format!("/people/{id}?version=diffs")).await.json();
    // Version 2 kept the age: included anyway.
    assert_eq!(j["_items"][1]["age"], 30);
}

#[tokio::test]
async fn version_etags_carry_the_latest_version_and_dates_are_the_latest() {
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = t.create("/people", r#"{"name": "Ann"}"#).await;
    let url = format!("/people/{id}");
    let v1 = t.get(&format!("{url}?version=1")).await;
    assert_eq!(v1.header("etag").unwrap(), format!("\"{etag}1\""));
    let combined = v1.header("etag").unwrap().to_string();
    let r = t
        .send(
            "GET",
            &format!("{url}?version=1"),
            &[("if-none-match", &combined)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert_eq!(r.header("etag").unwrap(), combined);
    let r = t
        .send("GET", &url, &[("if-none-match", &combined)], None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    // The plain digest no longer matches the header value...
    let r = t
        .send(
            "GET",
            &url,
            &[("if-none-match", &format!("\"{etag}\""))],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // ...and If-Match wants the stored one (the GET header value is 412).
    let r = t.edit("PATCH", &url, &combined, r#"{"name": "X"}"#).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = t.edit("PATCH", &url, &etag, r#"{"name": "Bea"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let etag2 = r.json()["_etag"].as_str().unwrap().to_string();
    assert_eq!(r.header("etag").unwrap(), format!("\"{etag2}\""));

    // A new version changes the ETag of the old ones.
    let v1 = t.get(&format!("{url}?version=1")).await;
    assert_eq!(v1.header("etag").unwrap(), format!("\"{etag}2\""));
    let r = t
        .send(
            "GET",
            &format!("{url}?version=1"),
            &[("if-none-match", &combined)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Last-Modified is the latest document's, for every version query.
    let latest = t.get(&url).await;
    let lm = latest.header("last-modified").unwrap().to_string();
    // The ETag: the served version's (the latest for all and diffs).
    for (q, served) in [
        ("version=1", &etag),
        ("version=2", &etag2),
        ("version=all", &etag2),
        ("version=diffs", &etag2),
    ] {
        let r = t.get(&format!("{url}?{q}")).await;
        assert_eq!(r.header("last-modified").unwrap(), lm, "{q}");
        assert_eq!(r.header("etag").unwrap(), format!("\"{served}2\""), "{q}");
    }
    let r = t.get(&format!("{url}?version=all")).await;
    assert_eq!(r.json()["_meta"]["total"], 2);
}

#[tokio::test]
async fn deletes_remove_the_history() {
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = three_versions(&t).await;
    let (other, _) = t.create("/people", r#"{"name": "Dan"}"#).await;
    assert_eq!(t.get("/shadows").await.json()["_meta"]["total"], 4);
    let r = t
        .send(
            "DELETE",
            &format!("/people/{id}"),
            &[("if-match", &etag)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let left = t.get("/shadows").await.json();
    assert_eq!(left["_meta"]["total"], 1, "{left}");
    assert_eq!(left["_items"][0]["_id_document"], other);
    assert_eq!(
        t.get(&format!("/people/{id}?version=1")).await.status,
        StatusCode::NOT_FOUND
    );

    t.create("/people", r#"{"name": "Eve"}"#).await;
    let r = t.send("DELETE", "/people", &[], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/shadows").await.json()["_meta"]["total"], 0);
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn a_document_stored_before_versioning_is_version_one() {
    let t = TestApp::new(SETTINGS).await;
    let oid = bson::oid::ObjectId::new();
    let doc = bson::doc! {"_id": oid, "name": "Old", "age": 70};
    t.app.store().insert("people", vec![doc]).await.unwrap();
    let url = format!("/people/{}", oid.to_hex());

    let j = t.get(&url).await.json();
    assert_eq!(
        (j["_version"].clone(), j["_latest_version"].clone()),
        (json!(1), json!(1))
    );
    let all = t.get(&format!("{url}?version=all")).await.json();
    assert_eq!(all["_items"].as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all["_items"][0]["name"], "Old");
    assert_eq!(all["_items"][0]["_version"], 1);
    assert_eq!(
        t.get(&format!("{url}?version=1")).await.status,
        StatusCode::NOT_FOUND
    );

    // The first write through the API records the old state as version 1.
    let etag = j["_etag"].as_str().unwrap();
    let r = t.edit("PATCH", &url, etag, r#"{"name": "New"}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_version"], 2);
    let v1 = t.get(&format!("{url}?version=1")).await.json();
    assert_eq!(
        (v1["name"].clone(), v1["age"].clone()),
        (json!("Old"), json!(70))
    );
    assert_eq!(v1["_latest_version"], 2);
    let all = t.get(&format!("{url}?version=all")).await.json();
    assert_eq!(all["_meta"]["total"], 2);
    assert_eq!(all["_items"][1]["name"], "New");
}

#[tokio::test]
async fn hooks_see_each_version_and_the_diffs() {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let (l1, l2) = (log.clone(), log.clone());
    let hooks = Hooks::new()
        .on_fetched_item(Scope::All, move |_, doc| {
            let v = doc
                .get("_version")
                .map(|v| v.to_string())
                .unwrap_or_default();
            l1.lock().unwrap().push(format!("item {v}"));
            doc.insert("seen", true);
            Box::pin(async { Ok(()) })
        })
        .on_fetched_diffs("people", move |_, docs| {
            l2.lock().unwrap().push(format!("diffs {}", docs.len()));
            Box::pin(async { Ok(()) })
        });
    let t = TestApp::with_hooks(SETTINGS, hooks).await;
    let (id, _) = three_versions(&t).await;
    let url = format!("/people/{id}");
    log.lock().unwrap().clear();
    let one = t.get(&format!("{url}?version=2")).await.json();
    assert_eq!(one["seen"], true);
    let all = t.get(&format!("{url}?version=all")).await.json();
    assert_eq!(all["_items"][2]["seen"], true);
    t.get(&format!("{url}?version=diffs")).await;
    assert_eq!(
        *log.lock().unwrap(),
        ["item 2", "item 1", "item 2", "item 3", "diffs 3"]
    );
}

#[tokio::test]
async fn as_of_serves_the_version_current_at_an_instant() {
    let t = TestApp::new(SETTINGS).await;
    let r = t.post("/people", r#"{"name": "Ann"}"#).await;
    let j = r.json();
    let (id, etag) = (j["_id"].as_str().unwrap(), j["_etag"].as_str().unwrap());
    let first = j["_updated"].as_str().unwrap().to_string();
    // Dates have a one-second resolution.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = format!("/people/{id}");
    let r = t.edit("PATCH", &url, etag, r#"{"name": "Bea"}"#).await;
    let second = r.json()["_updated"].as_str().unwrap().to_string();
    assert_ne!(first, second);

    let at = |d: &str| format!("{url}?as_of={}", enc(d));
    let r = t.get(&at(&first)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["name"], "Ann");
    assert_eq!(r.json()["_version"], 1);
    assert_eq!(r.json()["_latest_version"], 2);
    assert_eq!(
        r.json()["_links"]["self"]["href"],
        format!("people/{id}?version=1")
    );
    assert_eq!(t.get(&at(&second)).await.json()["name"], "Bea");
    assert_eq!(
        t.get(&at("Fri, 01 Jan 2100 00:00:00 GMT")).await.json()["name"],
        "Bea"
    );
    // Before the document existed.
    let r = t.get(&at("Thu, 01 Jan 1970 00:00:00 GMT")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.get(&at("yesterday")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text.contains("as_of must be an RFC 1123 date"),
        "{}",
        r.text
    );
    let r = t.get(&format!("{}&version=1", at(&first))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unversioned_resources_ignore_version_arguments() {
    let t = TestApp::new(SETTINGS).await;
    let (id, etag) = t.create("/plain", r#"{"name": "P"}"#).await;
    let r = t.get(&format!("/plain/{id}?version=all&as_of=x")).await;
    assert_eq!(r.status, StatusCode::OK);
    let j: Value = r.json();
    assert!(j.get("_version").is_none());
    assert_eq!(r.header("etag").unwrap(), format!("\"{etag}\""));
}

#[tokio::test]
async fn the_shadow_suffix_is_configurable() {
    let settings = SETTINGS
        .replace("source: people_versions", "source: people_history")
        .replace("DOMAIN:", "VERSIONS: _history\nDOMAIN:");
    let t = TestApp::new(&settings).await;
    three_versions(&t).await;
    assert_eq!(t.get("/shadows").await.json()["_meta"]["total"], 3);
}

#[tokio::test]
async fn version_fields_must_not_be_declared() {
    for field in ["_version", "_latest_version", "_id_document"] {
        let settings = format!(
            "DOMAIN:\n  people:\n    versioning: true\n    schema:\n      {field}: {{type: integer}}\n"
        );
        let raw =
            eve_core::settings::parse_str(&settings, eve_core::settings::Format::Yaml).unwrap();
        let err = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap_err();
        assert!(
            err.to_string().contains("handled automatically"),
            "{field}: {err}"
        );
    }
}

#[tokio::test]
async fn a_put_that_creates_is_version_one() {
    let t = TestApp::new(SETTINGS).await;
    let url = "/people/5f0000000000000000000042";
    let r = t
        .send(
            "PUT",
            url,
            &[("content-type", "application/json")],
            Some(r#"{"name": "New"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.json()["_version"], 1);
    let v1 = t.get(&format!("{url}?version=1")).await.json();
    assert_eq!(v1["name"], "New");
    assert_eq!(v1["_id"], "5f0000000000000000000042");
}

#[tokio::test]
async fn without_hateoas_the_history_is_a_bare_list() {
    let settings = SETTINGS.replace(
        "    versioning: true\n",
        "    versioning: true\n    hateoas: false\n",
    );
    let t = TestApp::new(&settings).await;
    let (id, _) = three_versions(&t).await;
    let j = t.get(&format!("/people/{id}?version=all")).await.json();
    let items = j.as_array().expect("a list");
    assert_eq!(items.len(), 3);
    assert!(items[0].get("_links").is_none());
    assert_eq!(items[2]["name"], "Cid");
}
