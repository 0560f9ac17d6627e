//! Field-level validation: unknown fields, `required`, `readonly`, the
//! `type` rule and the order in which a field's definitions run.

use super::*;

impl<'s, 'c> V<'s, 'c> {
    pub(super) fn validate_unknown(&mut self, field: &Key) {
        if self.cfg.allow_unknown.truthy() {
            if let Unk::Rules(rules) = self.cfg.allow_unknown {
                let crumb = if self.cfg.is_child {
                    "allow_unknown"
                } else {
                    "__allow_unknown__"
                };
                let mut schema = SchemaMap::default();
                schema.insert(field.clone(), rules);
                let mut child = self.child(&[], &[crumb.into()], schema, self.cfg);
                child.update = false;
                let mut doc = Doc::default();
                doc.insert(
                    field.clone(),
                    self.doc().get(field).cloned().unwrap_or(Bson::Null),
                );
                child.validate(doc, false);
                let errs = child.take_errors();
                self.push_errors(errs);
            }
        } else {
            self.unknown_error(field);
        }
    }

    pub(super) fn validate_required(&mut self) {
        let required: Vec<Key> = self
            .schema
            .iter()
            .filter(|(_, r)| r.required.unwrap_or(self.cfg.require_all))
            .map(|(k, _)| k.clone())
            .filter(|k| !self.unrequired_by_excludes.contains(k))
            .collect();
        for field in required {
            if !self.doc().contains_key(&field) {
                self.msg(&field, "required", "required field".into());
            }
        }
        if !self.unrequired_by_excludes.is_empty() {
            let present: HashSet<Key> = self
                .doc()
                .iter()
                .filter(|(_, v)| **v != Bson::Null)
                .map(|(k, _)| k.clone())
                .collect();
            if self
                .unrequired_by_excludes
                .iter()
                .all(|k| !present.contains(k))
            {
                let missing: Vec<Key> = self
                    .unrequired_by_excludes
                    .iter()
                    .filter(|k| !present.contains(*k))
                    .cloned()
                    .collect();
                for field in missing {
                    self.msg(&field, "required", "required field".into());
                }
            }
        }
    }

    pub(super) fn drop_rules(&mut self, pred: impl Fn(&Q) -> bool) {
        self.remaining.retain(|q| !pred(q));
    }

    pub(super) fn validate_definitions(&mut self, rules: &'s Rules, field: &Key, value: &Bson) {
        // The queue's buffer is reused from field to field.
        let mut queue = std::mem::take(&mut self.remaining);
        queue.clear();
        queue.push(Q::Nullable);
        if rules.readonly_declared {
            queue.push(Q::Readonly);
        }
        if rules.types.is_some() {
            queue.push(Q::Type);
        }
        if rules.empty.is_some() {
            queue.push(Q::Empty);
        }
        queue.extend((0..rules.checks.len()).map(Q::Check));
        self.remaining = queue;
        while !self.remaining.is_empty() {
            let q = self.remaining.remove(0);
            match q {
                Q::Nullable => {
                    if *value == Bson::Null {
                        if !rules.nullable {
                            self.msg(field, "nullable", "null value not allowed".into());
                        }
                        self.drop_rules(|q| match q {
                            Q::Type | Q::Empty => true,
                            Q::Check(i) => rules.checks[*i].skipped_for_null(),
                            _ => false,
                        });
                    }
                }
                Q::Readonly => {
                    if self.check_readonly(field) {
                        self.remaining.clear();
                    }
                }
                Q::Type => {
                    let types = rules.types.as_deref().unwrap_or_default();
                    if !types.is_empty() && !types.iter().any(|t| self.type_matches(t, value)) {
                        let c = if rules.type_is_list {
                            pyfmt::list_repr(
                                &rules
                                    .type_names
                                    .iter()
                                    .map(|s| Bson::String(s.clone()))
                                    .collect::<Vec<_>>(),
                            )
                        } else {
                            rules.type_names.first().cloned().unwrap_or_default()
                        };
                        self.msg(field, "type", format!("must be of {c} type"));
                        self.remaining.clear();
                    }
                }
                Q::Empty => {
                    if pyfmt::py_len(value) == Some(0) {
                        self.drop_rules(|q| match q {
                            Q::Check(i) => rules.checks[*i].skipped_for_empty(),
                            _ => false,
                        });
                        if rules.empty == Some(false) {
                            self.msg(field, "empty", "empty values not allowed".into());
                        }
                    }
                }
                Q::Check(i) => self.run_check(rules, &rules.checks[i], field, value),
            }
        }
    }

    /// Eve's `readonly`: accepted when equal to the stored value. Returns
    /// true when the remaining rules of the field must be dropped.
    pub(super) fn check_readonly(&mut self, field: &Key) -> bool {
        let Some(rules) = self.schema.get(field).copied() else {
            return false;
        };
        let value = self.doc().get(field).unwrap_or(&NULL);
        let stored = match (self.sh.persisted, field) {
            (Some(p), Key::Str(s)) => p.get(s).unwrap_or(&NULL),
            _ => &NULL,
        };
        if !rules.readonly || py_eq(value, stored) {
            return false;
        }
        if !self.cfg.is_normalized {
            self.msg(field, "readonly", "field is read-only".into());
            self.readonly_failed.insert(field.clone());
        }
        self.cfg.is_normalized && self.readonly_failed.contains(field)
    }

    pub(super) fn type_matches(&self, t: &Ty, v: &Bson) -> bool {
        match t {
            Ty::String => matches!(v, Bson::String(_)),
            Ty::Integer => matches!(v, Bson::Int32(_) | Bson::Int64(_) | Bson::Boolean(_)),
            Ty::Float => matches!(
                v,
                Bson::Int32(_) | Bson::Int64(_) | Bson::Boolean(_) | Bson::Double(_)
            ),
            Ty::Number => matches!(v, Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_)),
            Ty::Boolean => matches!(v, Bson::Boolean(_)),
            Ty::Datetime | Ty::Date => matches!(v, Bson::DateTime(_)),
            Ty::Dict => matches!(v, Bson::Document(_)),
            Ty::List => matches!(v, Bson::Array(_)),
            Ty::Set => false,
            Ty::Binary => matches!(v, Bson::Binary(_)),
            Ty::Container => matches!(v, Bson::Array(_) | Bson::Document(_) | Bson::Binary(_)),
            Ty::ObjectId => match v {
                Bson::ObjectId(_) => true,
                Bson::String(s) => bson::oid::ObjectId::parse_str(s).is_ok(),
                Bson::Binary(b) => b.bytes.len() == 12,
                _ => false,
            },
            Ty::DbRef => matches!(v, Bson::Document(d) if pyfmt::as_dbref(d).is_some()),
            Ty::Decimal => matches!(v, Bson::Decimal128(_)),
            // A stored file's id (GridFS's ObjectId), or raw bytes.
            Ty::Media => matches!(v, Bson::Binary(_) | Bson::ObjectId(_)),
            Ty::Geo(g) => g.accepts(v, self.sh.schema.registry.geojson_custom_fields),
            Ty::Custom(name) => self
                .sh
                .schema
                .registry
                .types
                .get(name)
                .is_some_and(|t| (t.check)(v)),
        }
    }

    pub(super) fn context_document(&self) -> Document {
        doc_to_document(self.doc())
    }
}
