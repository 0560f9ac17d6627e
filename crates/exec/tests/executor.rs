//! The executor without HTTP, on the embedded store: inserts (one batch,
//! all or nothing), meta stamping, conditional edits and deletes, payload
//! preparation, store-backed validation, and the hook registry (order,
//! aborts, start-up check, hooks reading other resources).

use std::sync::{Arc, Mutex};

use bson::{doc, Bson, Document};
use eve_core::{ApiError, Method, WriteKind};
use eve_exec::{
    Access, DataError, Edited, Executor, HookError, Hooks, IfMatch, Inserted, Refusal, Scope,
};
use eve_query::Filter;
use eve_store::DataLayer;

const SETTINGS: &str = r#"
AUTO_CREATE_LISTS: true
DOMAIN:
  people:
    schema:
      firstname: {type: string}
      lastname: {type: string, required: true, unique: true}
      role: {type: list}
      location: {type: dict, schema: {city: {type: string}, zip: {type: string}}}
  works:
    schema:
      title: {type: string, required: true}
      owner: {type: string}
      owner_name: {type: string}
    mongo_indexes:
      title_idx: {keys: [[title, 1]], options: {unique: true}}
  notes:
    schema:
      text: {type: string}
"#;

struct Fixture {
    exec: Executor,
    _dir: tempfile::TempDir,
}

async fn fixture_with(settings: &str, hooks: Hooks) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let raw = eve_core::settings::parse_str(settings, eve_core::settings::Format::Yaml)
        .expect("settings parse");
    let domain =
        eve_core::settings::check(raw, &eve_schema::Registry::default()).expect("settings check");
    let store = eve_store_sqlite::SqliteStore::open(dir.path()).expect("store");
    for (collection, indexes) in &domain.collections {
        store
            .prepare_collection(collection, indexes)
            .await
            .expect("prepare");
    }
    let exec = Executor::new(Arc::new(domain), Arc::new(store), hooks).expect("executor");
    Fixture { exec, _dir: dir }
}

async fn fixture(hooks: Hooks) -> Fixture {
    fixture_with(SETTINGS, hooks).await
}

impl Fixture {
    fn res(&self, name: &str) -> Arc<eve_core::Resource> {
        self.exec.domain().resources[name].clone()
    }
    async fn stored(&self, collection: &str) -> Vec<Document> {
        self.exec
            .store()
            .find(collection, &eve_store::FindQuery::new(Filter::All))
            .await
            .expect("find")
    }
    async fn insert(&self, resource: &str, docs: Vec<Document>) -> Inserted<Vec<Document>> {
        let input = docs.into_iter().map(Bson::Document).collect();
        self.exec
            .insert(
                &Access::anonymous(),
                &self.res(resource),
                input,
                &[],
                <[Document]>::to_vec,
            )
            .await
            .expect("insert")
    }
    async fn original(&self, resource: &str, id: &Bson, if_match: IfMatch) -> eve_exec::Original {
        self.exec
            .original(
                &self.res(resource),
                &Filter::eq("_id", id.clone()),
                &if_match,
            )
            .await
            .expect("load")
            .expect("found")
    }
    /// The document as now stored, loaded for an edit with its current ETag.
    async fn current(&self, resource: &str, id: &Bson) -> eve_exec::Original {
        let collection = self.res(resource).datasource.source.clone();
        let stored = self
            .exec
            .store()
            .find_one(&collection, &Filter::eq("_id", id.clone()))
            .await
            .expect("find")
            .expect("found");
        let etag = stored.get_str("_etag").expect("etag").to_string();
        self.original(resource, id, IfMatch::Etag(etag)).await
    }
}

fn stored_docs(inserted: Inserted<Vec<Document>>) -> Vec<Document> {
    match inserted {
        Inserted::Stored(docs) => docs,
        Inserted::Refused(r) => panic!("refused: {r:?}"),
    }
}

#[tokio::test]
async fn an_insert_stamps_dates_an_etag_and_an_id_and_stores_what_it_returns() {
    let f = fixture(Hooks::new()).await;
    let docs = stored_docs(f.insert("people", vec![doc! {"lastname": "Doe"}]).await);
    let stored = f.stored("people").await;
    assert_eq!(stored, docs);
    let doc = &stored[0];
    assert!(matches!(doc.get("_id"), Some(Bson::ObjectId(_))), "{doc}");
    let etag = doc.get_str("_etag").expect("etag");
    assert_eq!(etag.len(), 40);
    assert!(etag.bytes().all(|b| b.is_ascii_hexdigit()), "{etag}");
    let created = doc.get_datetime("_created").expect("created");
    assert_eq!(created, doc.get_datetime("_updated").expect("updated"));
    assert_eq!(created.timestamp_millis() % 1000, 0, "seconds precision");
}

