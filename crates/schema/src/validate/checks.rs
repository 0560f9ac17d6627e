//! The per-rule checks of a field value (`Check`: allowed values, lengths,
//! ranges, regex, uniqueness and relations, custom rules...), and the
//! store checks recorded for the caller.

use super::*;

impl<'s, 'c> V<'s, 'c> {
    pub(super) fn run_check(
        &mut self,
        rules: &'s Rules,
        check: &'s Check,
        field: &Key,
        value: &Bson,
    ) {
        match check {
            Check::MinLength(n) | Check::MaxLength(n) => {
                if let Some(len) = pyfmt::py_len(value) {
                    let min = matches!(check, Check::MinLength(_));
                    if (min && (len as i64) < *n) || (!min && (len as i64) > *n) {
                        let text = if min {
                            format!("min length is {n}")
                        } else {
                            format!("max length is {n}")
                        };
                        self.msg(field, check.rule_name(), text);
                    }
                }
            }
            Check::Min(c) | Check::Max(c) => {
                let min = matches!(check, Check::Min(_));
                if let Some(ord) = pyfmt::py_cmp(value, c) {
                    let bad = if min { ord.is_lt() } else { ord.is_gt() };
                    if bad {
                        let word = if min { "min" } else { "max" };
                        self.msg(field, word, format!("{word} value is {}", pyfmt::py_str(c)));
                    }
                }
            }
            Check::Allowed(allowed) => {
                if is_iterable(value) && !matches!(value, Bson::String(_)) {
                    let bad: Vec<Bson> = members(value)
                        .into_iter()
                        .filter(|x| !contains(allowed, x))
                        .collect();
                    if !bad.is_empty() {
                        self.msg(
                            field,
                            "allowed",
                            format!("unallowed values {}", pyfmt::tuple_repr(&bad)),
                        );
                    }
                } else if !contains(allowed, value) {
                    self.msg(
                        field,
                        "allowed",
                        format!("unallowed value {}", pyfmt::py_str(value)),
                    );
                }
            }
            Check::Forbidden(forbidden) => {
                if let Bson::Array(items) = value {
                    let mut bad: Vec<Bson> = Vec::new();
                    for x in items {
                        if contains(forbidden, x) && !contains(&bad, x) {
                            bad.push(x.clone());
                        }
                    }
                    if !bad.is_empty() {
                        self.msg(
                            field,
                            "forbidden",
                            format!("unallowed values {}", pyfmt::list_repr(&bad)),
                        );
                    }
                } else if contains(forbidden, value) {
                    self.msg(
                        field,
                        "forbidden",
                        format!("unallowed value {}", pyfmt::py_str(value)),
                    );
                }
            }
            Check::Contains(expected) => {
                if is_iterable(value) {
                    let have = members(value);
                    let mut missing: Vec<Bson> = Vec::new();
                    for x in expected {
                        if !contains(&have, x) && !contains(&missing, x) {
                            missing.push(x.clone());
                        }
                    }
                    if !missing.is_empty() {
                        self.msg(
                            field,
                            "contains",
                            format!("missing members {}", pyfmt::set_repr(&missing)),
                        );
                    }
                }
            }
            Check::Regex { pattern, re } => {
                if let Bson::String(s) = value {
                    if !re.is_match(s) {
                        self.msg(
                            field,
                            "regex",
                            format!("value does not match regex '{pattern}'"),
                        );
                    }
                }
            }
            Check::Schema => self.check_schema(rules, field, value),
            Check::Items => {
                let (Some(items), Bson::Array(values)) = (&rules.items, value) else {
                    return;
                };
                if items.len() != values.len() {
                    self.msg(
                        field,
                        "items",
                        format!(
                            "length of list should be {}, it is {}",
                            items.len(),
                            values.len()
                        ),
                    );
                } else {
                    let schema = items
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (Key::Int(i as i64), &**r))
                        .collect();
                    let mut child = self.child_of(field, "items", schema, self.cfg);
                    child.validate(doc_from_list(values), false);
                    let errs = child.take_errors();
                    self.group_error(field, "items", errs);
                }
            }
            Check::KeysRules => {
                let (Some(ks), Bson::Document(d)) = (&rules.keysrules, value) else {
                    return;
                };
                let schema = d.keys().map(|k| (Key::Str(k.clone()), &**ks)).collect();
                let mut child = self.child_of(field, "keysrules", schema, self.cfg);
                child.update = false;
                child.validate(
                    d.keys()
                        .map(|k| (Key::Str(k.clone()), Bson::String(k.clone())))
                        .collect(),
                    false,
                );
                let errs = child.take_errors();
                self.group_error(field, "keysrules", errs);
            }
            Check::ValuesRules => {
                let (Some(vs), Bson::Document(d)) = (&rules.valuesrules, value) else {
                    return;
                };
                let schema = d.keys().map(|k| (Key::Str(k.clone()), &**vs)).collect();
                let mut child = self.child_of(field, "valuesrules", schema, self.cfg);
                child.validate(doc_from_document(d), false);
                let errs = child.take_errors();
                self.group_error(field, "valuesrules", errs);
            }
            Check::Dependencies(deps) => self.check_dependencies(deps, field),
            Check::Excludes(names) => {
                let required = rules.required.unwrap_or(self.cfg.require_all);
                if required {
                    self.unrequired_by_excludes.insert(field.clone());
                    for n in names {
                        let k = Key::Str(n.clone());
                        if self.schema.contains_key(&k) {
                            self.unrequired_by_excludes.insert(k);
                        }
                    }
                }
                if names
                    .iter()
                    .any(|n| self.doc().contains_key(&Key::Str(n.clone())))
                {
                    let list = names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.msg(
                        field,
                        "excludes",
                        format!("{list} must not be present with '{}'", field.text()),
                    );
                }
            }
            Check::Logic { op, defs } => self.check_logic(*op, defs, field),
            Check::CheckWith(names) => {
                for name in names {
                    let Some(f) = self.sh.schema.registry.check_with.get(name).cloned() else {
                        continue;
                    };
                    let doc = self.context_document();
                    let root = doc_into_document((*self.root).clone());
                    let ctx = RuleContext {
                        resource: &self.sh.opts.resource,
                        original: self.sh.persisted,
                        document: &doc,
                        root: &root,
                        is_update: self.sh.is_update,
                    };
                    for m in f(&field.text(), value, &ctx) {
                        self.custom(field, m);
                    }
                }
            }
            Check::Custom { name, constraint } => {
                let Some(rule) = self.sh.schema.registry.rules.get(name).cloned() else {
                    return;
                };
                let doc = self.context_document();
                let root = doc_into_document((*self.root).clone());
                let ctx = RuleContext {
                    resource: &self.sh.opts.resource,
                    original: self.sh.persisted,
                    document: &doc,
                    root: &root,
                    is_update: self.sh.is_update,
                };
                if let Some(m) = (rule.check)(constraint, &field.text(), value, &ctx) {
                    self.custom(field, m);
                }
            }
            Check::Unique(kind) => {
                let path: Vec<String> = self
                    .doc_path
                    .iter()
                    .chain(std::iter::once(field))
                    .map(Key::text)
                    .collect();
                // The stored field: list positions are skipped.
                let dotted: Vec<String> = self
                    .doc_path
                    .iter()
                    .chain(std::iter::once(field))
                    .filter_map(|k| match k {
                        Key::Str(s) => Some(s.clone()),
                        Key::Int(_) => None,
                    })
                    .collect();
                let check = PendingCheck::Unique {
                    path,
                    field: dotted.join("."),
                    value: value.clone(),
                    within_resource: *kind == crate::compile::UniqueKind::WithinResource,
                    to_user: *kind == crate::compile::UniqueKind::ToUser,
                };
                self.pending(field, check, Schema::unique_message(value));
            }
            Check::DataRelation(rel) => {
                if !pyfmt::truthy(value) && rules.nullable {
                    return;
                }
                let target_field = self.sh.schema.relation_field(rel);
                let path: Vec<String> = self
                    .doc_path
                    .iter()
                    .chain(std::iter::once(field))
                    .map(Key::text)
                    .collect();
                if rel.version {
                    let (id, version) = match value {
                        Bson::Document(d) => {
                            (d.get(&target_field).cloned(), d.get("_version").cloned())
                        }
                        _ => (None, None),
                    };
                    let (Some(id), Some(version)) = (id, version) else {
                        self.custom(
                            field,
                            format!("versioned data_relation must be a dict with fields '{target_field}' and '_version'"),
                        );
                        return;
                    };
                    let text = Schema::data_relation_version_message(
                        &id,
                        &rel.resource,
                        &target_field,
                        &version,
                    );
                    let check = PendingCheck::DataRelation {
                        path,
                        resource: rel.resource.clone(),
                        field: target_field,
                        value: value.clone(),
                    };
                    self.pending(field, check, text);
                    return;
                }
                let items = match value {
                    Bson::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                for item in items {
                    // A DBRef is checked by its `$id`.
                    let item = match &item {
                        Bson::Document(d) => match pyfmt::as_dbref(d) {
                            Some((_, id, _)) => id.clone(),
                            None => item,
                        },
                        _ => item,
                    };
                    let v = match &item {
                        // Eve's lookup goes through its query "mongotizer",
                        // which turns ObjectId-like strings into ObjectIds.
                        Bson::String(s) => match bson::oid::ObjectId::parse_str(s) {
                            Ok(oid) if s.len() == 24 => Bson::ObjectId(oid),
                            _ => item.clone(),
                        },
                        _ => item.clone(),
                    };
                    let text = Schema::data_relation_message(&v, &rel.resource, &target_field);
                    let check = PendingCheck::DataRelation {
                        path: path.clone(),
                        resource: rel.resource.clone(),
                        field: target_field.clone(),
                        value: v,
                    };
                    self.pending(field, check, text);
                }
            }
        }
    }

    /// Records a store check; when its answer is known and it failed, the
    /// error is added right here, where Eve adds it.
    pub(super) fn pending(&mut self, field: &Key, check: PendingCheck, text: String) {
        if self.sh.failed.is_some_and(|f| f(&check)) {
            self.custom(field, text);
        }
        self.sh.pending.borrow_mut().push(check);
    }
}
