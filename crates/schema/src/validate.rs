//! Normalization and validation of one document, following Cerberus'
//! processing model (as extended by Eve) step by step, because the order of
//! operations is visible in `_issues`: a validator per (sub-)document with
//! its own document path, schema path and error list; child validators for
//! sub-documents, list items, mapping keys/values and logical alternatives.

use std::rc::Rc;

use bson::{Bson, Document};
use indexmap::{IndexMap, IndexSet};

use crate::compile::{Check, Deps, LogicOp, Rules, SubSchema, Ty, Unknown};
use crate::errors::{py_sort, sort_long, Key, Kind, Tree, VErr, SHORT_LIST};
use crate::pyfmt::{self, py_eq};
use crate::registry::{DefaultSetterError, RuleContext};
use crate::{Issues, Mode, Options, Outcome, PendingCheck, Schema};

/// The validator's own maps and sets are keyed by field names the client
/// chose: a fast hasher with a per-process random seed.
type S = foldhash::fast::RandomState;
type HashSet<T> = std::collections::HashSet<T, S>;
type Doc = IndexMap<Key, Bson, S>;

static NULL: Bson = Bson::Null;
type SchemaMap<'s> = IndexMap<Key, &'s Rules, S>;

/// `allow_unknown` in effect for a validator.
#[derive(Clone, Copy)]
enum Unk<'s> {
    Flag(bool),
    Rules(&'s Rules),
}

impl<'s> Unk<'s> {
    fn from_rule(u: &'s Unknown) -> Unk<'s> {
        match u {
            Unknown::Flag(b) => Unk::Flag(*b),
            Unknown::Rules(r) => Unk::Rules(r),
        }
    }

    fn truthy(self) -> bool {
        match self {
            Unk::Flag(b) => b,
            Unk::Rules(r) => r.raw.as_object().is_some_and(|m| !m.is_empty()),
        }
    }

    fn rules(self) -> Option<&'s Rules> {
        match self {
            Unk::Rules(r) => Some(r),
            Unk::Flag(_) => None,
        }
    }
}

/// Settings a child validator inherits.
#[derive(Clone, Copy)]
struct Config<'s> {
    allow_unknown: Unk<'s>,
    purge_unknown: bool,
    require_all: bool,
    is_child: bool,
    is_normalized: bool,
    /// Eve's `is_update_operation`: set on the root validator only.
    is_update_op: bool,
}

/// What every validator of one validation shares.
struct Shared<'s> {
    schema: &'s Schema,
    opts: &'s Options,
    persisted: Option<&'s Document>,
    is_update: bool,
    pending: std::cell::RefCell<Vec<PendingCheck>>,
    /// Answers of the store checks, when known: true when a check failed.
    failed: Option<&'s dyn Fn(&PendingCheck) -> bool>,
}

/// The rule queue entries evaluated before the definition-order rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Q {
    Nullable,
    Readonly,
    Type,
    Empty,
    Check(usize),
}

struct V<'s, 'c> {
    sh: &'c Shared<'s>,
    cfg: Config<'s>,
    schema: SchemaMap<'s>,
    doc_path: Vec<Key>,
    schema_path: Vec<Key>,
    /// The document while it is normalized (owned, mutable).
    document: Doc,
    /// The document once normalization is over: validation only reads it,
    /// so it is shared (with the children's `root` for the root validator)
    /// instead of copied. `None` until then.
    vdoc: Option<Rc<Doc>>,
    root: Rc<Doc>,
    errors: Vec<VErr>,
    /// `errors` is long and not sorted yet (see [`V::push_errors`]).
    errors_unsorted: bool,
    update: bool,
    remaining: Vec<Q>,
    unrequired_by_excludes: IndexSet<Key, S>,
    coerce_failed: HashSet<Key>,
    readonly_failed: HashSet<Key>,
    /// In a logical alternative's validator: the `allow_unknown` the
    /// alternative passes to its own sub-document.
    logic_allow_unknown: Option<Unk<'s>>,
}

fn doc_from_document(d: &Document) -> Doc {
    d.iter()
        .map(|(k, v)| (Key::Str(k.clone()), v.clone()))
        .collect()
}

fn doc_from_owned_document(d: Document) -> Doc {
    d.into_iter().map(|(k, v)| (Key::Str(k), v)).collect()
}

fn doc_from_list(a: &[Bson]) -> Doc {
    a.iter()
        .enumerate()
        .map(|(i, v)| (Key::Int(i as i64), v.clone()))
        .collect()
}