#[tokio::test]
async fn a_bulk_insert_with_one_invalid_document_stores_nothing_and_says_which() {
    let f = fixture(Hooks::new()).await;
    let input = vec![
        Bson::Document(doc! {"lastname": "Ok"}),
        Bson::Document(doc! {"firstname": "NoLastName"}),
        Bson::String("not a document".into()),
    ];
    let inserted = f
        .exec
        .insert(&Access::anonymous(), &f.res("people"), input, &[], |_| ())
        .await
        .unwrap();
    let Inserted::Refused(refusals) = inserted else {
        panic!("stored an invalid bulk");
    };
    assert_eq!(refusals.len(), 3);
    assert!(refusals[0].is_none());
    match &refusals[1] {
        Some(Refusal::Invalid(issues)) => assert_eq!(
            issues.to_json(false),
            serde_json::json!({"lastname": "required field"})
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(refusals[2], Some(Refusal::NotADocument)));
    assert!(f.stored("people").await.is_empty());
}

#[tokio::test]
async fn a_bulk_insert_the_store_refuses_half_way_is_one_batch_and_stores_nothing() {
    let f = fixture(Hooks::new()).await;
    // Both pass validation (the unique index is not a schema rule); the
    // store refuses the second, and the first must not stay behind.
    let input = vec![
        Bson::Document(doc! {"title": "same"}),
        Bson::Document(doc! {"title": "other"}),
        Bson::Document(doc! {"title": "same"}),
    ];
    let err = f
        .exec
        .insert(&Access::anonymous(), &f.res("works"), input, &[], |_| ())
        .await
        .unwrap_err();
    match err {
        ApiError::DuplicateKey {
            op: WriteKind::Insert,
            message,
        } => assert!(
            message.starts_with("Duplicate key error at index: 2"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(f.stored("works").await.is_empty());
}

#[tokio::test]
async fn payloads_get_dotted_keys_expanded_and_single_values_listed() {
    let f = fixture(Hooks::new()).await;
    let docs = stored_docs(
        f.insert(
            "people",
            vec![doc! {"lastname": "Doe", "location.city": "Rome", "role": "author"}],
        )
        .await,
    );
    assert_eq!(
        docs[0].get_document("location").unwrap(),
        &doc! {"city": "Rome"}
    );
    assert_eq!(
        docs[0].get_array("role").unwrap(),
        &vec![Bson::from("author")]
    );
}

#[tokio::test]
async fn unique_is_checked_against_the_store_and_an_edit_does_not_collide_with_itself() {
    let f = fixture(Hooks::new()).await;
    let first = stored_docs(f.insert("people", vec![doc! {"lastname": "Doe"}]).await);
    let Inserted::Refused(refusals) = f.insert("people", vec![doc! {"lastname": "Doe"}]).await
    else {
        panic!("duplicate stored");
    };
    match &refusals[0] {
        Some(Refusal::Invalid(issues)) => assert_eq!(
            issues.to_json(false),
            serde_json::json!({"lastname": "value 'Doe' is not unique"})
        ),
        other => panic!("{other:?}"),
    }
    let original = f.current("people", &first[0]["_id"]).await;
    let edited = f
        .exec
        .update(
            &Access::anonymous(),
            &f.res("people"),
            &original,
            Bson::Document(doc! {"lastname": "Doe", "firstname": "John"}),
            &[],
        )
        .await
        .unwrap();
    assert!(matches!(edited, Edited::Stored(_)), "{edited:?}");
}

#[tokio::test]
async fn an_edit_compares_and_sets_the_etag_it_checked_so_a_lost_race_is_a_mismatch() {
    let f = fixture(Hooks::new()).await;
    let docs = stored_docs(f.insert("people", vec![doc! {"lastname": "Doe"}]).await);
    let id = docs[0]["_id"].clone();
    let etag = docs[0].get_str("_etag").unwrap().to_string();
    let res = f.res("people");
    let access = Access::anonymous();
    // Two editors read the same version.
    let mine = f.original("people", &id, IfMatch::Etag(etag.clone())).await;
    let theirs = f.original("people", &id, IfMatch::Etag(etag.clone())).await;
    let Edited::Stored(after) = f
        .exec
        .update(
            &access,
            &res,
            &theirs,
            Bson::Document(doc! {"firstname": "A"}),
            &[],
        )
        .await
        .unwrap()
    else {
        panic!("refused");
    };
    assert_ne!(after.get_str("_etag").unwrap(), etag);
    assert_eq!(f.stored("people").await[0], after);
    // The second write must not overwrite the first.
    let err = f
        .exec
        .update(
            &access,
            &res,
            &mine,
            Bson::Document(doc! {"firstname": "B"}),
            &[],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::EtagMismatch), "{err:?}");
    let err = f
        .exec
        .replace(
            &access,
            &res,
            &mine,
            Bson::Document(doc! {"lastname": "X"}),
            &[],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::EtagMismatch), "{err:?}");
    let err = f.exec.delete_item(&access, &res, &mine).await.unwrap_err();
    assert!(matches!(err, ApiError::EtagMismatch), "{err:?}");
    assert_eq!(
        f.stored("people").await[0].get_str("firstname").unwrap(),
        "A"
    );
}

#[tokio::test]
async fn if_match_is_checked_when_the_original_is_loaded() {
    let f = fixture(Hooks::new()).await;
    let docs = stored_docs(f.insert("people", vec![doc! {"lastname": "Doe"}]).await);
    let res = f.res("people");
    let lookup = Filter::eq("_id", docs[0]["_id"].clone());
    let stale = IfMatch::from_header(Some(b"\"0000\""));
    let err = f.exec.original(&res, &lookup, &stale).await.unwrap_err();
    assert!(matches!(err, ApiError::EtagMismatch), "{err:?}");
    // ENFORCE_IF_MATCH is on by default: no If-Match is 428.
    let err = f
        .exec
        .original(&res, &lookup, &IfMatch::Absent)
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::EtagRequired), "{err:?}");
    let missing = Filter::eq("_id", "nothing");
    assert!(f
        .exec
        .original(&res, &missing, &stale)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_replace_keeps_the_id_and_creation_date_and_a_patch_merges() {
    let f = fixture(Hooks::new()).await;
    let docs = stored_docs(
        f.insert("people", vec![doc! {"lastname": "Doe", "firstname": "J"}])
            .await,
    );
    let id = docs[0]["_id"].clone();
    let res = f.res("people");
    let access = Access::anonymous();
    let original = f.current("people", &id).await;
    let Edited::Stored(patched) = f
        .exec
        .update(
            &access,
            &res,
            &original,
            Bson::Document(doc! {"location.zip": "1"}),
            &[],
        )
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(patched.get_str("firstname").unwrap(), "J");
    assert_eq!(
        patched.get_document("location").unwrap(),
        &doc! {"zip": "1"}
    );
    let original = f.current("people", &id).await;
    let Edited::Stored(replaced) = f
        .exec
        .replace(
            &access,
            &res,
            &original,
            Bson::Document(doc! {"lastname": "Roe"}),
            &[],
        )
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    let stored = &f.stored("people").await[0];
    assert_eq!(stored, &replaced);
    assert_eq!(stored["_id"], id);
    assert_eq!(stored["_created"], docs[0]["_created"]);
    assert!(stored.get("firstname").is_none());
    // A document that is not a document is refused, nothing written.
    let original = f.current("people", &id).await;
    let edited = f
        .exec
        .update(&access, &res, &original, Bson::Int32(1), &[])
        .await
        .unwrap();
    assert!(matches!(edited, Edited::Refused(Refusal::NotADocument)));
    let err = f
        .exec
        .update(
            &access,
            &res,
            &original,
            Bson::Document(doc! {"_id": 5}),
            &[],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::ImmutableField), "{err:?}");
}

type Log = Arc<Mutex<Vec<String>>>;

/// A hook that logs `name` (with the hook's resource) and succeeds.
fn logger(log: &Log, name: &'static str) -> impl Fn(&str) + Send + Sync + 'static {
    let log = log.clone();
    move |resource: &str| log.lock().unwrap().push(format!("{name}({resource})"))
}

#[tokio::test]
async fn general_hooks_run_before_specific_ones_each_in_registration_order() {
    let log: Log = Arc::default();
    let (a, b, c, d) = (
        logger(&log, "on_insert#1"),
        logger(&log, "on_insert_people"),
        logger(&log, "on_insert#2"),
        logger(&log, "on_inserted"),
    );
    let hooks = Hooks::new()
        .on_insert("people", move |cx, _| {
            b(cx.resource_name().unwrap());
            Box::pin(async { Ok(()) })
        })
        .on_insert(Scope::All, move |cx, _| {
            a(cx.resource_name().unwrap());
            Box::pin(async { Ok(()) })
        })
        .on_insert(Scope::All, move |cx, _| {
            c(cx.resource_name().unwrap());
            Box::pin(async { Ok(()) })
        })
        .on_inserted(Scope::All, move |cx, _| {
            d(cx.resource_name().unwrap());
            Box::pin(async { Ok(()) })
        });
    let f = fixture(hooks).await;
    stored_docs(f.insert("people", vec![doc! {"lastname": "Doe"}]).await);
    stored_docs(f.insert("works", vec![doc! {"title": "T"}]).await);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "on_insert#1(people)",
            "on_insert#2(people)",
            "on_insert_people(people)",
            "on_inserted(people)",
            "on_insert#1(works)",
            "on_insert#2(works)",
            "on_inserted(works)",
        ]
    );
}

