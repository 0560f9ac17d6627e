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

mod checks;
mod fields;
mod nested;
mod normalize;

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
