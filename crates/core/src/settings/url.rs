//! URL rules (`item_url`, `ITEM_URL`, `additional_lookup.url`,
//! `MEDIA_URL`) and resource `url`s with variable segments, written as in
//! Eve (Werkzeug converters).

use regex::Regex;

use crate::domain::{UrlPart, UrlRule};

/// Parses a URL rule: `regex("<pattern>")` (the pattern must match the
/// whole value: it is anchored at both ends), or a converter name: `int`,
/// `float`, `path`, `string` / `default`, `uuid`.
///
/// ```
/// use eve_core::settings::parse_url_rule;
/// use eve_core::UrlRule;
///
/// let UrlRule::Regex(re) = parse_url_rule(r#"regex("[a-f0-9]{24}")"#).unwrap() else { panic!() };
/// assert!(re.is_match("5f0c6b1e9d1b2c3d4e5f6a7b"));
/// assert!(!re.is_match("x5f0c6b1e9d1b2c3d4e5f6a7b"));
/// assert!(matches!(parse_url_rule("int"), Ok(UrlRule::Int)));
/// assert!(parse_url_rule("bogus").is_err());
/// ```
pub fn parse_url_rule(text: &str) -> Result<UrlRule, String> {
    let t = text.trim();
    let (name, args) = match t.find('(') {
        Some(open) => {
            let Some(inner) = t[open + 1..].strip_suffix(')') else {
                return Err(format!("invalid URL rule '{text}': missing ')'"));
            };
            (t[..open].trim(), Some(inner.trim()))
        }
        None => (t, None),
    };
    match (name, args) {
        ("regex", Some(arg)) => {
            let pattern = unquote(arg).ok_or_else(|| {
                format!("invalid URL rule '{text}': the regex must be a quoted string, e.g. regex(\"[a-f0-9]{{24}}\")")
            })?;
            compile_anchored(pattern).map(UrlRule::Regex)
        }
        ("regex", None) => Err(format!("invalid URL rule '{text}': regex needs a pattern, e.g. regex(\"[\\w]+\")")),
        (conv, None) | (conv, Some("")) => match conv {
            "int" => Ok(UrlRule::Int),
            "float" => Ok(UrlRule::Float),
            "path" => Ok(UrlRule::Path),
            "string" | "default" => Ok(UrlRule::String),
            "uuid" => compile_anchored("[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}")
                .map(UrlRule::Regex),
            _ => Err(format!(
                "unknown URL rule '{text}': expected regex(\"...\"), int, float, path, string or uuid"
            )),
        },
        (conv, Some(_)) => Err(format!("URL rule '{text}': arguments to the '{conv}' converter are not supported")),
    }
}

/// The content of a Python string literal `"..."` / `'...'` (optionally
/// `r`-prefixed), taken as is: like Werkzeug, escapes are not decoded, so
/// `"[\w]+"` is the regex `[\w]+`.
fn unquote(arg: &str) -> Option<&str> {
    let s = arg.strip_prefix('r').unwrap_or(arg);
    let q = s.chars().next()?;
    if (q == '"' || q == '\'') && s.len() >= 2 && s.ends_with(q) {
        Some(&s[1..s.len() - 1])
    } else {
        None
    }
}

fn compile_anchored(pattern: &str) -> Result<Regex, String> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("invalid regex '{pattern}': {e}"))
}

/// Splits a resource `url` into parts, after stripping leading and
/// trailing slashes. Variables are written `<rule:field>` (e.g.
/// `<regex("[a-f0-9]{24}"):contact_id>`, `<int:num>`) or `<field>` (string
/// rule) and must fill a whole path segment. Returns the stripped url and
/// its parts.
///
/// ```
/// use eve_core::settings::parse_url;
/// use eve_core::UrlPart;
///
/// let (url, parts) = parse_url(r#"/people/<regex("[a-f0-9]{24}"):contact_id>/invoices/"#).unwrap();
/// assert_eq!(url, r#"people/<regex("[a-f0-9]{24}"):contact_id>/invoices"#);
/// assert!(matches!(&parts[1], UrlPart::Var { field, .. } if field == "contact_id"));
/// assert!(matches!(&parts[2], UrlPart::Literal(s) if s == "invoices"));
/// ```
pub fn parse_url(url: &str) -> Result<(String, Vec<UrlPart>), String> {
    let url = url.trim_matches('/');
    if url.is_empty() {
        return Err("the url must not be empty".into());
    }
    let mut parts = Vec::new();
    let mut rest = url;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let close = closing_bracket(after)
                .ok_or_else(|| format!("unterminated variable in url '{url}'"))?;
            let var = &after[..close];
            rest = &after[close + 1..];
            if !(rest.is_empty() || rest.starts_with('/')) {
                return Err(format!(
                    "url '{url}': a variable must fill a whole path segment"
                ));
            }
            rest = rest.strip_prefix('/').unwrap_or(rest);
            parts.push(parse_var(var).map_err(|e| format!("url '{url}': {e}"))?);
        } else {
            let end = rest.find('/').unwrap_or(rest.len());
            let seg = &rest[..end];
            if seg.contains('<') || seg.contains('>') {
                return Err(format!(
                    "url '{url}': a variable must fill a whole path segment"
                ));
            }
            if seg.is_empty() {
                return Err(format!("url '{url}': empty path segment"));
            }
            parts.push(UrlPart::Literal(seg.to_string()));
            rest = rest[end..].strip_prefix('/').unwrap_or(&rest[end..]);
        }
    }
    Ok((url.to_string(), parts))
}

