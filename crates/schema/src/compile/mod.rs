//! Compiles schema definitions (JSON, as written in the settings) into
//! typed rule sets, reporting every problem with its path. Validation then
//! works on the compiled form only.

use std::sync::Arc;

use bson::Bson;
use eve_query::DateFormat;
use indexmap::IndexMap;
use serde_json::Value;

use crate::coerce::is_builtin_coercer;
use crate::pyfmt;
use crate::registry::Registry;
use crate::SchemaError;

mod rules;

pub(crate) use rules::{
    Check, Deps, FieldMap, LogicOp, Relation, Rules, SubSchema, Ty, UniqueKind, Unknown,
};

pub(crate) struct Compiler<'a> {
    pub registry: &'a Registry,
    pub date_format: &'a DateFormat,
    pub errors: Vec<SchemaError>,
}

const KNOWN_RULES: &[&str] = &[
    "type",
    "required",
    "nullable",
    "empty",
    "readonly",
    "minlength",
    "maxlength",
    "min",
    "max",
    "allowed",
    "forbidden",
    "contains",
    "regex",
    "schema",
    "items",
    "keysrules",
    "keyschema",
    "valuesrules",
    "valueschema",
    "dependencies",
    "excludes",
    "anyof",
    "allof",
    "noneof",
    "oneof",
    "meta",
    "require_all",
    "allow_unknown",
    "purge_unknown",
    "default",
    "default_setter",
    "coerce",
    "rename",
    "rename_handler",
    "check_with",
    "validator",
    "unique",
    "unique_within_resource",
    "unique_to_user",
    "allowed_read_roles",
    "allowed_write_roles",
    "data_relation",
    "versioned",
];

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl<'a> Compiler<'a> {
    fn err(&mut self, path: String, message: impl Into<String>) {
        self.errors.push(SchemaError {
            path,
            message: message.into(),
        });
    }

    fn bool_rule(&mut self, path: &str, key: &str, v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.err(
                    join(path, key),
                    format!("must be of boolean type, not {}", kind_of(other)),
                );
                None
            }
        }
    }

    fn names_rule(&mut self, path: &str, key: &str, v: &Value) -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(a) if a.iter().all(Value::is_string) => Some(
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
            ),
            other => {
                self.err(
                    join(path, key),
                    format!("must be a name or a list of names, not {}", kind_of(other)),
                );
                None
            }
        }
    }

    /// Compiles a schema level (field name → rules). `check_names`: reject
    /// field names with `$` or `.`.
    pub(crate) fn compile_fields(
        &mut self,
        def: &IndexMap<String, Value>,
        path: &str,
        check_names: bool,
    ) -> FieldMap {
        let mut out = FieldMap::new();
        for (name, rules) in def {
            let fpath = join(path, name);
            if check_names && (name.contains('$') || name.contains('.')) {
                self.err(
                    fpath.clone(),
                    format!("field name '{name}' may not contain '$' or '.'"),
                );
            }
            out.insert(
                name.clone(),
                self.compile_rules(rules, &fpath, check_names_depth(path)),
            );
        }
        out
    }

    /// Compiles one field's rules set.
    pub(crate) fn compile_rules(&mut self, def: &Value, path: &str, nested_names: bool) -> Rules {
        let Value::Object(map) = def else {
            self.err(
                path.to_string(),
                format!("a field definition must be a mapping, not {}", kind_of(def)),
            );
            return Rules::default();
        };
        let mut r = Rules {
            raw: def.clone(),
            readonly_declared: map.contains_key("readonly"),
            ..Rules::default()
        };

        // The type first: datetime constraints depend on it.
        if let Some(t) = map.get("type") {
            let names = match t {
                Value::String(s) => Some(vec![s.clone()]),
                Value::Array(a) if a.iter().all(Value::is_string) => {
                    r.type_is_list = true;
                    Some(
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect(),
                    )
                }
                other => {
                    self.err(
                        join(path, "type"),
                        format!(
                            "must be a type name or a list of type names, not {}",
                            kind_of(other)
                        ),
                    );
                    None
                }
            };
            if let Some(names) = names {
                let mut tys = Vec::new();
                for n in &names {
                    match Ty::parse(n, self.registry) {
                        Some(t) => tys.push(t),
                        None => self.err(join(path, "type"), format!("unknown type '{n}'")),
                    }
                }
                r.type_names = names;
                r.types = Some(tys);
            }
        }
        let is_datetime = r.has_type(&Ty::Datetime);

        for (key, v) in map {
            let kpath = join(path, key);
            match key.as_str() {
                "type" | "meta" => {}
                "versioned" => {
                    self.bool_rule(path, key, v);
                }
                "required" => r.required = self.bool_rule(path, key, v),
                "nullable" => r.nullable = self.bool_rule(path, key, v).unwrap_or(false),
                "readonly" => r.readonly = self.bool_rule(path, key, v).unwrap_or(false),
                "empty" => r.empty = self.bool_rule(path, key, v),
                "purge_unknown" => r.purge_unknown = self.bool_rule(path, key, v),
                "require_all" => r.require_all = self.bool_rule(path, key, v),
                "minlength" | "maxlength" => match v.as_i64() {
                    Some(n) if key == "minlength" => r.checks.push(Check::MinLength(n)),
                    Some(n) => r.checks.push(Check::MaxLength(n)),
                    None => self.err(
                        kpath,
                        format!("must be of integer type, not {}", kind_of(v)),
                    ),
                },
                "min" | "max" => {
                    // Any value: Python compares what it can and skips the rest.
                    if let Some(c) = self.constraint_value(v, &kpath, is_datetime) {
                        r.checks.push(if key == "min" {
                            Check::Min(c)
                        } else {
                            Check::Max(c)
                        });
                    }
                }
                "allowed" | "forbidden" | "contains" => {
                    let items: Option<Vec<Bson>> = match v {
                        Value::Array(a) => a
                            .iter()
                            .enumerate()
                            .map(|(i, x)| {
                                self.constraint_value(x, &join(&kpath, &i.to_string()), is_datetime)
                            })
                            .collect(),
                        other if key == "contains" => self
                            .constraint_value(other, &kpath, is_datetime)
                            .map(|x| vec![x]),
                        other => {
                            self.err(
                                kpath.clone(),
                                format!("must be of list type, not {}", kind_of(other)),
                            );
                            None
                        }
                    };
                    if let Some(items) = items {
                        r.checks.push(match key.as_str() {
                            "allowed" => Check::Allowed(items),
                            "forbidden" => Check::Forbidden(items),
                            _ => Check::Contains(items),
                        });
                    }
                }
                "regex" => match v {
                    Value::String(p) => match crate::pyregex::compile(p) {
                        Ok(re) => r.checks.push(Check::Regex {
                            pattern: p.clone(),
                            re,
                        }),
                        Err(e) => self.err(kpath, format!("invalid regular expression: {e}")),
                    },
                    other => self.err(
                        kpath,
                        format!("must be of string type, not {}", kind_of(other)),
                    ),
                },
                "schema" => {
                    if let Some(s) = self.compile_sub_schema(&r, v, &kpath, nested_names) {
                        r.schema = Some(s);
                        r.checks.push(Check::Schema);
                    }
                }
                "items" => match v {
                    Value::Array(a) => {
                        let items = a
                            .iter()
                            .enumerate()
                            .map(|(i, d)| {
                                Arc::new(self.compile_rules(
                                    d,
                                    &join(&kpath, &i.to_string()),
                                    false,
                                ))
                            })
                            .collect();
                        r.items = Some(items);
                        r.checks.push(Check::Items);
                    }
                    other => self.err(
                        kpath,
                        format!("must be of list type, not {}", kind_of(other)),
                    ),
                },
                "keysrules" | "keyschema" | "valuesrules" | "valueschema" => {
                    if !v.is_object() {
                        self.err(kpath, format!("must be of dict type, not {}", kind_of(v)));
                        continue;
                    }
                    let compiled = Arc::new(self.compile_rules(v, &kpath, false));
                    if key.starts_with("key") {
                        r.keysrules = Some(compiled);
                        r.checks.push(Check::KeysRules);
                    } else {
                        r.valueschema_legacy = key == "valueschema";
                        r.valuesrules = Some(compiled);
                        r.checks.push(Check::ValuesRules);
                    }
                }
                "dependencies" => match v {
                    Value::String(s) => r
                        .checks
                        .push(Check::Dependencies(Deps::Names(vec![s.clone()]))),
                    Value::Array(a) if a.iter().all(Value::is_string) => {
                        r.checks.push(Check::Dependencies(Deps::Names(
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect(),
                        )))
                    }
                    Value::Object(m) => {
                        let mut entries = Vec::new();
                        for (name, wanted) in m {
                            let values = match wanted {
                                Value::Array(a) => a.iter().map(eve_query::json_to_bson).collect(),
                                other => vec![eve_query::json_to_bson(other)],
                            };
                            entries.push((name.clone(), values));
                        }
                        let repr = pyfmt::py_repr(&eve_query::json_to_bson(v));
                        r.checks
                            .push(Check::Dependencies(Deps::Values { map: entries, repr }));
                    }
                    other => self.err(
                        kpath,
                        format!(
                            "must be a name, a list of names or a mapping, not {}",
                            kind_of(other)
                        ),
                    ),
                },
                "excludes" => {
                    if let Some(names) = self.names_rule(path, key, v) {
                        r.checks.push(Check::Excludes(names));
                    }
                }
                "allow_unknown" => match v {
                    Value::Bool(b) => r.allow_unknown = Some(Unknown::Flag(*b)),
                    Value::Object(_) => {
                        r.allow_unknown = Some(Unknown::Rules(Arc::new(
                            self.compile_rules(v, &kpath, false),
                        )))
                    }
                    other => self.err(
                        kpath,
                        format!(
                            "must be a boolean or a rules mapping, not {}",
                            kind_of(other)
                        ),
                    ),
                },
                "default" => r.default = self.constraint_value(v, &kpath, is_datetime),
                "default_setter" => match v {
                    Value::String(s) if self.registry.default_setters.contains_key(s) => {
                        r.default_setter = Some(s.clone())
                    }
                    Value::String(s) => self.err(kpath, format!("unknown default setter '{s}'")),
                    other => self.err(
                        kpath,
                        format!("must be of string type, not {}", kind_of(other)),
                    ),
                },
                "coerce" | "rename_handler" => {
                    if let Some(names) = self.names_rule(path, key, v) {
                        for n in &names {
                            if !self.registry.coercers.contains_key(n) && !is_builtin_coercer(n) {
                                self.err(kpath.clone(), format!("unknown coercer '{n}'"));
                            }
                        }
                        if key == "coerce" {
                            r.coerce = Some(names);
                        } else {
                            r.rename_handler = Some(names);
                        }
                    }
                }
                "rename" => match v {
                    Value::String(s) => r.rename = Some(s.clone()),
                    other => self.err(
                        kpath,
                        format!("must be of string type, not {}", kind_of(other)),
                    ),
                },
                "check_with" | "validator" => {
                    if let Some(names) = self.names_rule(path, key, v) {
                        for n in &names {
                            if !self.registry.check_with.contains_key(n) {
                                self.err(
                                    kpath.clone(),
                                    format!("unknown check_with function '{n}'"),
                                );
                            }
                        }
                        r.checks.push(Check::CheckWith(names));
                    }
                }
                "unique" | "unique_within_resource" | "unique_to_user" => {
                    if self.bool_rule(path, key, v) == Some(true) {
                        r.checks.push(Check::Unique(match key.as_str() {
                            "unique" => UniqueKind::Plain,
                            "unique_within_resource" => UniqueKind::WithinResource,
                            _ => UniqueKind::ToUser,
                        }));
                    }
                }
                // Field-level roles (features.md §23.7): applied by the
                // request pipeline, not by validation; top-level fields only.
                "allowed_read_roles" | "allowed_write_roles" => {
                    if path.contains('.') {
                        self.err(
                            kpath,
                            "field-level roles apply to top-level fields only".to_string(),
                        );
                    } else {
                        self.names_rule(path, key, v);
                    }
                }
                "data_relation" => {
                    if let Some(rel) = self.compile_relation(v, &kpath) {
                        r.checks.push(Check::DataRelation(rel));
                    }
                }
                "anyof" | "allof" | "noneof" | "oneof" => {
                    let op = LogicOp::parse(key).expect("logic rule");
                    match v {
                        Value::Array(defs) if defs.iter().all(Value::is_object) => {
                            let defs = defs
                                .iter()
                                .enumerate()
                                .map(|(i, d)| {
                                    Arc::new(self.compile_alternative(
                                        map,
                                        d,
                                        &join(&kpath, &i.to_string()),
                                    ))
                                })
                                .collect();
                            r.checks.push(Check::Logic { op, defs });
                        }
                        other => self.err(
                            kpath,
                            format!("must be a list of rules mappings, not {}", kind_of(other)),
                        ),
                    }
                }
                other => {
                    // `*of_<rule>` typesavers.
                    if let Some((op, rule)) = other
                        .split_once('_')
                        .and_then(|(p, rule)| LogicOp::parse(p).map(|op| (op, rule)))
                    {
                        match v {
                            Value::Array(cs) => {
                                let defs = cs
                                    .iter()
                                    .enumerate()
                                    .map(|(i, c)| {
                                        let mut d = serde_json::Map::new();
                                        d.insert(rule.to_string(), c.clone());
                                        Arc::new(self.compile_alternative(
                                            map,
                                            &Value::Object(d),
                                            &join(&kpath, &i.to_string()),
                                        ))
                                    })
                                    .collect();
                                r.checks.push(Check::Logic { op, defs });
                            }
                            other => self.err(
                                kpath,
                                format!("must be of list type, not {}", kind_of(other)),
                            ),
                        }
                    } else if let Some(custom) = self.registry.rules.get(other) {
                        if custom.kind.accepts(v) {
                            r.checks.push(Check::Custom {
                                name: other.to_string(),
                                constraint: v.clone(),
                            });
                        } else {
                            self.err(
                                kpath,
                                format!(
                                    "must be of {} type, not {}",
                                    custom.kind.name(),
                                    kind_of(v)
                                ),
                            );
                        }
                    } else {
                        debug_assert!(!KNOWN_RULES.contains(&other));
                        self.err(kpath, format!("unknown rule '{other}'"));
                    }
                }
            }
        }
        r
    }

    /// An alternative of a logical rule: the field's `type` and
    /// `allow_unknown` are added when the alternative has none.
    fn compile_alternative(
        &mut self,
        field: &serde_json::Map<String, Value>,
        def: &Value,
        path: &str,
    ) -> Rules {
        let mut d = def.as_object().cloned().unwrap_or_default();
        for key in ["type", "allow_unknown"] {
            if !d.contains_key(key) {
                if let Some(v) = field.get(key) {
                    d.insert(key.to_string(), v.clone());
                }
            }
        }
        self.compile_rules(&Value::Object(d), path, false)
    }

    fn compile_sub_schema(
        &mut self,
        r: &Rules,
        v: &Value,
        path: &str,
        nested_names: bool,
    ) -> Option<SubSchema> {
        let Value::Object(m) = v else {
            self.err(
                path.to_string(),
                format!("must be of dict type, not {}", kind_of(v)),
            );
            return None;
        };
        let as_list = match &r.types {
            Some(ts) if ts.contains(&Ty::Dict) => false,
            Some(ts) if ts.contains(&Ty::List) || ts.contains(&Ty::Set) => true,
            // No telling type: a rules set when every key is a rule name.
            _ => {
                !m.is_empty()
                    && m.keys().all(|k| self.is_rule_name(k))
                    && !m.values().all(Value::is_object)
            }
        };
        if as_list {
            Some(SubSchema::List(Arc::new(
                self.compile_rules(v, path, false),
            )))
        } else {
            let def: IndexMap<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            Some(SubSchema::Dict(Arc::new(self.compile_fields(
                &def,
                path,
                nested_names,
            ))))
        }
    }

    fn is_rule_name(&self, k: &str) -> bool {
        KNOWN_RULES.contains(&k)
            || self.registry.rules.contains_key(k)
            || k.split_once('_')
                .is_some_and(|(p, _)| LogicOp::parse(p).is_some())
    }

    fn compile_relation(&mut self, v: &Value, path: &str) -> Option<Relation> {
        let Value::Object(m) = v else {
            self.err(
                path.to_string(),
                format!("must be of dict type, not {}", kind_of(v)),
            );
            return None;
        };
        let mut ok = true;
        for (k, x) in m {
            let good = match k.as_str() {
                "resource" | "field" => x.is_string(),
                "embeddable" | "version" => x.is_boolean(),
                _ => {
                    self.err(join(path, k), format!("unknown data_relation key '{k}'"));
                    ok = false;
                    continue;
                }
            };
            if !good {
                self.err(join(path, k), format!("wrong type: {}", kind_of(x)));
                ok = false;
            }
        }
        let resource = m.get("resource").and_then(Value::as_str);
        if resource.is_none() && !m.contains_key("resource") {
            self.err(join(path, "resource"), "required field");
            ok = false;
        }
        if !ok {
            return None;
        }
        Some(Relation {
            resource: resource.unwrap_or_default().to_string(),
            field: m.get("field").and_then(Value::as_str).map(str::to_string),
            version: m.get("version").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// A constraint value; strings on datetime fields are dates.
    fn constraint_value(&mut self, v: &Value, path: &str, is_datetime: bool) -> Option<Bson> {
        match v {
            Value::String(s) if is_datetime => match self.date_format.parse(s) {
                Some(d) => Some(Bson::DateTime(d)),
                None => {
                    self.err(
                        path.to_string(),
                        format!(
                            "'{s}' does not match DATE_FORMAT '{}'",
                            self.date_format.pattern()
                        ),
                    );
                    None
                }
            },
            other => Some(eve_query::json_to_bson(other)),
        }
    }
}

/// Field names are checked at the top level and in the first level of dict
/// schemas: `path` is empty at the top level, `x.schema` one level down.
fn check_names_depth(path: &str) -> bool {
    path.is_empty()
}
