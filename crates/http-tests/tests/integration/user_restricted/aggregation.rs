//! Aggregation endpoints over user-restricted collections (features.md
//! §23.6 and §41, docs/auth-field.md): the pipeline's source, every
//! `$lookup` (in `$facet` too) and every count see only the caller's
//! documents, whatever the client's variables; joined accounts never show
//! their password.

use axum::http::StatusCode;
use bson::doc;
use serde_json::{json, Value};

use super::super::common::{enc, TestApp};
use super::http::{as_user, create};

/// ann and bob write notes tagged `rust` or `web`; tags are shared.
const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
AUTH: {type: basic, accounts: accounts, owner_field: username}
AUTH_FIELD: owner
DOMAIN:
  accounts:
    auth_field: null
    schema:
      username: {type: string, required: true, unique: true}
      password: {type: string}
  notes:
    schema:
      text: {type: string}
      tag: {type: string}
  tags:
    auth_field: null
    schema:
      name: {type: string}
  bytag:
    datasource:
      source: notes
      aggregation:
        pipeline:
          - {$match: {tag: $t}}
          - {$group: {_id: $tag, n: {$sum: 1}, texts: {$push: $text}}}
          - {$sort: {_id: 1}}
  byowner:
    auth_field: null
    datasource:
      source: notes
      aggregation:
        pipeline:
          - {$match: {owner: $who}}
          - {$project: {_id: 0, text: 1}}
          - {$sort: {text: 1}}
  tagnotes:
    auth_field: null
    datasource:
      source: tags
      aggregation:
        pipeline:
          - {$lookup: {from: notes, localField: name, foreignField: tag, as: notes}}
          - {$project: {_id: 0, name: 1, notes: 1}}
          - {$sort: {name: 1}}
  counted:
    auth_field: null
    pagination: false
    datasource:
      source: tags
      aggregation:
        pipeline:
          - {$facet: {joined: [{$lookup: {from: notes, localField: name, foreignField: tag, as: n}}, {$unwind: $n}, {$count: c}]}}
  whois:
    auth_field: null
    datasource:
      source: tags
      aggregation:
        pipeline:
          - {$lookup: {from: accounts, localField: name, foreignField: username, as: account}}
          - {$unwind: $account}
          - {$project: {_id: 0, account: 1}}
          - {$sort: {account.username: 1}}
  accountlist:
    auth_field: null
    datasource:
      source: accounts
      aggregation:
        pipeline:
          - {$project: {_id: 0, username: 1, password: 1}}
          - {$sort: {username: 1}}
"#;

/// The app with ann's and bob's notes and the tags `rust`, `web`, `ann`
/// and `bob`.
async fn app() -> TestApp {
    app_with(eve_http::Hooks::new()).await
}

