//! A panicking hook is a 500 and the server keeps serving; concurrent
//! writers with one ETag or one unique value have one winner; readers never
//! see half a write.

use super::limits::limited;
use super::*;

/// Hooks with a bug: they panic on a GET of `works` and on inserting a
/// work titled "boom".
fn panicky_hooks() -> eve_http::Hooks {
    eve_http::Hooks::new()
        .on_pre_request(eve_core::Method::Get, "works", |_cx| {
            Box::pin(async { panic!("a bug in a hook") })
        })
        .on_insert("works", |_cx, docs| {
            Box::pin(async move {
                if docs.iter().any(|d| d.get_str("title").ok() == Some("boom")) {
                    panic!("a bug in an insert hook");
                }
                Ok(())
            })
        })
}

#[tokio::test]
async fn a_panic_in_a_hook_is_a_500_in_eves_shape_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let raw = eve_core::settings::parse_str(PEOPLE, eve_core::settings::Format::Yaml).unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    let app = eve_http::App::builder()
        .hooks(panicky_hooks())
        .store(crate::integration::common::test_store(&domain, dir.path()).await)
        .domain(domain)
        .await
        .unwrap();
    let router = app.router();
    let send = |method: &str, uri: &str, body: &str| {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let router = router.clone();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    for _ in 0..3 {
        let (status, body) = send("GET", "/works", "").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let j: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(j["_status"], "ERR");
        assert_eq!(j["_error"]["code"], 500);
        assert!(!body.contains("a bug"), "{body}");
        let (status, body) = send("POST", "/works", r#"{"title": "boom"}"#).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        let (status, _) = send("GET", "/people", "").await;
        assert_eq!(status, StatusCode::OK);
    }
    // The insert that panicked wrote nothing; others still work.
    assert_eq!(
        app.store()
            .count("works", &eve_query::Filter::All)
            .await
            .unwrap(),
        0
    );
    let (status, _) = send("POST", "/works", r#"{"title": "fine"}"#).await;
    assert_eq!(status, StatusCode::CREATED);
}

// ------------------------------------------------------------------ races

/// Sends one request through a fresh router clone (for spawned tasks).
async fn call(
    app: &eve_http::App,
    method: &str,
    uri: &str,
    etag: Option<&str>,
    body: Option<String>,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(e) = etag {
        req = req.header("if-match", e);
    }
    let req = req
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .unwrap();
    let resp = app.router().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

const RACERS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_with_one_etag_have_one_winner() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let (app, url, etag) = (t.app.clone(), url.clone(), etag.clone());
        tasks.push(tokio::spawn(async move {
            let body = format!(r#"{{"lastname": "Doe{i}", "age": {i}}}"#);
            (i, call(&app, "PUT", &url, Some(&etag), Some(body)).await)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (i, (status, body)) = task.await.unwrap();
        match status.as_u16() {
            200 => winners.push((i, serde_json::from_str::<Value>(&body).unwrap())),
            412 => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let (i, reply) = &winners[0];
    let stored = t.get(&url).await.json();
    assert_eq!(stored["age"], *i);
    assert_eq!(stored["lastname"], format!("Doe{i}"));
    assert_eq!(stored["_etag"], reply["_etag"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_and_a_delete_with_one_etag_have_one_winner() {
    for round in 0..4 {
        let t = TestApp::new(PEOPLE).await;
        let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
        let url = format!("/people/{id}");
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let (app, url, etag) = (t.app.clone(), url.clone(), etag.clone());
            tasks.push(tokio::spawn(async move {
                // One racer deletes, at a different position each round.
                let r = if i == round * 3 {
                    call(&app, "DELETE", &url, Some(&etag), None).await
                } else {
                    let body = format!(r#"{{"age": {i}}}"#);
                    call(&app, "PATCH", &url, Some(&etag), Some(body)).await
                };
                (i, r)
            }));
        }
        let mut patch_winners = Vec::new();
        let mut delete_status = None;
        for task in tasks {
            let (i, (status, body)) = task.await.unwrap();
            if i == round * 3 {
                delete_status = Some(status.as_u16());
                continue;
            }
            match status.as_u16() {
                200 => patch_winners.push((i, serde_json::from_str::<Value>(&body).unwrap())),
                // 404: the delete won before this PATCH read the document.
                412 | 404 => {}
                other => panic!("unexpected {other}: {body}"),
            }
        }
        let now = t.get(&url).await;
        match delete_status {
            Some(204) => {
                assert!(patch_winners.is_empty(), "{patch_winners:?}");
                assert_eq!(now.status, StatusCode::NOT_FOUND);
            }
            Some(412) => {
                assert_eq!(patch_winners.len(), 1, "{patch_winners:?}");
                let (i, reply) = &patch_winners[0];
                let j = now.json();
                assert_eq!(j["age"], *i);
                assert_eq!(j["_etag"], reply["_etag"]);
            }
            other => panic!("delete answered {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_of_one_unique_value_create_one_document() {
    for round in 0..3 {
        let t = TestApp::new(PEOPLE).await;
        let mut tasks = Vec::new();
        for i in 0..RACERS {
            let app = t.app.clone();
            tasks.push(tokio::spawn(async move {
                // Single and bulk posts race for lastname "Same".
                let body = if i % 3 == 0 {
                    format!(r#"[{{"lastname": "other{round}-{i}"}}, {{"lastname": "Same", "age": {i}}}]"#)
                } else {
                    format!(r#"{{"lastname": "Same", "age": {i}}}"#)
                };
                (i, call(&app, "POST", "/people", None, Some(body)).await)
            }));
        }
        let mut created = Vec::new();
        for task in tasks {
            let (i, (status, body)) = task.await.unwrap();
            match status.as_u16() {
                201 => created.push(i),
                // The validator saw the winner (422), or the store's unique
                // index refused the insert (409).
                409 | 422 => assert!(body.contains("\"ERR\""), "{body}"),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(created.len(), 1, "round {round}: {created:?}");
        let same = t
            .get(&format!("/people?where={}", enc(r#"{"lastname": "Same"}"#)))
            .await
            .json();
        assert_eq!(same["_meta"]["total"], 1);
        assert_eq!(same["_items"][0]["age"], created[0]);
        // A losing bulk wrote none of its documents.
        let expected = if created[0] % 3 == 0 { 2 } else { 1 };
        assert_eq!(stored(&t, "people").await, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_never_see_half_a_bulk_insert_or_half_a_patch() {
    const BATCH: usize = 7;
    const BATCHES: usize = 25;
    let t = TestApp::new(&limited("PAGINATION_LIMIT: 1000")).await;
    let (id, mut etag) = {
        let r = t.post("/texts", r#"{"body": "p0", "n": 0}"#).await;
        let j = r.json();
        (
            j["_id"].as_str().unwrap().to_string(),
            j["_etag"].as_str().unwrap().to_string(),
        )
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (app, done, id) = (t.app.clone(), done.clone(), id.clone());
        tokio::spawn(async move {
            for b in 1..=BATCHES {
                let docs: Vec<String> = (0..BATCH)
                    .map(|k| format!(r#"{{"body": "batch", "n": {}}}"#, b * 100 + k))
                    .collect();
                let (status, body) = call(
                    &app,
                    "POST",
                    "/texts",
                    None,
                    Some(format!("[{}]", docs.join(","))),
                )
                .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                // body and n always change together.
                let patch = format!(r#"{{"body": "p{b}", "n": {b}}}"#);
                let (status, body) = call(
                    &app,
                    "PATCH",
                    &format!("/texts/{id}"),
                    Some(&etag),
                    Some(patch),
                )
                .await;
                assert_eq!(status, StatusCode::OK, "{body}");
                etag = serde_json::from_str::<Value>(&body).unwrap()["_etag"]
                    .as_str()
                    .unwrap()
                    .to_string();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let mut reads = 0;
    let batch_where = enc(r#"{"body": "batch"}"#);
    // Bounded: the writer finishes in BATCHES rounds; at most 10k reads.
    while !done.load(std::sync::atomic::Ordering::SeqCst) && reads < 10_000 {
        reads += 1;
        let count = t
            .app
            .store()
            .count("texts", &eve_query::Filter::eq("body", "batch"))
            .await
            .unwrap() as usize;
        assert_eq!(count % BATCH, 0, "a count saw part of a bulk insert");
        let page = call(
            &t.app,
            "GET",
            &format!("/texts?where={batch_where}&max_results=1000"),
            None,
            None,
        )
        .await;
        let j: Value = serde_json::from_str(&page.1).unwrap();
        let items = j["_items"].as_array().unwrap().len();
        assert_eq!(items % BATCH, 0, "a read saw part of a bulk insert");
        let one = call(&t.app, "GET", &format!("/texts/{id}"), None, None).await;
        let j: Value = serde_json::from_str(&one.1).unwrap();
        assert_eq!(
            j["body"].as_str().unwrap(),
            format!("p{}", j["n"]),
            "a read saw half of a PATCH"
        );
        tokio::task::yield_now().await;
    }
    writer.await.unwrap();
    assert!(reads > 0);
    assert_eq!(stored(&t, "texts").await as usize, 1 + BATCH * BATCHES);
}
