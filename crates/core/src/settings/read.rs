//! Typed readers over raw settings values. Each reader records a problem
//! (with the key's path) when the value has the wrong type and falls back
//! to the default, so checking goes on and every problem is reported.

use indexmap::IndexMap;
use serde_json::Value;

use super::Problem;
use crate::domain::Method;

/// Problems and warnings collected while checking.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
}

impl Ctx {
    /// Records a problem at `path` (once: exact duplicates are dropped).
    pub fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let p = Problem::new(path, message);
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    /// Records a warning.
    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }
}

/// A readable name for the JSON type of a value, for messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// `prefix.key`, or `key` when the prefix is empty.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A mapping of settings (the top level, or one resource) with the path
/// prefix used in problems.
pub(crate) struct Scope<'a> {
    pub map: &'a IndexMap<String, Value>,
    pub prefix: String,
}

impl<'a> Scope<'a> {
    /// The path of `key` in this scope.
    pub fn path(&self, key: &str) -> String {
        join(&self.prefix, key)
    }

    /// The raw value of `key`, if written.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn wrong(&self, ctx: &mut Ctx, key: &str, expected: &str, found: &Value) {
        ctx.problem(
            self.path(key),
            format!("expected {expected}, found {}", kind_of(found)),
        );
    }

    /// A boolean.
    pub fn bool(&self, ctx: &mut Ctx, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.wrong(ctx, key, "a boolean (true or false)", v);
                default
            }
        }
    }

    /// A non-negative integer.
    pub fn u64(&self, ctx: &mut Ctx, key: &str, default: u64) -> u64 {
        match self.get(key) {
            None => default,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(default),
            Some(v) => {
                self.wrong(ctx, key, "a non-negative integer", v);
                default
            }
        }
    }

    /// An integer.
    pub fn i64(&self, ctx: &mut Ctx, key: &str, default: i64) -> i64 {
        match self.get(key) {
            None => default,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64().unwrap_or(default),
            Some(v) => {
                self.wrong(ctx, key, "an integer", v);
                default
            }
        }
    }

    /// A string.
    pub fn string(&self, ctx: &mut Ctx, key: &str, default: &str) -> String {
        match self.get(key) {
            None => default.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                self.wrong(ctx, key, "a string", v);
                default.to_string()
            }
        }
    }

    /// A string or null.
    pub fn opt_string(&self, ctx: &mut Ctx, key: &str, default: Option<&str>) -> Option<String> {
        match self.get(key) {
            None => default.map(str::to_string),
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                self.wrong(ctx, key, "a string or null", v);
                default.map(str::to_string)
            }
        }
    }

    /// A list of strings (`null` reads as the empty list when
    /// `null_is_empty`).
    pub fn str_list(
        &self,
        ctx: &mut Ctx,
        key: &str,
        default: &[String],
        null_is_empty: bool,
    ) -> Vec<String> {
        match self.get(key) {
            None => default.to_vec(),
            Some(Value::Null) if null_is_empty => Vec::new(),
            Some(v) => str_list(ctx, &self.path(key), v).unwrap_or_else(|| default.to_vec()),
        }
    }

    /// A string or a list of strings (`null`: `None`).
    pub fn str_or_list(&self, ctx: &mut Ctx, key: &str) -> Option<Vec<String>> {
        match self.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(vec![s.clone()]),
            Some(v @ Value::Array(_)) => str_list(ctx, &self.path(key), v),
            Some(v) => {
                self.wrong(ctx, key, "a string or a list of strings", v);
                None
            }
        }
    }

    /// A list of methods, each one of `allowed` (case-insensitive input,
    /// duplicates dropped).
    pub fn methods(
        &self,
        ctx: &mut Ctx,
        key: &str,
        allowed: &[Method],
        default: &[Method],
    ) -> Vec<Method> {
        match self.get(key) {
            None => default.to_vec(),
            Some(v) => {
                methods(ctx, &self.path(key), v, allowed).unwrap_or_else(|| default.to_vec())
            }
        }
    }
}

/// A list of strings at `path`.
pub(crate) fn str_list(ctx: &mut Ctx, path: &str, v: &Value) -> Option<Vec<String>> {
    let Value::Array(items) = v else {
        ctx.problem(
            path,
            format!("expected a list of strings, found {}", kind_of(v)),
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) => out.push(s.clone()),
            other => {
                ctx.problem(
                    format!("{path}.{i}"),
                    format!("expected a string, found {}", kind_of(other)),
                );
                return None;
            }
        }
    }
    Some(out)
}

/// Parses a method name (case-insensitive).
pub(crate) fn parse_method(name: &str) -> Option<Method> {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Some(Method::Get),
        "POST" => Some(Method::Post),
        "PATCH" => Some(Method::Patch),
        "PUT" => Some(Method::Put),
        "DELETE" => Some(Method::Delete),
        _ => None,
    }
}

/// A list of methods at `path`, each one of `allowed`.
pub(crate) fn methods(
    ctx: &mut Ctx,
    path: &str,
    v: &Value,
    allowed: &[Method],
) -> Option<Vec<Method>> {
    let names = str_list(ctx, path, v)?;
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for name in &names {
        match parse_method(name).filter(|m| allowed.contains(m)) {
            Some(m) => {
                if !out.contains(&m) {
                    out.push(m)
                }
            }
            None => bad.push(name.clone()),
        }
    }
    if bad.is_empty() {
        Some(out)
    } else {
        let allowed: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
        ctx.problem(
            path,
            format!(
                "unsupported method(s): {}; supported: {}",
                bad.join(", "),
                allowed.join(", ")
            ),
        );
        None
    }
}

/// Converts a JSON object into an ordered map.
pub(crate) fn to_map(m: &serde_json::Map<String, Value>) -> IndexMap<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
