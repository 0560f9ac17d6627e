//! CORS settings, URL rules, item and resource titles, additional lookups.

use super::*;

#[test]
fn cors_settings_accept_strings_and_lists() {
    let d = ok(r#"
X_DOMAINS: '*'
X_HEADERS: [Content-Type, If-Match]
X_EXPOSE_HEADERS: X-Total-Count
X_MAX_AGE: 10
X_ALLOW_CREDENTIALS: "true"
DOMAIN: {}
"#);
    let c = &d.settings.cors;
    assert_eq!(c.domains, Some(vec!["*".to_string()]));
    assert!(c.is_enabled());
    assert_eq!(c.headers, vec!["Content-Type", "If-Match"]);
    assert_eq!(c.expose_headers, vec!["X-Total-Count"]);
    assert_eq!(c.max_age, 10);
    assert!(
        !c.allow_credentials,
        "only exactly true enables credentials"
    );
    let d = ok("X_DOMAINS: [http://a.com, http://b.com]\nDOMAIN: {}");
    assert_eq!(
        d.settings.cors.domains,
        Some(vec!["http://a.com".to_string(), "http://b.com".to_string()])
    );
    let d = ok("X_DOMAINS: null\nX_DOMAINS_RE: []\nDOMAIN: {}");
    assert_eq!(d.settings.cors.domains, None);
    assert!(!d.settings.cors.is_enabled());
}

#[test]
fn x_domains_re_match_at_the_start_and_invalid_ones_are_dropped() {
    let d = ok(r#"
X_DOMAINS_RE: ['http://sub-\d{3}\.example\.com', '*']
DOMAIN: {}
"#);
    let res = &d.settings.cors.domains_re;
    assert_eq!(res.len(), 1);
    assert!(res[0].is_match("http://sub-123.example.com"));
    assert!(
        res[0].is_match("http://sub-123.example.com.evil.org"),
        "re.match only anchors the start"
    );
    assert!(!res[0].is_match("https://x.org/http://sub-123.example.com"));
    assert_warning(&d, "X_DOMAINS_RE");
    let d = ok("X_DOMAINS_RE: '^http://a\\.com$'\nDOMAIN: {}");
    assert_eq!(d.settings.cors.domains_re.len(), 1);
}

#[test]
fn x_domains_re_with_only_invalid_patterns_keeps_cors_on() {
    // As Eve: the setting is truthy, so CORS answers, and no origin matches.
    let d = ok("X_DOMAINS_RE: ['*', '[unclosed']\nDOMAIN: {}");
    assert!(d.settings.cors.domains_re.is_empty());
    assert!(d.settings.cors.is_enabled());
    assert_warning(&d, "'[unclosed' is ignored");
    for off in ["X_DOMAINS_RE: ''", "X_DOMAINS_RE: []", "X_DOMAINS_RE: null"] {
        let d = ok(&format!("{off}\nDOMAIN: {{}}"));
        assert!(!d.settings.cors.is_enabled(), "{off}");
    }
}

#[test]
fn x_domains_re_python_only_syntax_refuses_to_start() {
    // Look-around and backreferences are valid for Python's `re` (Eve would
    // honour them) but not for eve-rs: fail closed, with the key path.
    for pattern in [r"^http://(?!evil)\w+\.com$", r"^http://(a)\1\.com$"] {
        let e = err(&format!("X_DOMAINS_RE: ['{pattern}']\nDOMAIN: {{}}"));
        assert_problem(&e, "X_DOMAINS_RE");
        assert!(e.to_string().contains("look-around"), "{pattern}: {e}");
    }
}

#[test]
fn any_origin_with_credentials_warns() {
    let d = ok("X_DOMAINS: '*'\nX_ALLOW_CREDENTIALS: true\nDOMAIN: {}");
    assert!(d.settings.cors.allow_credentials);
    assert_warning(&d, "X_ALLOW_CREDENTIALS");
}

// ---------------------------------------------------------------- URLs and titles

#[test]
fn item_title_strips_every_trailing_s_and_capitalises() {
    let d = ok("DOMAIN: {people: {}, works: {}, address: {}, emails2: {}, USERS: {}, x: {item_title: person}}");
    assert_eq!(res(&d, "people").item_title, "People");
    assert_eq!(res(&d, "works").item_title, "Work");
    assert_eq!(res(&d, "address").item_title, "Addre");
    assert_eq!(res(&d, "emails2").item_title, "Emails2");
    assert_eq!(
        res(&d, "USERS").item_title,
        "Users",
        "only lower-case s is stripped; the rest is lowered"
    );
    assert_eq!(res(&d, "x").item_title, "person");
}

#[test]
fn resource_title_defaults_to_the_url() {
    let d = ok("DOMAIN: {overseas: {url: /customers/overseas/}, b: {resource_title: Bees}}");
    let r = res(&d, "overseas");
    assert_eq!(r.url, "customers/overseas");
    assert_eq!(r.resource_title, "customers/overseas");
    assert_eq!(r.url_parts.len(), 2);
    assert_eq!(res(&d, "b").resource_title, "Bees");
}

#[test]
fn sub_resource_url_is_parsed_and_titled_with_the_resource_name() {
    let d = ok(r#"
DOMAIN:
  invoices:
    url: 'people/<regex("[a-f0-9]{24}"):contact_id>/invoices'
    schema: {contact_id: {type: objectid}, number: {type: integer}}
  pages:
    url: 'books/<int:book>/pages'
"#);
    let r = res(&d, "invoices");
    assert_eq!(
        r.url,
        r#"people/<regex("[a-f0-9]{24}"):contact_id>/invoices"#
    );
    assert_eq!(r.resource_title, "invoices");
    match &r.url_parts[..] {
        [UrlPart::Literal(a), UrlPart::Var {
            rule: UrlRule::Regex(re),
            field,
        }, UrlPart::Literal(b)] => {
            assert_eq!(
                (a.as_str(), field.as_str(), b.as_str()),
                ("people", "contact_id", "invoices")
            );
            assert!(re.is_match("51f63e0838345b6dcd7eabff"));
            assert!(!re.is_match("51f63e0838345b6dcd7eabff0"));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&res(&d, "pages").url_parts[1], UrlPart::Var { rule: UrlRule::Int, field } if field == "book")
    );
}

#[test]
fn malformed_urls_and_rules_are_problems() {
    let e = err(r#"
ITEM_URL: 'regex([0-9]+)'
DOMAIN:
  a: {url: 'a/<regex("("):x>'}
  b: {item_url: 'objectid'}
  c: {url: 'c/x<int:n>'}
"#);
    for path in [
        "ITEM_URL",
        "DOMAIN.a.url",
        "DOMAIN.b.item_url",
        "DOMAIN.c.url",
    ] {
        assert_problem(&e, path);
    }
}

#[test]
fn item_url_accepts_converter_names() {
    let d = ok(
        "ITEM_URL: int\nDOMAIN: {a: {}, b: {item_url: 'regex(\"[\\w]+\")'}, c: {item_url: path}}",
    );
    assert!(matches!(res(&d, "a").item_url, UrlRule::Int));
    assert!(
        matches!(&res(&d, "b").item_url, UrlRule::Regex(re) if re.is_match("Doe") && !re.is_match("a b"))
    );
    assert!(matches!(res(&d, "c").item_url, UrlRule::Path));
}

#[test]
fn two_resources_on_the_same_url_are_a_problem() {
    let e = err("DOMAIN: {a: {}, b: {url: a}}");
    assert_problem(&e, "DOMAIN.b.url");
    // an internal resource has no route
    ok("DOMAIN: {a: {}, b: {url: a, internal_resource: true}}");
}

#[test]
fn additional_lookup_uses_its_url_rule() {
    let d = ok(r#"
DOMAIN:
  people:
    additional_lookup: {url: 'regex("[\w]+")', field: lastname}
    schema: {lastname: {type: string}}
"#);
    let lookup = res(&d, "people").additional_lookup.as_ref().unwrap();
    assert_eq!(lookup.field, "lastname");
    assert!(matches!(&lookup.rule, UrlRule::Regex(re) if re.is_match("Doe")));
}

#[test]
fn additional_lookup_on_an_integer_field_may_omit_the_url() {
    let d = ok("DOMAIN: {a: {additional_lookup: {field: num}, schema: {num: {type: integer}}}}");
    let lookup = res(&d, "a").additional_lookup.as_ref().unwrap();
    assert!(matches!(lookup.rule, UrlRule::Int));
}

#[test]
fn additional_lookup_problems() {
    let e = err(r#"
DOMAIN:
  a: {additional_lookup: {field: name}, schema: {name: {type: string}}}
  b: {additional_lookup: {url: 'regex("x")', field: missing}, schema: {name: {type: string}}}
  c: {additional_lookup: {url: 'regex("x")'}}
"#);
    assert_problem(&e, "DOMAIN.a.additional_lookup.url");
    assert_problem(&e, "DOMAIN.b.additional_lookup.field");
    assert_problem(&e, "DOMAIN.c.additional_lookup.field");
}
