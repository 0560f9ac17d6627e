//! Hooks through HTTP (features.md §32) and the data API going through the
//! same executor as HTTP: Eve's hook order for a request, HEAD and home
//! endpoint rules, aborts rendered in Eve's shape, the start-up refusal of
//! hooks naming unknown resources, and inserts from code prepared,
//! validated and hooked like POSTs.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use eve_core::{ApiError, Method};
use eve_http::{Hooks, Scope};
use serde_json::json;

use super::common::{TestApp, PEOPLE};

type Log = Arc<Mutex<Vec<String>>>;

/// Registers, for `event`, a general and a `people` hook that log their
/// Eve names.
fn logged(log: &Log) -> Hooks {
    macro_rules! both {
        ($hooks:expr, $method:ident, $name:literal, |$($arg:pat_param),*|) => {{
            let (l1, l2) = (log.clone(), log.clone());
            $hooks
                .$method(Scope::All, move |$($arg),*| {
                    l1.lock().unwrap().push($name.to_string());
                    Box::pin(async { Ok(()) })
                })
                .$method("people", move |$($arg),*| {
                    l2.lock().unwrap().push(concat!($name, "_people").to_string());
                    Box::pin(async { Ok(()) })
                })
        }};
    }
    let mut hooks = Hooks::new();
    for m in [Method::Get, Method::Post, Method::Patch, Method::Delete] {
        let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
        hooks = hooks
            .on_pre_request(m, Scope::All, move |_| {
                l1.lock().unwrap().push(format!("on_pre_{}", m.as_str()));
                Box::pin(async { Ok(()) })
            })
            .on_pre_request(m, "people", move |_| {
                l2.lock()
                    .unwrap()
                    .push(format!("on_pre_{}_people", m.as_str()));
                Box::pin(async { Ok(()) })
            })
            .on_post_request(m, Scope::All, move |cx, status| {
                let r = cx.resource_name().unwrap_or("-").to_string();
                l3.lock()
                    .unwrap()
                    .push(format!("on_post_{}({r},{status})", m.as_str()));
                Box::pin(async {})
            })
            .on_post_request(m, "people", move |_, status| {
                l4.lock()
                    .unwrap()
                    .push(format!("on_post_{}_people({status})", m.as_str()));
                Box::pin(async {})
            });
    }
    let hooks = both!(hooks, on_insert, "on_insert", |_, _|);
    let hooks = both!(hooks, on_inserted, "on_inserted", |_, _|);
    let hooks = both!(hooks, on_update, "on_update", |_, _, _|);
    let hooks = both!(hooks, on_updated, "on_updated", |_, _, _|);
    let hooks = both!(hooks, on_delete_item, "on_delete_item", |_, _|);
    let hooks = both!(hooks, on_deleted_item, "on_deleted_item", |_, _|);
    let hooks = both!(hooks, on_fetched_item, "on_fetched_item", |_, _|);
    both!(hooks, on_fetched_resource, "on_fetched_resource", |_, _|)
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn requests_fire_hooks_in_eves_order_general_before_specific() {
    let log: Log = Arc::default();
    let t = TestApp::with_hooks(PEOPLE, logged(&log)).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    assert_eq!(
        take(&log),
        [
            "on_pre_POST",
            "on_pre_POST_people",
            "on_insert",
            "on_insert_people",
            "on_inserted",
            "on_inserted_people",
            "on_post_POST(people,201)",
            "on_post_POST_people(201)",
        ]
    );
    let r = t
        .edit("PATCH", &format!("/people/{id}"), &etag, r#"{"age": 3}"#)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        take(&log),
        [
            "on_pre_PATCH",
            "on_pre_PATCH_people",
            "on_update",
            "on_update_people",
            "on_updated",
            "on_updated_people",
            "on_post_PATCH(people,200)",
            "on_post_PATCH_people(200)",
        ]
    );
    t.get(&format!("/people/{id}")).await;
    t.get("/people").await;
    assert_eq!(
        take(&log),
        [
            "on_pre_GET",
            "on_pre_GET_people",
            "on_fetched_item",
            "on_fetched_item_people",
            "on_post_GET(people,200)",
            "on_post_GET_people(200)",
            "on_pre_GET",
            "on_pre_GET_people",
            "on_fetched_resource",
            "on_fetched_resource_people",
            "on_post_GET(people,200)",
            "on_post_GET_people(200)",
        ]
    );
    let etag = r.json()["_etag"].as_str().unwrap().to_string();
    let r = t
        .send(
            "DELETE",
            &format!("/people/{id}"),
            &[("if-match", &etag)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        take(&log),
        [
            "on_pre_DELETE",
            "on_pre_DELETE_people",
            "on_delete_item",
            "on_delete_item_people",
            "on_deleted_item",
            "on_deleted_item_people",
            "on_post_DELETE(people,204)",
            "on_post_DELETE_people(204)",
        ]
    );
    // Only the hooks of the resource's own name run for another resource.
    t.get("/works").await;
    assert_eq!(
        take(&log),
        [
            "on_pre_GET",
            "on_fetched_resource",
            "on_post_GET(works,200)"
        ]
    );
}

#[tokio::test]
async fn head_fires_the_get_pre_hooks_only_and_home_fires_only_the_general_post_hook() {
    let log: Log = Arc::default();
    let t = TestApp::with_hooks(PEOPLE, logged(&log)).await;
    let r = t.send("HEAD", "/people", &[], None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        take(&log),
        [
            "on_pre_GET",
            "on_pre_GET_people",
            "on_fetched_resource",
            "on_fetched_resource_people"
        ]
    );
    t.get("/").await;
    assert_eq!(take(&log), ["on_post_GET(-,200)"]);
}

#[tokio::test]
async fn an_error_answer_fires_only_the_general_post_hook_without_a_resource() {
    let log: Log = Arc::default();
    let t = TestApp::with_hooks(PEOPLE, logged(&log)).await;
    let r = t.get("/people/5f8d0d55b54764421b7156c9").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        take(&log),
        ["on_pre_GET", "on_pre_GET_people", "on_post_GET(-,404)"]
    );
    // A document that does not validate is an ordinary answer (422).
    let r = t.post("/people", r#"{"age": 1}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        take(&log),
        [
            "on_pre_POST",
            "on_pre_POST_people",
            "on_post_POST(people,422)",
            "on_post_POST_people(422)",
        ]
    );
}

#[tokio::test]
async fn a_pre_hook_abort_skips_the_request_and_fires_the_general_post_hook() {
    let log: Log = Arc::default();
    let l = log.clone();
    let hooks = Hooks::new()
        .on_pre_request(Method::Post, "people", |_| {
            Box::pin(async {
                Err(ApiError::Abort {
                    status: 401,
                    message: None,
                })
            })
        })
        .on_insert(Scope::All, |_, _| {
            Box::pin(async { panic!("the request went on after its pre hook aborted") })
        })
        .on_post_request(Method::Post, Scope::All, move |cx, status| {
            let r = cx.resource_name().unwrap_or("-").to_string();
            l.lock()
                .unwrap()
                .push(format!("on_post_POST({r},{status})"));
            Box::pin(async {})
        });
    let t = TestApp::with_hooks(PEOPLE, hooks).await;
    let r = t.post("/people", r#"{"lastname": "Doe"}"#).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(take(&log), ["on_post_POST(-,401)"]);
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn a_hook_abort_is_answered_in_eves_shape_and_prevents_the_write() {
    let hooks = Hooks::new().on_insert("people", |_, docs| {
        Box::pin(async move {
            if docs
                .iter()
                .any(|d| d.get_str("lastname").ok() == Some("Nope"))
            {
                return Err(ApiError::Abort {
                    status: 403,
                    message: Some("not this one".into()),
                });
            }
            Ok(())
        })
    });
    let t = TestApp::with_hooks(PEOPLE, hooks).await;
    let r = t.post("/people", r#"{"lastname": "Nope"}"#).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json(),
        json!({"_status": "ERR", "_error": {"code": 403, "message": "not this one"}})
    );
    assert_eq!(t.get("/people").await.json()["_meta"]["total"], 0);
}

#[tokio::test]
async fn hooks_change_what_is_stored_and_what_is_served() {
    let hooks = Hooks::new()
        .on_update("people", |_, updates, _| {
            Box::pin(async move {
                // A hook value replaces the client's (as verified in Eve).
                updates.insert("firstname", "Hooked");
                Ok(())
            })
        })
        .on_fetched_item("people", |_, doc| {
            Box::pin(async move {
                doc.insert("age", 99);
                Ok(())
            })
        });
    let t = TestApp::with_hooks(PEOPLE, hooks).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t
        .edit(
            "PATCH",
            &format!("/people/{id}"),
            &etag,
            r#"{"firstname": "Client"}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let j = t.get(&format!("/people/{id}")).await.json();
    assert_eq!(j["firstname"], "Hooked");
    assert_eq!(j["age"], 99);
    // The fetch hook's change is not stored.
    let stored = t
        .app
        .resource("people")
        .unwrap()
        .find_one(&bson::doc! {})
        .await
        .unwrap()
        .unwrap();
    assert!(stored.get("age").is_none());
}

#[tokio::test]
async fn a_hook_naming_an_unknown_resource_stops_the_app_from_building() {
    let dir = tempfile::tempdir().unwrap();
    let raw = eve_core::settings::parse_str(PEOPLE, eve_core::settings::Format::Yaml).unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    let store = super::common::test_store(&domain, dir.path()).await;
    let hooks = Hooks::new().on_deleted_item("peple", |_, _| Box::pin(async { Ok(()) }));
    let err = eve_http::App::builder()
        .hooks(hooks)
        .store(store)
        .domain(domain)
        .await
        .unwrap_err();
    assert!(matches!(err, eve_http::AppError::Hooks(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "hook on_deleted_item_peple names an unknown resource 'peple' (not in DOMAIN)"
    );
}

const PREPARED: &str = r#"
AUTO_CREATE_LISTS: true
DEBUG: true
RESOURCE_METHODS: [GET, POST]
DOMAIN:
  people:
    schema:
      lastname: {type: string, required: true}
      role: {type: list}
      location: {type: dict, schema: {city: {type: string}}}
      code: {type: string}
      source: {type: string}
    mongo_indexes:
      code_idx: {keys: [[code, 1]], options: {unique: true}}
"#;

#[tokio::test]
async fn the_data_api_prepares_validates_and_hooks_inserts_like_a_post() {
    let hooks = Hooks::new().on_insert("people", |_, docs| {
        Box::pin(async move {
            for d in docs.iter_mut() {
                d.insert("source", "hook");
            }
            Ok(())
        })
    });
    let t = TestApp::with_hooks(PREPARED, hooks).await;
    let payload = r#"{"lastname": "Http", "location.city": "Rome", "role": "author", "code": "a"}"#;
    let r = t.post("/people", payload).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let people = t.app.resource("people").unwrap();
    people
        .insert(
            bson::doc! {"lastname": "Code", "location.city": "Rome", "role": "author", "code": "b"},
        )
        .await
        .unwrap();
    let stored = people.find(&bson::doc! {}).await.unwrap();
    assert_eq!(stored.len(), 2);
    for (doc, name) in stored.iter().zip(["Http", "Code"]) {
        assert_eq!(doc.get_str("lastname").unwrap(), name);
        assert_eq!(
            doc.get_document("location").unwrap(),
            &bson::doc! {"city": "Rome"}
        );
        assert_eq!(
            doc.get_array("role").unwrap(),
            &vec![bson::Bson::from("author")]
        );
        assert_eq!(doc.get_str("source").unwrap(), "hook");
    }
    // A duplicate the store refuses reads the same from both.
    let r = t
        .post("/people", r#"{"lastname": "Again", "code": "a"}"#)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let http_text = r.json()["_error"]["message"].as_str().unwrap().to_string();
    let err = people
        .insert(bson::doc! {"lastname": "Again", "code": "b"})
        .await
        .unwrap_err();
    let eve_http::DataError::Api(ApiError::DuplicateKey {
        op: eve_core::WriteKind::Insert,
        message: data_text,
    }) = &err
    else {
        panic!("{err:?}");
    };
    assert!(
        http_text.starts_with("Duplicate key error at index: 0, message: "),
        "{http_text}"
    );
    assert!(
        data_text.starts_with("Duplicate key error at index: 0, message: "),
        "{data_text}"
    );
}
