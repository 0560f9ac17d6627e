//! Embedded resource serialization (features.md §30): which references a
//! request embeds. Pure: [`parse_embedded`] reads the client's `embedded`
//! argument and the resource's `embedded_fields` and resolves each
//! requested dotted path to the `data_relation` it names, as Eve's
//! `resolve_embedded_fields` and `field_definition` do. The executor
//! (`eve_exec`, `embed.rs`) then loads the referenced documents, one store
//! query per path and page, and puts them in place.
//!
//! ```
//! # use eve_core::settings::{check, parse_str, Format};
//! let domain = check(parse_str(r#"
//! DOMAIN:
//!   users: {schema: {name: {type: string}}}
//!   emails:
//!     embedded_fields: [author]
//!     schema:
//!       author: {type: objectid, data_relation: {resource: users, embeddable: true}}
//!       cc: {type: list, schema: {type: objectid, data_relation: {resource: users, embeddable: true}}}
//!       plain: {type: objectid, data_relation: {resource: users}}
//! "#, Format::Yaml).unwrap(), &eve_schema::Registry::default()).unwrap();
//! let emails = &domain.resources["emails"];
//! let paths = eve_core::embed::parse_embedded(&domain, emails, Some(r#"{"cc": 1, "plain": 1}"#)).unwrap();
//! let names: Vec<&str> = paths.iter().map(|p| p.path.as_str()).collect();
//! assert_eq!(names, ["author", "cc"]); // `plain` is not embeddable: ignored
//! let none = eve_core::embed::parse_embedded(&domain, emails, Some(r#"{"author": 0}"#)).unwrap();
//! assert!(none.is_empty());
//! assert!(eve_core::embed::parse_embedded(&domain, emails, Some("[1]")).is_err());
//! ```

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::domain::{Domain, Method, Resource};
use crate::error::{ApiError, ApiResult};

/// One reference field a request embeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedPath {
    /// The dotted path as requested (`author`, `meta.owner`,
    /// `author.boss`). Every segment but the last is walked through
    /// sub-documents, lists of sub-documents and documents embedded by an
    /// earlier (shorter) path.
    pub path: String,
    /// The resource the references name (`data_relation.resource`). A
    /// DBRef value names its own resource (`$ref`).
    pub resource: String,
    /// The field of that resource the references match
    /// (`data_relation.field`, default the resource's `id_field`).
    pub field: String,
    /// Whether the relation is versioned (`data_relation.version: true`):
    /// each reference is `{<field>: <id>, _version: <n>}` and embeds that
    /// version of the related document (features.md §30).
    pub versioned: bool,
}

impl EmbedPath {
    /// The segments walked before the reference field.
    pub fn parents(&self) -> Vec<&str> {
        let mut segments: Vec<&str> = self.path.split('.').collect();
        segments.pop();
        segments
    }

    /// The reference field, in the sub-document the parents lead to.
    pub fn last(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }

    /// Whether the path is a top-level field (its embedded documents count
    /// for an item's `Last-Modified`, as in Eve).
    pub fn is_top_level(&self) -> bool {
        !self.path.contains('.')
    }
}

/// The paths a request on `res` embeds: the resource's `embedded_fields`
/// plus the client's `embedded` keys set to 1, minus those set to 0, each
/// resolved to an embeddable `data_relation` (other names, unknown fields
/// included, are ignored, as in Eve), shortest paths first. Nothing with
/// `embedding: false`. An `embedded` value that is not a JSON object is
/// [`ApiError::EmbeddedUnparsable`]; an empty one is ignored.
pub fn parse_embedded(
    domain: &Domain,
    res: &Resource,
    raw: Option<&str>,
) -> ApiResult<Vec<EmbedPath>> {
    if !res.embedding {
        return Ok(Vec::new());
    }
    let mut on: Vec<String> = res.embedded_fields.clone();
    let mut off: Vec<String> = Vec::new();
    if let Some(raw) = raw.filter(|r| !r.is_empty()) {
        let Ok(Value::Object(clause)) = serde_json::from_str::<Value>(raw) else {
            return Err(ApiError::EmbeddedUnparsable);
        };
        // Python's `v == 1` / `v == 0`: other values are ignored.
        for (field, value) in clause {
            match as_flag(&value) {
                Some(true) => on.push(field),
                Some(false) => off.push(field),
                None => {}
            }
        }
    }
    let mut fields: Vec<String> = Vec::new();
    for f in on {
        if !off.contains(&f) && !fields.contains(&f) {
            fields.push(f);
        }
    }
    // Shallow paths first: a nested path walks into documents a shorter
    // one embedded.
    fields.sort_by_key(|f| f.matches('.').count());
    Ok(fields
        .into_iter()
        .filter_map(|f| resolve(&domain.resources, res, &f))
        .collect())
}

