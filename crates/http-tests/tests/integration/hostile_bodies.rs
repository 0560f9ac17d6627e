//! Hostile request bodies (issue #21): dotted keys thousands of segments
//! deep, bodies refused while they are parsed, validation that stays linear
//! with a cap on the issues it reports, integers a document cannot hold,
//! field names with NUL, and XML that client-chosen keys cannot break.
//! The real-socket counterparts (the server process survives, a refused
//! 16 MiB body costs little memory, a poisoned store is reported) are in
//! `crates/cli/tests/hostile.rs`.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::common::{Resp, TestApp, PEOPLE};

async fn stored(t: &TestApp, collection: &str) -> u64 {
    t.app
        .store()
        .count(collection, &eve_query::Filter::All)
        .await
        .expect("count")
}

/// A 400 in Eve's error shape whose message contains `needle`.
#[track_caller]
fn assert_400(r: &Resp, needle: &str, what: &str) {
    assert_eq!(r.status.as_u16(), 400, "{what}: {}", r.text);
    let j = r.json();
    assert_eq!(j["_status"], "ERR", "{what}: {}", r.text);
    assert_eq!(j["_error"]["code"], 400, "{what}: {}", r.text);
    let message = j["_error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{what}: {message}");
}

fn dotted_key(segments: usize) -> String {
    vec!["a"; segments].join(".")
}

const UNKNOWN_OK: &str = r#"
RESOURCE_METHODS: [GET, POST]
ITEM_METHODS: [GET, PATCH, PUT]
ALLOW_UNKNOWN: true
DOMAIN:
  notes:
    schema:
      title: {type: string}
      tags: {type: list, schema: {type: integer}}
"#;

