//! The executor and the data API with an auth value in the `Access`, as an
//! authentication provider leaves it: stamping on every write, the scope
//! of every read, edit and delete, `unique_to_user`, references and
//! embedded documents, version shadows, oplog entries and soft deletes.

use std::sync::Arc;

use bson::{doc, Bson, Document};
use eve_core::access::Via;
use eve_core::embed::parse_embedded;
use eve_core::plan::{item_scope_filter, scope_filter};
use eve_core::{Access, Resource};
use eve_exec::{Edited, Executor, IfMatch, Inserted};
use eve_store::FindQuery;

use super::super::common::TestApp;
use super::settings;

/// A user whose auth value is their name, acting through the data API or
/// a tool (no method, so no public exemption).
fn user(name: &str) -> Access {
    Access {
        user: Some(name.into()),
        owner_value: Some(Bson::String(name.into())),
        ..Access::default()
    }
}

fn resource(exec: &Executor, name: &str) -> Arc<Resource> {
    exec.domain().resources[name].clone()
}

/// Inserts `docs` into `name` as `access`; panics unless stored.
async fn insert(exec: &Executor, access: &Access, name: &str, docs: &[Document]) -> Vec<Document> {
    let res = resource(exec, name);
    let input = docs.iter().cloned().map(Bson::Document).collect();
    match exec
        .insert(access, &res, input, &[], |d| d.to_vec())
        .await
        .expect("insert")
    {
        Inserted::Stored(docs) => docs,
        Inserted::Refused(r) => panic!("refused: {r:?}"),
    }
}

/// ann's notes `a1`, `a2` and bob's `b1`: (ann, bob, bob's notes).
async fn two_users(exec: &Executor) -> (Access, Access, Vec<Document>) {
    let (ann, bob) = (user("ann"), user("bob"));
    let two = [doc! {"text": "a1"}, doc! {"text": "a2"}];
    insert(exec, &ann, "notes", &two).await;
    let b = insert(exec, &bob, "notes", &[doc! {"text": "b1"}]).await;
    (ann, bob, b)
}

/// Every document of a collection, whoever owns it.
async fn stored(exec: &Executor, collection: &str) -> Vec<Document> {
    exec.store()
        .find(collection, &FindQuery::new(eve_query::Filter::All))
        .await
        .expect("find")
}

fn owners(docs: &[Document]) -> Vec<Option<&str>> {
    docs.iter().map(|d| d.get_str("owner").ok()).collect()
}

/// The loaded original of `doc` (as stored, with its ETag) as `access`
/// finds it (`None`: out of its scope).
async fn original(
    exec: &Executor,
    access: &Access,
    name: &str,
    doc: &Document,
) -> Option<eve_exec::Original> {
    let res = resource(exec, name);
    let hex = doc.get_object_id("_id").expect("oid").to_hex();
    let filter = item_scope_filter(exec.domain(), &res, ("_id", &hex), &[], access);
    let etag = IfMatch::Etag(doc.get_str("_etag").expect("etag").to_string());
    exec.original(&res, &filter, &etag).await.expect("original")
}

#[tokio::test]
async fn inserts_one_or_bulk_store_the_auth_value_in_every_document() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let ann = user("ann");
    let docs = insert(
        exec,
        &ann,
        "notes",
        &[doc! {"text": "a"}, doc! {"text": "b"}],
    )
    .await;
    assert_eq!(owners(&docs), [Some("ann"), Some("ann")]);
    assert_eq!(
        owners(&stored(exec, "notes").await),
        [Some("ann"), Some("ann")]
    );
    // Without an auth value nothing is stamped.
    let anon = insert(exec, &Access::anonymous(), "notes", &[doc! {"text": "c"}]).await;
    assert_eq!(owners(&anon), [None]);
    // The owner field is not in the schema: a client cannot send it.
    let res = resource(exec, "notes");
    let refused = exec
        .insert(
            &ann,
            &res,
            vec![Bson::Document(doc! {"owner": "bob"})],
            &[],
            |_| (),
        )
        .await
        .expect("insert");
    assert!(matches!(refused, Inserted::Refused(_)), "{refused:?}");
}