/// Index of the `>` closing a variable, skipping quoted text.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '>' => return Some(i),
                _ => {}
            },
        }
    }
    None
}

fn parse_var(var: &str) -> Result<UrlPart, String> {
    let (rule, field) = match var.rfind(':') {
        Some(i) => (parse_url_rule(&var[..i])?, var[i + 1..].trim()),
        None => (UrlRule::String, var.trim()),
    };
    let valid = field
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("invalid variable name '{field}'"));
    }
    Ok(UrlPart::Var {
        rule,
        field: field.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex_of(rule: UrlRule) -> Regex {
        match rule {
            UrlRule::Regex(r) => r,
            other => panic!("expected a regex rule, got {other:?}"),
        }
    }

    #[test]
    fn regex_rule_is_anchored_at_both_ends() {
        let re = regex_of(parse_url_rule(r#"regex("[\w]+")"#).unwrap());
        assert!(re.is_match("Doe"));
        assert!(!re.is_match("Doe Smith"));
        let re = regex_of(parse_url_rule("regex('a|b')").unwrap());
        assert!(re.is_match("a") && re.is_match("b") && !re.is_match("ab"));
    }

    #[test]
    fn converter_names_are_accepted() {
        assert!(matches!(parse_url_rule("int"), Ok(UrlRule::Int)));
        assert!(matches!(parse_url_rule("float"), Ok(UrlRule::Float)));
        assert!(matches!(parse_url_rule("path"), Ok(UrlRule::Path)));
        assert!(matches!(parse_url_rule("string"), Ok(UrlRule::String)));
        assert!(matches!(parse_url_rule("default"), Ok(UrlRule::String)));
        assert!(regex_of(parse_url_rule("uuid").unwrap())
            .is_match("48c00ee9-4dbe-413f-9fc3-d5f12a91de1c"));
    }

    #[test]
    fn malformed_rules_are_rejected() {
        assert!(parse_url_rule("regex([a-z]+)").is_err());
        assert!(parse_url_rule("regex(\"(\")").is_err());
        assert!(parse_url_rule("regex(\"a\"").is_err());
        assert!(parse_url_rule("int(min=1)").is_err());
        assert!(parse_url_rule("objectid").is_err());
    }

    #[test]
    fn url_with_several_literal_segments() {
        let (url, parts) = parse_url("customers/overseas/").unwrap();
        assert_eq!(url, "customers/overseas");
        assert!(
            matches!(&parts[..], [UrlPart::Literal(a), UrlPart::Literal(b)] if a == "customers" && b == "overseas")
        );
    }

    #[test]
    fn url_variable_regex_may_contain_slashes_colons_and_brackets() {
        let (_, parts) = parse_url(r#"a/<regex("x:/y>"):f>/b/<int:n>/<s>"#).unwrap();
        assert_eq!(parts.len(), 5);
        match &parts[1] {
            UrlPart::Var {
                rule: UrlRule::Regex(re),
                field,
            } => {
                assert_eq!(field, "f");
                assert!(re.is_match("x:/y>"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&parts[3], UrlPart::Var { rule: UrlRule::Int, field } if field == "n"));
        assert!(matches!(&parts[4], UrlPart::Var { rule: UrlRule::String, field } if field == "s"));
    }

    #[test]
    fn url_variable_must_fill_a_segment() {
        assert!(parse_url("a/x<int:n>").is_err());
        assert!(parse_url("a/<int:n>x").is_err());
        assert!(parse_url("a/<int:n").is_err());
        assert!(parse_url("a//b").is_err());
        assert!(parse_url("/").is_err());
        assert!(parse_url("a/<int:>").is_err());
    }
}
