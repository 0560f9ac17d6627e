//! The data layer comes from outside the HTTP crate: the builder requires
//! one, and the suite takes it from `EVE_TEST_BACKEND` through the
//! registry (`eve-backends`), failing loudly on a layer it cannot open.

use std::process::Command;

use axum::http::StatusCode;

use super::common::{TestApp, PEOPLE};

#[tokio::test]
async fn a_builder_without_a_data_layer_is_refused() {
    let err = eve_http::App::builder()
        .settings_str(PEOPLE, eve_core::settings::Format::Yaml)
        .await
        .expect_err("an app without a data layer was built");
    assert!(matches!(err, eve_http::AppError::NoDataLayer), "{err:?}");
    assert!(err.to_string().contains("AppBuilder::store"), "{err}");
}

#[tokio::test]
async fn the_suite_app_serves_on_the_chosen_layer() {
    let t = TestApp::new(PEOPLE).await;
    let (id, _) = t.create("/people", r#"{"lastname": "Lovelace"}"#).await;
    let r = t.get(&format!("/people/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["lastname"], "Lovelace");
}

/// Runs [`the_suite_app_serves_on_the_chosen_layer`] alone in a child
/// process of this test binary with `EVE_TEST_BACKEND=value`; returns
/// whether it passed and its output.
fn run_suite_test_with(value: &str) -> (bool, String) {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "integration::backends::the_suite_app_serves_on_the_chosen_layer",
            "--test-threads=1",
        ])
        .env(eve_backends::TEST_BACKEND_VAR, value)
        .output()
        .expect("run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_test_backend_variable_picks_the_layer_and_never_falls_back() {
    // The child really runs the test: on the embedded layer it passes.
    let (ok, text) = run_suite_test_with("embedded");
    assert!(ok, "{text}");
    assert!(text.contains("1 passed"), "{text}");

    let (ok, text) = run_suite_test_with("sqlite");
    assert!(!ok, "an unknown backend ran the suite: {text}");
    assert!(
        text.contains("EVE_TEST_BACKEND: unknown data layer 'sqlite'"),
        "{text}"
    );

    // A MongoDB server that is not there: the layer opens, the requests
    // answer 503, and the suite fails rather than falling back.
    let (ok, text) = run_suite_test_with("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200");
    assert!(!ok, "the suite ran without its MongoDB server: {text}");
    assert!(text.contains("503"), "{text}");
}
