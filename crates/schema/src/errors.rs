//! Cerberus' error model, reproduced so that `_issues` comes out exactly as
//! Eve prints it: every error carries its document path and schema path,
//! the error list is re-sorted after every addition with Cerberus' path
//! comparison (through Python's list sort, whose handling of "equal" paths
//! is observable) while it is short (a long one is sorted once, in
//! `O(n log n)`), and the tree is built the way Cerberus' error handler
//! builds it.

use std::cmp::Ordering;

use indexmap::IndexMap;

/// A path segment: list positions are integers, everything else strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Int(i64),
    Str(String),
}

impl Key {
    pub(crate) fn text(&self) -> String {
        match self {
            Key::Int(i) => i.to_string(),
            Key::Str(s) => s.clone(),
        }
    }

    pub(crate) fn into_text(self) -> String {
        match self {
            Key::Int(i) => i.to_string(),
            Key::Str(s) => s,
        }
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key::Str(s.to_string())
    }
}

/// What an error is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A plain message.
    Msg(String),
    /// Errors of a sub-document, list or mapping (`schema`, `items`,
    /// `keysrules`, `valuesrules`): only the children are shown.
    Group(Vec<VErr>),
    /// A logical rule: its message, then the errors per definition index.
    Logic {
        rule: String,
        msg: String,
        defs: Vec<(usize, Vec<VErr>)>,
    },
}

/// One validation error.
#[derive(Debug, Clone)]
pub(crate) struct VErr {
    pub doc: Vec<Key>,
    pub schema: Vec<Key>,
    pub kind: Kind,
}

/// Cerberus' `compare_paths_lt`. Not a strict order: equal paths compare
/// "less" both ways, and mixed segment types always compare "less".
fn paths_lt(x: &[Key], y: &[Key]) -> bool {
    let min = x.len().min(y.len());
    if x[..min] == y[..min] {
        return x.len() == min;
    }
    for (a, b) in x.iter().zip(y) {
        match (a, b) {
            (Key::Int(p), Key::Int(q)) => {
                if p == q {
                    continue;
                }
                return p < q;
            }
            (Key::Str(p), Key::Str(q)) => {
                if p == q {
                    continue;
                }
                return p.chars().lt(q.chars());
            }
            _ => return true,
        }
    }
    false
}

fn err_lt(a: &VErr, b: &VErr) -> bool {
    if a.doc != b.doc {
        paths_lt(&a.doc, &b.doc)
    } else {
        paths_lt(&a.schema, &b.schema)
    }
}

/// Lists longer than this are sorted by [`sort_long`] instead of
/// [`py_sort`]: CPython itself switches from binary insertion to merging
/// runs at 64 elements.
pub(crate) const SHORT_LIST: usize = 64;