#[tokio::test]
async fn reads_lists_and_counts_see_only_the_users_documents() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let (ann, bob, b) = two_users(exec).await;
    let res = resource(exec, "notes");
    // A page and its total (`_meta.total`).
    let mut query = FindQuery::new(scope_filter(exec.domain(), &res, &[], &ann));
    query.limit = Some(25);
    let (docs, total, _) = exec
        .fetch_page(&ann, &res, &query, true, &[])
        .await
        .expect("page");
    let texts: Vec<&str> = docs.iter().map(|d| d.get_str("text").unwrap()).collect();
    assert_eq!(texts, ["a1", "a2"]);
    assert_eq!(total, Some(2));
    // An item of another user is not found.
    assert!(original(exec, &ann, "notes", &b[0]).await.is_none());
    assert!(original(exec, &bob, "notes", &b[0]).await.is_some());
    // The data API: scoped by its access, for every resource.
    let notes = t.app.resource("notes").expect("notes");
    assert_eq!(
        notes
            .clone()
            .with_access(ann.clone())
            .find(&doc! {})
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        notes
            .clone()
            .with_access(bob)
            .find(&doc! {})
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(notes.find(&doc! {}).await.unwrap().len(), 3);
    // A resource without an auth_field is not restricted.
    insert(exec, &Access::anonymous(), "open", &[doc! {"text": "x"}]).await;
    let open = t.app.resource("open").expect("open").with_access(ann);
    assert_eq!(open.find(&doc! {}).await.unwrap().len(), 1);
}

#[tokio::test]
async fn replaces_and_upserts_store_the_auth_value() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let ann = user("ann");
    let a = insert(exec, &ann, "notes", &[doc! {"text": "a"}]).await;
    let res = resource(exec, "notes");
    let orig = original(exec, &ann, "notes", &a[0]).await.expect("own");
    let edited = exec
        .replace(&ann, &res, &orig, Bson::Document(doc! {"text": "A"}), &[])
        .await
        .expect("replace");
    let Edited::Stored(doc) = edited else {
        panic!("{edited:?}")
    };
    assert_eq!(doc.get_str("owner").ok(), Some("ann"));
    let upserted = exec
        .upsert(
            &ann,
            &res,
            Bson::Document(doc! {"text": "new"}),
            &[],
            ("_id".into(), Bson::ObjectId(bson::oid::ObjectId::new())),
            |d| d.to_vec(),
        )
        .await
        .expect("upsert");
    let Inserted::Stored(docs) = upserted else {
        panic!("{upserted:?}")
    };
    assert_eq!(owners(&docs), [Some("ann")]);
    assert_eq!(
        owners(&stored(exec, "notes").await),
        [Some("ann"), Some("ann")]
    );
}

#[tokio::test]
async fn a_patch_cannot_give_a_document_to_another_user() {
    let settings = "AUTH_FIELD: owner\nDOMAIN: {tasks: {schema: {title: {type: string}, owner: {type: string}}}}";
    let t = TestApp::new(settings).await;
    let exec = t.app.executor();
    let ann = user("ann");
    // The owner field is in the schema: sent, it is overwritten.
    let a = insert(exec, &ann, "tasks", &[doc! {"title": "t", "owner": "bob"}]).await;
    assert_eq!(owners(&a), [Some("ann")]);
    let orig = original(exec, &ann, "tasks", &a[0]).await.expect("own");
    let res = resource(exec, "tasks");
    let edited = exec
        .update(
            &ann,
            &res,
            &orig,
            Bson::Document(doc! {"owner": "bob"}),
            &[],
        )
        .await
        .expect("update");
    let Edited::Stored(doc) = edited else {
        panic!("{edited:?}")
    };
    assert_eq!(doc.get_str("owner").ok(), Some("ann"));
    assert_eq!(owners(&stored(exec, "tasks").await), [Some("ann")]);
}

#[tokio::test]
async fn a_collection_delete_deletes_only_the_users_documents() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let (ann, _, _) = two_users(exec).await;
    let res = resource(exec, "notes");
    let scope = scope_filter(exec.domain(), &res, &[], &ann);
    assert_eq!(
        exec.delete_all(&ann, &res, &scope).await.expect("delete"),
        2
    );
    assert_eq!(owners(&stored(exec, "notes").await), [Some("bob")]);
    // Their histories went with them; bob's stays.
    assert_eq!(owners(&stored(exec, "notes_versions").await), [Some("bob")]);
    // Through the data API too.
    let notes = t.app.resource("notes").expect("notes");
    assert_eq!(notes.with_access(ann).delete(&doc! {}).await.unwrap(), 0);
    assert_eq!(stored(exec, "notes").await.len(), 1);
}

#[tokio::test]
async fn soft_deletes_mark_only_the_users_documents() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let (ann, bob) = (user("ann"), user("bob"));
    insert(exec, &ann, "drafts", &[doc! {"text": "a"}]).await;
    let b = insert(exec, &bob, "drafts", &[doc! {"text": "b"}]).await;
    let res = resource(exec, "drafts");
    let scope = scope_filter(exec.domain(), &res, &[], &ann);
    assert_eq!(
        exec.delete_all(&ann, &res, &scope).await.expect("delete"),
        1
    );
    let all = stored(exec, "drafts").await;
    let deleted: Vec<(&str, bool)> = all
        .iter()
        .map(|d| (d.get_str("owner").unwrap(), d.get_bool("_deleted").unwrap()))
        .collect();
    assert_eq!(deleted, [("ann", true), ("bob", false)]);
    // Bob's item is out of ann's scope, soft-deleted or not.
    assert!(original(exec, &ann, "drafts", &b[0]).await.is_none());
}

