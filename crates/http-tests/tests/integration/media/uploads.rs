//! Uploads: what is stored, how documents show their files, what is
//! refused (and leaves nothing stored), and when files are removed.

use axum::http::StatusCode;
use serde_json::json;

use super::super::common::TestApp;
use super::{create, field, file, send_bytes, stored_files, upload, BOUNDARY};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
MEDIA_MAX_FILE_SIZE: 1000
DOMAIN:
  accounts:
    schema:
      name: {type: string}
      n: {type: integer}
      pic: {type: media}
      tags: {type: list}
  albums:
    schema:
      title: {type: string}
      photos: {type: list, schema: {type: media}}
  drafts:
    soft_delete: true
    schema:
      pic: {type: media}
  notes:
    versioning: true
    schema:
      pic: {type: media}
"#;

async fn app(extra: &str) -> TestApp {
    TestApp::new(&format!("{extra}\n{SETTINGS}")).await
}

#[tokio::test]
async fn an_upload_is_stored_and_shown_as_base64_with_extended_info() {
    let t = app("EXTENDED_MEDIA_INFO: [content_type, name, length]").await;
    let parts = [
        field("name", "john"),
        field("n", "5"),
        file("pic", "test.txt", "text/plain", b"hello world!"),
    ];
    let (id, _) = create(&t, "/accounts", &parts).await;
    let j = t.get(&format!("/accounts/{id}")).await.json();
    // As the oracle answers (scripts/compare/media).
    assert_eq!(j["name"], "john");
    assert_eq!(j["n"], 5);
    assert_eq!(
        j["pic"],
        json!({"file": "aGVsbG8gd29ybGQh", "content_type": "text/plain", "name": "test.txt", "length": 12})
    );
    let page = t.get("/accounts").await.json();
    assert_eq!(page["_items"][0]["pic"], j["pic"]);
    // A projection can drop the field.
    let r = t
        .get(&format!("/accounts/{id}?projection=%7B%22pic%22%3A0%7D"))
        .await
        .json();
    assert!(r.get("pic").is_none(), "{r}");
    assert_eq!(stored_files(&t).await, 1);
}

#[tokio::test]
async fn the_default_answer_is_the_bare_base64_string() {
    let t = app("").await;
    let (id, _) = create(
        &t,
        "/accounts",
        &[file(
            "pic",
            "a.bin",
            "application/octet-stream",
            b"\x00\x01\x02",
        )],
    )
    .await;
    assert_eq!(
        t.get(&format!("/accounts/{id}")).await.json()["pic"],
        "AAEC"
    );
}

