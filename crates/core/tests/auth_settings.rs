//! `AUTH`, public methods and role lists (features.md §23.2, §23.3,
//! §23.7): checked with key paths, resolved per resource, and the
//! requirement of every endpoint kind and method.

use eve_core::auth::{requirement, ProviderChoice, Requirement};
use eve_core::request::{EndpointKind, HttpMethod, Route};
use eve_core::settings::{check, parse_str, Format, SettingsError};
use eve_core::Domain;
use eve_schema::Registry;

fn yaml(text: &str) -> Result<Domain, SettingsError> {
    check(
        parse_str(text, Format::Yaml).expect("YAML"),
        &Registry::default(),
    )
}

const ACCOUNTS: &str =
    "accounts: {schema: {username: {type: string}, password: {type: string}, roles: {type: list}}}";

#[test]
fn auth_settings_are_read_with_defaults() {
    let d = yaml(&format!(
        "AUTH: {{type: basic, accounts: accounts}}\nDOMAIN: {{{ACCOUNTS}}}"
    ))
    .unwrap();
    let a = d.settings.auth.as_ref().unwrap();
    assert_eq!(a.provider, "basic");
    assert_eq!(a.accounts.as_deref(), Some("accounts"));
    assert_eq!(
        (
            a.username_field.as_str(),
            a.password_field.as_str(),
            a.owner_field.as_str()
        ),
        ("username", "password", "_id")
    );
    assert_eq!(a.realm, "eve");
    // The password is write-only; the accounts have no token field.
    assert_eq!(
        d.resources["accounts"].secret_fields,
        vec!["password".to_string()]
    );
    let d = yaml("AUTH: null\nDOMAIN: {}").unwrap();
    assert!(d.settings.auth.is_none());
}

#[test]
fn auth_problems_name_their_key() {
    let cases = [
        ("AUTH: {accounts: accounts}\nDOMAIN: {}", "AUTH.type"),
        (
            "AUTH: {type: basic, acounts: x}\nDOMAIN: {}",
            "AUTH.acounts",
        ),
        ("AUTH: {type: basic}\nDOMAIN: {}", "AUTH.accounts"),
        (
            "AUTH: {type: basic, accounts: nope}\nDOMAIN: {}",
            "AUTH.accounts",
        ),
        (
            "AUTH: {type: basic, accounts: a}\nDOMAIN: {a: {schema: {username: {type: string}}}}",
            "AUTH.password_field",
        ),
        ("AUTH: 3\nDOMAIN: {}", "AUTH"),
        ("AUTH: {type: jwt}\nDOMAIN: {}", "AUTH.jwt"),
        (
            "AUTH: {type: jwt, jwt: {algorithms: [none]}}\nDOMAIN: {}",
            "AUTH.jwt.algorithms",
        ),
        (
            "AUTH: {type: jwt, jwt: {algorithms: [HS256]}}\nDOMAIN: {}",
            "AUTH.jwt.secret_env",
        ),
        ("PUBLIC_METHODS: [GET, FETCH]\nDOMAIN: {}", "PUBLIC_METHODS"),
        (
            "DOMAIN: {a: {public_item_methods: [TRACE]}}",
            "DOMAIN.a.public_item_methods",
        ),
        (
            "DOMAIN: {a: {authentication: 3}}",
            "DOMAIN.a.authentication",
        ),
        (
            "DOMAIN: {a: {authentication: basic}}",
            "DOMAIN.a.authentication",
        ),
        ("ALLOWED_ROLES: admin\nDOMAIN: {}", "ALLOWED_ROLES"),
    ];
    for (text, path) in cases {
        let e = yaml(text).expect_err(text);
        assert!(
            e.has_problem_at(path),
            "{text}: expected a problem at {path}, got {e}"
        );
    }
}

#[test]
fn resources_inherit_the_globals_and_name_providers() {
    let d = yaml(
        r#"
PUBLIC_METHODS: [get, HEAD, OPTIONS]
ALLOWED_ROLES: [user]
ALLOWED_ITEM_WRITE_ROLES: [editor]
DOMAIN:
  a: {}
  b: {public_methods: [], allowed_roles: [], authentication: none}
  c: {authentication: mine}
"#,
    )
    .unwrap();
    let a = &d.resources["a"];
    assert_eq!(a.access.public_methods, ["GET", "HEAD"]);
    assert_eq!(a.access.allowed_roles, ["user"]);
    assert_eq!(a.access.allowed_item_write_roles, ["editor"]);
    assert_eq!(a.authentication, ProviderChoice::Global);
    let b = &d.resources["b"];
    assert!(b.access.public_methods.is_empty() && b.access.allowed_roles.is_empty());
    assert_eq!(b.authentication, ProviderChoice::Public);
    // Registered from Rust or not: checked when the application is built.
    assert_eq!(
        d.resources["c"].authentication,
        ProviderChoice::Named("mine".into())
    );
}

