//! Normalization, in Cerberus' order: renaming, purging unknown fields,
//! defaults, coercion, then containers (sub-documents, list items, mapping
//! keys and values).

use super::*;

impl<'s, 'c> V<'s, 'c> {
    pub(super) fn normalized(&mut self, document: Doc) -> Doc {
        self.document = document;
        self.normalize_mapping();
        std::mem::take(&mut self.document)
    }

    // ---------------------------------------------------------- normalization

    pub(super) fn normalize_mapping(&mut self) {
        self.normalize_rename();
        if self.cfg.purge_unknown && !self.cfg.allow_unknown.truthy() {
            let schema = &self.schema;
            self.document.retain(|k, _| schema.contains_key(k));
        }
        // `readonly` before defaults, so that readonly + default works.
        let ro: Vec<Key> = self
            .schema
            .iter()
            .filter(|(k, r)| r.readonly && self.document.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for field in ro {
            self.check_readonly(&field);
        }
        self.normalize_defaults();
        self.normalize_coerce();
        self.normalize_containers();
        self.cfg.is_normalized = true;
    }

    pub(super) fn normalize_rename(&mut self) {
        let unknown_handler = self
            .cfg
            .allow_unknown
            .rules()
            .is_some_and(|r| r.rename_handler.is_some());
        if !unknown_handler
            && !self
                .schema
                .values()
                .any(|r| r.rename.is_some() || r.rename_handler.is_some())
        {
            return;
        }
        let fields: Vec<Key> = self.document.keys().cloned().collect();
        for field in fields {
            if let Some(rules) = self.schema.get(&field).copied() {
                let mut current = field.clone();
                if let Some(new) = &rules.rename {
                    let v = self.document.shift_remove(&field).unwrap_or(Bson::Null);
                    current = Key::Str(new.clone());
                    self.document.insert(current.clone(), v);
                }
                if let Some(handlers) = &rules.rename_handler {
                    self.rename_with(&current, handlers);
                }
            } else if let Some(h) = self
                .cfg
                .allow_unknown
                .rules()
                .and_then(|r| r.rename_handler.as_ref())
            {
                self.rename_with(&field, h);
            }
        }
    }

    pub(super) fn rename_with(&mut self, field: &Key, handlers: &[String]) {
        let name = Bson::String(field.text());
        let mut result = name.clone();
        for h in handlers {
            match self.apply_coercer(h, &result) {
                Ok(v) => result = v,
                Err(e) => {
                    self.msg(
                        field,
                        "rename_handler",
                        format!("field '{}' cannot be renamed: {e}", field.text()),
                    );
                    return;
                }
            }
        }
        if !py_eq(&result, &name) {
            let new = Key::Str(pyfmt::py_str(&result));
            if let Some(v) = self.document.shift_remove(field) {
                self.document.insert(new, v);
            }
        }
    }

    pub(super) fn apply_coercer(&self, name: &str, v: &Bson) -> Result<Bson, String> {
        match self.sh.schema.registry.coercers.get(name) {
            Some(f) => f(v),
            None => crate::coerce::builtin(name, v, &self.sh.schema.date_format),
        }
    }

    pub(super) fn persisted_has(&self, field: &Key) -> bool {
        match (self.sh.persisted, field) {
            (Some(p), Key::Str(s)) => p.contains_key(s),
            _ => false,
        }
    }

    pub(super) fn normalize_defaults(&mut self) {
        let empty: Vec<(Key, &'s Rules)> = self
            .schema
            .iter()
            .filter(|(k, r)| match self.document.get(*k) {
                None => true,
                Some(Bson::Null) => !r.nullable,
                Some(_) => false,
            })
            .map(|(k, r)| (k.clone(), *r))
            .collect();
        for (field, rules) in &empty {
            let Some(default) = &rules.default else {
                continue;
            };
            // Eve: a field sent (even as null) keeps its value; on PATCH a
            // stored field is not reset.
            if self.document.contains_key(field)
                || (self.cfg.is_update_op && self.persisted_has(field))
            {
                continue;
            }
            self.document.insert(field.clone(), default.clone());
        }
        let mut queue: Vec<(Key, &'s Rules)> = empty
            .into_iter()
            .filter(|(_, r)| r.default_setter.is_some())
            .collect();
        let mut seen: HashSet<Vec<Key>> = HashSet::default();
        while !queue.is_empty() {
            let (field, rules) = queue.remove(0);
            // Eve: not applied when the stored document has the field.
            if self.sh.persisted.is_none() || !self.persisted_has(&field) {
                let name = rules.default_setter.as_deref().unwrap_or_default();
                let setter = self.sh.schema.registry.default_setters.get(name).cloned();
                if let Some(setter) = setter {
                    let current = doc_to_document(&self.document);
                    match setter(&current) {
                        Ok(v) => {
                            self.document.insert(field.clone(), v);
                        }
                        Err(DefaultSetterError::MissingField(_)) => {
                            queue.push((field.clone(), rules))
                        }
                        Err(DefaultSetterError::Failed(e)) => self.msg(
                            &field,
                            "default_setter",
                            format!("default value for '{}' cannot be set: {e}", field.text()),
                        ),
                    }
                }
            }
            let state: Vec<Key> = queue.iter().map(|(k, _)| k.clone()).collect();
            if !seen.insert(state) {
                for (f, _) in queue.clone() {
                    self.msg(
                        &f,
                        "default_setter",
                        format!("default value for '{}' cannot be set: Circular dependencies of default setters.", f.text()),
                    );
                }
                break;
            }
        }
    }

    pub(super) fn normalize_coerce(&mut self) {
        let unknown_coerce = self
            .cfg
            .allow_unknown
            .rules()
            .is_some_and(|r| r.coerce.is_some());
        if !unknown_coerce && !self.schema.values().any(|r| r.coerce.is_some()) {
            return;
        }
        let fields: Vec<Key> = self.document.keys().cloned().collect();
        for field in fields {
            let (chain, nullable) = match self.schema.get(&field) {
                Some(r) => match &r.coerce {
                    Some(c) => (c, r.nullable),
                    None => continue,
                },
                None => match self
                    .cfg
                    .allow_unknown
                    .rules()
                    .and_then(|r| r.coerce.as_ref().map(|c| (c, r.nullable)))
                {
                    Some(x) => x,
                    None => continue,
                },
            };
            let mut value = self
                .document
                .get_mut(&field)
                .map(std::mem::take)
                .unwrap_or(Bson::Null);
            for name in chain {
                match self.apply_coercer(name, &value) {
                    Ok(v) => value = v,
                    Err(e) => {
                        if !(nullable && value == Bson::Null) {
                            self.msg(
                                &field,
                                "coerce",
                                format!("field '{}' cannot be coerced: {e}", field.text()),
                            );
                            self.coerce_failed.insert(field.clone());
                        }
                    }
                }
                if self.coerce_failed.contains(&field) {
                    break;
                }
            }
            self.document.insert(field, value);
        }
    }

    pub(super) fn normalize_containers(&mut self) {
        // Insertions below replace values in place: positions are stable.
        for i in 0..self.document.len() {
            let Some((key, value)) = self.document.get_index(i) else {
                continue;
            };
            let rules = self.schema.get(key).copied();
            if !container_work(self.cfg.allow_unknown, rules, value) {
                continue;
            }
            let field = key.clone();
            let value = self
                .document
                .get_index_mut(i)
                .map(|(_, v)| std::mem::take(v))
                .unwrap_or(Bson::Null);
            match value {
                Bson::Document(d) => {
                    let mut d = d;
                    if let Some(ks) = rules.and_then(|r| r.keysrules.as_deref()) {
                        d = self.normalize_keys(&field, d, ks);
                    }
                    if let Some(vs) = rules.and_then(|r| r.valuesrules.as_deref()) {
                        let schema = d.keys().map(|k| (Key::Str(k.clone()), vs)).collect();
                        let mut child = self.child_of(&field, "valuesrules", schema, self.cfg);
                        d = doc_into_document(child.normalized(doc_from_owned_document(d)));
                        let errs = child.take_errors();
                        self.push_errors(errs);
                    }
                    let wants_schema = match rules {
                        Some(r) => {
                            r.allow_unknown.is_some()
                                || r.purge_unknown.is_some()
                                || matches!(r.schema, Some(SubSchema::Dict(_)))
                        }
                        None => false,
                    } || matches!(self.cfg.allow_unknown, Unk::Rules(_));
                    let list_schema = matches!(
                        rules.and_then(|r| r.schema.as_ref()),
                        Some(SubSchema::List(_))
                    );
                    if wants_schema && !list_schema {
                        d = self.normalize_sub_document(&field, rules, d);
                    }
                    self.document.insert(field, Bson::Document(d));
                }
                Bson::Array(a) => {
                    let Some(r) = rules else { continue };
                    if let Some(SubSchema::List(item)) = &r.schema {
                        // Normalizing the items would change nothing and
                        // report nothing: the list stays as it is.
                        if cfg_normalizes_nothing(&self.cfg)
                            && normalizes_nothing(item)
                            && a.iter()
                                .all(|v| !container_work(self.cfg.allow_unknown, Some(item), v))
                        {
                            self.document.insert(field, Bson::Array(a));
                            continue;
                        }
                        let schema = (0..a.len())
                            .map(|i| (Key::Int(i as i64), &**item))
                            .collect();
                        let mut child = self.child_of(&field, "schema", schema, self.cfg);
                        let out = child.normalized(doc_from_owned_list(a));
                        let errs = child.take_errors();
                        self.document
                            .insert(field, Bson::Array(out.into_values().collect()));
                        self.push_errors(errs);
                    } else if let (None, Some(items)) = (&r.schema, &r.items) {
                        let schema = items
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Key::Int(i as i64), &**x))
                            .collect();
                        let mut child = self.child_of(&field, "items", schema, self.cfg);
                        let out = child.normalized(doc_from_owned_list(a));
                        let errs = child.take_errors();
                        self.document
                            .insert(field, Bson::Array(out.into_values().collect()));
                        self.push_errors(errs);
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) fn normalize_keys(&mut self, field: &Key, d: Document, ks: &'s Rules) -> Document {
        let schema = d.keys().map(|k| (Key::Str(k.clone()), ks)).collect();
        let doc: Doc = d
            .keys()
            .map(|k| (Key::Str(k.clone()), Bson::String(k.clone())))
            .collect();
        let mut child = self.child_of(field, "keysrules", schema, self.cfg);
        let result = child.normalized(doc);
        let errs = child.take_errors();
        self.push_errors(errs);
        let mut d = d;
        for (k, new) in result {
            let old = k.text();
            let new = pyfmt::py_str(&new);
            if old == new {
                continue;
            }
            if let Some(v) = d.get(&old).cloned() {
                let existed = d.contains_key(&new);
                d.insert(new, v);
                if !existed {
                    d.remove(&old);
                }
            }
        }
        d
    }

    pub(super) fn normalize_sub_document(
        &mut self,
        field: &Key,
        rules: Option<&'s Rules>,
        d: Document,
    ) -> Document {
        let rules = rules.or(self.cfg.allow_unknown.rules());
        let fields = match rules.and_then(|r| r.schema.as_ref()) {
            Some(SubSchema::Dict(m)) => Some(&**m),
            _ => None,
        };
        let mut cfg = self.cfg;
        if let Some(r) = rules {
            if let Some(u) = &r.allow_unknown {
                cfg.allow_unknown = Unk::from_rule(u);
            }
            if let Some(p) = r.purge_unknown {
                cfg.purge_unknown = p;
            }
            if let Some(p) = r.require_all {
                cfg.require_all = p;
            }
        }
        // Normalizing the sub-document would change nothing and report
        // nothing: it stays as it is.
        if cfg_normalizes_nothing(&cfg)
            && fields.is_none_or(|f| f.values().all(normalizes_nothing))
            && d.iter()
                .all(|(k, v)| !container_work(cfg.allow_unknown, fields.and_then(|f| f.get(k)), v))
        {
            return d;
        }
        let schema = match fields {
            Some(m) => m.iter().map(|(k, r)| (Key::Str(k.clone()), r)).collect(),
            None => SchemaMap::default(),
        };
        let mut child = self.child_of(field, "schema", schema, cfg);
        let out = child.normalized(doc_from_owned_document(d));
        let errs = child.take_errors();
        self.push_errors(errs);
        doc_into_document(out)
    }
}