#[tokio::test]
async fn with_base64_off_files_show_as_urls_or_null() {
    let t = app("RETURN_MEDIA_AS_BASE64_STRING: false\nRETURN_MEDIA_AS_URL: true\nURL_PREFIX: api\nAPI_VERSION: v1").await;
    let (id, _) = create(
        &t,
        "/api/v1/accounts",
        &[file("pic", "a.txt", "text/plain", b"abc")],
    )
    .await;
    let pic = t.get(&format!("/api/v1/accounts/{id}")).await.json()["pic"].clone();
    let url = pic.as_str().expect("a URL").to_string();
    assert!(
        url.starts_with("/api/v1/media/") && url.len() == "/api/v1/media/".len() + 24,
        "{url}"
    );
    let r = t.get(&url).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, "abc"));

    let t = app("RETURN_MEDIA_AS_BASE64_STRING: false\nRETURN_MEDIA_AS_URL: true\nMEDIA_BASE_URL: https://cdn.example\nMEDIA_ENDPOINT: files").await;
    let (id, _) = create(
        &t,
        "/accounts",
        &[file("pic", "a.txt", "text/plain", b"abc")],
    )
    .await;
    let pic = t.get(&format!("/accounts/{id}")).await.json()["pic"].clone();
    assert!(
        pic.as_str()
            .expect("url")
            .starts_with("https://cdn.example/files/"),
        "{pic}"
    );

    let t = app("RETURN_MEDIA_AS_BASE64_STRING: false").await;
    let (id, _) = create(
        &t,
        "/accounts",
        &[file("pic", "a.txt", "text/plain", b"abc")],
    )
    .await;
    assert_eq!(
        t.get(&format!("/accounts/{id}")).await.json()["pic"],
        json!(null)
    );
    // No media endpoint without RETURN_MEDIA_AS_URL.
    assert_eq!(
        t.get("/media/0123456789abcdef01234567").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn refused_uploads_answer_4xx_and_leave_no_file() {
    let t = app("").await;
    // A media value in JSON.
    let r = t.post("/accounts", r#"{"pic": "aGVsbG8="}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["_issues"], json!({"pic": "must be of media type"}));
    // A form field where a file belongs, a list from a form.
    let r = upload(
        &t,
        "POST",
        "/accounts",
        &[],
        &[field("pic", "x"), field("tags", "a")],
    )
    .await;
    assert_eq!(
        r.json()["_issues"],
        json!({"pic": "must be of media type", "tags": "must be of list type"})
    );
    // An invalid document with a valid file: the file goes too.
    let r = upload(
        &t,
        "POST",
        "/accounts",
        &[],
        &[field("n", "x"), file("pic", "a.txt", "text/plain", b"abc")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // Empty, broken and unframed bodies.
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let (r, _) = send_bytes(
        &t,
        "POST",
        "/accounts",
        &[("content-type", &ct)],
        format!("--{BOUNDARY}--\r\n").into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json()["_error"]["message"],
        "No multipart/form-data supplied"
    );
    let cut = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"pic\"; filename=\"a\"\r\n\r\nabc"
    );
    let (r, _) = send_bytes(
        &t,
        "POST",
        "/accounts",
        &[("content-type", &ct)],
        cut.into_bytes(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let (r, _) = send_bytes(
        &t,
        "POST",
        "/accounts",
        &[("content-type", "multipart/form-data")],
        b"x".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let garbage = b"\xff\xfe garbage without any boundary".to_vec();
    let (r, _) = send_bytes(&t, "POST", "/accounts", &[("content-type", &ct)], garbage).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // A file over MEDIA_MAX_FILE_SIZE (1000), after a file that fitted.
    let big = vec![b'x'; 1001];
    let t3 = app("AUTO_COLLAPSE_MULTI_KEYS: true").await;
    let r = upload(
        &t3,
        "POST",
        "/albums",
        &[],
        &[
            file("photos", "a", "text/plain", b"ok"),
            file("photos", "b", "text/plain", &big),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(
        r.json()["_error"]["message"],
        "an uploaded file exceeds the limit of 1000 bytes"
    );
    // A declared length over MEDIA_MAX_REQUEST_SIZE.
    let t2 = app("MEDIA_MAX_REQUEST_SIZE: 50").await;
    let r = upload(
        &t2,
        "POST",
        "/accounts",
        &[],
        &[file("pic", "a", "text/plain", &[b'y'; 60])],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(t.get("/accounts").await.json()["_meta"]["total"], 0);
    assert_eq!(t.get("/albums").await.json()["_meta"]["total"], 0);
    assert_eq!(stored_files(&t).await, 0);
    assert_eq!(stored_files(&t2).await, 0);
    assert_eq!(stored_files(&t3).await, 0);
}

#[tokio::test]
async fn a_file_for_a_field_that_holds_none_is_not_stored() {
    let t = app("").await;
    let r = upload(
        &t,
        "POST",
        "/accounts",
        &[],
        &[file("name", "a.txt", "text/plain", b"abc")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        r.json()["_issues"],
        json!({"name": "must be of string type"})
    );
    assert_eq!(stored_files(&t).await, 0);
}

#[tokio::test]
async fn lists_of_files_need_collapsed_keys_and_auto_lists() {
    let t = app("AUTO_COLLAPSE_MULTI_KEYS: true\nAUTO_CREATE_LISTS: true").await;
    let parts = [
        field("title", "trip"),
        file("photos", "a.txt", "text/plain", b"one"),
        file("photos", "b.txt", "text/plain", b"two"),
    ];
    let (id, _) = create(&t, "/albums", &parts).await;
    assert_eq!(
        t.get(&format!("/albums/{id}")).await.json()["photos"],
        json!(["b25l", "dHdv"])
    );
    let (id, _) = create(
        &t,
        "/albums",
        &[file("photos", "c.txt", "text/plain", b"three")],
    )
    .await;
    assert_eq!(
        t.get(&format!("/albums/{id}")).await.json()["photos"],
        json!(["dGhyZWU="])
    );
    // Without them, the first value only, and it is not a list.
    let t = app("").await;
    let r = upload(&t, "POST", "/albums", &[], &parts).await;
    assert_eq!(
        r.json()["_issues"],
        json!({"photos": "must be of list type"})
    );
    assert_eq!(stored_files(&t).await, 0);
}

#[tokio::test]
async fn form_fields_as_json_are_parsed_when_asked() {
    let t = app("MULTIPART_FORM_FIELDS_AS_JSON: true").await;
    let parts = [
        field("n", "1234"),
        field("tags", r#"["abc", "xyz"]"#),
        field("name", "abc"),
    ];
    let (id, _) = create(&t, "/accounts", &parts).await;
    let j = t.get(&format!("/accounts/{id}")).await.json();
    assert_eq!(
        (j["n"].clone(), j["tags"].clone(), j["name"].clone()),
        (json!(1234), json!(["abc", "xyz"]), json!("abc"))
    );
}

#[tokio::test]
async fn replacing_or_deleting_removes_the_files_and_soft_delete_and_versions_keep_them() {
    let t = app("").await;
    let (id, etag) = create(
        &t,
        "/accounts",
        &[file("pic", "a.txt", "text/plain", b"first")],
    )
    .await;
    let r = upload(
        &t,
        "PATCH",
        &format!("/accounts/{id}"),
        &[("if-match", &etag)],
        &[file("pic", "b.txt", "text/plain", b"second")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        t.get(&format!("/accounts/{id}")).await.json()["pic"],
        "c2Vjb25k"
    );
    assert_eq!(stored_files(&t).await, 1);
    // A PATCH without the field keeps it; a failed one stores nothing.
    let etag = r.json()["_etag"].as_str().expect("etag").to_string();
    let r = upload(
        &t,
        "PATCH",
        &format!("/accounts/{id}"),
        &[("if-match", "stale")],
        &[file("pic", "c.txt", "text/plain", b"third")],
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stored_files(&t).await, 1);
    // PUT without the field: the file goes.
    let r = upload(
        &t,
        "PUT",
        &format!("/accounts/{id}"),
        &[("if-match", &etag)],
        &[field("name", "jane")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(stored_files(&t).await, 0);
    // DELETE removes the document's files.
    let (id, etag) = create(&t, "/accounts", &[file("pic", "a.txt", "text/plain", b"x")]).await;
    assert_eq!(stored_files(&t).await, 1);
    let r = t
        .send(
            "DELETE",
            &format!("/accounts/{id}"),
            &[("if-match", &etag)],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(stored_files(&t).await, 0);
    // Soft delete keeps them (the document can be restored).
    let (id, etag) = create(&t, "/drafts", &[file("pic", "a.txt", "text/plain", b"x")]).await;
    t.send(
        "DELETE",
        &format!("/drafts/{id}"),
        &[("if-match", &etag)],
        None,
    )
    .await;
    assert_eq!(stored_files(&t).await, 1);
    // A versioned document keeps the files its older versions name.
    let (id, etag) = create(&t, "/notes", &[file("pic", "v1.txt", "text/plain", b"v1")]).await;
    let r = upload(
        &t,
        "PATCH",
        &format!("/notes/{id}"),
        &[("if-match", &etag)],
        &[file("pic", "v2.txt", "text/plain", b"v2")],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(stored_files(&t).await, 3);
    assert_eq!(
        t.get(&format!("/notes/{id}?version=1")).await.json()["pic"],
        "djE="
    );
    assert_eq!(t.get(&format!("/notes/{id}")).await.json()["pic"], "djI=");
}

#[tokio::test]
async fn orphans_are_collected_and_referenced_files_kept() {
    let t = app("").await;
    create(
        &t,
        "/accounts",
        &[file("pic", "a.txt", "text/plain", b"kept")],
    )
    .await;
    let storage = t.app.executor().media().expect("storage").clone();
    let data: eve_media::ByteStream<'static> = Box::pin(futures_util::stream::iter(vec![Ok(
        axum::body::Bytes::from_static(b"orphan"),
    )]));
    storage
        .put(eve_media::NewFile::default(), data)
        .await
        .expect("put");
    assert_eq!(stored_files(&t).await, 2);
    // Within the grace period nothing goes.
    let exec = t.app.executor();
    assert_eq!(
        exec.collect_media_orphans(std::time::Duration::from_secs(3600))
            .await
            .expect("collect"),
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(
        exec.collect_media_orphans(std::time::Duration::ZERO)
            .await
            .expect("collect"),
        1
    );
    assert_eq!(stored_files(&t).await, 1);
    let page = t.get("/accounts").await.json();
    assert_eq!(page["_items"][0]["pic"], "a2VwdA==");
}

#[tokio::test]
async fn media_fields_need_a_media_storage() {
    let dir = tempfile::tempdir().expect("dir");
    let raw =
        eve_core::settings::parse_str(SETTINGS, eve_core::settings::Format::Yaml).expect("yaml");
    let domain = eve_core::settings::check(raw, &eve_http::Registry::default()).expect("settings");
    let store = super::super::common::test_store(&domain, dir.path()).await;
    let err = eve_http::App::builder()
        .store(store)
        .domain(domain)
        .await
        .expect_err("no storage");
    assert!(
        err.to_string()
            .starts_with("DOMAIN.accounts: media fields need a media storage"),
        "{err}"
    );
}
