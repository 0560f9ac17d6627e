//! `mongo_indexes` (features.md §43) and the unique indexes implied by the
//! schema.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::read::{kind_of, Ctx};
use crate::domain::Resource;
use eve_store::{IndexKey, IndexSpec};

/// Index options kept in [`IndexSpec`]; `background` is accepted and
/// meaningless here; other MongoDB options are dropped with a warning.
const KEPT_OPTIONS: &[&str] = &["unique", "sparse", "background"];

/// Options of text indexes only.
const TEXT_OPTIONS: &[&str] = &["weights", "default_language", "language_override"];

/// The unique indexes implied by the schema: one per top-level field with
/// `unique: true`, and one on a custom `id_field` (not `_id`, which every
/// store keys on anyway). Named `unique_<field>`. Schema-implied indexes
/// are sparse: Eve's `unique` rule only checks documents that have the
/// field.
///
/// On a `soft_delete` resource the indexes of `unique` fields are plain
/// (not unique): `unique` ignores soft-deleted documents (features.md
/// §31.2), which a unique index cannot, so the executor's `unique` check
/// alone enforces them — not atomically: two concurrent writes of one value
/// may both pass (docs/soft-delete.md). The id field's index stays unique:
/// a deleted document keeps its id.
pub(crate) fn implied(
    schema: &IndexMap<String, Value>,
    id_field: &str,
    soft_delete: bool,
) -> Vec<IndexSpec> {
    let mut out = Vec::new();
    if id_field != "_id" {
        out.push(IndexSpec {
            name: format!("unique_{id_field}"),
            keys: vec![(id_field.to_string(), IndexKey::Asc)],
            unique: true,
            sparse: false,
            text: None,
        });
    }
    for (field, rules) in schema {
        if field == id_field {
            continue;
        }
        if rules.get("unique") == Some(&Value::Bool(true)) {
            out.push(IndexSpec {
                name: format!("unique_{field}"),
                keys: vec![(field.clone(), IndexKey::Asc)],
                unique: !soft_delete,
                sparse: true,
                text: None,
            });
        }
    }
    out
}

