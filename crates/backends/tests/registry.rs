//! The registry of data layers: naming a layer, refusing the layers not
//! built, and opening the embedded store the settings (or an override) ask
//! for.

use eve_backends::{BackendError, Backends, LayerUrl, OpenOptions, DEFAULT_PREFIX};

fn domain(yaml: &str) -> eve_core::Domain {
    let raw = eve_core::settings::parse_str(yaml, eve_core::settings::Format::Yaml).unwrap();
    eve_core::settings::check(raw, &eve_schema::Registry::default()).unwrap()
}

#[test]
fn embedded_and_connection_urls_name_their_layer() {
    assert_eq!(LayerUrl::parse("embedded").unwrap(), LayerUrl::Embedded);
    assert_eq!(LayerUrl::parse(" EMBEDDED ").unwrap(), LayerUrl::Embedded);
    for (url, name) in [
        ("mongodb://localhost:27017/api", "mongo"),
        ("mongodb+srv://cluster.example/api", "mongo"),
        ("MongoDB://localhost", "mongo"),
        ("postgres://localhost/api", "postgres"),
        ("postgresql://u@localhost:5432/api", "postgres"),
    ] {
        let layer = LayerUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(layer.name(), name, "{url}");
    }
    assert_eq!(
        LayerUrl::parse("postgres://h/db").unwrap(),
        LayerUrl::Postgres {
            uri: "postgres://h/db".into()
        }
    );
}

#[test]
fn an_unknown_layer_is_refused_with_what_is_accepted() {
    for bad in [
        "",
        "sqlite",
        "mongo",
        "mysql://h/db",
        "http://h",
        "embedded2",
    ] {
        let err = LayerUrl::parse(bad).expect_err(bad);
        assert!(
            matches!(err, BackendError::UnknownLayer(_)),
            "{bad}: {err:?}"
        );
        assert!(
            err.to_string().contains(
                "expected embedded, mongodb://…, mongodb+srv://…, postgres://… or postgresql://…"
            ),
            "{err}"
        );
    }
    let err = LayerUrl::parse("mongodb://").unwrap_err();
    assert_eq!(
        err.to_string(),
        "data layer URL 'mongodb://' names no server"
    );
}

#[test]
fn credentials_in_a_url_never_show_in_messages() {
    let secret = "s3cr3t";
    let urls = [
        format!("mongodb://admin:{secret}@db.example/api"),
        format!("postgresql://admin:{secret}@db.example/api"),
        format!("mysql://admin:{secret}@db.example/api"),
    ];
    for url in &urls {
        let shown = match LayerUrl::parse(url) {
            Ok(layer) => format!(
                "{layer} {layer:?} {}",
                layer
                    .ensure_built()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            ),
            Err(e) => format!("{e} {e:?}"),
        };
        assert!(!shown.contains(secret), "{shown}");
        assert!(!shown.contains("db.example"), "{shown}");
    }
}

#[test]
fn layers_not_built_are_refused_with_the_settings_wording() {
    let pg = LayerUrl::parse("postgres://localhost/api").unwrap();
    assert!(pg.ensure_built().is_ok(), "PostgreSQL is built (issue #11)");
    assert!(LayerUrl::Embedded.ensure_built().is_ok());
    let mongo = LayerUrl::parse("mongodb+srv://cluster.example/api").unwrap();
    assert!(mongo.ensure_built().is_ok(), "the MongoDB layer is built");
}

#[tokio::test]
async fn mongodb_settings_open_the_mongodb_layer_without_waiting_for_the_server() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: the layer opens all the same (requests
    // answer 503 until the server is there), and nothing is created in the
    // embedded store's directory.
    for yaml in [
        "MONGO_URI: mongodb://127.0.0.1:1/api?serverSelectionTimeoutMS=200\nDOMAIN: {people: {}}",
        "MONGO_HOST: 127.0.0.1\nMONGO_PORT: 1\nMONGO_DBNAME: api\nDOMAIN: {people: {}}",
        "DATA_LAYER: mongo\nMONGO_PORT: 1\nDOMAIN: {people: {}}",
    ] {
        let started = std::time::Instant::now();
        let layers = Backends::open(&domain(yaml), None, dir.path())
            .await
            .unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(layers.primary().name(), "mongo", "{yaml}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{yaml}"
        );
    }
    let url = LayerUrl::parse("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200").unwrap();
    let layers = Backends::open(&domain("DOMAIN: {people: {}}"), Some(&url), dir.path())
        .await
        .unwrap();
    let err = layers
        .primary()
        .count("people", &eve_store::Filter::All)
        .await
        .unwrap_err();
    assert!(
        matches!(err, eve_store::StoreError::Unavailable(_)),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn invalid_mongodb_settings_are_refused_when_opening() {
    let dir = tempfile::tempdir().unwrap();
    let url = LayerUrl::parse("mongodb://admin:s3cr3t@h/api?notAnOption=%zz").unwrap();
    let err = Backends::open(&domain("DOMAIN: {}"), Some(&url), dir.path())
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::Mongo(_)), "{err:?}");
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
}