fn doc_from_owned_list(a: Vec<Bson>) -> Doc {
    a.into_iter()
        .enumerate()
        .map(|(i, v)| (Key::Int(i as i64), v))
        .collect()
}

fn doc_into_document(d: Doc) -> Document {
    d.into_iter().map(|(k, v)| (k.into_text(), v)).collect()
}

fn doc_to_document(d: &Doc) -> Document {
    d.iter().map(|(k, v)| (k.text(), v.clone())).collect()
}

fn is_iterable(v: &Bson) -> bool {
    matches!(
        v,
        Bson::String(_) | Bson::Array(_) | Bson::Document(_) | Bson::Binary(_)
    )
}

/// The members Python iterates over (dict keys for mappings, characters
/// for strings).
fn members(v: &Bson) -> Vec<Bson> {
    match v {
        Bson::Array(a) => a.clone(),
        Bson::Document(d) => d.keys().map(|k| Bson::String(k.clone())).collect(),
        Bson::String(s) => s.chars().map(|c| Bson::String(c.to_string())).collect(),
        _ => Vec::new(),
    }
}

fn contains(list: &[Bson], v: &Bson) -> bool {
    list.iter().any(|x| py_eq(x, v))
}

/// Whether [`V::normalize_containers`] has anything to do with a value.
fn container_work(allow_unknown: Unk<'_>, rules: Option<&Rules>, value: &Bson) -> bool {
    match value {
        Bson::Document(_) => {
            let wants_schema = match rules {
                Some(r) => {
                    r.allow_unknown.is_some()
                        || r.purge_unknown.is_some()
                        || matches!(r.schema, Some(SubSchema::Dict(_)))
                }
                None => false,
            } || matches!(allow_unknown, Unk::Rules(_));
            let list_schema = matches!(
                rules.and_then(|r| r.schema.as_ref()),
                Some(SubSchema::List(_))
            );
            rules.is_some_and(|r| r.keysrules.is_some() || r.valuesrules.is_some())
                || (wants_schema && !list_schema)
        }
        Bson::Array(a) => match rules {
            Some(r) => match (&r.schema, &r.items) {
                (Some(SubSchema::List(_)), _) => true,
                (None, Some(items)) => items.len() == a.len(),
                _ => false,
            },
            None => false,
        },
        _ => false,
    }
}

/// Whether a rules set has no normalization rule (rename, default,
/// coercion, `readonly`).
fn normalizes_nothing(r: &Rules) -> bool {
    r.rename.is_none()
        && r.rename_handler.is_none()
        && !r.readonly
        && r.default.is_none()
        && r.default_setter.is_none()
        && r.coerce.is_none()
}

/// Whether a child validator with this configuration neither purges nor
/// normalizes unknown fields.
fn cfg_normalizes_nothing(cfg: &Config<'_>) -> bool {
    // Unknown fields are purged when `purge_unknown` holds and
    // `allow_unknown` does not.
    !matches!(cfg.allow_unknown, Unk::Rules(_))
        && (!cfg.purge_unknown || cfg.allow_unknown.truthy())
}

impl<'s, 'c> V<'s, 'c> {
    fn child(
        &self,
        doc_crumb: &[Key],
        schema_crumb: &[Key],
        schema: SchemaMap<'s>,
        cfg: Config<'s>,
    ) -> V<'s, 'c> {
        let doc_path = self.doc_path.iter().chain(doc_crumb).cloned().collect();
        let schema_path = self
            .schema_path
            .iter()
            .chain(schema_crumb)
            .cloned()
            .collect();
        self.child_at(doc_path, schema_path, schema, cfg)
    }

    /// A child for the sub-document (list, mapping) at `field`, under the
    /// schema path `<field>.<rule>`.
    fn child_of(
        &self,
        field: &Key,
        rule: &str,
        schema: SchemaMap<'s>,
        cfg: Config<'s>,
    ) -> V<'s, 'c> {
        let mut doc_path = Vec::with_capacity(self.doc_path.len() + 1);
        doc_path.extend_from_slice(&self.doc_path);
        doc_path.push(field.clone());
        let mut schema_path = Vec::with_capacity(self.schema_path.len() + 2);
        schema_path.extend_from_slice(&self.schema_path);
        schema_path.push(field.clone());
        schema_path.push(Key::Str(rule.to_string()));
        self.child_at(doc_path, schema_path, schema, cfg)
    }

