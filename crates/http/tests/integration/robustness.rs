//! Bad input, limits and races (issue #6, docs/robustness.md).
//!
//! Every bad request gets a 4xx in Eve's error shape (`_status`/`_error`,
//! or `_issues` for validation) and writes nothing; no request makes the
//! server answer 5xx.

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::common::{enc, Resp, TestApp, PEOPLE};

/// Sends a request whose body and header values are raw bytes.
async fn send_raw(
    t: &TestApp,
    method: &str,
    uri: &str,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
) -> Resp {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "localhost:5000");
    for (k, v) in headers {
        req = req.header(*k, HeaderValue::from_bytes(v).expect("header bytes"));
    }
    let req = req.body(Body::from(body)).expect("request");
    let resp = t.app.router().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Resp {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Asserts Eve's error shape: `{"_status": "ERR", "_error": {"code": N,
/// "message": "..."}}` with `N` the response status.
#[track_caller]
fn assert_error(r: &Resp, status: u16, what: &str) {
    assert_eq!(r.status.as_u16(), status, "{what}: {}", r.text);
    let j = r.json();
    assert_eq!(j["_status"], "ERR", "{what}: {}", r.text);
    assert_eq!(j["_error"]["code"], status, "{what}: {}", r.text);
    assert!(
        j["_error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        r.text
    );
}

/// Asserts a validation failure with `_issues`.
#[track_caller]
fn assert_issues(r: &Resp, what: &str) -> Value {
    assert_eq!(r.status.as_u16(), 422, "{what}: {}", r.text);
    let j = r.json();
    assert_eq!(j["_status"], "ERR", "{what}: {}", r.text);
    assert!(
        j.get("_issues").is_some() || j.get("_items").is_some(),
        "{what}: {}",
        r.text
    );
    j
}

/// Number of stored people (read through the store, not the API).
async fn stored(t: &TestApp, collection: &str) -> u64 {
    t.app
        .store()
        .count(collection, &eve_query::Filter::All)
        .await
        .expect("count")
}

#[tokio::test]
async fn malformed_json_bodies_are_400_and_write_nothing() {
    let t = TestApp::new(PEOPLE).await;
    let bodies: &[&[u8]] = &[
        b"{bad",
        b"{\"lastname\": \"a\"",
        b"{\"lastname\": \"a\"}}",
        b"{\"lastname\": 'a'}",
        b"{\"lastname\": \"a\",}",
        b"\xff\xfe{\"lastname\": \"a\"}",
        b"{\"lastname\": \"\xc3\x28\"}",
        b"{\"lastname\": \"\\ud800\"}",
        b"{\"lastname\": NaN}",
        b"\x00",
        b"",
        b"   ",
    ];
    for body in bodies {
        for method in ["POST"] {
            let r = send_raw(
                &t,
                method,
                "/people",
                &[("content-type", b"application/json")],
                body.to_vec(),
            )
            .await;
            assert_error(
                &r,
                400,
                &format!("{method} {:?}", String::from_utf8_lossy(body)),
            );
        }
    }
    assert_eq!(stored(&t, "people").await, 0);

    // The same bodies on PATCH and PUT leave the document as it was.
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    for body in bodies {
        for method in ["PATCH", "PUT"] {
            let r = send_raw(
                &t,
                method,
                &format!("/people/{id}"),
                &[
                    ("content-type", b"application/json"),
                    ("if-match", etag.as_bytes()),
                ],
                body.to_vec(),
            )
            .await;
            assert_error(
                &r,
                400,
                &format!("{method} {:?}", String::from_utf8_lossy(body)),
            );
        }
    }
    let j = t.get(&format!("/people/{id}")).await.json();
    assert_eq!(j["_etag"], etag);
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_400() {
    let t = TestApp::new(PEOPLE).await;
    let body = br#"{"lastname": "a"}"#.to_vec();
    let types: &[Option<&[u8]>] = &[
        None,
        Some(b""),
        Some(b"text/plain"),
        Some(b"application/xml"),
        Some(b"application/jsonx"),
        Some(b"multipart/form-data; boundary=x"),
        Some(b"json"),
        Some(b"\xff\xfe/\x80"),
        Some(b";;;"),
    ];
    for ct in types {
        let headers: Vec<(&str, &[u8])> = ct.map(|c| ("content-type", c)).into_iter().collect();
        let r = send_raw(&t, "POST", "/people", &headers, body.clone()).await;
        assert_error(&r, 400, &format!("content type {ct:?}"));
    }
    assert_eq!(stored(&t, "people").await, 0);
    // Parameters and case do not matter.
    let r = t
        .send(
            "POST",
            "/people",
            &[("content-type", "Application/JSON; charset=utf-8")],
            Some(r#"{"lastname": "a"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test]
async fn scalar_bodies_and_bulk_lists_with_scalars_write_nothing() {
    let t = TestApp::new(PEOPLE).await;
    for body in ["5", "\"x\"", "null", "true", "1.5"] {
        let r = t.post("/people", body).await;
        assert_error(&r, 400, body);
    }
    for body in [
        r#"[{"lastname": "a"}, 5]"#,
        r#"[{"lastname": "a"}, null]"#,
        r#"[{"lastname": "a"}, [{"lastname": "b"}]]"#,
        r#"[{"lastname": "a"}, "b"]"#,
    ] {
        let j = assert_issues(&t.post("/people", body).await, body);
        assert_eq!(j["_items"][0]["_status"], "OK", "{body}");
        assert_eq!(j["_items"][1]["_status"], "ERR", "{body}");
    }
    // A list of lists / scalars only.
    for body in ["[5]", "[[]]", "[null, null]"] {
        let r = t.post("/people", body).await;
        assert_eq!(r.status.as_u16(), 422, "{body}: {}", r.text);
        assert_eq!(r.json()["_status"], "ERR");
    }
    // PATCH and PUT with a scalar or list body.
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    for method in ["PATCH", "PUT"] {
        for body in ["5", "[]", r#"[{"lastname": "x"}]"#, "null"] {
            let r = t.edit(method, &format!("/people/{id}"), &etag, body).await;
            assert!(r.status.is_client_error(), "{method} {body}: {}", r.text);
            assert_eq!(r.json()["_status"], "ERR");
        }
    }
    assert_eq!(stored(&t, "people").await, 1);
    assert_eq!(t.get(&format!("/people/{id}")).await.json()["_etag"], etag);
}

#[tokio::test]
async fn unknown_fields_are_refused_unless_allowed() {
    let t = TestApp::new(PEOPLE).await;
    let r = t.post("/people", r#"{"lastname": "a", "nope": 1}"#).await;
    let j = assert_issues(&r, "unknown field");
    assert_eq!(j["_issues"], json!({"nope": "unknown field"}));
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let r = t
        .edit("PATCH", &format!("/people/{id}"), &etag, r#"{"nope": 1}"#)
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    assert_eq!(r.json()["_issues"], json!({"nope": "unknown field"}));
    assert_eq!(stored(&t, "people").await, 1);

    let t = TestApp::new(&format!("ALLOW_UNKNOWN: true\n{PEOPLE}")).await;
    let (id, _) = t
        .create("/people", r#"{"lastname": "a", "nope": {"deep": [1]}}"#)
        .await;
    assert_eq!(
        t.get(&format!("/people/{id}")).await.json()["nope"],
        json!({"deep": [1]})
    );
}

#[tokio::test]
async fn bad_where_clauses_are_400() {
    let t = TestApp::new(PEOPLE).await;
    t.create("/people", r#"{"lastname": "Doe", "age": 3}"#)
        .await;
    let cases = [
        // malformed JSON / Python
        r#"{"lastname": "#,
        r#"{'lastname': 'Doe'}"#,
        r#"{"lastname": "Doe"}}"#,
        "lastname==",
        "lastname==\"Doe\" and",
        "(age==1",
        "age==1)",
        "not age==1",
        "foo bar",
        "age in [1, 2]",
        "lastname==\"unterminated",
        "a==1;;b",
        "age > > 1",
        "==",
        "datetime(2020, 13, 45)",
        "ObjectId(\"zz\")",
        // valid JSON that is not a query document
        "1",
        "[1]",
        "\"x\"",
        "null",
        // unknown and blacklisted operators
        r#"{"age": {"$foo": 1}}"#,
        r#"{"$foo": [{"age": 1}]}"#,
        r#"{"$where": "this.age > 1"}"#,
        r#"{"lastname": {"$regex": "^D"}}"#,
        r#"{"$or": [{"lastname": {"$regex": ".*"}}]}"#,
        // operators nested wrongly or with operands of the wrong shape
        r#"{"$or": {"age": 1}}"#,
        r#"{"$and": [1, 2]}"#,
        r#"{"$and": []}"#,
        r#"{"$nor": "x"}"#,
        r#"{"age": {"$in": 5}}"#,
        r#"{"age": {"$nin": {"a": 1}}}"#,
        r#"{"age": {"$mod": "x"}}"#,
        r#"{"age": {"$mod": [0, 1]}}"#,
        r#"{"age": {"$size": "x"}}"#,
        r#"{"age": {"$size": -1}}"#,
        r#"{"age": {"$all": 1}}"#,
        r#"{"age": {"$elemMatch": 5}}"#,
        r#"{"age": {"$type": "nonsense"}}"#,
        r#"{"age": {"$not": 5}}"#,
        r#"{"age": {"$gt": 1, "$or": [{"a": 1}]}}"#,
        r#"{"age": {"$and": [{"$gt": 1}]}}"#,
        r#"{"$expr": {"$gt": ["$age", 1]}}"#,
        r#"{"$text": {"$search": 1}}"#,
    ];
    for w in cases {
        let r = t.get(&format!("/people?where={}", enc(w))).await;
        assert_error(&r, 400, w);
    }
}

#[tokio::test]
async fn huge_and_deep_where_clauses_are_400() {
    let t = TestApp::new(PEOPLE).await;
    let deep_json = format!("{}{}", "{\"$and\": [".repeat(300), "]}".repeat(300));
    let deep_array = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let deep_python = format!("{}age==1{}", "(".repeat(5_000), ")".repeat(5_000));
    let deep_ops = format!(
        "{{\"age\": {}1{}}}",
        "{\"$not\": ".repeat(200),
        "}".repeat(200)
    );
    // Over MAX_WHERE_LENGTH (32 KiB); URIs longer than 64 KiB never reach
    // the handler (414, see `uri_and_head_limits_over_a_socket`).
    let long_value = format!("{{\"lastname\": \"{}\"}}", "x".repeat(40_000));
    // Over MAX_WHERE_TERMS (500) but short.
    let many_terms = format!(
        "{{\"$or\": [{}]}}",
        (0..600)
            .map(|i| format!("{{\"age\": {i}}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let long_python = (0..600)
        .map(|i| format!("age=={i}"))
        .collect::<Vec<_>>()
        .join(" or ");
    for (name, w) in [
        ("deep json", deep_json),
        ("deep array", deep_array),
        ("deep python", deep_python),
        ("deep operators", deep_ops),
        ("long value", long_value),
        ("many terms", many_terms),
        ("long python", long_python),
    ] {
        let r = t.get(&format!("/people?where={}", enc(&w))).await;
        assert_error(&r, 400, name);
    }
}

#[tokio::test]
async fn bad_sort_and_projection_are_400() {
    let t = TestApp::new(PEOPLE).await;
    t.create("/people", r#"{"lastname": "Doe"}"#).await;
    for s in [
        "[(\"lastname\", 1",
        "[(\"lastname\", \"x\")]",
        "[(1, 1)]",
        "[(\"lastname\", 1, 2)]",
        "[[[[[[",
        "-",
        ",,,",
        &"[".repeat(5000),
    ] {
        let r = t.get(&format!("/people?sort={}", enc(s))).await;
        assert_error(&r, 400, s);
    }
    for p in [
        "{bad",
        "[1]",
        "1",
        "{\"lastname\": 1, \"age\": 0}",
        &format!("{}{}", "{\"a\": ".repeat(1000), "}".repeat(1000)),
    ] {
        let r = t.get(&format!("/people?projection={}", enc(p))).await;
        assert_error(&r, 400, p);
        let r = t.get(&format!("/people/Doe?projection={}", enc(p))).await;
        assert_error(&r, 400, p);
    }
}

#[tokio::test]
async fn odd_paging_arguments_are_normalised_as_eve_does() {
    let t = TestApp::new(PEOPLE).await;
    t.post("/people", r#"[{"lastname": "a"}, {"lastname": "b"}]"#)
        .await;
    // Eve: page is abs(int(page)) or 1; text keeps the default.
    for (page, served) in [("0", 1), ("-2", 2), ("abc", 1), ("1e3", 1), ("", 1)] {
        let r = t.get(&format!("/people?page={page}")).await;
        assert_eq!(r.status, StatusCode::OK, "page={page}: {}", r.text);
        assert_eq!(r.json()["_meta"]["page"], served, "page={page}");
    }
    let huge = t.get("/people?page=99999999999999999999").await;
    assert_eq!(huge.status, StatusCode::OK, "{}", huge.text);
    let r = t.get(&format!("/people?page={}", i64::MAX)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["_items"], json!([]));
    // max_results: negative, zero and text fall back to the default; above
    // PAGINATION_LIMIT (50) it is capped.
    for (max, served) in [("-1", 25), ("0", 25), ("abc", 25), ("1000", 50), ("2.7", 2)] {
        let r = t.get(&format!("/people?max_results={max}")).await;
        assert_eq!(r.status, StatusCode::OK, "max_results={max}: {}", r.text);
        assert_eq!(
            r.json()["_meta"]["max_results"],
            served,
            "max_results={max}"
        );
    }
}

#[tokio::test]
async fn ids_that_are_not_object_ids_are_404() {
    let t = TestApp::new(PEOPLE).await;
    let (wid, wetag) = {
        let r = t.post("/works", r#"{"title": "t"}"#).await;
        let j = r.json();
        (
            j["_id"].as_str().unwrap().to_string(),
            j["_etag"].as_str().unwrap().to_string(),
        )
    };
    for id in [
        "123",
        "zzzzzzzzzzzzzzzzzzzzzzzz",
        "5f00000000000000000000031",
        "5F0000000000000000000003",
        "%00",
        "%FF%FE",
        "%F0%9F%92%A9",
        "..",
        &"a".repeat(10_000),
    ] {
        for method in ["GET", "PATCH", "PUT", "DELETE"] {
            let r = t
                .send(
                    method,
                    &format!("/works/{id}"),
                    &[("content-type", "application/json"), ("if-match", &wetag)],
                    Some(r#"{"title": "x"}"#),
                )
                .await;
            assert_error(&r, 404, &format!("{method} /works/{id}"));
        }
    }
    assert_eq!(stored(&t, "works").await, 1);
    assert_eq!(t.get(&format!("/works/{wid}")).await.json()["title"], "t");
}

#[tokio::test]
async fn bad_if_match_values_are_412_and_change_nothing() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let url = format!("/people/{id}");
    let long = "f".repeat(60_000);
    let values: Vec<&[u8]> = vec![
        b"\"\"",
        b"W/",
        b"*x",
        b"\"unterminated",
        b"\xff\xfe\x80",
        b"caf\xc3\xa9",
        long.as_bytes(),
        b"\"a\", \"b\"",
    ];
    for v in &values {
        for method in ["PATCH", "PUT", "DELETE"] {
            let r = send_raw(
                &t,
                method,
                &url,
                &[("content-type", b"application/json"), ("if-match", v)],
                br#"{"lastname": "Changed"}"#.to_vec(),
            )
            .await;
            assert_error(
                &r,
                412,
                &format!("{method} If-Match {:?}", String::from_utf8_lossy(v)),
            );
        }
    }
    let j = t.get(&url).await.json();
    assert_eq!(
        (j["_etag"].as_str(), j["lastname"].as_str()),
        (Some(etag.as_str()), Some("Doe"))
    );
    // An empty If-Match is as good as none: 428, as in Eve.
    let r = send_raw(
        &t,
        "PATCH",
        &url,
        &[("content-type", b"application/json"), ("if-match", b"")],
        br#"{"lastname": "Changed"}"#.to_vec(),
    )
    .await;
    assert_error(&r, 428, "empty If-Match");
    assert_eq!(t.get(&url).await.json()["_etag"], etag);
}

#[tokio::test]
async fn invalid_jsonp_callbacks_are_400() {
    let t = TestApp::new(&format!("JSONP_ARGUMENT: callback\n{PEOPLE}")).await;
    for cb in [
        "alert(1)//",
        "1abc",
        "a b",
        "a;b",
        "<script>",
        "\u{0}",
        "é\"",
        &"a(".repeat(5000),
    ] {
        let r = t.get(&format!("/people?callback={}", enc(cb))).await;
        assert_error(&r, 400, cb);
    }
    let r = t.get("/people?callback=cb").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.starts_with("cb("), "{}", r.text);
}

#[tokio::test]
async fn odd_paths_are_404_not_5xx() {
    let t = TestApp::new(PEOPLE).await;
    for path in [
        "/%00",
        "/peo%00ple",
        "/people%00",
        "/%F0%9F%92%A9",
        "/%FF%FE%FD",
        "/%ZZ",
        "/people/%",
        "/people/a/b/c/d",
        "//people",
        "/people/../people/x",
        &format!("/{}", "a".repeat(60_000)),
        &format!("/people/{}", "%F0%9F%92%A9".repeat(2_000)),
    ] {
        for method in ["GET", "POST", "DELETE", "PATCH"] {
            let r = t
                .send(
                    method,
                    path,
                    &[("content-type", "application/json")],
                    Some("{}"),
                )
                .await;
            assert!(
                matches!(r.status.as_u16(), 404 | 405),
                "{method} {path}: {} {}",
                r.status,
                r.text
            );
            assert_eq!(r.json()["_status"], "ERR", "{method} {path}");
        }
    }
    assert_eq!(stored(&t, "people").await, 0);
}

#[tokio::test]
async fn odd_headers_never_give_5xx() {
    let t = TestApp::new(PEOPLE).await;
    t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let long = "x".repeat(60_000);
    let values: Vec<&[u8]> = vec![
        b"\xff\xfe\x80",
        b"caf\xc3\xa9",
        b"",
        long.as_bytes(),
        b"*/*;q=abc",
        b"application/xml;q=1.5, application/json;q=-1",
    ];
    for name in [
        "accept",
        "if-none-match",
        "if-modified-since",
        "origin",
        "host",
        "x-http-method-override",
        "accept-encoding",
    ] {
        for v in &values {
            let r = send_raw(&t, "GET", "/people", &[(name, v)], Vec::new()).await;
            assert!(
                r.status.as_u16() < 500,
                "{name}: {:?}: {} {}",
                String::from_utf8_lossy(v),
                r.status,
                r.text
            );
            let r = send_raw(&t, "GET", "/people/Doe", &[(name, v)], Vec::new()).await;
            assert!(r.status.as_u16() < 500, "{name} item: {}", r.text);
        }
    }
    // A garbage method override on POST is an unknown method: 405.
    let r = t
        .send(
            "POST",
            "/people",
            &[
                ("content-type", "application/json"),
                ("x-http-method-override", "FROB"),
            ],
            Some(r#"{"lastname": "x"}"#),
        )
        .await;
    assert_error(&r, 405, "override FROB");
    assert_eq!(stored(&t, "people").await, 1);
}

#[tokio::test]
async fn odd_values_are_validated_or_stored_faithfully() {
    let t = TestApp::new(PEOPLE).await;
    // NUL, unicode and escapes in values are data: stored and read back.
    let (id, _) = t
        .create(
            "/people",
            r#"{"lastname": "a\u0000b", "firstname": "😀é\u2028"}"#,
        )
        .await;
    let j = t.get(&format!("/people/{id}")).await.json();
    assert_eq!(j["lastname"], "a\u{0}b");
    assert_eq!(j["firstname"], "😀é\u{2028}");
    // Very long values fail validation (maxlength), nothing written.
    let long = format!(r#"{{"lastname": "{}"}}"#, "x".repeat(1 << 20));
    let j = assert_issues(&t.post("/people", &long).await, "long value");
    assert!(j["_issues"]["lastname"].is_string());
    // Field names a document store cannot hold are refused, not a 500.
    for body in [
        r#"{"lastname": "k1", "a\u0000b": 1}"#,
        r#"{"lastname": "k2", "location": {"city\u0000": "x"}}"#,
        r#"{"lastname": "k3", "": 1}"#,
        r#"{"lastname": "k4", "$set": {"a": 1}}"#,
        r#"{"lastname": "k5", "location": {"$gt": 1}}"#,
        r#"{"lastname": "k6", "ünï": 1}"#,
        r#"{"lastname": "k7", "location.": 1}"#,
        r#"{"lastname": "k8", ".": 1}"#,
    ] {
        let r = t.post("/people", body).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {}",
            r.status,
            r.text
        );
        assert_eq!(r.json()["_status"], "ERR", "{body}");
    }
    let t2 = TestApp::new(&format!("ALLOW_UNKNOWN: true\n{PEOPLE}")).await;
    for body in [
        r#"{"lastname": "k1", "a\u0000b": 1}"#,
        r#"{"lastname": "k2", "x": {"y\u0000": 1}}"#,
        r#"{"lastname": "k3", "x": [{"\u0000": 1}]}"#,
    ] {
        let r = t2.post("/people", body).await;
        assert!(
            r.status.is_client_error(),
            "{body}: {} {}",
            r.status,
            r.text
        );
        assert_eq!(r.json()["_status"], "ERR", "{body}");
    }
    assert_eq!(stored(&t2, "people").await, 0);
    // Numbers at the edges.
    for body in [
        r#"{"lastname": "n1", "age": 1e400}"#,
        r#"{"lastname": "n2", "age": 99999999999999999999999}"#,
        r#"{"lastname": "n3", "age": -9223372036854775809}"#,
        r#"{"lastname": "n4", "age": 1.5e308}"#,
    ] {
        let r = t.post("/people", body).await;
        assert!(r.status.as_u16() < 500, "{body}: {} {}", r.status, r.text);
    }
}

#[tokio::test]
async fn methods_an_endpoint_does_not_allow_are_405() {
    let t = TestApp::new(PEOPLE).await;
    let (id, etag) = t.create("/people", r#"{"lastname": "Doe"}"#).await;
    let cases = [
        ("PUT", "/people".to_string()),
        ("PATCH", "/people".to_string()),
        ("POST", format!("/people/{id}")),
        ("POST", "/".to_string()),
        ("DELETE", "/".to_string()),
        ("PUT", "/".to_string()),
        ("PATCH", "/people/Doe".to_string()),
        ("DELETE", "/people/Doe".to_string()),
        ("PUT", "/people/Doe".to_string()),
        ("FROB", "/people".to_string()),
        ("TRACE", "/people".to_string()),
        ("CONNECT", format!("/people/{id}")),
    ];
    for (method, url) in cases {
        let r = t
            .send(
                method,
                &url,
                &[("content-type", "application/json"), ("if-match", &etag)],
                Some(r#"{"lastname": "Changed"}"#),
            )
            .await;
        assert_error(&r, 405, &format!("{method} {url}"));
    }
    let j = t.get(&format!("/people/{id}")).await.json();
    assert_eq!(
        (j["lastname"].as_str(), j["_etag"].as_str()),
        (Some("Doe"), Some(etag.as_str()))
    );
    assert_eq!(stored(&t, "people").await, 1);
}

// ---------------------------------------------------------------- limits

/// Settings with every limit set low, and a resource without length rules.
fn limited(extra: &str) -> String {
    format!("{extra}\n{PEOPLE}\n  texts:\n    schema:\n      body: {{type: string}}\n      n: {{type: integer}}\n")
}

#[tokio::test]
async fn limits_are_settings_with_defaults() {
    let t = TestApp::new(PEOPLE).await;
    let l = &t.app.domain().settings.limits;
    assert_eq!(*l, eve_core::RequestLimits::default());
    assert_eq!(l.max_request_body, 16 * 1024 * 1024);
    assert_eq!(l.max_json_depth, 64);
    assert_eq!(l.max_bulk_items, 1000);
    assert_eq!(l.max_where_length, 32 * 1024);
    assert_eq!(l.max_where_terms, 500);
    assert_eq!(l.max_header_size, 64 * 1024);
    assert_eq!(l.client_timeout, 30);
    assert_eq!((l.write_timeout, l.shutdown_timeout), (30, 30));
    // Known keys (no warning), checked values.
    let raw = eve_core::settings::parse_str(
        &limited("MAX_REQUEST_BODY: 100\nMAX_JSON_DEPTH: 3\nMAX_BULK_ITEMS: 2\nMAX_WHERE_LENGTH: 50\nMAX_WHERE_TERMS: 4\nMAX_HEADER_SIZE: 100\nCLIENT_TIMEOUT: 2\nWRITE_TIMEOUT: 5\nSHUTDOWN_TIMEOUT: 7"),
        eve_core::settings::Format::Yaml,
    )
    .unwrap();
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap();
    assert!(domain.warnings.is_empty(), "{:?}", domain.warnings);
    let l = &domain.settings.limits;
    assert_eq!(
        (
            l.max_request_body,
            l.max_json_depth,
            l.max_bulk_items,
            l.max_where_length
        ),
        (100, 3, 2, 50)
    );
    // The head buffer cannot be smaller than 8 KiB.
    assert_eq!(
        (l.max_where_terms, l.max_header_size, l.client_timeout),
        (4, 8192, 2)
    );
    assert_eq!((l.write_timeout, l.shutdown_timeout), (5, 7));
    for bad in [
        "MAX_BULK_ITEMS: 0",
        "MAX_JSON_DEPTH: -1",
        "CLIENT_TIMEOUT: soon",
        "WRITE_TIMEOUT: 0",
        "SHUTDOWN_TIMEOUT: -3",
    ] {
        let raw =
            eve_core::settings::parse_str(&limited(bad), eve_core::settings::Format::Yaml).unwrap();
        let err = eve_core::settings::check(raw, &eve_http::Registry::default()).unwrap_err();
        let key = bad.split(':').next().unwrap();
        assert!(err.problems.iter().any(|p| p.path == key), "{bad}: {err:?}");
    }
}

#[tokio::test]
async fn body_size_limit_is_413_in_eves_shape() {
    let t = TestApp::new(&limited("MAX_REQUEST_BODY: 1000")).await;
    let body = format!(r#"{{"body": "{}"}}"#, "x".repeat(1000));
    let r = t.post("/texts", &body).await;
    assert_error(&r, 413, "body over the limit");
    let r = t
        .post("/texts", &format!(r#"{{"body": "{}"}}"#, "x".repeat(900)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let (id, etag) = (
        r.json()["_id"].as_str().unwrap().to_string(),
        r.json()["_etag"].as_str().unwrap().to_string(),
    );
    for method in ["PATCH", "PUT"] {
        let r = t.edit(method, &format!("/texts/{id}"), &etag, &body).await;
        assert_error(&r, 413, method);
    }
    assert_eq!(stored(&t, "texts").await, 1);
}

/// A request body that fails as a broken chunked encoding does.
struct BrokenBody;

impl hyper::body::Body for BrokenBody {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "invalid chunk size line",
        ))))
    }
}

#[tokio::test]
async fn body_framing_is_checked_in_process_too() {
    let t = TestApp::new(&limited("MAX_REQUEST_BODY: 1000")).await;
    let body = r#"{"body": "a"}"#;
    let ct = ("content-type", "application/json");
    // Codings other than chunked: 501 in Eve's shape, whatever the method.
    for (method, coding) in [("POST", "gzip, chunked"), ("POST", "br"), ("GET", "gzip")] {
        let r = t
            .send(
                method,
                "/texts",
                &[ct, ("transfer-encoding", coding)],
                Some(body),
            )
            .await;
        assert_error(&r, 501, coding);
    }
    // A declared length over the limit is refused on the header alone.
    let r = t
        .send(
            "POST",
            "/texts",
            &[ct, ("content-length", "1001")],
            Some(body),
        )
        .await;
    assert_error(&r, 413, "declared 1001");
    // A body that fails while it is read (bad chunks, cut short): 400.
    let req = Request::builder()
        .method("POST")
        .uri("/texts")
        .header("content-type", "application/json")
        .body(Body::new(BrokenBody))
        .unwrap();
    let resp = t.app.router().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let r = Resp {
        status,
        headers: Default::default(),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    };
    assert_error(&r, 400, "broken body");
    // `chunked` alone is fine: the HTTP layer has removed that framing.
    let r = t
        .send(
            "POST",
            "/texts",
            &[ct, ("transfer-encoding", "chunked")],
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(stored(&t, "texts").await, 1);
}

#[tokio::test]
async fn json_depth_limit_is_400() {
    let t = TestApp::new(&limited("MAX_JSON_DEPTH: 3\nALLOW_UNKNOWN: true")).await;
    let ok = r#"{"a": {"b": [1]}}"#;
    assert_eq!(t.post("/texts", ok).await.status, StatusCode::CREATED);
    for body in [
        r#"{"a": {"b": [[1]]}}"#,
        r#"[{"a": {"b": {}}}]"#,
        r#"{"a": {"b": {"c": {"d": 1}}}}"#,
    ] {
        assert_error(&t.post("/texts", body).await, 400, body);
    }
    // Beyond what the JSON parser accepts (128): still 400.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_error(&t.post("/texts", &deep).await, 400, "100k deep");
    assert_eq!(stored(&t, "texts").await, 1);
}

#[tokio::test]
async fn bulk_size_limit_is_400() {
    let t = TestApp::new(&limited("MAX_BULK_ITEMS: 3")).await;
    let docs = |n: usize| {
        let items: Vec<String> = (0..n).map(|i| format!(r#"{{"n": {i}}}"#)).collect();
        format!("[{}]", items.join(","))
    };
    assert_eq!(t.post("/texts", &docs(3)).await.status, StatusCode::CREATED);
    let r = t.post("/texts", &docs(4)).await;
    assert_error(&r, 400, "4 items");
    assert!(r.json()["_error"]["message"]
        .as_str()
        .unwrap()
        .contains("MAX_BULK_ITEMS"));
    assert_eq!(stored(&t, "texts").await, 3);
}

#[tokio::test]
async fn where_length_and_terms_limits_are_400() {
    let t = TestApp::new(&limited("MAX_WHERE_LENGTH: 40\nMAX_WHERE_TERMS: 4")).await;
    let ok = r#"{"n": {"$in": [1, 2]}}"#;
    assert_eq!(
        t.get(&format!("/texts?where={}", enc(ok))).await.status,
        StatusCode::OK
    );
    for w in [
        r#"{"body": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
        r#"{"n": {"$in": [1, 2, 3, 4]}}"#,
        r#"{"$or": [{"n": 1}, {"n": 2}]}"#,
        "n==1 or n==2 or n==3",
    ] {
        let r = t.get(&format!("/texts?where={}", enc(w))).await;
        assert_error(&r, 400, w);
    }
}

#[tokio::test]
async fn client_regexes_run_in_linear_time() {
    // $regex allowed: the patterns below are classic catastrophic
    // backtracking cases; with a linear-time engine each answers at once.
    let t = TestApp::new(&limited("MONGO_QUERY_BLACKLIST: [\"$where\"]")).await;
    let subject = format!("{}!", "a".repeat(50_000));
    let r = t
        .post("/texts", &format!(r#"{{"body": "{subject}"}}"#))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    for pattern in [
        r"^(a+)+$",
        r"^(a|aa)*$",
        r"^(a|a?)+$",
        r"(.*a){12}$",
        r"^(\w+\s?)*$",
    ] {
        let w = format!(
            r#"{{"body": {{"$regex": "{}"}}}}"#,
            pattern.replace('\\', "\\\\")
        );
        let r = t.get(&format!("/texts?where={}", enc(&w))).await;
        assert_eq!(r.status, StatusCode::OK, "{pattern}: {}", r.text);
        assert_eq!(r.json()["_meta"]["total"], 0, "{pattern}");
    }
    // Patterns too big to compile, or invalid, are the client's error.
    for pattern in ["((a{100}){100}){100}", "(unclosed", "a{99999999}"] {
        let w = format!(r#"{{"body": {{"$regex": "{pattern}"}}}}"#);
        let r = t.get(&format!("/texts?where={}", enc(&w))).await;
        assert_error(&r, 400, pattern);
    }
}

/// Serves `t` on a loopback port; the sender stops it.
async fn serve(t: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = t.app.clone();
    tokio::spawn(async move {
        app.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx)
}

/// Writes `request` (in parts, pausing `pause` after the first) and reads
/// until the server closes the connection; bounded by 60 s.
async fn raw_exchange(addr: &str, parts: &[&[u8]], pause: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    for (i, part) in parts.iter().enumerate() {
        if stream.write_all(part).await.is_err() {
            break;
        }
        if i == 0 && !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    let mut out = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        stream.read_to_end(&mut out),
    )
    .await;
    assert!(read.is_ok(), "the server never closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_size_and_uri_limits_over_a_socket() {
    let t = TestApp::new(&limited("MAX_HEADER_SIZE: 16384")).await;
    let (addr, stop) = serve(&t).await;
    let ok = raw_exchange(
        &addr,
        &[b"GET /texts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
        Default::default(),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let big = format!(
        "GET /texts HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(40_000)
    );
    let r = raw_exchange(&addr, &[big.as_bytes()], Default::default()).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    let many: String = (0..2000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = format!("GET /texts HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n");
    let r = raw_exchange(&addr, &[req.as_bytes()], Default::default()).await;
    assert!(r.starts_with("HTTP/1.1 431"), "{r}");
    // Garbage instead of HTTP.
    let r = raw_exchange(
        &addr,
        &[b"\x00\x01\x02 garbage\r\n\r\n"],
        Default::default(),
    )
    .await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 4"), "{r}");
    // The server still serves.
    let ok = raw_exchange(
        &addr,
        &[b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"],
        Default::default(),
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_timed_out() {
    let t = TestApp::new(&limited("CLIENT_TIMEOUT: 1")).await;
    let (addr, stop) = serve(&t).await;
    // A head that never ends: the connection is closed.
    let r = raw_exchange(
        &addr,
        &[b"GET /texts HTTP/1.1\r\nHost: x\r\n"],
        Default::default(),
    )
    .await;
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 408"), "{r}");
    // A body that never arrives in full: 408 in Eve's shape, nothing written.
    let r = raw_exchange(
        &addr,
        &[b"POST /texts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"n\": 1"],
        Default::default(),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 408"), "{r}");
    let body = r.split_once("\r\n\r\n").unwrap().1;
    let j: Value = serde_json::from_str(body).unwrap();
    assert_eq!(j["_error"]["code"], 408);
    assert_eq!(stored(&t, "texts").await, 0);
    let _ = stop.send(());
}

// ----------------------------------------------------------------- panics

struct PanickyHooks;

impl eve_http::Hooks for PanickyHooks {
    fn on_pre_request(&self, method: &str, resource: Option<&str>) -> eve_core::ApiResult<()> {
        if method == "GET" && resource == Some("works") {
            panic!("a bug in a hook");
        }
        Ok(())
    }
    fn on_insert(&self, resource: &str, docs: &mut [bson::Document]) -> eve_core::ApiResult<()> {
        if resource == "works" && docs.iter().any(|d| d.get_str("title").ok() == Some("boom")) {
            panic!("a bug in an insert hook");
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_panic_in_a_hook_is_a_500_in_eves_shape_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let app = eve_http::App::builder()
        .hooks(std::sync::Arc::new(PanickyHooks))
        .data_dir(dir.path())
        .settings_str(PEOPLE, eve_core::settings::Format::Yaml)
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
