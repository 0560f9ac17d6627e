//! Test harness: an App over a fresh store in a temp dir, on the data layer
//! `EVE_TEST_BACKEND` names (default: the embedded store), opened through
//! the registry of data layers (`eve-backends`).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use eve_http::App;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The settings of Eve's quickstart, with writes enabled.
pub const PEOPLE: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
  people:
    item_title: person
    additional_lookup: {url: 'regex("[\w]+")', field: lastname}
    schema:
      firstname: {type: string, minlength: 1, maxlength: 10}
      lastname: {type: string, minlength: 1, maxlength: 15, required: true, unique: true}
      age: {type: integer}
      role: {type: list, allowed: [author, contributor, copy]}
      location: {type: dict, schema: {address: {type: string}, city: {type: string}}}
      born: {type: datetime}
  works:
    cache_control: max-age=10,must-revalidate
    cache_expires: 10
    schema:
      title: {type: string, required: true}
      owner: {type: objectid, data_relation: {resource: people}}
"#;

/// An app and the directory of its store.
pub struct TestApp {
    /// The app under test.
    pub app: App,
    _dir: tempfile::TempDir,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: axum::http::HeaderMap,
    /// Body text.
    pub text: String,
}

impl Resp {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// An app from YAML settings over an empty store.
    pub async fn new(yaml: &str) -> TestApp {
        TestApp::with_hooks(yaml, eve_http::Hooks::new()).await
    }

    /// An app built by the test, over a store in `dir`.
    pub fn from_app(app: App, dir: tempfile::TempDir) -> TestApp {
        TestApp { app, _dir: dir }
    }

    /// An app from YAML settings and hooks over an empty store.
    pub async fn with_hooks(yaml: &str, hooks: eve_http::Hooks) -> TestApp {
        TestApp::build(yaml, hooks, |store| store).await
    }

    /// An app from YAML settings over an empty store wrapped by `wrap`
    /// (e.g. a layer counting the queries).
    pub async fn with_store(
        yaml: &str,
        wrap: impl FnOnce(
            std::sync::Arc<dyn eve_store::DataLayer>,
        ) -> std::sync::Arc<dyn eve_store::DataLayer>,
    ) -> TestApp {
        TestApp::build(yaml, eve_http::Hooks::new(), wrap).await
    }

    async fn build(
        yaml: &str,
        hooks: eve_http::Hooks,
        wrap: impl FnOnce(
            std::sync::Arc<dyn eve_store::DataLayer>,
        ) -> std::sync::Arc<dyn eve_store::DataLayer>,
    ) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let raw = eve_core::settings::parse_str(yaml, eve_core::settings::Format::Yaml)
            .expect("settings parse");
        let domain =
            eve_core::settings::check(raw, &eve_http::Registry::default()).expect("settings check");
        let (store, media) = test_layers(&domain, dir.path()).await;
        let mut builder = App::builder().hooks(hooks).store(wrap(store));
        if domain
            .resources
            .values()
            .any(|r| !r.media_fields().is_empty())
        {
            builder = builder.media(media.await);
        }
        let app = builder.domain(domain).await.expect("app");
        TestApp { app, _dir: dir }
    }

    /// Sends a request.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        self.send_from(None, method, uri, headers, body).await
    }

    /// Sends a request as if from the connection peer `peer` (an IP
    /// address; `None`: an in-process request with no peer).
    pub async fn send_from(
        &self,
        peer: Option<&str>,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", "localhost:5000");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(
                body.map(|b| Body::from(b.to_string()))
                    .unwrap_or_else(Body::empty),
            )
            .expect("request");
        let mut req = req;
        if let Some(peer) = peer {
            let addr: std::net::SocketAddr = format!("{peer}:40000").parse().expect("peer");
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(addr));
        }
        let resp = self.app.router().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// GET.
    pub async fn get(&self, uri: &str) -> Resp {
        self.send("GET", uri, &[], None).await
    }

    /// POST a JSON body.
    pub async fn post(&self, uri: &str, body: &str) -> Resp {
        self.send(
            "POST",
            uri,
            &[("content-type", "application/json")],
            Some(body),
        )
        .await
    }

    /// A JSON write with an `If-Match` header.
    pub async fn edit(&self, method: &str, uri: &str, etag: &str, body: &str) -> Resp {
        self.send(
            method,
            uri,
            &[("content-type", "application/json"), ("if-match", etag)],
            Some(body),
        )
        .await
    }

    /// POSTs one document and returns (id, etag).
    pub async fn create(&self, uri: &str, body: &str) -> (String, String) {
        let r = self.post(uri, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let j = r.json();
        (
            j["_id"].as_str().expect("_id").to_string(),
            j["_etag"].as_str().expect("_etag").to_string(),
        )
    }
}

/// The data layer the suite runs on: the one `EVE_TEST_BACKEND` names
/// (default embedded), its embedded store in `dir`. A value that is unknown
/// or names a layer not built stops the test with the reason: the suite
/// never falls back to another layer silently.
pub async fn test_store(
    domain: &eve_core::Domain,
    dir: &std::path::Path,
) -> std::sync::Arc<dyn eve_store::DataLayer> {
    test_layers(domain, dir).await.0
}

/// The media storage going with a test's data layer, opened on demand.
type MediaFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::sync::Arc<dyn eve_media::MediaStorage>> + Send>,
>;

/// [`test_store`] and the media storage beside it (its database, schema
/// or directory).
pub async fn test_layers(
    domain: &eve_core::Domain,
    dir: &std::path::Path,
) -> (std::sync::Arc<dyn eve_store::DataLayer>, MediaFuture) {
    let var = eve_backends::TEST_BACKEND_VAR;
    let value = std::env::var(var).ok();
    let mut url = eve_backends::LayerUrl::for_tests(value.as_deref())
        .unwrap_or_else(|e| panic!("{var}: {e}"));
    if let eve_backends::LayerUrl::Mongo { uri } = &mut url {
        // A bare `mongo`: the server of the MongoDB suites.
        if uri.is_none() {
            let mongo_var = eve_backends::TEST_MONGO_URI_VAR;
            let value = std::env::var(mongo_var)
                .unwrap_or_else(|_| panic!("{var}=mongo needs {mongo_var}"));
            *uri = Some(value);
        }
        // Each test gets a database of its own.
        let mut options = eve_backends::OpenOptions::from_domain(domain, dir);
        options.mongo_dbname = Some(fresh_mongo_database());
        let store = eve_backends::open_layer(&url, &options)
            .await
            .unwrap_or_else(|e| panic!("{var}: {e}"));
        return (store, media_of(url, options));
    }
    // A PostgreSQL layer gets a schema of its own per test (dropped with
    // the store), so tests never see each other's documents.
    let (store, media) = eve_backends::open_for_tests_with_media(domain, &url, dir)
        .await
        .unwrap_or_else(|e| panic!("{var}: {e}"));
    let media: MediaFuture = match media {
        Some(media) => Box::pin(async move { media }),
        None => media_of(url, eve_backends::OpenOptions::from_domain(domain, dir)),
    };
    (store, media)
}

fn media_of(url: eve_backends::LayerUrl, options: eve_backends::OpenOptions) -> MediaFuture {
    Box::pin(async move {
        eve_backends::open_media(&url, &options)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", eve_backends::TEST_BACKEND_VAR))
    })
}

/// A MongoDB database name no other test of this run (or an earlier one)
/// uses.
fn fresh_mongo_database() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 1_000_000_000)
        .unwrap_or(0);
    format!(
        "eve_http_{}_{stamp}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Query-string encoding for test URLs.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
