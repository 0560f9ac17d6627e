//! `eve-rs check` on schemas with errors: every problem is printed with its
//! path in the settings file, and the command fails (issue #3).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_eve-rs");

const BAD_SCHEMAS: &str = r#"
DOMAIN:
  people:
    schema:
      name: {type: string, maxlenght: 10}
      age: {type: integr}
      nick: {type: string, minlength: "x"}
      location:
        type: dict
        schema:
          city: {type: string, regex: 5}
  works:
    schema:
      owner: {type: objectid, data_relation: {resource: authors}}
"#;

fn check(settings: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("settings.yaml");
    std::fs::write(&path, settings).expect("write settings");
    let out = Command::new(BIN)
        .args(["check", path.to_str().expect("utf-8 path")])
        .output()
        .expect("run eve-rs check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_prints_each_schema_error_with_its_path_and_fails() {
    let (ok, _, err) = check(BAD_SCHEMAS);
    assert!(!ok, "check must fail: {err}");
    assert!(err.contains("invalid settings"), "{err}");
    for line in [
        "DOMAIN.people.schema.name.maxlenght: unknown rule 'maxlenght'",
        "DOMAIN.people.schema.age.type: unknown type 'integr'",
        "DOMAIN.people.schema.nick.minlength: must be of integer type, not string",
        "DOMAIN.people.schema.location.schema.city.regex: must be of string type, not number",
        "DOMAIN.works.schema.owner.data_relation.resource: unknown resource 'authors' (not in DOMAIN)",
    ] {
        assert!(
            err.lines().any(|l| l.trim() == line),
            "missing {line:?} in:\n{err}"
        );
    }
}

#[test]
fn check_reports_problems_in_the_order_of_the_file() {
    let (_, _, err) = check(BAD_SCHEMAS);
    let position = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in {err}"))
    };
    assert!(position("maxlenght") < position("integr"));
    assert!(position("integr") < position("nick"));
    assert!(position("nick") < position("location.schema.city"));
}

#[test]
fn check_accepts_the_same_schemas_once_fixed() {
    let fixed = BAD_SCHEMAS
        .replace("maxlenght", "maxlength")
        .replace("integr", "integer")
        .replace("minlength: \"x\"", "minlength: 1")
        .replace("regex: 5", "regex: '[a-z]+'")
        .replace("resource: authors", "resource: people");
    let (ok, out, err) = check(&fixed);
    assert!(ok, "{err}");
    assert!(out.contains("OK (2 resources)"), "{out}");
}

#[test]
fn serve_refuses_to_start_with_schema_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("settings.yaml");
    std::fs::write(&path, BAD_SCHEMAS).expect("write settings");
    let out = Command::new(BIN)
        .args([
            "serve",
            path.to_str().expect("utf-8 path"),
            "--port",
            "0",
            "--data-dir",
            dir.path().join("data").to_str().expect("utf-8 path"),
        ])
        .output()
        .expect("run eve-rs serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown rule 'maxlenght'"), "{err}");
}
