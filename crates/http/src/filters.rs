//! `VALIDATE_FILTERS` (features.md §6.6): every non-logical key/value pair
//! of a client `where` must validate as a one-field document, otherwise
//! `400 filter on '<key>' is invalid`.
//!
//! Dotted keys descend into dict schemas, into the dict schema of a list's
//! `schema`, and into the dict schemas of a fixed-length list's `items`
//! (valid when one of them accepts the rest of the key, as in Eve).

use bson::{Bson, Document};
use eve_core::{ApiError, ApiResult, Resource};
use indexmap::IndexMap;
use serde_json::Value;

use crate::context::Ctx;

/// Checks every field filter of `query` (inside `$and`/`$or`/`$nor` too)
/// against the resource schema.
pub(crate) async fn validate_filters(ctx: &Ctx, res: &Resource, query: &Document) -> ApiResult<()> {
    let mut pending: Vec<&Document> = vec![query];
    while let Some(q) = pending.pop() {
        for (key, value) in q {
            if matches!(key.as_str(), "$and" | "$or" | "$nor") {
                if let Bson::Array(items) = value {
                    pending.extend(items.iter().filter_map(Bson::as_document));
                }
                continue;
            }
            if key.starts_with('$') {
                continue;
            }
            if !filter_is_valid(ctx, res, key, value).await? {
                return Err(ApiError::InvalidFilterValue { field: key.clone() });
            }
        }
    }
    Ok(())
}

/// Whether `{key: value}` validates against the resource schema.
async fn filter_is_valid(ctx: &Ctx, res: &Resource, key: &str, value: &Bson) -> ApiResult<bool> {
    let parts: Vec<&str> = key.split('.').collect();
    if let Some((at, items)) = items_crossing(|f| res.schema_as_written().get(f), &parts) {
        let date_format = &ctx.domain().settings.date_format;
        return Ok(items
            .iter()
            .any(|def| valid_in_items(def, &parts[at..], value, res, date_format)));
    }
    let doc = nest(|f| res.schema_as_written().get(f), &parts, value.clone());
    let doc = res
        .schema
        .serialize_payload(doc, &ctx.domain().settings.date_format);
    let empty = Document::new();
    let mode = eve_schema::Mode::Update {
        original: &empty,
        normalize: false,
    };
    let outcome = ctx
        .exec()
        .validate(ctx.access(), res, doc, mode, None)
        .await?;
    Ok(outcome.issues.is_empty())
}

/// The rest of a key checked against one dict item of a fixed-length list:
/// the item's schema is compiled on its own (with the built-in rules; a
/// schema that does not compile accepts nothing). Store-backed rules
/// (`unique`, `data_relation`) are not run for such keys.
fn valid_in_items(
    def: &serde_json::Map<String, Value>,
    parts: &[&str],
    value: &Bson,
    res: &Resource,
    date_format: &eve_query::DateFormat,
) -> bool {
    if let Some((at, items)) = items_crossing(|f| def.get(f), parts) {
        return items
            .iter()
            .any(|d| valid_in_items(d, &parts[at..], value, res, date_format));
    }
    if !def.contains_key(parts[0]) {
        return false;
    }
    let fields: IndexMap<String, Value> = def.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let Ok(schema) =
        eve_schema::Schema::compile(&fields, &eve_schema::Registry::default(), date_format)
    else {
        return false;
    };
    let doc = nest(|f| def.get(f), parts, value.clone());
    let doc = schema.serialize_payload(doc, date_format);
    let empty = Document::new();
    let mode = eve_schema::Mode::Update {
        original: &empty,
        normalize: false,
    };
    let options = eve_schema::Options {
        resource: res.name.clone(),
        allow_unknown: false,
        id_field: res.id_field.clone(),
    };
    schema.validate(doc, mode, &options).issues.is_empty()
}

/// The rules of a field's sub-schema when it is a dict (or a list of
/// dicts): `None` for anything else.
fn sub_fields(rules: &Value) -> Option<&Value> {
    if rules.get("type").and_then(Value::as_str) == Some("list") {
        rules.get("schema").and_then(|s| s.get("schema"))
    } else {
        rules.get("schema")
    }
}

/// The first fixed-length list (`items`) a dotted key passes through:
/// how many parts lead to it, and the dict schemas of its items.
fn items_crossing<'a>(
    top: impl Fn(&str) -> Option<&'a Value>,
    parts: &[&str],
) -> Option<(usize, Vec<&'a serde_json::Map<String, Value>>)> {
    let mut rules = top(parts[0]);
    for i in 0..parts.len().saturating_sub(1) {
        let r = rules?;
        if let Some(Value::Array(items)) = r.get("items") {
            let dicts = items
                .iter()
                .filter(|item| item.get("type").and_then(Value::as_str) == Some("dict"))
                .filter_map(|item| item.get("schema").and_then(Value::as_object))
                .collect();
            return Some((i + 1, dicts));
        }
        rules = sub_fields(r).and_then(|s| s.get(parts[i + 1]));
    }
    None
}

/// `{"a.b": v}` as the document the schema expects: `{"a": {"b": v}}`, or
/// `{"a": [{"b": v}]}` when `a` is a list of dicts.
fn nest<'a>(top: impl Fn(&str) -> Option<&'a Value>, parts: &[&str], value: Bson) -> Document {
    // Walk the schema as written to know, for each prefix, whether it is a
    // list (of dicts).
    let mut list_at = vec![false; parts.len()];
    let mut rules = top(parts[0]);
    for i in 0..parts.len() - 1 {
        let Some(r) = rules else { break };
        list_at[i] = r.get("type").and_then(Value::as_str) == Some("list");
        rules = sub_fields(r).and_then(|s| s.get(parts[i + 1]));
    }
    let mut current = value;
    for i in (1..parts.len()).rev() {
        let mut d = Document::new();
        d.insert(parts[i], current);
        current = if list_at[i - 1] {
            Bson::Array(vec![Bson::Document(d)])
        } else {
            Bson::Document(d)
        };
    }
    let mut doc = Document::new();
    doc.insert(parts[0], current);
    doc
}