/// `true` for a value equal to 1 in Python (`1`, `1.0`, `true`), `false`
/// for one equal to 0, `None` otherwise.
fn as_flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Resolves a dotted path of `res` to the embeddable relation it names, or
/// `None` (not a field, not a relation, not embeddable).
pub(crate) fn resolve(
    resources: &IndexMap<String, Arc<Resource>>,
    res: &Resource,
    path: &str,
) -> Option<EmbedPath> {
    let rules = field_definition(resources, res, path)?;
    let relation = rules.get("data_relation")?.as_object()?;
    if relation.get("embeddable") != Some(&Value::Bool(true)) {
        return None;
    }
    let resource = relation.get("resource")?.as_str()?;
    let target = resources.get(resource)?;
    if !readable(target) {
        return None;
    }
    let field = relation
        .get("field")
        .and_then(Value::as_str)
        .unwrap_or(target.id_field.as_str());
    Some(EmbedPath {
        path: path.to_string(),
        resource: resource.to_string(),
        field: field.to_string(),
        versioned: relation.get("version") == Some(&Value::Bool(true)),
    })
}

/// Whether a client may read `res`'s documents with a GET (it is not
/// internal and serves GET on its collection or items): embedding never
/// shows documents of any other resource, whatever its relations say (Eve
/// embeds them; docs/compatibility.md).
pub fn readable(res: &Resource) -> bool {
    !res.internal_resource
        && (res.resource_methods.contains(&Method::Get) || res.item_methods.contains(&Method::Get))
}

/// Where a definition walk stands: a resource's schema, or a field's rules.
#[derive(Clone, Copy)]
enum Def<'a> {
    Resource(&'a Resource),
    Rules(&'a Value),
}

impl<'a> Def<'a> {
    /// The rules of the sub-field `name`.
    fn field(self, name: &str) -> Option<&'a Value> {
        match self {
            Def::Resource(r) => r.schema_as_written().get(name),
            Def::Rules(rules) => rules.get("schema")?.as_object()?.get(name),
        }
    }
}

/// Eve's `field_definition`: the rules of a dotted field path. A segment
/// that is not a sub-field of a relation field continues in the related
/// resource's schema (`author.boss` is `boss` of the users `author` names);
/// a list's rules are its items' rules.
fn field_definition<'a>(
    resources: &'a IndexMap<String, Arc<Resource>>,
    res: &'a Resource,
    path: &str,
) -> Option<&'a Value> {
    let mut def = Def::Resource(res);
    for segment in path.split('.') {
        let mut rules = def.field(segment);
        if rules.is_none() {
            if let Def::Rules(current) = def {
                let target = current
                    .get("data_relation")
                    .and_then(|r| r.get("resource"))
                    .and_then(Value::as_str)?;
                rules = Def::Resource(resources.get(target)?.as_ref()).field(segment);
            }
        }
        let mut rules = rules?;
        if rules.get("type").and_then(Value::as_str) == Some("list") {
            rules = rules.get("schema").unwrap_or(rules);
        }
        def = Def::Rules(rules);
    }
    match def {
        Def::Rules(rules) => Some(rules),
        Def::Resource(_) => None,
    }
}

