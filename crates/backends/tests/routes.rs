//! Routing resources to their MongoDB database prefix and write concern
//! (`mongo_prefix`, `mongo_write_concern`): what is refused when opening.
//! The routing itself is checked on a server in `crates/cli/tests/mongo.rs`.

use eve_backends::{BackendError, Backends, LayerUrl};

fn domain(yaml: &str) -> eve_core::Domain {
    let raw = eve_core::settings::parse_str(yaml, eve_core::settings::Format::Yaml).unwrap();
    eve_core::settings::check(raw, &eve_schema::Registry::default()).unwrap()
}

/// Nothing listens on port 1: the layers open without a server.
const OFFLINE: &str = "MONGO_URI: 'mongodb://127.0.0.1:1/a?serverSelectionTimeoutMS=200'\n\
                       USERS_URI: 'mongodb://127.0.0.1:1/b?serverSelectionTimeoutMS=200'\n";

#[tokio::test]
async fn a_prefix_on_another_layer_named_on_the_command_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(&format!(
        "{OFFLINE}DOMAIN: {{a: {{mongo_prefix: USERS}}, b: {{}}}}"
    ));
    let err = Backends::open(&d, Some(&LayerUrl::Embedded), dir.path())
        .await
        .expect_err("a prefix cannot be served by the embedded store");
    match &err {
        BackendError::Route { path, message } => {
            assert_eq!(path, "DOMAIN.a.mongo_prefix");
            assert!(message.contains("would share that one store"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // on MongoDB it opens: one layer per prefix
    let layers = Backends::open(&d, None, dir.path()).await.unwrap();
    let prefixes: Vec<&str> = layers.prefixes().collect();
    assert_eq!(prefixes, ["MONGO", "USERS"]);
    assert_eq!(layers.data_layer().name(), "mongo");
}

#[tokio::test]
async fn resources_sharing_a_collection_must_share_their_route() {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(&format!(
        "{OFFLINE}DOMAIN:\n  a: {{mongo_prefix: USERS}}\n  b: {{datasource: {{source: a}}}}\n"
    ));
    let err = Backends::open(&d, None, dir.path()).await.unwrap_err();
    assert!(
        err.to_string().contains("shares the collection 'a'"),
        "{err}"
    );
    let d = domain(&format!(
        "{OFFLINE}DOMAIN:\n  a: {{mongo_write_concern: {{w: 2}}}}\n  \
         b: {{datasource: {{source: a}}, mongo_write_concern: {{w: 2}}}}\n"
    ));
    Backends::open(&d, None, dir.path())
        .await
        .expect("the same route on one collection is fine");
}