#[tokio::test]
async fn a_dotted_key_of_thousands_of_segments_is_a_400_on_every_write() {
    // Today's main overflows the stack expanding these (the process aborts).
    for settings in [PEOPLE.to_string(), UNKNOWN_OK.replace("notes", "people")] {
        let t = TestApp::new(&settings).await;
        let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
        for segments in [1_300, 3_000, 20_000] {
            let key = dotted_key(segments);
            let json = format!(r#"{{"lastname": "x{segments}", "{key}": 1}}"#);
            assert_400(&t.post("/people", &json).await, "MAX_JSON_DEPTH", "json");
            let bulk = format!("[{json}]");
            assert_400(&t.post("/people", &bulk).await, "MAX_JSON_DEPTH", "bulk");
            let form = format!("lastname=y{segments}&{key}=1");
            let r = t
                .send(
                    "POST",
                    "/people",
                    &[("content-type", "application/x-www-form-urlencoded")],
                    Some(&form),
                )
                .await;
            assert_400(&r, "MAX_JSON_DEPTH", "form");
            let patch = format!(r#"{{"{key}": 1}}"#);
            let r = t
                .edit("PATCH", &format!("/people/{id}"), &etag, &patch)
                .await;
            assert_400(&r, "MAX_JSON_DEPTH", "patch");
            let r = t.edit("PUT", &format!("/people/{id}"), &etag, &json).await;
            assert_400(&r, "MAX_JSON_DEPTH", "put");
            // A dotted key inside a sub-document counts from its depth.
            let nested = format!(r#"{{"lastname": "z", "location": {{"{key}": 1}}}}"#);
            assert_400(
                &t.post("/people", &nested).await,
                "MAX_JSON_DEPTH",
                "nested",
            );
        }
        assert_eq!(stored(&t, "people").await, 1);
        let j = t.get(&format!("/people/{id}")).await.json();
        assert_eq!(j["_etag"], etag.as_str(), "the document was not changed");
    }
}

#[tokio::test]
async fn dotted_keys_count_toward_max_json_depth_one_level_per_segment() {
    let t = TestApp::new(&format!("MAX_JSON_DEPTH: 4\n{UNKNOWN_OK}")).await;
    // {"a": {"b": {"c": {"d": 1}}}} is four levels deep.
    let r = t.post("/notes", r#"{"a.b.c.d": 1}"#).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = t.post("/notes", r#"{"x": {"a.b": {"c": 1}}}"#).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = t.post("/notes", r#"{"x": {"a.b": [1]}}"#).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    for body in [
        r#"{"a.b.c.d.e": 1}"#,
        r#"{"x": {"a.b.c.d": 1}}"#,
        r#"{"x": {"a.b": {"c": {}}}}"#,
        r#"{"x": {"a.b.c": [1]}}"#,
    ] {
        assert_400(
            &t.post("/notes", body).await,
            "deeper than 4 levels (MAX_JSON_DEPTH)",
            body,
        );
    }
    assert_eq!(stored(&t, "notes").await, 3);
    // Without dotted-field expansion a dotted key is one level.
    let flat = UNKNOWN_OK.replace(
        "    schema:",
        "    normalize_dotted_fields: false\n    schema:",
    );
    let t = TestApp::new(&format!("MAX_JSON_DEPTH: 2\n{flat}")).await;
    let r = t
        .post("/notes", &format!(r#"{{"{}": 1}}"#, dotted_key(50)))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
}

#[test]
fn max_json_depth_above_what_the_store_holds_is_refused_at_start() {
    let yaml = format!("MAX_JSON_DEPTH: 129\n{PEOPLE}");
    let raw = eve_core::settings::parse_str(&yaml, eve_core::settings::Format::Yaml).unwrap();
    let err =
        eve_core::settings::check(raw, &eve_http::Registry::default()).expect_err("129 is refused");
    assert!(
        err.problems
            .iter()
            .any(|p| p.path == "MAX_JSON_DEPTH" && p.message.contains("at most 128")),
        "{:?}",
        err.problems
    );
    let yaml = format!("MAX_JSON_DEPTH: 128\n{PEOPLE}");
    let raw = eve_core::settings::parse_str(&yaml, eve_core::settings::Format::Yaml).unwrap();
    assert!(eve_core::settings::check(raw, &eve_http::Registry::default()).is_ok());
}

#[tokio::test]
async fn a_bulk_body_past_max_bulk_items_is_refused_while_parsing() {
    let t = TestApp::new(&format!("MAX_BULK_ITEMS: 3\n{UNKNOWN_OK}")).await;
    // The parse stops at the fourth document: the broken rest is never read.
    let r = t
        .post("/notes", r#"[{}, {}, {}, {}, this is not JSON"#)
        .await;
    assert_400(&r, "at most 3 documents (MAX_BULK_ITEMS)", "early stop");
    // Same answer for a well-formed list.
    let r = t.post("/notes", "[{}, {}, {}, {}]").await;
    assert_400(&r, "at most 3 documents (MAX_BULK_ITEMS)", "four");
    let r = t.post("/notes", "[{}, {}, {}]").await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    // Lists inside a document are not bulk lists.
    let r = t.post("/notes", r#"{"tags": [1, 2, 3, 4, 5]}"#).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    // Depth is checked while parsing too.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_400(&t.post("/notes", &deep).await, "MAX_JSON_DEPTH", "deep");
    assert_eq!(stored(&t, "notes").await, 4);
}

fn unknown_fields(n: usize) -> String {
    let fields: Vec<String> = (0..n).map(|i| format!(r#""u{i}": {i}"#)).collect();
    format!(r#"{{"lastname": "Doe", {}}}"#, fields.join(", "))
}

fn invalid_items(n: usize) -> String {
    let items: Vec<String> = (0..n).map(|i| format!(r#""t{i}""#)).collect();
    format!(r#"{{"tags": [{}]}}"#, items.join(", "))
}

/// CPU time this thread has run (Linux: `/proc/thread-self/schedstat`,
/// nanoseconds), which unlike wall time does not count the time spent
/// waiting for a core while other tests run.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The cost of one POST of `body`, which must be refused with 422: the CPU
/// time of this thread (the in-process router validates on it) where the
/// system tells it, else wall time.
async fn time_422(t: &TestApp, uri: &str, body: &str) -> Duration {
    let (cpu, start) = (thread_cpu(), Instant::now());
    let r = t.post(uri, body).await;
    let took = match (cpu, thread_cpu()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => start.elapsed(),
    };
    assert_eq!(
        r.status.as_u16(),
        422,
        "{}",
        &r.text[..r.text.len().min(300)]
    );
    took
}

/// Validating 4x the errors must cost at most ~6x (linear: 4x; the
/// quadratic sort of today's main: 16x). Each size's best of five runs,
/// interleaved so that load from other tests weighs on both alike.
async fn assert_linear(t: &TestApp, uri: &str, body: fn(usize) -> String) {
    let small = body(10_000);
    let large = body(40_000);
    time_422(t, uri, &small).await; // warm-up
    let (mut small_time, mut large_time) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        small_time = small_time.min(time_422(t, uri, &small).await);
        large_time = large_time.min(time_422(t, uri, &large).await);
    }
    let ratio = large_time.as_secs_f64() / small_time.as_secs_f64().max(1e-6);
    eprintln!("{uri}: 40k errors {large_time:?}, 10k {small_time:?}: {ratio:.1}x");
    assert!(
        ratio < 6.0,
        "40k errors took {ratio:.1}x the time of 10k ({large_time:?} vs {small_time:?})"
    );
}

#[tokio::test]
async fn validation_time_grows_linearly_with_unknown_fields() {
    let t = TestApp::new(PEOPLE).await;
    assert_linear(&t, "/people", unknown_fields).await;
}

#[tokio::test]
async fn validation_time_grows_linearly_with_invalid_list_items() {
    let t = TestApp::new(&UNKNOWN_OK.replace("ALLOW_UNKNOWN: true\n", "")).await;
    assert_linear(&t, "/notes", invalid_items).await;
}

fn count_messages(v: &Value) -> usize {
    match v {
        Value::String(_) => 1,
        Value::Array(items) => items.iter().map(count_messages).sum(),
        Value::Object(m) => m.values().map(count_messages).sum(),
        _ => 0,
    }
}

#[tokio::test]
async fn reported_issues_are_capped_by_max_validation_issues() {
    // The default: 100.
    let t = TestApp::new(PEOPLE).await;
    let r = t.post("/people", &unknown_fields(5_000)).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    let j = r.json();
    assert_eq!(count_messages(&j["_issues"]), 100);
    assert_eq!(j["_error"]["code"], 422);
    let t = TestApp::new(&format!("MAX_VALIDATION_ISSUES: 3\n{PEOPLE}")).await;
    // The first issues in Eve's order (names by code point) are kept.
    let r = t
        .post(
            "/people",
            r#"{"e": 1, "lastname": 5, "c": 1, "d": 1, "b": 1}"#,
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    assert_eq!(
        r.json()["_issues"],
        serde_json::json!({"b": "unknown field", "c": "unknown field", "d": "unknown field"})
    );
    // Within one field's list of item errors as well.
    let t = TestApp::new(&format!(
        "MAX_VALIDATION_ISSUES: 2\n{}",
        UNKNOWN_OK.replace("ALLOW_UNKNOWN: true\n", "")
    ))
    .await;
    let r = t.post("/notes", &invalid_items(500)).await;
    assert_eq!(
        r.json()["_issues"],
        serde_json::json!({"tags": {"0": "must be of integer type", "1": "must be of integer type"}})
    );
    // Below the cap nothing changes.
    let r = t.post("/notes", r#"{"tags": ["x"]}"#).await;
    assert_eq!(
        r.json()["_issues"],
        serde_json::json!({"tags": {"0": "must be of integer type"}})
    );
    // Each document of a bulk POST is capped on its own.
    let bulk = format!("[{}, {}]", invalid_items(10), invalid_items(10));
    let j = t.post("/notes", &bulk).await.json();
    assert_eq!(count_messages(&j["_items"][0]["_issues"]), 2);
    assert_eq!(count_messages(&j["_items"][1]["_issues"]), 2);
    assert_eq!(stored(&t, "notes").await, 0);
}

#[tokio::test]
async fn integers_a_document_cannot_hold_are_a_400_not_a_float() {
    let t = TestApp::new(UNKNOWN_OK).await;
    for (body, literal) in [
        (r#"{"n": 9223372036854775808}"#, "9223372036854775808"),
        (
            r#"{"n": {"m": [18446744073709551615]}}"#,
            "18446744073709551615",
        ),
        (
            r#"{"n": 123456789012345678901234567890}"#,
            "123456789012345678901234567890",
        ),
        (r#"{"n": -9223372036854775809}"#, "-9223372036854775809"),
    ] {
        assert_400(&t.post("/notes", body).await, literal, body);
    }
    assert_eq!(stored(&t, "notes").await, 0);
    // The int64 range is stored exactly, and floats stay floats.
    let r = t
        .post(
            "/notes",
            r#"{"max": 9223372036854775807, "min": -9223372036854775808, "f": 1e20}"#,
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let id = r.json()["_id"].as_str().unwrap().to_string();
    let text = t.get(&format!("/notes/{id}")).await.text;
    assert!(text.contains(r#""max": 9223372036854775807"#), "{text}");
    assert!(text.contains(r#""min": -9223372036854775808"#), "{text}");
    assert!(text.contains(r#""f": 1e+20"#), "{text}");
}

#[tokio::test]
async fn a_nul_in_a_field_name_gets_an_eve_worded_400() {
    let t = TestApp::new(UNKNOWN_OK).await;
    for body in [
        r#"{"a\u0000b": 1}"#,
        r#"{"x": {"y\u0000": 1}}"#,
        r#"{"x": [{"\u0000": 1}]}"#,
    ] {
        let r = t.post("/notes", body).await;
        assert_400(
            &r,
            "contains a NUL character, which a document cannot hold",
            body,
        );
    }
    assert_eq!(stored(&t, "notes").await, 0);
}

/// Checks that `xml` is well-formed as far as element structure goes: every
/// tag has a valid XML name, tags nest, and no control character appears.
#[track_caller]
fn assert_well_formed(xml: &str) {
    assert!(
        !xml.chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')),
        "control character in {xml:?}"
    );
    let mut open: Vec<&str> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "'<' inside a tag: {xml}");
        let self_closing = tag.ends_with('/');
        let (closing, body) = match tag.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, tag.trim_end_matches('/')),
        };
        let name = body.split_whitespace().next().unwrap_or("");
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        assert!(valid, "invalid element name {name:?} in {xml}");
        if closing {
            assert_eq!(open.pop(), Some(name), "mismatched </{name}> in {xml}");
        } else if !self_closing {
            open.push(name);
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed elements {open:?} in {xml}");
}

#[tokio::test]
async fn xml_renders_client_chosen_keys_as_valid_element_names() {
    let t = TestApp::new(UNKNOWN_OK).await;
    let body = r#"{"title": "t\u0001\u001b<ok>", "a><b": 1, "x y": {"1st": true, "ns:k": null},
                   "": 2, "c\"d": ["\u0002"], "é": "fine"}"#;
    let r = t.post("/notes", body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let id = r.json()["_id"].as_str().unwrap().to_string();
    for uri in [format!("/notes/{id}"), "/notes".to_string()] {
        let r = t
            .send("GET", &uri, &[("accept", "application/xml")], None)
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        assert_well_formed(&r.text);
        for expected in [
            "<title>t&lt;ok&gt;</title>",
            "<a_x003E__x003C_b>1</a_x003E__x003C_b>",
            "<x_x0020_y><_x0031_st>True</_x0031_st><ns_x003A_k>None</ns_x003A_k></x_x0020_y>",
            "<_>2</_>",
            "<c_x0022_d></c_x0022_d>",
            "<é>fine</é>",
        ] {
            assert!(r.text.contains(expected), "{expected} not in {}", r.text);
        }
    }
}