#[tokio::test]
async fn insert_hooks_change_documents_before_the_write_and_see_ids_after() {
    let seen_ids: Log = Arc::default();
    let seen = seen_ids.clone();
    let hooks = Hooks::new()
        .on_insert("people", |_, docs| {
            Box::pin(async move {
                assert!(docs.iter().all(|d| d.get("_id").is_none()));
                assert!(docs.iter().all(|d| d.contains_key("_created")));
                for d in docs.iter_mut() {
                    d.insert("firstname", "set by hook");
                }
                Ok(())
            })
        })
        .on_inserted("people", move |_, docs| {
            let ids: Vec<String> = docs.iter().map(|d| d["_id"].to_string()).collect();
            seen.lock().unwrap().extend(ids);
            Box::pin(async { Ok(()) })
        });
    let f = fixture(hooks).await;
    let docs = stored_docs(f.insert("people", vec![doc! {"lastname": "Doe"}]).await);
    let stored = &f.stored("people").await[0];
    assert_eq!(stored.get_str("firstname").unwrap(), "set by hook");
    assert_eq!(*seen_ids.lock().unwrap(), [stored["_id"].to_string()]);
    assert_eq!(&docs[0], stored);
}

#[tokio::test]
async fn the_etag_of_a_new_document_covers_what_the_insert_hooks_changed() {
    // The hook makes both notes alike; stamped in one batch (same dates),
    // they must get the same ETag, which they would not if it were
    // computed before the hook ran.
    let hooks = Hooks::new().on_insert("notes", |_, docs| {
        Box::pin(async move {
            for d in docs.iter_mut() {
                d.insert("text", "same");
            }
            Ok(())
        })
    });
    let f = fixture(hooks).await;
    let docs = stored_docs(
        f.insert("notes", vec![doc! {"text": "a"}, doc! {"text": "b"}])
            .await,
    );
    assert_eq!(docs[0]["_created"], docs[1]["_created"]);
    assert_eq!(docs[0]["_etag"], docs[1]["_etag"]);
    assert_ne!(docs[0]["_id"], docs[1]["_id"]);
}