#[tokio::test]
async fn unique_to_user_is_unique_among_the_users_documents() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let (ann, bob) = (user("ann"), user("bob"));
    insert(exec, &ann, "notes", &[doc! {"code": "x"}]).await;
    // Another user may store the same value...
    insert(exec, &bob, "notes", &[doc! {"code": "x"}]).await;
    // ... the same user may not.
    let res = resource(exec, "notes");
    let again = exec
        .insert(
            &ann,
            &res,
            vec![Bson::Document(doc! {"code": "x"})],
            &[],
            |_| (),
        )
        .await
        .expect("insert");
    let Inserted::Refused(refusals) = again else {
        panic!("{again:?}")
    };
    let issues = match &refusals[0] {
        Some(eve_exec::Refusal::Invalid(issues)) => issues.to_json(false),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        issues,
        serde_json::json!({"code": "value 'x' is not unique"})
    );
}

#[tokio::test]
async fn references_and_embedded_documents_reveal_no_other_users_document() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let (ann, bob) = (user("ann"), user("bob"));
    let bob_topic = insert(exec, &bob, "topics", &[doc! {"name": "bob's"}]).await;
    let ann_topic = insert(exec, &ann, "topics", &[doc! {"name": "ann's"}]).await;
    let bob_topic = bob_topic[0].get("_id").unwrap().clone();
    let ann_topic = ann_topic[0].get("_id").unwrap().clone();
    // A reference to another user's document does not validate: for ann,
    // it does not exist.
    let res = resource(exec, "notes");
    let refused = exec
        .insert(
            &ann,
            &res,
            vec![Bson::Document(doc! {"topic": bob_topic.clone()})],
            &[],
            |_| (),
        )
        .await
        .expect("insert");
    assert!(matches!(refused, Inserted::Refused(_)), "{refused:?}");
    insert(exec, &ann, "notes", &[doc! {"topic": ann_topic.clone()}]).await;
    // Embedding: another user's document is embedded as a missing one
    // (`null`), so it is not revealed.
    let paths = parse_embedded(exec.domain(), &res, Some(r#"{"topic": 1}"#)).expect("paths");
    let mut docs = vec![
        doc! {"_id": 1, "topic": ann_topic.clone()},
        doc! {"_id": 2, "topic": bob_topic.clone()},
    ];
    exec.embed(&ann, &paths, &mut docs).await.expect("embed");
    assert_eq!(
        docs[0].get_document("topic").unwrap().get_str("name").ok(),
        Some("ann's")
    );
    assert_eq!(docs[1].get("topic"), Some(&Bson::Null));
    // A request whose method is public on the related resource... is
    // still a read: GET is not public there, so the restriction holds.
    let via = Access {
        via: Some(Via {
            method: "POST".into(),
            item: false,
        }),
        ..ann.clone()
    };
    let mut docs = vec![doc! {"_id": 2, "topic": bob_topic.clone()}];
    exec.embed(&via, &paths, &mut docs).await.expect("embed");
    assert_eq!(docs[0].get("topic"), Some(&Bson::Null));
}

#[tokio::test]
async fn version_shadows_and_oplog_entries_carry_the_owner() {
    let t = TestApp::new(&settings("username")).await;
    let exec = t.app.executor();
    let (ann, bob) = (user("ann"), user("bob"));
    let a = insert(exec, &ann, "notes", &[doc! {"text": "a"}]).await;
    insert(exec, &bob, "notes", &[doc! {"text": "b"}]).await;
    let res = resource(exec, "notes");
    let orig = original(exec, &ann, "notes", &a[0]).await.expect("own");
    exec.update(&ann, &res, &orig, Bson::Document(doc! {"text": "a2"}), &[])
        .await
        .expect("update");
    assert_eq!(
        owners(&stored(exec, "notes_versions").await),
        [Some("ann"), Some("bob"), Some("ann")]
    );
    assert_eq!(
        owners(&stored(exec, "oplog").await),
        [Some("ann"), Some("bob"), Some("ann")]
    );
    // The oplog resource has the global auth_field: each user reads their
    // own entries.
    let oplog = t.app.resource("oplog").expect("oplog");
    let mine = oplog.clone().with_access(bob).find(&doc! {}).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].get_str("o").ok(), Some("POST"));
    assert_eq!(
        oplog.with_access(ann).find(&doc! {}).await.unwrap().len(),
        2
    );
}
