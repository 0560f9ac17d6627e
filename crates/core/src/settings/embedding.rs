//! Settings of embedded resource serialization (features.md §30):
//! `EMBEDDED_MAX_DOCUMENTS` (an eve-rs limit, docs/embedding.md), and
//! warnings for relations and `embedded_fields` entries that embed nothing.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::read::{Ctx, Scope};
use crate::domain::Resource;

/// Default of `EMBEDDED_MAX_DOCUMENTS`.
pub(crate) const DEFAULT_MAX_DOCUMENTS: usize = 1000;

/// `EMBEDDED_MAX_DOCUMENTS`: the most documents one response embeds, a
/// positive integer, default 1000.
pub(crate) fn max_documents(ctx: &mut Ctx, g: &Scope<'_>) -> usize {
    let key = "EMBEDDED_MAX_DOCUMENTS";
    let default = DEFAULT_MAX_DOCUMENTS as u64;
    match g.u64(ctx, key, default) {
        0 => {
            ctx.problem(key, "expected a positive integer, found 0");
            DEFAULT_MAX_DOCUMENTS
        }
        n => usize::try_from(n).unwrap_or(usize::MAX),
    }
}

/// Warns about embeddable relations to a resource clients cannot read
/// (internal, or without GET): never embedded.
pub(crate) fn check_raw(
    ctx: &mut Ctx,
    raw: &IndexMap<String, Value>,
    resources: &IndexMap<String, Arc<Resource>>,
) {
    for (name, def) in raw
        .get("DOMAIN")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(schema) = def.get("schema") {
            let mut found = Found::default();
            embeddable_paths(schema, &format!("DOMAIN.{name}.schema"), &mut found);
            for (path, target) in found.embeddable {
                if resources
                    .get(&target)
                    .is_some_and(|r| !crate::embed::readable(r))
                {
                    ctx.warn(format!(
                        "{path}: '{target}' is internal or serves no GET: its documents are \
                         never embedded"
                    ));
                }
            }
        }
    }
}

/// Warns about `embedded_fields` entries that name no embeddable relation
/// (Eve ignores them silently).
pub(crate) fn check_resources(ctx: &mut Ctx, resources: &IndexMap<String, Arc<Resource>>) {
    for res in resources.values() {
        for field in crate::embed::unresolved_embedded_fields(resources, res) {
            ctx.warn(format!(
                "DOMAIN.{}.embedded_fields: '{field}' is not an embeddable data_relation \
                 and is never embedded",
                res.name
            ));
        }
    }
}

/// The embeddable relations of a schema.
#[derive(Default)]
struct Found {
    /// Paths of `data_relation.embeddable: true`, with the related resource.
    embeddable: Vec<(String, String)>,
}

/// Collects the embeddable relations of a schema (fields, `schema` of
/// dicts and lists, `items`, `*of` variants).
fn embeddable_paths(schema: &Value, prefix: &str, out: &mut Found) {
    let Some(fields) = schema.as_object() else {
        return;
    };
    for (field, rules) in fields {
        rules_embeddable(rules, &format!("{prefix}.{field}"), out);
    }
}

/// Whether the `schema` rule `sub` of `rules` maps field names to rules (a
/// dict's) rather than being the rules of each item (a list's).
fn is_fields(rules: &serde_json::Map<String, Value>, sub: &Value) -> bool {
    match rules.get("type").and_then(Value::as_str) {
        Some("dict") => true,
        Some("list") => false,
        _ => !sub.get("type").is_some_and(Value::is_string),
    }
}

fn rules_embeddable(rules: &Value, path: &str, out: &mut Found) {
    let Some(rules) = rules.as_object() else {
        return;
    };
    let flag = |k: &str| {
        rules
            .get("data_relation")
            .and_then(|r| r.get(k))
            .is_some_and(|e| e == &Value::Bool(true))
    };
    if flag("embeddable") {
        if let Some(target) = rules
            .get("data_relation")
            .and_then(|r| r.get("resource"))
            .and_then(Value::as_str)
        {
            out.embeddable.push((
                format!("{path}.data_relation.embeddable"),
                target.to_string(),
            ));
        }
    }
    for (key, sub) in rules {
        let sub_path = format!("{path}.{key}");
        match key.as_str() {
            "schema" if is_fields(rules, sub) => embeddable_paths(sub, &sub_path, out),
            "schema" | "valuesrules" | "valueschema" | "keysrules" => {
                rules_embeddable(sub, &sub_path, out)
            }
            "items" | "anyof" | "allof" | "oneof" | "noneof" => {
                for (i, item) in sub.as_array().into_iter().flatten().enumerate() {
                    rules_embeddable(item, &format!("{sub_path}.{i}"), out);
                }
            }
            _ => {}
        }
    }
}