/// [`app`] with `hooks`.
async fn app_with(hooks: eve_http::Hooks) -> TestApp {
    let t = TestApp::with_hooks(SETTINGS, hooks).await;
    let accounts = t.app.resource("accounts").expect("accounts");
    for name in ["ann", "bob"] {
        let account = doc! {"username": name, "password": format!("{name}-pw")};
        accounts.insert(account).await.expect("account");
    }
    for (user, text, tag) in [
        ("ann", "a1", "rust"),
        ("ann", "a2", "web"),
        ("bob", "b1", "rust"),
        ("bob", "b2", "rust"),
        ("bob", "b3", "web"),
    ] {
        create(
            &t,
            user,
            "/notes",
            &json!({"text": text, "tag": tag}).to_string(),
        )
        .await;
    }
    let body = r#"[{"name": "rust"}, {"name": "web"}, {"name": "ann"}, {"name": "bob"}]"#;
    let r = as_user(&t, "ann", "POST", "/tags", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    t
}

/// A GET as `user` answering 200: its `_items` and `_meta.total`.
async fn items(t: &TestApp, user: &str, uri: &str) -> (Vec<Value>, Value) {
    let r = as_user(t, user, "GET", uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text);
    let j = r.json();
    (
        j["_items"].as_array().expect("_items").clone(),
        j["_meta"]["total"].clone(),
    )
}

#[tokio::test]
async fn the_source_of_a_pipeline_is_the_callers_documents_and_so_are_the_counts() {
    let t = app().await;
    let all = format!("/bytag?aggregate={}", enc(r#"{"$t": {}}"#));
    let (ann, total) = items(&t, "ann", &all).await;
    assert_eq!(
        ann,
        [
            json!({"_id": "rust", "n": 1, "texts": ["a1"]}),
            json!({"_id": "web", "n": 1, "texts": ["a2"]})
        ]
    );
    assert_eq!(total, json!(2));
    let (bob, _) = items(&t, "bob", &all).await;
    assert_eq!(
        bob[0],
        json!({"_id": "rust", "n": 2, "texts": ["b1", "b2"]})
    );
    // paging counts the caller's results only
    let paged = format!("/bytag?max_results=1&aggregate={}", enc(r#"{"$t": {}}"#));
    let (page, total) = items(&t, "ann", &paged).await;
    assert_eq!((page.len(), total), (1, json!(2)));
}

#[tokio::test]
async fn a_client_variable_cannot_reach_another_owners_documents() {
    let t = app().await;
    // the collection is restricted even when the endpoint is not
    for who in [
        json!("bob"),
        json!({"$ne": "ann"}),
        json!({"$exists": true}),
    ] {
        let uri = format!(
            "/byowner?aggregate={}",
            enc(&json!({"$who": who}).to_string())
        );
        let (found, total) = items(&t, "ann", &uri).await;
        let texts: Vec<&str> = found.iter().filter_map(|d| d["text"].as_str()).collect();
        assert!(texts.iter().all(|t| t.starts_with('a')), "{who}: {texts:?}");
        if who == json!("bob") {
            assert_eq!(total, json!(0));
        }
    }
    let uri = format!("/byowner?aggregate={}", enc(r#"{"$who": {}}"#));
    let (found, total) = items(&t, "ann", &uri).await;
    assert_eq!(found, [json!({"text": "a1"}), json!({"text": "a2"})]);
    assert_eq!(total, json!(2));
}

#[tokio::test]
async fn lookups_join_only_the_callers_documents_in_facets_too() {
    let t = app().await;
    // (tag, texts of the joined notes)
    let joined = |found: Vec<Value>| -> Vec<(String, Vec<String>)> {
        found
            .iter()
            .map(|d| {
                let notes = d["notes"].as_array().expect("notes");
                let texts = notes
                    .iter()
                    .map(|n| n["text"].as_str().unwrap_or_default().into());
                (
                    d["name"].as_str().unwrap_or_default().into(),
                    texts.collect(),
                )
            })
            .collect()
    };
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let (ann, _) = items(&t, "ann", "/tagnotes").await;
    assert_eq!(
        joined(ann),
        [
            ("ann".to_string(), vec![]),
            ("bob".into(), vec![]),
            ("rust".into(), strings(&["a1"])),
            ("web".into(), strings(&["a2"]))
        ]
    );
    let (bob, _) = items(&t, "bob", "/tagnotes").await;
    assert_eq!(joined(bob)[2], ("rust".into(), strings(&["b1", "b2"])));
    let r = as_user(&t, "ann", "GET", "/counted", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_items"], json!([{"joined": [{"c": 2}]}]));
    let r = as_user(&t, "bob", "GET", "/counted", None).await;
    assert_eq!(r.json()["_items"], json!([{"joined": [{"c": 3}]}]));
}

#[tokio::test]
async fn joined_and_aggregated_accounts_never_show_their_password() {
    let t = app().await;
    let (found, _) = items(&t, "ann", "/whois").await;
    let accounts: Vec<Value> = found.iter().map(|d| d["account"].clone()).collect();
    assert_eq!(accounts.len(), 2);
    for (a, name) in accounts.iter().zip(["ann", "bob"]) {
        assert_eq!(a["username"], json!(name));
        assert!(a.get("password").is_none(), "{a}");
    }
    let (found, _) = items(&t, "ann", "/accountlist").await;
    assert_eq!(
        found,
        [json!({"username": "ann"}), json!({"username": "bob"})]
    );
}

#[tokio::test]
async fn stages_a_before_aggregation_hook_adds_are_guarded_too() {
    let hooks = eve_http::Hooks::new().before_aggregation("tagnotes", |_cx, pipeline| {
        Box::pin(async move {
            // drop every stage and read the notes of everybody
            pipeline.clear();
            pipeline.push(bson::doc! {"$unionWith": "notes"});
            Ok(())
        })
    });
    let t = app_with(hooks).await;
    let r = as_user(&t, "ann", "GET", "/tagnotes", None).await;
    // $unionWith is not run by the engine of any layer; were it run, it
    // would carry the owner $match
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let hooks = eve_http::Hooks::new().before_aggregation("tagnotes", |_cx, pipeline| {
        Box::pin(async move {
            pipeline.clear();
            pipeline.push(bson::doc! {"$lookup": {
            "from": "notes", "localField": "name", "foreignField": "tag", "as": "n",
            "pipeline": [{"$match": {"owner": "bob"}}]}});
            pipeline.push(bson::doc! {"$unwind": "$n"});
            pipeline.push(bson::doc! {"$count": "joined"});
            Ok(())
        })
    });
    let t = app_with(hooks).await;
    let (found, _) = items(&t, "ann", "/tagnotes").await;
    // nothing joined ($count of nothing: no document, or 0 on some servers)
    assert!(found.iter().all(|d| d["joined"] == json!(0)), "{found:?}");
    let (found, _) = items(&t, "bob", "/tagnotes").await;
    assert_eq!(found, [json!({"joined": 3})]);
}