    fn child_at(
        &self,
        doc_path: Vec<Key>,
        schema_path: Vec<Key>,
        schema: SchemaMap<'s>,
        cfg: Config<'s>,
    ) -> V<'s, 'c> {
        let mut cfg = cfg;
        cfg.is_child = true;
        cfg.is_update_op = false;
        V {
            sh: self.sh,
            cfg,
            schema,
            doc_path,
            schema_path,
            document: Doc::default(),
            vdoc: None,
            root: self.root.clone(),
            errors: Vec::new(),
            errors_unsorted: false,
            update: self.update,
            remaining: Vec::new(),
            unrequired_by_excludes: IndexSet::default(),
            coerce_failed: HashSet::default(),
            readonly_failed: HashSet::default(),
            logic_allow_unknown: None,
        }
    }

    // ---------------------------------------------------------------- errors

    /// Adds errors (a child validator's, say) and keeps Eve's order; no-op
    /// when there are none.
    ///
    /// Cerberus sorts its list on every addition; so does this while the
    /// list is short. A longer list (a document with many unknown fields or
    /// invalid list items) is sorted once, when it is taken
    /// ([`V::take_errors`]), so validation stays linear in the errors.
    fn push_errors(&mut self, errs: Vec<VErr>) {
        if errs.is_empty() {
            return;
        }
        self.errors.extend(errs);
        if self.errors.len() < SHORT_LIST {
            py_sort(&mut self.errors);
        } else {
            self.errors_unsorted = true;
        }
    }

    /// The errors found, in order; the list is left empty.
    fn take_errors(&mut self) -> Vec<VErr> {
        if std::mem::take(&mut self.errors_unsorted) {
            sort_long(&mut self.errors);
        }
        std::mem::take(&mut self.errors)
    }

    /// Reports a child validator's errors as one group error of `field`
    /// under `rule`; no-op when the child found nothing.
    fn group_error(&mut self, field: &Key, rule: &str, errs: Vec<VErr>) {
        if !errs.is_empty() {
            self.error(field, rule, Kind::Group(errs));
        }
    }

    fn error(&mut self, field: &Key, rule: &str, kind: Kind) {
        let mut schema_path = self.schema_path.clone();
        schema_path.push(field.clone());
        schema_path.push(Key::Str(rule.to_string()));
        let mut doc = self.doc_path.clone();
        doc.push(field.clone());
        self.push_errors(vec![VErr {
            doc,
            schema: schema_path,
            kind,
        }]);
    }

    fn msg(&mut self, field: &Key, rule: &str, text: String) {
        self.error(field, rule, Kind::Msg(text));
    }

    /// A custom error (`self._error(field, message)`): its schema path is
    /// the validator's own.
    fn custom(&mut self, field: &Key, text: String) {
        let mut doc = self.doc_path.clone();
        doc.push(field.clone());
        let schema = self.schema_path.clone();
        self.push_errors(vec![VErr {
            doc,
            schema,
            kind: Kind::Msg(text),
        }]);
    }

    fn unknown_error(&mut self, field: &Key) {
        let mut doc = self.doc_path.clone();
        doc.push(field.clone());
        let schema = self.schema_path.clone();
        self.push_errors(vec![VErr {
            doc,
            schema,
            kind: Kind::Msg("unknown field".into()),
        }]);
    }

    // -------------------------------------------------------------- top level

    /// The document: the one being normalized, then the shared one being
    /// validated.
    fn doc(&self) -> &Doc {
        self.vdoc.as_deref().unwrap_or(&self.document)
    }

    fn validate(&mut self, document: Doc, normalize: bool) {
        self.document = document;
        if normalize {
            self.normalize_mapping();
        }
        // Validation does not change the document: it is shared from here
        // on (the root validator's is also the `root` of its children;
        // nothing reads `root` during normalization).
        let doc = Rc::new(std::mem::take(&mut self.document));
        if !self.cfg.is_child {
            self.root = Rc::clone(&doc);
        }
        self.vdoc = Some(Rc::clone(&doc));
        for (field, value) in doc.iter() {
            match self.schema.get(field).copied() {
                Some(rules) => self.validate_definitions(rules, field, value),
                None => self.validate_unknown(field),
            }
        }
        if !self.update {
            self.validate_required();
        }
    }

    /// Takes the validated document back (the root validator, once its
    /// children are gone).
    fn into_document(self) -> Doc {
        let V {
            vdoc,
            root,
            document,
            ..
        } = self;
        drop(root);
        match vdoc {
            Some(d) => Rc::try_unwrap(d).unwrap_or_else(|d| (*d).clone()),
            None => document,
        }
    }

    fn normalized(&mut self, document: Doc) -> Doc {
        self.document = document;
        self.normalize_mapping();
        std::mem::take(&mut self.document)
    }

