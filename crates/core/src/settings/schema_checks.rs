//! Checks of a resource schema that need the rest of the settings (meta
//! field names, other resources), made before the schema is compiled by
//! `eve-schema`: automatic fields declared in the schema, field names with
//! `$` or `.`, and `data_relation` rules.

use indexmap::IndexMap;
use serde_json::Value;

use super::read::Ctx;
use crate::domain::Relation;

/// What the schema walk needs to know.
pub(crate) struct SchemaEnv<'a> {
    /// `DOMAIN.<resource>.schema`.
    pub prefix: String,
    /// Names of every resource in `DOMAIN`.
    pub resource_names: &'a [&'a str],
}

/// Meta fields declared in the schema (top level only, as in Eve).
pub(crate) fn check_meta_fields(
    ctx: &mut Ctx,
    prefix: &str,
    schema: &IndexMap<String, Value>,
    automatic: &[String],
) {
    for name in automatic {
        if schema.contains_key(name) {
            ctx.problem(
                format!("{prefix}.{name}"),
                format!("field '{name}' is handled automatically and must not be declared in the schema"),
            );
        }
    }
}

/// Walks the schema: field names and `data_relation` rules. Returns the
/// (schema-relative) paths of fields whose names were rejected, so that
/// the compiler's reports about the same fields can be dropped.
pub(crate) fn check_fields(
    ctx: &mut Ctx,
    env: &SchemaEnv<'_>,
    schema: &IndexMap<String, Value>,
) -> Vec<String> {
    let mut flagged = Vec::new();
    for (name, rules) in schema {
        walk_field(ctx, env, name, rules, &mut flagged);
    }
    flagged
}

fn walk_field(
    ctx: &mut Ctx,
    env: &SchemaEnv<'_>,
    path: &str,
    rules: &Value,
    flagged: &mut Vec<String>,
) {
    let name = path.rsplit(".schema.").next().unwrap_or(path);
    if name.contains('$') || name.contains('.') {
        ctx.problem(
            format!("{}.{path}", env.prefix),
            format!("field name '{name}' cannot contain '$' or '.'"),
        );
        flagged.push(path.to_string());
    }
    walk_rules(ctx, env, path, rules, flagged);
}

/// Whether a rules mapping declares a list type (its `schema` then holds
/// the rules of the items rather than sub-fields).
fn is_list_type(rules: &serde_json::Map<String, Value>) -> bool {
    match rules.get("type") {
        Some(Value::String(t)) => t == "list",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "list") && !ts.iter().any(|t| t == "dict"),
        _ => false,
    }
}

fn walk_rules(
    ctx: &mut Ctx,
    env: &SchemaEnv<'_>,
    path: &str,
    rules: &Value,
    flagged: &mut Vec<String>,
) {
    let Value::Object(rules) = rules else { return };
    if let Some(rel) = rules.get("data_relation") {
        check_data_relation(ctx, env, path, rules, rel);
    }
    match rules.get("schema") {
        Some(sub @ Value::Object(_)) if is_list_type(rules) => {
            walk_rules(ctx, env, &format!("{path}.schema"), sub, flagged);
        }
        Some(Value::Object(fields)) => {
            for (name, sub) in fields {
                walk_field(ctx, env, &format!("{path}.schema.{name}"), sub, flagged);
            }
        }
        _ => {}
    }
    for key in ["valuesrules", "keysrules", "items"] {
        match rules.get(key) {
            Some(sub @ Value::Object(_)) => {
                walk_rules(ctx, env, &format!("{path}.{key}"), sub, flagged)
            }
            Some(Value::Array(subs)) => {
                for (i, sub) in subs.iter().enumerate() {
                    walk_rules(ctx, env, &format!("{path}.{key}.{i}"), sub, flagged);
                }
            }
            _ => {}
        }
    }
    for key in ["anyof", "allof", "oneof", "noneof"] {
        if let Some(Value::Array(subs)) = rules.get(key) {
            for (i, sub) in subs.iter().enumerate() {
                walk_rules(ctx, env, &format!("{path}.{key}.{i}"), sub, flagged);
            }
        }
    }
}

fn check_data_relation(
    ctx: &mut Ctx,
    env: &SchemaEnv<'_>,
    path: &str,
    rules: &serde_json::Map<String, Value>,
    rel: &Value,
) {
    let at = format!("{}.{path}.data_relation", env.prefix);
    let Value::Object(rel) = rel else {
        ctx.problem(
            at,
            "expected a mapping {resource, field, embeddable, version}",
        );
        return;
    };
    match rel.get("resource") {
        None => ctx.problem(at.clone(), "'resource' is required in a data_relation"),
        Some(Value::String(target)) => {
            if !env.resource_names.contains(&target.as_str()) {
                ctx.problem(
                    format!("{at}.resource"),
                    format!("unknown resource '{target}' (not in DOMAIN)"),
                );
            }
        }
        Some(_) => ctx.problem(format!("{at}.resource"), "expected a resource name"),
    }
    if let Some(field) = rel.get("field") {
        if !field.is_string() {
            ctx.problem(format!("{at}.field"), "expected a field name");
        }
    }
    for flag in ["embeddable", "version"] {
        if rel.get(flag).is_some_and(|v| !v.is_boolean()) {
            ctx.problem(format!("{at}.{flag}"), "expected a boolean (true or false)");
        }
    }
    // Eve: an embeddable relation with `version` needs the related field's
    // type declared in the field's own `schema`.
    let embeddable = rel.get("embeddable") == Some(&Value::Bool(true));
    let versioned = rel.get("version") == Some(&Value::Bool(true));
    if embeddable && versioned {
        let field = rel.get("field").and_then(Value::as_str);
        let typed = field.is_some_and(|f| {
            rules
                .get("schema")
                .and_then(|s| s.get(f))
                .and_then(|d| d.get("type"))
                .is_some()
        });
        if !typed {
            ctx.problem(
                at,
                format!(
                    "an embeddable data_relation with version must declare the type of '{}' in the field's schema",
                    field.unwrap_or("field")
                ),
            );
        }
    }
}

/// The typed `data_relation` of each top-level field: on the field itself,
/// or on the items of a list field (its `schema`). `id_field_of` gives the
/// `field` a relation without one refers to. Run on a schema already
/// checked by [`check_fields`], so a relation's shape is known to be right.
pub(crate) fn top_level_relations(
    schema: &IndexMap<String, Value>,
    id_field_of: impl Fn(&str) -> Option<String>,
) -> IndexMap<String, Relation> {
    let mut out = IndexMap::new();
    for (field, rules) in schema {
        let rel = rules
            .get("data_relation")
            .or_else(|| rules.get("schema").and_then(|s| s.get("data_relation")));
        let Some(Value::Object(rel)) = rel else {
            continue;
        };
        let Some(resource) = rel.get("resource").and_then(Value::as_str) else {
            continue;
        };
        let Some(target_field) = rel
            .get("field")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| id_field_of(resource))
        else {
            continue;
        };
        let flag = |k: &str| rel.get(k).and_then(Value::as_bool).unwrap_or(false);
        out.insert(
            field.clone(),
            Relation {
                resource: resource.to_string(),
                field: target_field,
                embeddable: flag("embeddable"),
                version: flag("version"),
            },
        );
    }
    out
}
