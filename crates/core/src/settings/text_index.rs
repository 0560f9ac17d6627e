//! Text indexes in `mongo_indexes` (docs/search.md): keys of kind `text`,
//! with MongoDB's `weights`, `default_language` and `language_override`
//! options, checked at start-up.

use serde_json::Value;

use super::read::{kind_of, Ctx};
use eve_query::text::{Language, TextIndex, MAX_TEXT_FIELDS};
use eve_store::IndexKey;

/// Largest weight MongoDB accepts.
const MAX_WEIGHT: i64 = 99_999;

/// The text index defined by `keys` and `options` (at key path `at`), or
/// `None` when no key is `text`. Problems: text keys mixed with others,
/// the wildcard `$**`, text options on another kind of index, bad weights
/// or languages.
pub(crate) fn parse(
    ctx: &mut Ctx,
    at: &str,
    keys: &[(String, IndexKey)],
    options: Option<&Value>,
) -> Option<TextIndex> {
    let is_text = |k: &IndexKey| matches!(k, IndexKey::Special(s) if s == "text");
    let opts = options.and_then(Value::as_object);
    if !keys.iter().any(|(_, k)| is_text(k)) {
        for name in ["weights", "default_language", "language_override"] {
            if opts.is_some_and(|o| o.contains_key(name)) {
                ctx.problem(
                    format!("{at}.options.{name}"),
                    "only text indexes take this option",
                );
            }
        }
        return None;
    }
    if !keys.iter().all(|(_, k)| is_text(k)) {
        ctx.problem(
            at,
            "a text index may only have \"text\" keys here (compound text indexes are not supported)",
        );
        return None;
    }
    if keys.iter().any(|(f, _)| f == "$**" || f.contains('$')) {
        ctx.problem(
            at,
            "wildcard text indexes (\"$**\") are not supported: name the text fields",
        );
        return None;
    }
    if keys.len() > MAX_TEXT_FIELDS {
        ctx.problem(
            at,
            format!("a text index covers at most {MAX_TEXT_FIELDS} fields"),
        );
        return None;
    }
    let mut index = TextIndex {
        fields: keys.iter().map(|(f, _)| (f.clone(), 1)).collect(),
        default_language: Language::English,
        language_override: "language".into(),
    };
    let Some(opts) = opts else {
        return Some(index);
    };
    let mut ok = true;
    if let Some(w) = opts.get("weights") {
        let Value::Object(weights) = w else {
            ctx.problem(
                format!("{at}.options.weights"),
                format!(
                    "expected a mapping of field to weight, found {}",
                    kind_of(w)
                ),
            );
            return None;
        };
        for (field, weight) in weights {
            let here = format!("{at}.options.weights.{field}");
            let Some(slot) = index.fields.iter_mut().find(|(f, _)| f == field) else {
                ctx.problem(here, "not a field of this text index");
                ok = false;
                continue;
            };
            match weight.as_i64() {
                Some(n @ 1..=MAX_WEIGHT) => slot.1 = u32::try_from(n).unwrap_or(1),
                _ => {
                    ctx.problem(here, format!("expected an integer from 1 to {MAX_WEIGHT}"));
                    ok = false;
                }
            }
        }
    }
    if let Some(l) = opts.get("default_language") {
        match l.as_str().and_then(Language::parse) {
            Some(lang) => index.default_language = lang,
            None => {
                ctx.problem(
                    format!("{at}.options.default_language"),
                    format!(
                        "unsupported language {l} (expected one of: {})",
                        Language::ALL.map(Language::name).join(", ")
                    ),
                );
                ok = false;
            }
        }
    }
    if let Some(l) = opts.get("language_override") {
        match l.as_str() {
            Some(f) if !f.is_empty() && !f.starts_with('$') && !f.split('.').any(str::is_empty) => {
                index.language_override = f.to_string();
            }
            _ => {
                ctx.problem(
                    format!("{at}.options.language_override"),
                    "expected a field name",
                );
                ok = false;
            }
        }
    }
    ok.then_some(index)
}