/// Parses `mongo_indexes` (at `path`): `name: [[field, dir], ...]`,
/// `name: [[[field, dir], ...], {options}]` or
/// `name: {keys: [[field, dir], ...], options: {...}}`.
pub(crate) fn parse_mongo_indexes(ctx: &mut Ctx, path: &str, v: &Value) -> Vec<IndexSpec> {
    let Value::Object(map) = v else {
        if !v.is_null() {
            ctx.problem(
                path,
                format!(
                    "expected a mapping of index names to index definitions, found {}",
                    kind_of(v)
                ),
            );
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, def) in map {
        let at = format!("{path}.{name}");
        let (keys, options) = match def {
            Value::Object(obj) => {
                for k in obj.keys() {
                    if k != "keys" && k != "options" {
                        ctx.problem(
                            format!("{at}.{k}"),
                            "unknown key (expected keys and options)",
                        );
                    }
                }
                match obj.get("keys") {
                    Some(keys) => (keys, obj.get("options")),
                    None => {
                        ctx.problem(
                            format!("{at}.keys"),
                            "required: a list of [field, direction] pairs",
                        );
                        continue;
                    }
                }
            }
            // `[[[field, dir], ...], {options}]`: the first element is a
            // list of pairs rather than a pair.
            Value::Array(items)
                if items
                    .first()
                    .is_some_and(|f| f.get(0).is_some_and(Value::is_array)) =>
            {
                if items.len() > 2 {
                    ctx.problem(at.clone(), "expected [keys, options]");
                    continue;
                }
                (&items[0], items.get(1))
            }
            Value::Array(_) => (def, None),
            other => {
                ctx.problem(
                    at,
                    format!(
                        "expected a list of [field, direction] pairs, found {}",
                        kind_of(other)
                    ),
                );
                continue;
            }
        };
        let Some(keys) = parse_keys(ctx, &at, keys) else {
            continue;
        };
        let (unique, sparse) = parse_options(ctx, &at, name, options);
        let text = super::text_index::parse(ctx, &at, &keys, options);
        out.push(IndexSpec {
            name: name.clone(),
            keys,
            unique,
            sparse,
            text,
        });
    }
    let texts: Vec<&IndexSpec> = out.iter().filter(|s| s.text.is_some()).collect();
    if let [_, second, ..] = texts.as_slice() {
        ctx.problem(
            format!("{path}.{}", second.name),
            "a collection has at most one text index (as in MongoDB): put every text field in one index",
        );
    }
    out
}

fn parse_keys(ctx: &mut Ctx, at: &str, keys: &Value) -> Option<Vec<(String, IndexKey)>> {
    let bad = |ctx: &mut Ctx, msg: String| {
        ctx.problem(at, msg);
        None
    };
    let Value::Array(pairs) = keys else {
        return bad(
            ctx,
            format!(
                "expected a list of [field, direction] pairs, found {}",
                kind_of(keys)
            ),
        );
    };
    if pairs.is_empty() {
        return bad(ctx, "an index needs at least one key".into());
    }
    let mut out = Vec::new();
    for pair in pairs {
        let (Some(Value::String(field)), Some(dir), 2) = (
            pair.get(0),
            pair.get(1),
            pair.as_array().map_or(0, Vec::len),
        ) else {
            return bad(
                ctx,
                format!("expected [field, direction] pairs, found {pair}"),
            );
        };
        let key = match dir {
            Value::Number(n) if n.as_i64() == Some(1) => IndexKey::Asc,
            Value::Number(n) if n.as_i64() == Some(-1) => IndexKey::Desc,
            Value::String(s) if ["2d", "2dsphere", "text", "hashed"].contains(&s.as_str()) => {
                IndexKey::Special(s.clone())
            }
            other => {
                return bad(
                    ctx,
                    format!("invalid direction {other} for '{field}' (expected 1, -1, \"2d\", \"2dsphere\", \"text\" or \"hashed\")"),
                )
            }
        };
        out.push((field.clone(), key));
    }
    Some(out)
}

fn parse_options(ctx: &mut Ctx, at: &str, name: &str, options: Option<&Value>) -> (bool, bool) {
    let (mut unique, mut sparse) = (false, false);
    match options {
        None | Some(Value::Null) => {}
        Some(Value::Object(opts)) => {
            for (k, v) in opts {
                let flag = match v {
                    Value::Bool(b) => Some(*b),
                    _ => None,
                };
                match k.as_str() {
                    "unique" | "sparse" | "background" if flag.is_none() => {
                        ctx.problem(format!("{at}.options.{k}"), "expected a boolean (true or false)")
                    }
                    "unique" => unique = flag.unwrap_or(false),
                    "sparse" => sparse = flag.unwrap_or(false),
                    _ if KEPT_OPTIONS.contains(&k.as_str()) || TEXT_OPTIONS.contains(&k.as_str()) => {}
                    _ => ctx.warn(format!("mongo_indexes '{name}': index option '{k}' is not supported and is ignored")),
                }
            }
        }
        Some(other) => ctx.problem(
            format!("{at}.options"),
            format!("expected a mapping, found {}", kind_of(other)),
        ),
    }
    (unique, sparse)
}

/// The indexes of every collection: the union over the resources stored in
/// it (`datasource.source`), in file order. Two resources defining an index
/// of the same name differently is a problem reported at both key paths:
/// the store keeps one definition per name, so one of them would be lost.
pub(crate) fn per_collection(
    ctx: &mut Ctx,
    resources: &IndexMap<String, Arc<Resource>>,
    raw_domain: &Map<String, Value>,
) -> IndexMap<String, Vec<IndexSpec>> {
    // collection -> index name -> (definition, resource that defined it)
    let mut out: IndexMap<String, IndexMap<String, (IndexSpec, &Resource)>> = IndexMap::new();
    for res in resources.values() {
        let indexes = out.entry(res.datasource.source.clone()).or_default();
        for spec in &res.indexes {
            match indexes.get(&spec.name) {
                None => {
                    indexes.insert(spec.name.clone(), (spec.clone(), res));
                }
                Some((first, _)) if first == spec => {}
                Some((_, owner)) => {
                    let here = origin(raw_domain, res, spec);
                    let there = origin(raw_domain, owner, spec);
                    ctx.problem(
                        here,
                        format!(
                            "index '{}' of collection '{}' is defined differently at {there} \
                             (resources sharing a collection share its indexes; give the \
                             index one definition or another name)",
                            spec.name, res.datasource.source
                        ),
                    );
                }
            }
        }
    }
    for (collection, indexes) in &out {
        let texts: Vec<&(IndexSpec, &Resource)> =
            indexes.values().filter(|(s, _)| s.text.is_some()).collect();
        if let [_, (spec, res), ..] = texts.as_slice() {
            ctx.problem(
                origin(raw_domain, res, spec),
                format!(
                    "collection '{collection}' would get a second text index (a collection has at \
                     most one, as in MongoDB; resources sharing a collection share its indexes)"
                ),
            );
        }
    }
    out.into_iter()
        .map(|(name, indexes)| (name, indexes.into_values().map(|(s, _)| s).collect()))
        .collect()
}

/// The key path that defines index `spec` of resource `res`.
fn origin(raw_domain: &Map<String, Value>, res: &Resource, spec: &IndexSpec) -> String {
    let base = format!("DOMAIN.{}", res.name);
    let in_mongo_indexes = raw_domain
        .get(&res.name)
        .and_then(|r| r.get("mongo_indexes"))
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(&spec.name));
    if in_mongo_indexes {
        return format!("{base}.mongo_indexes.{}", spec.name);
    }
    match spec.keys.first() {
        Some((field, _)) if *field == res.id_field => format!("{base}.id_field"),
        Some((field, _)) => format!("{base}.schema.{field}.unique"),
        None => base,
    }
}