/// A total order that agrees with [`paths_lt`] wherever that one is
/// consistent: positions before names where both appear at one level.
fn paths_cmp(x: &[Key], y: &[Key]) -> Ordering {
    for (a, b) in x.iter().zip(y) {
        let o = match (a, b) {
            (Key::Int(p), Key::Int(q)) => p.cmp(q),
            (Key::Str(p), Key::Str(q)) => p.chars().cmp(q.chars()),
            (Key::Int(_), Key::Str(_)) => Ordering::Less,
            (Key::Str(_), Key::Int(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    x.len().cmp(&y.len())
}

/// Sorts a long error list in `O(n log n)`, stably, by document path then
/// schema path (the order [`py_sort`] gives for consistent paths).
pub(crate) fn sort_long(v: &mut [VErr]) {
    v.sort_by(|a, b| paths_cmp(&a.doc, &b.doc).then_with(|| paths_cmp(&a.schema, &b.schema)));
}

/// CPython's list sort for short lists (a run, then binary insertion),
/// which is what Cerberus' error lists go through.
pub(crate) fn py_sort(v: &mut [VErr]) {
    let n = v.len();
    if n < 2 {
        return;
    }
    let mut run = 2;
    if err_lt(&v[1], &v[0]) {
        while run < n && err_lt(&v[run], &v[run - 1]) {
            run += 1;
        }
        v[..run].reverse();
    } else {
        while run < n && !err_lt(&v[run], &v[run - 1]) {
            run += 1;
        }
    }
    for start in run..n {
        let (mut l, mut r) = (0, start);
        while l < r {
            let p = l + ((r - l) >> 1);
            if err_lt(&v[start], &v[p]) {
                r = p;
            } else {
                l = p + 1;
            }
        }
        v[l..=start].rotate_right(1);
    }
}

/// A node of the error tree: a field's entries (messages, and a mapping of
/// nested errors kept last).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tree {
    pub fields: IndexMap<Key, Vec<Entry>>,
}

#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Msg(String),
    Sub(Tree),
}

impl Tree {
    fn insert(&mut self, path: &[Key], msg: String) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let entries = self.fields.entry(first.clone()).or_default();
        if rest.is_empty() {
            let sub = match entries.pop() {
                Some(Entry::Sub(t)) => t,
                Some(m) => {
                    entries.push(m);
                    Tree::default()
                }
                None => Tree::default(),
            };
            entries.push(Entry::Msg(msg));
            entries.push(Entry::Sub(sub));
        } else {
            if !matches!(entries.last(), Some(Entry::Sub(_))) {
                entries.push(Entry::Sub(Tree::default()));
            }
            if let Some(Entry::Sub(t)) = entries.last_mut() {
                t.insert(rest, msg);
            }
        }
    }

    /// Adds a sorted error list, the way Cerberus' `BasicErrorHandler` does.
    pub(crate) fn extend(&mut self, errors: &[VErr]) {
        for e in errors {
            let mut e = e.clone();
            rewrite(&mut e, 0);
            self.add(&e);
        }
    }

    fn add(&mut self, e: &VErr) {
        match &e.kind {
            Kind::Msg(m) => self.insert(&e.doc, m.clone()),
            Kind::Group(children) => {
                for c in children {
                    self.add(c);
                }
            }
            Kind::Logic { msg, defs, .. } => {
                self.insert(&e.doc, msg.clone());
                for (_, errs) in defs {
                    for c in errs {
                        self.add(c);
                    }
                }
            }
        }
    }

    /// Drops empty nested mappings (Cerberus' `_purge_empty_dicts`).
    pub(crate) fn purge(&mut self) {
        for entries in self.fields.values_mut() {
            if let Some(Entry::Sub(t)) = entries.last_mut() {
                if t.fields.is_empty() {
                    entries.pop();
                } else {
                    t.purge();
                }
            }
        }
    }
}

/// Re-roots the errors of logical rules under `<rule> definition <i>`
/// (Cerberus' `_rewrite_error_path`).
fn rewrite(e: &mut VErr, offset: usize) {
    let base = e.doc.clone();
    match &mut e.kind {
        Kind::Msg(_) => {}
        Kind::Group(children) => {
            let start = base.len().saturating_sub(offset);
            for c in children.iter_mut() {
                let rel: Vec<Key> = c.doc.get(start..).map(<[Key]>::to_vec).unwrap_or_default();
                c.doc = base.iter().cloned().chain(rel).collect();
                rewrite(c, offset);
            }
        }
        Kind::Logic { rule, defs, .. } => {
            let start = base.len().saturating_sub(offset);
            for (i, errs) in defs.iter_mut() {
                let node = Key::Str(format!("{rule} definition {i}"));
                for c in errs.iter_mut() {
                    let rel: Vec<Key> = c.doc.get(start..).map(<[Key]>::to_vec).unwrap_or_default();
                    c.doc = base
                        .iter()
                        .cloned()
                        .chain(std::iter::once(node.clone()))
                        .chain(rel)
                        .collect();
                    rewrite(c, offset + 1);
                }
            }
        }
    }
}