#[test]
fn the_test_backend_defaults_to_embedded_and_never_falls_back() {
    assert_eq!(LayerUrl::for_tests(None).unwrap(), LayerUrl::Embedded);
    assert_eq!(LayerUrl::for_tests(Some("")).unwrap(), LayerUrl::Embedded);
    assert_eq!(
        LayerUrl::for_tests(Some("embedded")).unwrap(),
        LayerUrl::Embedded
    );
    assert_eq!(LayerUrl::for_tests(Some("mongo")).unwrap().name(), "mongo");
    assert_eq!(
        LayerUrl::for_tests(Some("postgresql")).unwrap().name(),
        "postgres"
    );
    assert_eq!(
        LayerUrl::for_tests(Some("mongodb://localhost"))
            .unwrap()
            .name(),
        "mongo"
    );
    for bad in ["sqlite", "embeded", "memory"] {
        assert!(
            matches!(
                LayerUrl::for_tests(Some(bad)),
                Err(BackendError::UnknownLayer(_))
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_settings_layer_opens_under_the_default_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let domain = domain("DOMAIN: {people: {}}");
    let layers = Backends::open(&domain, None, dir.path()).await.unwrap();
    assert_eq!(layers.prefixes().collect::<Vec<_>>(), vec![DEFAULT_PREFIX]);
    assert_eq!(layers.primary().name(), "embedded");
    assert!(layers.get("OTHER").is_none());
    // The store really lives in the given directory.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_some());
}

#[tokio::test]
async fn an_override_wins_over_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    // The settings ask for the embedded store; the override names
    // PostgreSQL (a server that is not there: the layer opens and would
    // connect on its first request), so the embedded store is not opened.
    let domain = domain("DATA_LAYER: embedded\nDOMAIN: {people: {}}");
    let url = LayerUrl::parse("postgresql://127.0.0.1:1/api?connect_timeout=1").unwrap();
    let layers = Backends::open(&domain, Some(&url), dir.path())
        .await
        .unwrap();
    assert_eq!(layers.primary().name(), "postgres");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn an_opened_layer_stores_documents() {
    let dir = tempfile::tempdir().unwrap();
    let store = eve_backends::open_layer(&LayerUrl::Embedded, &OpenOptions::new(dir.path()))
        .await
        .unwrap();
    store.prepare_collection("people", &[]).await.unwrap();
    let ids = store
        .insert("people", vec![bson::doc! {"name": "ada"}])
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn an_unreachable_postgres_server_opens_and_answers_unavailable() {
    // Nothing listens on port 1: the layer starts (it would connect on the
    // next request) and each call is Unavailable, without the password.
    let dir = tempfile::tempdir().unwrap();
    let url = LayerUrl::parse("postgres://eve:s3cr3t@127.0.0.1:1/api?connect_timeout=2").unwrap();
    let store = eve_backends::open_layer(&url, &OpenOptions::new(dir.path()))
        .await
        .unwrap();
    assert_eq!(store.name(), "postgres");
    let err = store
        .insert("people", vec![bson::doc! {"name": "ada"}])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, eve_store::StoreError::Unavailable(_)),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(!err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn the_settings_open_a_postgres_layer_in_a_schema_of_its_own() {
    let Some(uri) = std::env::var(eve_backends::TEST_POSTGRES_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "CI=true but {} is not set",
            eve_backends::TEST_POSTGRES_VAR
        );
        eprintln!(
            "skipped: set {} (e.g. postgres://postgres@127.0.0.1:5432/test) to run this test",
            eve_backends::TEST_POSTGRES_VAR
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let domain = domain(&format!(
        "DATA_LAYER: postgres\nPOSTGRES_URI: {uri}\nDOMAIN: {{people: {{}}}}"
    ));
    let url = LayerUrl::from_settings(&domain.settings.data_layer);
    let a = eve_backends::open_for_tests(&domain, &url, dir.path())
        .await
        .unwrap();
    let b = eve_backends::open_for_tests(&domain, &url, dir.path())
        .await
        .unwrap();
    assert_eq!(a.name(), "postgres");
    a.insert("people", vec![bson::doc! {"_id": 1, "name": "ada"}])
        .await
        .unwrap();
    let found = a.find_one("people", &eve_store::Filter::All).await.unwrap();
    assert_eq!(found, Some(bson::doc! {"_id": 1, "name": "ada"}));
    // Two test stores never see each other's documents.
    assert_eq!(b.count("people", &eve_store::Filter::All).await.unwrap(), 0);
    // Nothing was written to the embedded store's directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
