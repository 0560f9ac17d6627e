//! `Issues`: building it from the error tree, rendering Eve's `_issues`
//! and adding the results of pending checks.

use serde_json::{Map, Value};

use crate::errors::{Entry, Tree};
use crate::{FieldIssues, Issues};

impl Issues {
    /// True when there is no error at all.
    pub fn is_empty(&self) -> bool {
        self.fields
            .values()
            .all(|f| f.messages.is_empty() && f.children.is_empty())
    }

    /// Adds `message` at `path` (field names and list positions as strings),
    /// e.g. the text of a failed [`crate::PendingCheck`]. New keys take
    /// Eve's sorted position; on a field that already has messages, the new
    /// one goes after the messages of Eve's own rules' kind that Cerberus
    /// sorts first (custom messages such as `unique`'s precede rule
    /// messages such as `max length is 3`).
    pub fn add(&mut self, path: &[String], message: String) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if !self.fields.contains_key(first) {
            let pos = self
                .order
                .iter()
                .position(|k| key_lt(first, k))
                .unwrap_or(self.order.len());
            self.order.insert(pos, first.clone());
        }
        let field = self.fields.entry(first.clone()).or_default();
        if rest.is_empty() {
            let pos = field
                .messages
                .iter()
                .take_while(|m| !is_rule_message(m))
                .count();
            field.messages.insert(pos, message);
        } else {
            field.children.add(rest, message);
        }
    }

    /// Eve's `_issues` object. `as_list` is `VALIDATION_ERROR_AS_LIST`: every
    /// field maps to a list and nested mappings are list elements; otherwise
    /// single-entry lists are unwrapped at every level.
    pub fn to_json(&self, as_list: bool) -> Value {
        self.to_json_limited(as_list, usize::MAX)
    }

    /// [`Issues::to_json`] with at most `max` messages, the first ones in
    /// Eve's order (`MAX_VALIDATION_ISSUES`); fields left without a message
    /// are left out.
    pub fn to_json_limited(&self, as_list: bool, max: usize) -> Value {
        let mut budget = max;
        self.to_json_within(as_list, &mut budget)
    }

    fn to_json_within(&self, as_list: bool, budget: &mut usize) -> Value {
        let mut out = Map::new();
        for key in &self.order {
            if *budget == 0 {
                break;
            }
            let Some(f) = self.fields.get(key) else {
                continue;
            };
            let take = f.messages.len().min(*budget);
            *budget -= take;
            let mut entries: Vec<Value> = f.messages[..take]
                .iter()
                .map(|m| Value::String(m.clone()))
                .collect();
            if !f.children.is_empty() && *budget > 0 {
                entries.push(f.children.to_json_within(as_list, budget));
            }
            let v = match entries.len() {
                // Everything this field had was past the limit.
                0 if *budget == 0 => continue,
                1 if !as_list => entries.remove(0),
                _ => Value::Array(entries),
            };
            out.insert(key.clone(), v);
        }
        Value::Object(out)
    }

    pub(crate) fn from_tree(tree: &Tree) -> Issues {
        let mut issues = Issues::default();
        for (k, entries) in &tree.fields {
            let key = k.text();
            let mut f = FieldIssues::default();
            for e in entries {
                match e {
                    Entry::Msg(m) => f.messages.push(m.clone()),
                    Entry::Sub(t) => f.children = Issues::from_tree(t),
                }
            }
            if !issues.fields.contains_key(&key) {
                issues.order.push(key.clone());
            }
            issues.fields.insert(key, f);
        }
        issues
    }
}

/// Eve's key order: list positions numerically, names by code point.
fn key_lt(a: &str, b: &str) -> bool {
    let num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if num(a) && num(b) {
        match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(x), Ok(y)) => x < y,
            _ => a < b,
        }
    } else {
        a < b
    }
}

/// Messages produced by Cerberus' own rules (as opposed to custom ones).
fn is_rule_message(m: &str) -> bool {
    const EXACT: &[&str] = &[
        "required field",
        "unknown field",
        "empty values not allowed",
        "null value not allowed",
        "field is read-only",
        "one or more definitions validate",
        "none or more than one rule validate",
        "no definitions validate",
        "one or more definitions don't validate",
    ];
    const PREFIXES: &[&str] = &[
        "depends on these values: ",
        "must be of ",
        "length of list should be ",
        "min length is ",
        "max length is ",
        "value does not match regex '",
        "min value is ",
        "max value is ",
        "unallowed value",
        "missing members ",
        "default value for '",
    ];
    EXACT.contains(&m)
        || PREFIXES.iter().any(|p| m.starts_with(p))
        || m.contains(" must not be present with '")
        || (m.starts_with("field '")
            && (m.ends_with("' is required")
                || m.contains("' cannot be coerced: ")
                || m.contains("' cannot be renamed: ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_keeps_eve_order_and_custom_messages_first() {
        let mut i = Issues::default();
        i.add(&["u".into()], "max length is 3".into());
        i.add(&["b".into()], "unknown field".into());
        i.add(&["u".into()], "value 'doexx' is not unique".into());
        i.add(&["l".into(), "10".into()], "x".into());
        i.add(&["l".into(), "2".into()], "y".into());
        assert_eq!(
            i.to_json(false),
            serde_json::json!({"b": "unknown field", "l": {"2": "y", "10": "x"},
                               "u": ["value 'doexx' is not unique", "max length is 3"]})
        );
        assert_eq!(
            i.to_json(true),
            serde_json::json!({"b": ["unknown field"], "l": [{"2": ["y"], "10": ["x"]}],
                               "u": ["value 'doexx' is not unique", "max length is 3"]})
        );
        assert!(!i.is_empty());
        assert!(Issues::default().is_empty());
    }

    #[test]
    fn the_limit_keeps_the_first_messages_in_eve_order() {
        let mut i = Issues::default();
        i.add(&["u".into()], "max length is 3".into());
        i.add(&["b".into()], "unknown field".into());
        i.add(&["u".into()], "value 'doexx' is not unique".into());
        i.add(&["l".into(), "10".into()], "x".into());
        i.add(&["l".into(), "2".into()], "y".into());
        let limited = |max| i.to_json_limited(false, max);
        assert_eq!(limited(0), serde_json::json!({}));
        assert_eq!(limited(1), serde_json::json!({"b": "unknown field"}));
        assert_eq!(
            limited(2),
            serde_json::json!({"b": "unknown field", "l": {"2": "y"}})
        );
        assert_eq!(
            limited(4),
            serde_json::json!({"b": "unknown field", "l": {"2": "y", "10": "x"},
                               "u": "value 'doexx' is not unique"})
        );
        assert_eq!(limited(5), i.to_json(false));
        assert_eq!(limited(500), i.to_json(false));
    }
}