fn route(d: &Domain, kind: EndpointKind, res: Option<&str>) -> Route {
    Route {
        kind,
        resource: res.map(|r| d.resources[r].clone()),
        url_vars: Vec::new(),
        lookup: None,
        resource_path: String::new(),
    }
}

fn roles(r: &Requirement) -> Vec<&str> {
    r.allowed_roles.iter().map(String::as_str).collect()
}

#[test]
fn the_roles_of_each_endpoint_follow_the_table() {
    let d = yaml(
        r#"
AUTH: {type: mine}
PUBLIC_METHODS: [GET]
ALLOWED_ROLES: [g]
ALLOWED_READ_ROLES: [gr]
ALLOWED_WRITE_ROLES: [gw]
DOMAIN:
  a:
    public_methods: [GET]
    public_item_methods: []
    allowed_roles: [r]
    allowed_read_roles: [rr]
    allowed_write_roles: [rw]
    allowed_item_roles: [i]
    allowed_item_read_roles: [ir]
    allowed_item_write_roles: [iw]
"#,
    )
    .unwrap();
    let coll = route(&d, EndpointKind::Collection, Some("a"));
    let item = route(&d, EndpointKind::Item, Some("a"));
    let home = route(&d, EndpointKind::Home, None);
    let r = requirement(&d, &coll, &HttpMethod::Get);
    assert!(r.public && !r.needs_credentials());
    assert_eq!(r.provider.as_deref(), Some("mine"));
    assert_eq!(roles(&r), ["r", "rr"]);
    let r = requirement(&d, &coll, &HttpMethod::Head);
    assert!(!r.public, "HEAD is checked as HEAD");
    assert_eq!(roles(&r), ["r", "rr"]);
    assert_eq!(
        roles(&requirement(&d, &coll, &HttpMethod::Post)),
        ["r", "rw"]
    );
    assert_eq!(
        roles(&requirement(&d, &coll, &HttpMethod::Delete)),
        ["r", "rw"]
    );
    let r = requirement(&d, &item, &HttpMethod::Get);
    assert!(!r.public);
    assert_eq!(roles(&r), ["i", "ir"]);
    assert_eq!(
        roles(&requirement(&d, &item, &HttpMethod::Patch)),
        ["i", "iw"]
    );
    assert!(requirement(&d, &item, &HttpMethod::Options).public);
    assert_eq!(
        roles(&requirement(&d, &home, &HttpMethod::Get)),
        ["g", "gr"]
    );
    // Home: HEAD counts as a write (§23.3).
    assert_eq!(
        roles(&requirement(&d, &home, &HttpMethod::Head)),
        ["g", "gw"]
    );
    assert!(requirement(&d, &home, &HttpMethod::Get).public);
    // No provider anywhere: nothing needs credentials.
    let d = yaml("DOMAIN: {a: {}}").unwrap();
    let r = requirement(
        &d,
        &route(&d, EndpointKind::Collection, Some("a")),
        &HttpMethod::Post,
    );
    assert!(r.provider.is_none() && !r.needs_credentials());
}

#[test]
fn field_level_roles_are_read_on_top_level_fields_only() {
    let d = yaml(
        "DOMAIN: {a: {schema: {x: {type: integer, allowed_read_roles: [hr], \
         allowed_write_roles: hr}, y: {type: string}}}}",
    )
    .unwrap();
    assert_eq!(
        d.resources["a"].field_roles,
        [eve_core::auth::FieldRoles {
            field: "x".into(),
            read: vec!["hr".into()],
            write: vec!["hr".into()],
        }]
    );
    let e = yaml(
        "DOMAIN: {a: {schema: {x: {type: dict, schema: {y: {type: string, \
         allowed_read_roles: [hr]}}}}}}",
    )
    .unwrap_err();
    let problem = e
        .problems
        .iter()
        .find(|p| p.path.ends_with("allowed_read_roles"))
        .unwrap_or_else(|| panic!("{e}"));
    assert_eq!(
        problem.message,
        "field-level roles apply to top-level fields only"
    );
    let e = yaml("DOMAIN: {a: {schema: {x: {type: string, allowed_write_roles: 3}}}}").unwrap_err();
    assert!(
        e.problems
            .iter()
            .any(|p| p.path.ends_with("x.allowed_write_roles")),
        "{e}"
    );
}
