//! The operations log (features.md §39): every logged write adds its
//! entries in the same batch as the change; the entries' shape (`r`, `o`,
//! `i`, `c`, `ip`, `u`, `_created` = `_updated` = the change's); the
//! read-only endpoint; the internal resource without `OPLOG_ENDPOINT`;
//! `OPLOG_METHODS`, `OPLOG_AUDIT`, `OPLOG_CHANGE_METHODS`, `extra` and
//! `on_oplog_push`; the client IP from the connection or, behind a trusted
//! proxy, `X-Forwarded-For`. Expected entries are those the oracle (Python
//! Eve 2.3.1) answered for the same requests (scripts/compare/oplog).
//! Runs on every data layer (`EVE_TEST_BACKEND`).

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use eve_core::ApiError;
use eve_http::{Hooks, Scope};
use serde_json::{json, Value};

use super::common::{enc, Resp, TestApp};

const SETTINGS: &str = r#"
OPLOG: true
OPLOG_ENDPOINT: oplog
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  people:
    schema:
      name: {type: string}
      age: {type: integer}
  notes:
    soft_delete: true
    schema:
      text: {type: string}
  invoices:
    url: 'people/<regex("[a-f0-9]{24}"):person>/invoices'
    schema: {person: {type: objectid}, n: {type: integer}}
  secret:
    internal_resource: true
    schema: {x: {type: integer}}
"#;

/// Sends a request from `peer` (the connection's address).
async fn send_from(
    t: &TestApp,
    peer: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    let body = body.map(|b| b.to_string());
    t.send_from(Some(peer), method, uri, &all, body.as_deref())
        .await
}

/// A request from 127.0.0.1.
async fn send(
    t: &TestApp,
    method: &str,
    uri: &str,
    etag: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let headers: Vec<(&str, &str)> = etag.map(|e| ("if-match", e)).into_iter().collect();
    send_from(t, "127.0.0.1", method, uri, &headers, body).await
}

/// `_id` and `_etag` of a write's answer.
fn saved(r: &Resp) -> (String, String) {
    assert!(r.status.is_success(), "{} {}", r.status, r.text);
    let j = r.json();
    (
        j["_id"].as_str().expect("_id").to_string(),
        j["_etag"].as_str().expect("_etag").to_string(),
    )
}

/// The entries of an oplog page without their own `_id`, `_etag` and
/// `_links` (checked present) and with `_created` checked equal to
/// `_updated`, which is dropped too; `c._created` is dropped likewise.
fn entries(page: &Resp) -> Vec<Value> {
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    page.json()["_items"]
        .as_array()
        .expect("_items")
        .iter()
        .map(|e| {
            let mut e = e.as_object().expect("entry").clone();
            for own in ["_id", "_etag", "_links"] {
                assert!(e.remove(own).is_some(), "{own} missing in {e:?}");
            }
            let updated = e.remove("_updated").expect("_updated");
            assert_eq!(e.remove("_created"), Some(updated));
            if let Some(Value::Object(c)) = e.get_mut("c") {
                c.remove("_created");
            }
            Value::Object(e)
        })
        .collect()
}

