//! Settings that ask for something eve-rs does not do yet.
//!
//! Fail closed: when ignoring a setting would expose, misplace or destroy
//! data (an API served without its authentication, documents hard-deleted
//! although `soft_delete` is on, data written to the embedded store although
//! the file names a MongoDB server), the settings are refused with the key
//! path and what to do. [`NOT_BUILT`] is the one list of such keys: when a
//! feature lands, its rows go.
//!
//! Settings whose absence is harmless (public methods without
//! authentication, ...) are in [`IGNORED`]: accepted with a warning.
//!
//! A value that explicitly disables a feature (`false`, `null`, an empty
//! list or mapping) never asks for it, so `soft_delete: false`,
//! `RATE_LIMIT_GET: null` or `allowed_roles: []` start.

use indexmap::IndexMap;
use serde_json::Value;

use super::read::Ctx;

/// Where a key is looked for. Every kind is kept for the next rows, even
/// when no row uses it today.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
pub(crate) enum Place {
    /// Top-level keys, by exact name.
    Global(&'static [&'static str]),
    /// Keys of a resource definition (`DOMAIN.<name>.<key>`).
    Resource(&'static [&'static str]),
}

/// Which values of the key ask for the feature.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)] // see `rule`
pub(crate) enum Asks {
    /// Any value except `null`, `false`, `""`, `[]` and `{}`.
    Set,
}

impl Asks {
    fn matches(self, v: &Value) -> bool {
        let set = match v {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(m) => !m.is_empty(),
            _ => true,
        };
        match self {
            Asks::Set => set,
        }
    }
}

/// One row of [`NOT_BUILT`] or [`IGNORED`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    /// The keys.
    pub place: Place,
    /// The values that ask for the feature.
    pub asks: Asks,
    /// Accepted (with a warning) when the file says `DATA_LAYER: embedded`.
    pub unless_embedded: bool,
    /// What is not built and what to do, after `<key path>: `.
    pub message: &'static str,
}

// No row uses it while every refused feature has landed; the next feature
// that cannot be served yet adds its row here.
#[allow(dead_code)]
const fn rule(place: Place, asks: Asks, message: &'static str) -> Rule {
    Rule {
        place,
        asks,
        unless_embedded: false,
        message,
    }
}

/// Settings refused because their feature is not built. One row per
/// feature; remove the row when the feature lands.
pub(crate) const NOT_BUILT: &[Rule] = &[];

/// Settings accepted although their feature is not built, because serving
/// without it exposes nothing: each gets a start-up warning.
pub(crate) const IGNORED: &[Rule] = &[];

/// A matched key: its dotted path and its value.
type Hit<'a> = (String, &'a Value);

/// The keys of `raw` that `place` names, with their paths.
fn keys_at<'a>(place: Place, raw: &'a IndexMap<String, Value>) -> Vec<Hit<'a>> {
    let resources = || {
        raw.get("DOMAIN")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(name, def)| Some((name, def.as_object()?)))
    };
    match place {
        Place::Global(keys) => keys
            .iter()
            .filter_map(|k| Some((k.to_string(), raw.get(*k)?)))
            .collect(),
        Place::Resource(keys) => resources()
            .flat_map(|(name, def)| {
                keys.iter()
                    .filter_map(move |k| Some((format!("DOMAIN.{name}.{k}"), def.get(*k)?)))
            })
            .collect(),
    }
}

/// Whether the file names the embedded data layer explicitly.
fn embedded_explicitly(raw: &IndexMap<String, Value>) -> bool {
    raw.get("DATA_LAYER")
        .and_then(Value::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("embedded"))
}

/// Records a problem for every key of [`NOT_BUILT`] that asks for its
/// feature (unless that key already has a problem, e.g. a wrong type), and
/// a warning for every key of [`IGNORED`].
pub(crate) fn check(ctx: &mut Ctx, raw: &IndexMap<String, Value>) {
    let embedded = embedded_explicitly(raw);
    for rule in NOT_BUILT {
        for (path, value) in keys_at(rule.place, raw) {
            if !rule.asks.matches(value) || ctx.problems.iter().any(|p| p.path == path) {
                continue;
            }
            if rule.unless_embedded && embedded {
                ctx.warn(format!(
                    "{path} is ignored: DATA_LAYER is embedded, the data is stored in the \
                     embedded store, not in MongoDB"
                ));
            } else {
                ctx.problem(path, rule.message);
            }
        }
    }
    for rule in IGNORED {
        for (path, value) in keys_at(rule.place, raw) {
            if rule.asks.matches(value) {
                ctx.warn(format!("{path}: {}", rule.message));
            }
        }
    }
}