#[tokio::test]
async fn a_before_hook_that_aborts_prevents_the_write() {
    let hooks = Hooks::new()
        .on_delete_item("people", |_, _| {
            Box::pin(async {
                Err(ApiError::Abort {
                    status: 403,
                    message: Some("kept".into()),
                })
            })
        })
        .on_insert("works", |_, _| {
            Box::pin(async {
                Err(ApiError::Abort {
                    status: 409,
                    message: None,
                })
            })
        });
    let f = fixture(hooks).await;
    let docs = stored_docs(f.insert("people", vec![doc! {"lastname": "Doe"}]).await);
    let original = f.current("people", &docs[0]["_id"]).await;
    let err = f
        .exec
        .delete_item(&Access::anonymous(), &f.res("people"), &original)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Abort { status: 403, .. }),
        "{err:?}"
    );
    assert_eq!(f.stored("people").await.len(), 1);
    let err = f
        .exec
        .insert(
            &Access::anonymous(),
            &f.res("works"),
            vec![Bson::Document(doc! {"title": "T"})],
            &[],
            |_| (),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::Abort { status: 409, .. }),
        "{err:?}"
    );
    assert!(f.stored("works").await.is_empty());
}

#[tokio::test]
async fn a_hook_for_an_unknown_resource_is_refused_when_the_executor_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let raw = eve_core::settings::parse_str(SETTINGS, eve_core::settings::Format::Yaml).unwrap();
    let domain = eve_core::settings::check(raw, &eve_schema::Registry::default()).unwrap();
    let store = eve_store_sqlite::SqliteStore::open(dir.path()).unwrap();
    let hooks = Hooks::new()
        .on_insert(Scope::All, |_, _| Box::pin(async { Ok(()) }))
        .on_pre_request(Method::Get, "peple", |_| Box::pin(async { Ok(()) }));
    let err = Executor::new(Arc::new(domain), Arc::new(store), hooks).unwrap_err();
    let HookError::UnknownResource { hook, resource } = &err;
    assert_eq!(
        (hook.as_str(), resource.as_str()),
        ("on_pre_GET_peple", "peple")
    );
    assert_eq!(
        err.to_string(),
        "hook on_pre_GET_peple names an unknown resource 'peple' (not in DOMAIN)"
    );
}