/// The `embedded_fields` entries of `res` that resolve to no embeddable
/// relation (Eve ignores them silently): the settings check warns.
pub(crate) fn unresolved_embedded_fields(
    resources: &IndexMap<String, Arc<Resource>>,
    res: &Resource,
) -> Vec<String> {
    res.embedded_fields
        .iter()
        .filter(|f| resolve(resources, res, f).is_none())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{check, parse_str, Format};

    const SETTINGS: &str = r#"
DOMAIN:
  users:
    schema:
      name: {type: string}
      email: {type: string}
      boss: {type: objectid, data_relation: {resource: users, embeddable: true}}
      friends: {type: list, schema: {type: objectid, data_relation: {resource: users, embeddable: true}}}
  emails:
    embedded_fields: [author]
    schema:
      author: {type: objectid, data_relation: {resource: users, embeddable: true}}
      by_mail: {type: string, data_relation: {resource: users, field: email, embeddable: true}}
      plain: {type: objectid, data_relation: {resource: users}}
      title: {type: string}
      meta:
        type: dict
        schema:
          owner: {type: objectid, data_relation: {resource: users, embeddable: true}}
      lines:
        type: list
        schema:
          type: dict
          schema:
            who: {type: objectid, data_relation: {resource: users, embeddable: true}}
      ref: {type: dbref, data_relation: {resource: users, embeddable: true}}
  quiet:
    embedding: false
    embedded_fields: [author]
    schema:
      author: {type: objectid, data_relation: {resource: users, embeddable: true}}
"#;

    fn domain() -> Domain {
        check(
            parse_str(SETTINGS, Format::Yaml).unwrap(),
            &eve_schema::Registry::default(),
        )
        .unwrap()
    }

    fn paths(d: &Domain, resource: &str, raw: Option<&str>) -> Vec<(String, String, String)> {
        parse_embedded(d, &d.resources[resource], raw)
            .unwrap()
            .into_iter()
            .map(|p| (p.path, p.resource, p.field))
            .collect()
    }

    fn p(path: &str, resource: &str, field: &str) -> (String, String, String) {
        (path.into(), resource.into(), field.into())
    }

    #[test]
    fn embedded_fields_apply_and_the_client_adds_or_removes() {
        let d = domain();
        assert_eq!(paths(&d, "emails", None), [p("author", "users", "_id")]);
        assert_eq!(paths(&d, "emails", Some("")), [p("author", "users", "_id")]);
        assert!(paths(&d, "emails", Some(r#"{"author": 0}"#)).is_empty());
        assert_eq!(
            paths(&d, "emails", Some(r#"{"by_mail": 1, "author": false}"#)),
            [p("by_mail", "users", "email")]
        );
        // Python's `v == 1`: 1.0 and true count, 2 and "1" are ignored.
        assert_eq!(
            paths(
                &d,
                "emails",
                Some(r#"{"ref": 1.0, "meta.owner": true, "by_mail": 2, "title": "1"}"#)
            ),
            [
                p("author", "users", "_id"),
                p("ref", "users", "_id"),
                p("meta.owner", "users", "_id"),
            ]
        );
    }

    #[test]
    fn names_that_are_not_embeddable_relations_are_ignored() {
        let d = domain();
        let got = paths(
            &d,
            "emails",
            Some(r#"{"plain": 1, "title": 1, "nope": 1, "title.x": 1, "meta": 1, "author": 0}"#),
        );
        assert!(got.is_empty());
    }

    #[test]
    fn paths_reach_into_sub_documents_lists_and_related_resources() {
        let d = domain();
        let got = paths(
            &d,
            "emails",
            Some(
                r#"{"author.boss.friends": 1, "lines.who": 1, "author.friends": 1, "author.name": 1}"#,
            ),
        );
        assert_eq!(
            got,
            [
                p("author", "users", "_id"),
                p("lines.who", "users", "_id"),
                p("author.friends", "users", "_id"),
                p("author.boss.friends", "users", "_id"),
            ]
        );
    }

    #[test]
    fn embedding_off_ignores_the_argument_and_the_defaults() {
        let d = domain();
        assert!(paths(&d, "quiet", None).is_empty());
        assert!(paths(&d, "quiet", Some(r#"{"author": 1}"#)).is_empty());
        // Not even parsed.
        assert!(paths(&d, "quiet", Some("not json")).is_empty());
    }

    #[test]
    fn an_argument_that_is_not_a_json_object_is_refused() {
        let d = domain();
        for raw in ["x", "[1]", "1", "null", "\"author\"", "{\"author\": 1", " "] {
            let err = parse_embedded(&d, &d.resources["emails"], Some(raw)).unwrap_err();
            assert!(
                matches!(err, ApiError::EmbeddedUnparsable),
                "{raw}: {err:?}"
            );
            assert_eq!(err.to_string(), "Unable to parse `embedded` clause");
        }
    }

    #[test]
    fn path_pieces() {
        let e = EmbedPath {
            path: "a.b.c".into(),
            resource: "r".into(),
            field: "_id".into(),
            versioned: false,
        };
        assert_eq!(e.parents(), ["a", "b"]);
        assert_eq!(e.last(), "c");
        assert!(!e.is_top_level());
        let top = EmbedPath {
            path: "a".into(),
            ..e
        };
        assert!(top.parents().is_empty());
        assert_eq!(top.last(), "a");
        assert!(top.is_top_level());
    }

    #[test]
    fn unresolved_defaults_are_listed() {
        let raw = SETTINGS.replace("embedded_fields: [author]\n    schema:\n      author: {type: objectid, data_relation: {resource: users, embeddable: true}}\n      by_mail",
            "embedded_fields: [author, plain, nope]\n    schema:\n      author: {type: objectid, data_relation: {resource: users, embeddable: true}}\n      by_mail");
        let d = check(
            parse_str(&raw, Format::Yaml).unwrap(),
            &eve_schema::Registry::default(),
        )
        .unwrap();
        assert_eq!(
            unresolved_embedded_fields(&d.resources, &d.resources["emails"]),
            ["plain", "nope"]
        );
    }
}
