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

mod limits;
mod races;

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
        r#"{"$expr": {"$gt": ["$age"]}}"#,
        r#"{"$expr": {"$nope": 1}}"#,
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