    // ---------------------------------------------------------- normalization

    fn normalize_mapping(&mut self) {
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

    fn normalize_rename(&mut self) {
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

    fn rename_with(&mut self, field: &Key, handlers: &[String]) {
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

    fn apply_coercer(&self, name: &str, v: &Bson) -> Result<Bson, String> {
        match self.sh.schema.registry.coercers.get(name) {
            Some(f) => f(v),
            None => crate::coerce::builtin(name, v, &self.sh.schema.date_format),
        }
    }

    fn persisted_has(&self, field: &Key) -> bool {
        match (self.sh.persisted, field) {
            (Some(p), Key::Str(s)) => p.contains_key(s),
            _ => false,
        }
    }

    fn normalize_defaults(&mut self) {
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

    fn normalize_coerce(&mut self) {
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

    fn normalize_containers(&mut self) {
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

    fn normalize_keys(&mut self, field: &Key, d: Document, ks: &'s Rules) -> Document {
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

    fn normalize_sub_document(
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

    // ------------------------------------------------------------- validation

    fn validate_unknown(&mut self, field: &Key) {
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

    fn validate_required(&mut self) {
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

    fn drop_rules(&mut self, pred: impl Fn(&Q) -> bool) {
        self.remaining.retain(|q| !pred(q));
    }

    fn validate_definitions(&mut self, rules: &'s Rules, field: &Key, value: &Bson) {
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
    fn check_readonly(&mut self, field: &Key) -> bool {
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

    fn type_matches(&self, t: &Ty, v: &Bson) -> bool {
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
            Ty::Media => matches!(v, Bson::Binary(_)),
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

    fn context_document(&self) -> Document {
        doc_to_document(self.doc())
    }

    fn run_check(&mut self, rules: &'s Rules, check: &'s Check, field: &Key, value: &Bson) {
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
    fn pending(&mut self, field: &Key, check: PendingCheck, text: String) {
        if self.sh.failed.is_some_and(|f| f(&check)) {
            self.custom(field, text);
        }
        self.sh.pending.borrow_mut().push(check);
    }

    fn check_schema(&mut self, rules: &'s Rules, field: &Key, value: &Bson) {
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
    fn lookup(&self, path: &str) -> Option<&Bson> {
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

    fn check_dependencies(&mut self, deps: &Deps, field: &Key) {
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

    fn check_logic(&mut self, op: LogicOp, defs: &'s [std::sync::Arc<Rules>], field: &Key) {
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

/// Runs normalization and validation of a whole document.
pub(crate) fn run<'s>(
    schema: &'s Schema,
    doc: Document,
    mode: Mode<'s>,
    options: &'s Options,
    failed: Option<&'s dyn Fn(&PendingCheck) -> bool>,
) -> Outcome {
    let (persisted, update, normalize) = match mode {
        Mode::Insert => (None, false, true),
        Mode::Replace { original } => (Some(original), false, true),
        Mode::Update {
            original,
            normalize,
        } => (Some(original), true, normalize),
    };
    let sh = Shared {
        schema,
        opts: options,
        persisted,
        is_update: update,
        pending: Default::default(),
        failed,
    };
    let mut fields: SchemaMap<'_> = schema
        .fields
        .iter()
        .map(|(k, r)| (Key::Str(k.clone()), r))
        .collect();
    let id = Key::Str(options.id_field.clone());
    if !fields.contains_key(&id) {
        fields.insert(id, &schema.id_rules);
    }
    let mut v = V {
        sh: &sh,
        cfg: Config {
            allow_unknown: Unk::Flag(options.allow_unknown),
            purge_unknown: false,
            require_all: false,
            is_child: false,
            is_normalized: false,
            is_update_op: update,
        },
        schema: fields,
        doc_path: Vec::new(),
        schema_path: Vec::new(),
        document: Doc::default(),
        vdoc: None,
        root: Rc::new(Doc::default()),
        errors: Vec::new(),
        errors_unsorted: false,
        update,
        remaining: Vec::new(),
        unrequired_by_excludes: IndexSet::default(),
        coerce_failed: HashSet::default(),
        readonly_failed: HashSet::default(),
        logic_allow_unknown: None,
    };
    v.validate(doc_from_owned_document(doc), normalize);
    let errors = v.take_errors();
    let mut tree = Tree::default();
    tree.extend(&errors);
    tree.purge();
    let document = doc_into_document(v.into_document());
    Outcome {
        document,
        issues: Issues::from_tree(&tree),
        pending: sh.pending.into_inner(),
    }
}
