//! Query cost budgets over HTTP (docs/robustness.md): regexes, sort
//! fields, the sort memory budget, and abandoned reads.

use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use super::common::{enc, Resp, TestApp};

/// A resource with `$regex` allowed (only `$where` blacklisted) and a
/// small sort memory budget.
const TEXTS: &str = r#"
DEBUG: true
MONGO_QUERY_BLACKLIST: ["$where"]
RESOURCE_METHODS: [GET, POST]
PAGINATION_LIMIT: 1000
SORT_MEMORY_LIMIT: 65536
DOMAIN:
  texts:
    schema:
      body: {type: string}
      n: {type: integer}
"#;

#[track_caller]
fn assert_400(r: &Resp, needle: &str) {
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    let j = r.json();
    assert_eq!(j["_status"], "ERR", "{}", r.text);
    assert_eq!(j["_error"]["code"], 400, "{}", r.text);
    let msg = j["_error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
}

/// POSTs `n` documents `{"n": i, "body": <size letters>}` in bulks.
async fn fill(t: &TestApp, n: usize, size: usize) {
    let docs: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"n": {}, "body": "{}"}}"#,
                (i * 37) % n,
                "a".repeat(size)
            )
        })
        .collect();
    for chunk in docs.chunks(500) {
        let r = t.post("/texts", &format!("[{}]", chunk.join(","))).await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    }
}

fn items(r: &Resp) -> Vec<i64> {
    r.json()["_items"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["n"].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_regex_over_the_cost_budget_is_400_before_any_scan() {
    let t = TestApp::new(TEXTS).await;
    fill(&t, 3, 10).await;
    for pattern in ["[a-z]{1,3000}[0-9]", "(ab){1000}"] {
        let w = format!(r#"{{"body": {{"$regex": "{pattern}"}}}}"#);
        assert_400(
            &t.get(&format!("/texts?where={}", enc(&w))).await,
            "too costly",
        );
    }
    // Within the budget the same kind of pattern runs.
    let w = r#"{"body": {"$regex": "^[a-z]{1,30}$"}}"#;
    let r = t.get(&format!("/texts?where={}", enc(w))).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(items(&r).len(), 3);
}

#[tokio::test]
async fn a_sort_on_more_than_32_fields_is_400() {
    let t = TestApp::new(TEXTS).await;
    fill(&t, 3, 10).await;
    let fields: Vec<String> = (0..33).map(|i| format!("f{i}")).collect();
    let r = t
        .get(&format!("/texts?sort={}", enc(&fields.join(","))))
        .await;
    assert_400(&r, "more than 32 fields");
    let r = t
        .get(&format!("/texts?sort={}", enc(&fields[..32].join(","))))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

#[tokio::test]
async fn an_unindexed_sort_holds_one_page_and_a_deeper_one_is_400() {
    let t = TestApp::new(TEXTS).await;
    // 40 documents of 8 KB (320 KB) under a 64 KB sort budget.
    fill(&t, 40, 8 * 1024).await;
    let r = t.get("/texts?sort=-n&max_results=1").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(items(&r), vec![39]);
    assert_eq!(r.json()["_meta"]["total"], 40);
    let r = t.get("/texts?sort=n&max_results=3&page=2").await;
    assert_eq!(items(&r), vec![3, 4, 5]);
    // Page 2 of 25 would hold 50 documents' worth (all 40): refused.
    let r = t.get("/texts?sort=n&max_results=25&page=2").await;
    assert_400(&r, "Sort exceeded memory limit of 65536 bytes");
}

#[tokio::test]
async fn in_with_hundreds_of_values_answers_like_a_short_one() {
    let t = TestApp::new(TEXTS).await;
    fill(&t, 10, 4).await;
    let mut values: Vec<String> = (1000..1400).map(|i| i.to_string()).collect();
    values.push("3.0".into());
    values.push("7".into());
    let w = format!(r#"{{"n": {{"$in": [{}]}}}}"#, values.join(","));
    let r = t.get(&format!("/texts?where={}&sort=n", enc(&w))).await;
    assert_eq!(items(&r), vec![3, 7]);
    let w = format!(r#"{{"n": {{"$nin": [{}]}}}}"#, values.join(","));
    let r = t.get(&format!("/texts?where={}&sort=n", enc(&w))).await;
    assert_eq!(items(&r), vec![0, 1, 2, 4, 5, 6, 8, 9]);
}

fn get(uri: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header("host", "localhost:5000")
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abandoned_slow_get_frees_its_reader_for_a_plain_get() {
    let t = TestApp::new(TEXTS).await;
    fill(&t, 2000, 2 * 1024).await;
    // A GET that scans every document (twice: the page and the total).
    let slow = format!(
        "/texts?where={}",
        enc(r#"{"body": {"$regex": "[a-z]{1,30}[0-9]"}}"#)
    );
    let start = Instant::now();
    let r = t.get(&slow).await;
    let solo = start.elapsed();
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    // Four of them take every reader; their clients go away (the server
    // drops their futures, as hyper does when a connection closes).
    let tasks: Vec<_> = (0..4)
        .map(|_| tokio::spawn(t.app.router().oneshot(get(&slow))))
        .collect();
    tokio::time::sleep(solo / 10).await;
    for task in &tasks {
        task.abort();
    }
    let start = Instant::now();
    let r = t.get(&format!("/texts?where={}", enc(r#"{"n": 3}"#))).await;
    let waited = start.elapsed();
    eprintln!("plain read after abandoned ones: {waited:?} (one slow read alone: {solo:?})");
    assert_eq!(items(&r), vec![3]);
    assert!(
        waited < solo / 2,
        "a plain GET waited {waited:?} behind abandoned ones (one slow GET alone: {solo:?})"
    );
    for task in tasks {
        assert!(task.await.is_err_and(|e| e.is_cancelled()));
    }
}

#[tokio::test]
async fn the_sort_memory_limit_is_a_setting_with_a_default() {
    let check = |extra: &str| {
        let yaml = format!("{extra}\nDOMAIN: {{texts: {{schema: {{n: {{type: integer}}}}}}}}\n");
        let raw = eve_core::settings::parse_str(&yaml, eve_core::settings::Format::Yaml)
            .unwrap_or_else(|e| panic!("{e:?}"));
        eve_core::settings::check(raw, &eve_http::Registry::default())
    };
    let domain = check("").unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(domain.settings.limits.sort_memory_limit, 100 * 1024 * 1024);
    let domain = check("SORT_MEMORY_LIMIT: 4096").unwrap_or_else(|e| panic!("{e:?}"));
    assert!(domain.warnings.is_empty(), "{:?}", domain.warnings);
    assert_eq!(domain.settings.limits.sort_memory_limit, 4096);
    for bad in ["SORT_MEMORY_LIMIT: 0", "SORT_MEMORY_LIMIT: lots"] {
        match check(bad) {
            Err(err) => assert!(
                err.problems.iter().any(|p| p.path == "SORT_MEMORY_LIMIT"),
                "{bad}: {err:?}"
            ),
            Ok(_) => panic!("{bad} was accepted"),
        }
    }
}