#[tokio::test]
async fn an_async_hook_reads_another_resource_through_the_data_api() {
    let hooks = Hooks::new().on_insert("works", |cx, docs| {
        Box::pin(async move {
            let people = cx.data("people").expect("people");
            for doc in docs.iter_mut() {
                tokio::task::yield_now().await;
                let owner = doc.get_str("owner").unwrap_or_default().to_string();
                let person = people
                    .find_one(&doc! {"lastname": owner})
                    .await
                    .map_err(|e| ApiError::Internal(e.to_string()))?
                    .ok_or(ApiError::Abort {
                        status: 422,
                        message: Some("unknown owner".into()),
                    })?;
                doc.insert(
                    "owner_name",
                    person.get_str("firstname").unwrap_or_default(),
                );
            }
            Ok(())
        })
    });
    let f = fixture(hooks).await;
    let people = f.exec.resource("people").unwrap();
    people
        .insert(doc! {"lastname": "Doe", "firstname": "John"})
        .await
        .unwrap();
    let works = f.exec.resource("works").unwrap();
    let stored = works
        .insert(doc! {"title": "T", "owner": "Doe"})
        .await
        .unwrap();
    assert_eq!(stored.get_str("owner_name").unwrap(), "John");
    assert_eq!(
        f.stored("works").await[0].get_str("owner_name").unwrap(),
        "John"
    );
    let err = works
        .insert(doc! {"title": "U", "owner": "Nobody"})
        .await
        .unwrap_err();
    assert!(
        matches!(err, DataError::Api(ApiError::Abort { status: 422, .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_data_api_deletes_through_the_resource_hooks() {
    let log: Log = Arc::default();
    let (before, after) = (
        logger(&log, "on_delete_resource"),
        logger(&log, "on_deleted_resource_people"),
    );
    let hooks = Hooks::new()
        .on_delete_resource(Scope::All, move |cx| {
            before(cx.resource_name().unwrap());
            Box::pin(async { Ok(()) })
        })
        .on_deleted_resource("people", move |cx| {
            after(cx.resource_name().unwrap());
            Box::pin(async { Ok(()) })
        });
    let f = fixture(hooks).await;
    let people = f.exec.resource("people").unwrap();
    for name in ["A", "B"] {
        people.insert(doc! {"lastname": name}).await.unwrap();
    }
    assert_eq!(people.delete(&doc! {"lastname": "A"}).await.unwrap(), 1);
    assert_eq!(f.stored("people").await.len(), 1);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "on_delete_resource(people)",
            "on_deleted_resource_people(people)"
        ]
    );
}

#[tokio::test]
async fn hooks_get_the_access_of_the_call() {
    let seen: Arc<Mutex<Option<Access>>> = Arc::default();
    let keep = seen.clone();
    let hooks = Hooks::new().on_inserted("people", move |cx, _| {
        *keep.lock().unwrap() = Some(cx.access().clone());
        Box::pin(async { Ok(()) })
    });
    let f = fixture(hooks).await;
    let access = Access {
        user: Some("alice".into()),
        ..Access::anonymous()
    };
    f.exec
        .resource("people")
        .unwrap()
        .with_access(access.clone())
        .insert(doc! {"lastname": "Doe"})
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().as_ref(), Some(&access));
    assert!(!access.is_anonymous() && Access::anonymous().is_anonymous());
}