#[tokio::test]
async fn every_write_is_logged_with_the_change_in_eves_shape() {
    let t = TestApp::new(SETTINGS).await;
    let a = send(
        &t,
        "POST",
        "/people",
        None,
        Some(json!({"name": "a", "age": 1})),
    )
    .await;
    let (id, etag) = saved(&a);
    let bulk = send(
        &t,
        "POST",
        "/people",
        None,
        Some(json!([{"name": "b"}, {"name": "c"}])),
    )
    .await;
    assert_eq!(bulk.status, StatusCode::CREATED, "{}", bulk.text);
    let b = bulk.json()["_items"][0]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = bulk.json()["_items"][1]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let item = format!("/people/{id}");
    let (_, etag2) = saved(&send(&t, "PATCH", &item, Some(&etag), Some(json!({"age": 2}))).await);
    let put = send(&t, "PUT", &item, Some(&etag2), Some(json!({"name": "a3"}))).await;
    let (_, etag3) = saved(&put);
    let put_updated = put.json()["_updated"].clone();
    let del = send(&t, "DELETE", &item, Some(&etag3), None).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);
    let upsert = "/people/5f0000000000000000000001";
    saved(&send(&t, "PUT", upsert, None, Some(json!({"name": "up"}))).await);
    let (nid, netag) = saved(&send(&t, "POST", "/notes", None, Some(json!({"text": "n"}))).await);
    let del = send(&t, "DELETE", &format!("/notes/{nid}"), Some(&netag), None).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text);

    let page = send(&t, "GET", "/oplog", None, None).await;
    let audit =
        |r: &str, o: &str, i: &str| json!({"r": r, "o": o, "i": i, "ip": "127.0.0.1", "u": "n/a"});
    let with_c = |mut e: Value, c: Value| {
        e["c"] = c;
        e
    };
    assert_eq!(
        entries(&page),
        vec![
            audit("people", "POST", &id),
            audit("people", "POST", &b),
            audit("people", "POST", &c),
            with_c(audit("people", "PATCH", &id), json!({"age": 2})),
            with_c(
                audit("people", "PUT", &id),
                json!({"name": "a3", "_id": id})
            ),
            with_c(
                audit("people", "DELETE", &id),
                json!({"name": "a3", "_id": id})
            ),
            audit("people", "POST", "5f0000000000000000000001"),
            audit("notes", "POST", &nid),
            with_c(
                audit("notes", "DELETE", &nid),
                json!({"text": "n", "_deleted": true, "_id": nid})
            ),
        ]
    );
    let items = page.json()["_items"].clone();
    assert_eq!(page.json()["_meta"]["total"], 9);
    // The hard DELETE's entry carries the deleted document's last
    // `_updated` (that of the PUT), not the deletion time.
    assert_eq!(items[5]["_updated"], put_updated);
    assert_eq!(items[5]["c"]["_created"], a.json()["_created"]);
    let entry_id = items[0]["_id"].as_str().unwrap();
    assert_eq!(
        items[0]["_links"],
        json!({"self": {"title": "Oplog", "href": format!("oplog/{entry_id}")}})
    );

    // An ordinary read-only resource: filters, paging, item GET.
    let notes = send(
        &t,
        "GET",
        &format!("/oplog?where={}", enc(r#"{"r": "notes"}"#)),
        None,
        None,
    )
    .await;
    assert_eq!(entries(&notes).len(), 2);
    let posts = format!(
        "/oplog?where={}&max_results=2&page=2",
        enc(r#"{"o": "POST"}"#)
    );
    let posts = send(&t, "GET", &posts, None, None).await;
    assert_eq!(
        entries(&posts),
        vec![
            audit("people", "POST", &c),
            audit("people", "POST", "5f0000000000000000000001")
        ]
    );
    assert_eq!(
        posts.json()["_meta"],
        json!({"page": 2, "max_results": 2, "total": 5})
    );
    let one = send(&t, "GET", &format!("/oplog/{entry_id}"), None, None).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.json()["i"], json!(id));
    for (method, uri) in [
        ("POST", "/oplog".to_string()),
        ("DELETE", "/oplog".into()),
        ("PATCH", format!("/oplog/{entry_id}")),
        ("DELETE", format!("/oplog/{entry_id}")),
    ] {
        let r = send(&t, method, &uri, None, Some(json!({"r": "x"}))).await;
        assert_eq!(
            r.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: {}",
            r.text
        );
    }
    let home = send(&t, "GET", "/", None, None).await;
    assert!(
        home.json()["_links"]["child"]
            .as_array()
            .unwrap()
            .contains(&json!({"href": "oplog", "title": "oplog"})),
        "{}",
        home.text
    );
    // Unlike Eve (deliberately, docs/oplog.md): a hard collection DELETE
    // logs one DELETE per document, with the whole document.
    assert_eq!(
        send(&t, "DELETE", "/people", None, None).await.status,
        StatusCode::NO_CONTENT
    );
    let q = format!("/oplog?where={}", enc(r#"{"r": "people", "o": "DELETE"}"#));
    let mut got = entries(&send(&t, "GET", &q, None, None).await);
    got.sort_by_key(|e| e["i"].as_str().unwrap().to_string());
    let upsert = "5f0000000000000000000001";
    let mut expected = vec![
        with_c(
            audit("people", "DELETE", &id),
            json!({"name": "a3", "_id": id}),
        ),
        with_c(
            audit("people", "DELETE", &b),
            json!({"name": "b", "_id": b}),
        ),
        with_c(
            audit("people", "DELETE", &c),
            json!({"name": "c", "_id": c}),
        ),
        with_c(
            audit("people", "DELETE", upsert),
            json!({"name": "up", "_id": upsert}),
        ),
    ];
    expected.sort_by_key(|e| e["i"].as_str().unwrap().to_string());
    assert_eq!(got, expected);
    let total = send(&t, "GET", "/oplog", None, None).await.json()["_meta"]["total"].clone();
    assert_eq!(total, 12);
}

#[tokio::test]
async fn soft_collection_delete_sub_resources_and_refused_writes() {
    let t = TestApp::new(SETTINGS).await;
    let (n1, _) = saved(&send(&t, "POST", "/notes", None, Some(json!({"text": "1"}))).await);
    let (n2, _) = saved(&send(&t, "POST", "/notes", None, Some(json!({"text": "2"}))).await);
    assert_eq!(
        send(&t, "DELETE", "/notes", None, None).await.status,
        StatusCode::NO_CONTENT
    );
    let deletes = format!("/oplog?where={}", enc(r#"{"o": "DELETE"}"#));
    let mut got: Vec<Value> = entries(&send(&t, "GET", &deletes, None, None).await);
    got.sort_by_key(|e| e["c"]["text"].as_str().unwrap_or("").to_string());
    let del = |i: &str, text: &str| {
        json!({"r": "notes", "o": "DELETE", "i": i, "ip": "127.0.0.1", "u": "n/a",
               "c": {"text": text, "_deleted": true, "_id": i}})
    };
    assert_eq!(got, vec![del(&n1, "1"), del(&n2, "2")]);

    // A sub-resource is logged under its URL as the home page lists it.
    let (p, _) = saved(&send(&t, "POST", "/people", None, Some(json!({"name": "p"}))).await);
    let inv = send(
        &t,
        "POST",
        &format!("/people/{p}/invoices"),
        None,
        Some(json!({"n": 1})),
    )
    .await;
    let (inv, _) = saved(&inv);
    let q = format!("/oplog?where={}", enc(&format!(r#"{{"i": "{inv}"}}"#)));
    let q = send(&t, "GET", &q, None, None).await;
    assert_eq!(
        entries(&q),
        vec![
            json!({"r": "people/<person>/invoices", "o": "POST", "i": inv, "ip": "127.0.0.1", "u": "n/a"})
        ]
    );

    // Refused writes (invalid, stale ETag) log nothing.
    let before = send(&t, "GET", "/oplog", None, None).await.json()["_meta"]["total"].clone();
    let bad = send(
        &t,
        "POST",
        "/people",
        None,
        Some(json!([{"name": "ok"}, {"name": 5}])),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);
    let stale = "0123456789abcdef0123456789abcdef01234567";
    let r = send(
        &t,
        "PATCH",
        &format!("/people/{p}"),
        Some(stale),
        Some(json!({"age": 3})),
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let after = send(&t, "GET", "/oplog", None, None).await.json()["_meta"]["total"].clone();
    assert_eq!(before, after);
    // 2 note POSTs, 2 marked DELETEs, the person, the invoice.
    assert_eq!(after, 6);
}

const INTERNAL: &str = r#"
OPLOG: true
OPLOG_METHODS: [POST, PATCH]
OPLOG_AUDIT: false
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, DELETE]
DOMAIN:
  people:
    schema: {name: {type: string}}
"#;

#[tokio::test]
async fn without_an_endpoint_the_oplog_is_internal_and_hooks_see_the_entries() {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let s = seen.clone();
    let hooks = Hooks::new().on_oplog_push(Scope::All, move |cx, entries| {
        let s = s.clone();
        let r = cx.resource_name().unwrap_or("-").to_string();
        Box::pin(async move {
            for e in entries.iter_mut() {
                let keys: Vec<&str> = e.keys().map(String::as_str).collect();
                let mut v = json!({
                    "r": e.get_str("r").unwrap(),
                    "o": e.get_str("o").unwrap(),
                    "i": e.get_object_id("i").unwrap().to_hex(),
                    "keys": keys,
                });
                v["hook_resource"] = json!(r);
                s.lock().unwrap().push(v);
                e.insert("extra", bson::doc! {"by": "hook"});
            }
            Ok(())
        })
    });
    let t = TestApp::with_hooks(INTERNAL, hooks).await;
    let (id, etag) = saved(&send(&t, "POST", "/people", None, Some(json!({"name": "a"}))).await);
    let r = send(
        &t,
        "PATCH",
        &format!("/people/{id}"),
        Some(&etag),
        Some(json!({"name": "b"})),
    )
    .await;
    let (_, etag) = saved(&r);
    // DELETE is not in OPLOG_METHODS: no entry.
    let r = send(&t, "DELETE", &format!("/people/{id}"), Some(&etag), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // OPLOG_AUDIT off: no ip, u or c.
    let keys = json!(["_id", "r", "o", "i", "_updated", "_created"]);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            json!({"r": "people", "o": "POST", "i": id, "hook_resource": "people", "keys": keys}),
            json!({"r": "people", "o": "PATCH", "i": id, "hook_resource": "people", "keys": keys}),
        ]
    );
    assert_eq!(
        send(&t, "GET", "/oplog", None, None).await.status,
        StatusCode::NOT_FOUND
    );
    let home = send(&t, "GET", "/", None, None).await;
    assert_eq!(
        home.json()["_links"]["child"],
        json!([{"href": "people", "title": "people"}])
    );
}

#[tokio::test]
async fn an_on_oplog_push_abort_keeps_the_change_out_too() {
    let hooks = Hooks::new().on_oplog_push("people", |_, _| {
        Box::pin(async {
            Err(ApiError::Abort {
                status: 403,
                message: Some("no log, no write".into()),
            })
        })
    });
    let t = TestApp::with_hooks(SETTINGS, hooks).await;
    let r = send(&t, "POST", "/people", None, Some(json!({"name": "a"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        send(&t, "GET", "/people", None, None).await.json()["_meta"]["total"],
        0
    );
    assert_eq!(
        send(&t, "GET", "/oplog", None, None).await.json()["_meta"]["total"],
        0
    );
}

const EXTRA: &str = r#"
OPLOG: true
OPLOG_ENDPOINT: changes
OPLOG_RETURN_EXTRA_FIELD: true
OPLOG_CHANGE_METHODS: [POST]
TRUSTED_PROXIES: [10.0.0.0/8]
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  people:
    schema: {name: {type: string}}
"#;

#[tokio::test]
async fn extra_field_change_methods_and_trusted_proxies() {
    let hooks = Hooks::new().on_oplog_push(Scope::All, |_, entries| {
        for e in entries.iter_mut() {
            e.insert("extra", 7);
        }
        Box::pin(async { Ok(()) })
    });
    let t = TestApp::with_hooks(EXTRA, hooks).await;
    let xff = [("x-forwarded-for", "1.2.3.4, 10.0.0.9")];
    let body = Some(json!({"name": "a"}));
    let from_proxy = send_from(&t, "10.0.0.1", "POST", "/people", &xff, body.clone()).await;
    let (a, _) = saved(&from_proxy);
    let direct = send_from(&t, "5.6.7.8", "POST", "/people", &xff, body).await;
    let (b, _) = saved(&direct);
    let page = send(&t, "GET", "/changes", None, None).await;
    let e = |i: &str, ip: &str| {
        json!({"r": "people", "o": "POST", "i": i, "ip": ip, "u": "n/a", "extra": 7,
               "c": {"name": "a", "_id": i}})
    };
    assert_eq!(entries(&page), vec![e(&a, "1.2.3.4"), e(&b, "5.6.7.8")]);
}

#[tokio::test]
async fn extra_is_not_returned_by_default_and_bad_proxies_are_refused() {
    let hooks = Hooks::new().on_oplog_push(Scope::All, |_, entries| {
        for e in entries.iter_mut() {
            e.insert("extra", 7);
        }
        Box::pin(async { Ok(()) })
    });
    let t = TestApp::with_hooks(SETTINGS, hooks).await;
    let (a, _) = saved(&send(&t, "POST", "/people", None, Some(json!({"name": "a"}))).await);
    let page = send(&t, "GET", "/oplog", None, None).await;
    assert_eq!(
        entries(&page),
        vec![json!({"r": "people", "o": "POST", "i": a, "ip": "127.0.0.1", "u": "n/a"})]
    );
    let raw = eve_core::settings::parse_str(
        "OPLOG: true\nTRUSTED_PROXIES: [10.0.0.0/99]\nDOMAIN: {}",
        eve_core::settings::Format::Yaml,
    )
    .unwrap();
    let err = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "TRUSTED_PROXIES: '10.0.0.0/99': the prefix length must be 0 to 32"
    );
}

/// A collection DELETE larger than one chunk (1,000 documents are read and
/// written at a time, so memory stays bounded): every document is deleted
/// or marked, each with its one DELETE entry, hard and soft alike.
#[tokio::test]
async fn collection_deletes_larger_than_a_chunk_log_every_document() {
    let t = TestApp::new(SETTINGS).await;
    for coll in ["people", "notes"] {
        for part in 0..2 {
            let docs: Vec<Value> = (0..525)
                .map(|i| {
                    if coll == "people" {
                        json!({"name": format!("p{part}-{i}")})
                    } else {
                        json!({"text": format!("n{part}-{i}")})
                    }
                })
                .collect();
            let r = t
                .post(&format!("/{coll}"), &Value::Array(docs).to_string())
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        }
        let r = t.send("DELETE", &format!("/{coll}"), &[], None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        let where_ = enc(&json!({"r": coll, "o": "DELETE"}).to_string());
        let r = t.get(&format!("/oplog?where={where_}&max_results=1")).await;
        assert_eq!(
            r.json()["_meta"]["total"],
            json!(1050),
            "{coll}: {}",
            r.text
        );
        assert_eq!(
            t.get(&format!("/{coll}?max_results=1")).await.json()["_meta"]["total"],
            json!(0),
            "{coll}"
        );
    }
    let r = t.get("/notes?show_deleted&max_results=1").await;
    assert_eq!(r.json()["_meta"]["total"], json!(1050), "{}", r.text);
}
