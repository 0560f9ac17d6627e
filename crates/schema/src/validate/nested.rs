//! Rules that look into or across documents: `schema` (sub-documents and
//! list items), `dependencies`, and the logical rules (`anyof`, `allof`,
//! `oneof`, `noneof`).

use super::*;

impl<'s, 'c> V<'s, 'c> {
    pub(super) fn check_schema(&mut self, rules: &'s Rules, field: &Key, value: &Bson) {
        match (&rules.schema, value) {
            (Some(SubSchema::Dict(fields)), Bson::Document(d)) => {
                let schema = fields
                    .iter()
                    .map(|(k, r)| (Key::Str(k.clone()), r))
                    .collect();
                let mut cfg = self.cfg;
                cfg.allow_unknown = match &rules.allow_unknown {
                    Some(u) => Unk::from_rule(u),
                    None => self.logic_allow_unknown.unwrap_or(self.cfg.allow_unknown),
                };
                if let Some(r) = rules.require_all {
                    cfg.require_all = r;
                }
                let mut child = self.child_of(field, "schema", schema, cfg);
                child.validate(doc_from_document(d), false);
                let errs = child.take_errors();
                self.group_error(field, "schema", errs);
            }
            (Some(SubSchema::List(item)), Bson::Array(a)) => {
                let schema = (0..a.len())
                    .map(|i| (Key::Int(i as i64), &**item))
                    .collect();
                let mut child = self.child_of(field, "schema", schema, self.cfg);
                child.validate(doc_from_list(a), false);
                let errs = child.take_errors();
                self.group_error(field, "schema", errs);
            }
            _ => {}
        }
    }

    /// Cerberus' `_lookup_field`: dotted names, `^` for the root document.
    pub(super) fn lookup(&self, path: &str) -> Option<&Bson> {
        let (ctx, path): (&Doc, &str) = match path.strip_prefix('^') {
            Some(rest) if rest.starts_with('^') => (self.doc(), rest),
            Some(rest) => (&self.root, rest),
            None => (self.doc(), path),
        };
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut cur = ctx.get(&Key::Str(first.to_string()))?;
        for part in parts {
            cur = match cur {
                Bson::Document(d) => d.get(part)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    pub(super) fn check_dependencies(&mut self, deps: &Deps, field: &Key) {
        // Eve: dependencies stored in the original document count. Eve
        // iterates the constraint, so a single name is taken letter by
        // letter (only one-letter names ever match).
        let names: Vec<String> = match deps {
            Deps::Names(n)
                if n.len() == 1
                    && matches!(
                        self.schema.get(field).map(|r| &r.raw["dependencies"]),
                        Some(serde_json::Value::String(_))
                    ) =>
            {
                n[0].chars().map(|c| c.to_string()).collect()
            }
            Deps::Names(n) => n.clone(),
            Deps::Values { map, .. } => map.iter().map(|(k, _)| k.clone()).collect(),
        };
        let persisted: Vec<String> = match self.sh.persisted {
            Some(p) => names
                .into_iter()
                .filter(|n| !self.doc().contains_key(&Key::Str(n.clone())) && p.contains_key(n))
                .collect(),
            None => Vec::new(),
        };
        if let (false, Some(p)) = (persisted.is_empty(), self.sh.persisted) {
            let mut dcopy = self.doc().clone();
            for n in &persisted {
                dcopy.insert(Key::Str(n.clone()), p.get(n).cloned().unwrap_or(Bson::Null));
            }
            let mut child = self.child(&[], &[], self.schema.clone(), self.cfg);
            child.validate(dcopy, true);
            let errs = child.take_errors();
            self.push_errors(errs);
            return;
        }
        match deps {
            Deps::Names(names) => {
                for n in names {
                    if self.lookup(n).is_none() {
                        self.msg(field, "dependencies", format!("field '{n}' is required"));
                    }
                }
            }
            Deps::Values { map, repr } => {
                let ok = map.iter().all(|(name, wanted)| {
                    let v = self.lookup(name).unwrap_or(&NULL);
                    contains(wanted, v)
                });
                if !ok {
                    self.msg(
                        field,
                        "dependencies",
                        format!("depends on these values: {repr}"),
                    );
                }
            }
        }
    }

    pub(super) fn check_logic(
        &mut self,
        op: LogicOp,
        defs: &'s [std::sync::Arc<Rules>],
        field: &Key,
    ) {
        let mut valid = 0;
        let mut per_def: Vec<(usize, Vec<VErr>)> = Vec::new();
        for (i, def) in defs.iter().enumerate() {
            let mut schema = SchemaMap::default();
            schema.insert(field.clone(), &**def);
            let mut cfg = self.cfg;
            cfg.allow_unknown = Unk::Flag(true);
            let mut child = self.child(
                &[],
                &[
                    field.clone(),
                    Key::Str(op.name().to_string()),
                    Key::Int(i as i64),
                ],
                schema,
                cfg,
            );
            // The alternative inherits the validator's allow_unknown for its
            // own sub-documents unless it declares one.
            child.logic_allow_unknown = Some(match &def.allow_unknown {
                Some(u) => Unk::from_rule(u),
                None => self.cfg.allow_unknown,
            });
            child.validate(self.doc().clone(), false);
            let errs = child.take_errors();
            if errs.is_empty() {
                valid += 1;
            } else {
                per_def.push((i, errs));
            }
        }
        let n = defs.len();
        let text = match op {
            LogicOp::AnyOf if valid < 1 => "no definitions validate",
            LogicOp::AllOf if valid < n => "one or more definitions don't validate",
            LogicOp::NoneOf if valid > 0 => "one or more definitions validate",
            LogicOp::OneOf if valid != 1 => "none or more than one rule validate",
            _ => return,
        };
        self.error(
            field,
            op.name(),
            Kind::Logic {
                rule: op.name().to_string(),
                msg: text.to_string(),
                defs: per_def,
            },
        );
    }
}
