//! The pipeline stages: parsing and running each.

use bson::{Bson, Document};

use super::compound::{Bucket, Facet, Lookup};
use super::expr::{parse_path, Expr};
use super::group::GroupSpec;
use super::{agg_err, check_field_name, doc_size, memory_error, type_name, RunCtx};
use crate::projection::is_truthy;
use crate::{project_document, Filter, QueryError, SortDir, SortSpec, TopK, MAX_SORT_KEYS};

/// One parsed stage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Stage {
    Match(Filter),
    Project(Projection),
    AddFields(Vec<(String, Expr)>),
    Unset(Document),
    Group(GroupSpec),
    Sort(SortSpec),
    Skip(u64),
    Limit(u64),
    Count(String),
    Unwind(Unwind),
    ReplaceRoot(Expr),
    SortByCount(Expr),
    Facet(Facet),
    Lookup(Lookup),
    Bucket(Box<Bucket>),
}

/// A `$project`: the kept or dropped paths (a find projection) and the
/// computed fields, set afterwards.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Projection {
    paths: Document,
    computed: Vec<(String, Expr)>,
}

/// An `$unwind`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unwind {
    path: Vec<String>,
    preserve: bool,
    index_field: Option<String>,
}

impl Stage {
    /// Parses one stage document.
    pub(crate) fn parse(stage: &Document) -> Result<Stage, QueryError> {
        let mut it = stage.iter();
        let (Some((name, arg)), None) = (it.next(), it.next()) else {
            return Err(agg_err(
                "a pipeline stage specification object must contain exactly one field".into(),
            ));
        };
        Ok(match name.as_str() {
            "$match" => Stage::Match(Filter::parse(as_doc(arg, name)?)?),
            "$project" => Stage::Project(parse_project(as_doc(arg, name)?)?),
            "$addFields" | "$set" => {
                let fields = flatten(as_doc(arg, name)?, name, "", 0)?;
                Stage::AddFields(
                    fields
                        .into_iter()
                        .map(|(k, v)| Ok((k, Expr::parse(v)?)))
                        .collect::<Result<_, QueryError>>()?,
                )
            }
            "$unset" => Stage::Unset(parse_unset(arg)?),
            "$group" => Stage::Group(GroupSpec::parse(arg)?),
            "$sort" => Stage::Sort(parse_sort(as_doc(arg, name)?)?),
            "$skip" => Stage::Skip(non_negative(arg, name)?),
            "$limit" => match non_negative(arg, name)? {
                0 => return Err(agg_err("the limit must be positive".into())),
                n => Stage::Limit(n),
            },
            "$count" => match arg {
                Bson::String(s) => {
                    check_field_name(s, "$count")?;
                    Stage::Count(s.clone())
                }
                _ => return Err(agg_err("the count field must be a non-empty string".into())),
            },
            "$unwind" => Stage::Unwind(parse_unwind(arg)?),
            "$replaceRoot" => {
                let d = as_doc(arg, name)?;
                match (d.get("newRoot"), d.len()) {
                    (Some(root), 1) => Stage::ReplaceRoot(Expr::parse(root)?),
                    _ => {
                        return Err(agg_err(
                            "$replaceRoot takes exactly one field, 'newRoot'".into(),
                        ))
                    }
                }
            }
            "$replaceWith" => Stage::ReplaceRoot(Expr::parse(arg)?),
            "$sortByCount" => match arg {
                Bson::String(s) if s.starts_with('$') => Stage::SortByCount(parse_path(s)?),
                Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => {
                    Stage::SortByCount(Expr::parse(arg)?)
                }
                _ => {
                    return Err(agg_err(
                        "the argument to $sortByCount must be a $-prefixed path or an expression object"
                            .into(),
                    ))
                }
            },
            "$facet" => Stage::Facet(Facet::parse(as_doc(arg, name)?)?),
            "$lookup" => Stage::Lookup(Lookup::parse(as_doc(arg, name)?)?),
            "$bucket" => Stage::Bucket(Box::new(Bucket::parse(as_doc(arg, name)?)?)),
            other => {
                return Err(agg_err(format!(
                    "unrecognized or unsupported pipeline stage name: '{other}'"
                )))
            }
        })
    }

    /// Adds the collections this stage's `$lookup`s join to `out`.
    pub(crate) fn lookup_collections(&self, out: &mut Vec<String>) {
        match self {
            Stage::Lookup(l) if !out.contains(&l.from) => out.push(l.from.clone()),
            Stage::Facet(f) => {
                for c in f.lookup_collections() {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
            }
            _ => {}
        }
    }

    /// Runs the stage; `keep` bounds a `$sort` to its first documents.
    pub(crate) fn run(
        &self,
        docs: Vec<Document>,
        keep: Option<usize>,
        cx: &RunCtx<'_>,
    ) -> Result<Vec<Document>, QueryError> {
        let limit = cx.limits.memory_bytes;
        match self {
            Stage::Facet(f) => f.run(docs, cx),
            Stage::Lookup(l) => l.run(docs, cx),
            Stage::Bucket(b) => b.run(docs, limit),
            Stage::Match(f) => Ok(docs.into_iter().filter(|d| f.matches(d)).collect()),
            Stage::Project(p) => bounded_map(docs, limit, "$project", |d| p.apply(d)),
            Stage::AddFields(fields) => {
                bounded_map(docs, limit, "$addFields", |d| add_fields(d, fields))
            }
            Stage::Unset(paths) => Ok(docs
                .into_iter()
                .map(|d| project_document(d, paths))
                .collect()),
            Stage::Group(g) => g.run(docs, limit),
            Stage::Sort(spec) => sort(docs, spec, keep, limit),
            Stage::Skip(n) => Ok(docs
                .into_iter()
                .skip(usize::try_from(*n).unwrap_or(usize::MAX))
                .collect()),
            Stage::Limit(n) => Ok(docs
                .into_iter()
                .take(usize::try_from(*n).unwrap_or(usize::MAX))
                .collect()),
            Stage::Count(field) => Ok(if docs.is_empty() {
                Vec::new()
            } else {
                let n = docs.len();
                let mut out = Document::new();
                out.insert(
                    field.clone(),
                    i32::try_from(n).map_or(
                        Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX)),
                        Bson::Int32,
                    ),
                );
                vec![out]
            }),
            Stage::Unwind(u) => u.run(docs, limit),
            Stage::ReplaceRoot(e) => bounded_map(docs, limit, "$replaceRoot", |d| {
                match e.eval(&d)? {
                    Some(Bson::Document(root)) => Ok(root),
                    other => Err(agg_err(format!(
                        "'newRoot' expression must evaluate to an object, but resulting value was of type {}",
                        type_name(other.as_ref())
                    ))),
                }
            }),
            Stage::SortByCount(e) => {
                let grouped = GroupSpec::count_by(e.clone()).run(docs, limit)?;
                sort(grouped, &vec![("count".into(), SortDir::Desc)], None, limit)
            }
        }
    }
}

/// Maps every document through a stage that may grow it (a computed
/// field can copy the whole document), refusing once the output passes
/// `limit` bytes, so that no chain of stages can grow without bound.
pub(crate) fn bounded_map(
    docs: Vec<Document>,
    limit: usize,
    stage: &str,
    mut f: impl FnMut(Document) -> Result<Document, QueryError>,
) -> Result<Vec<Document>, QueryError> {
    let mut bytes = 0usize;
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        let d = f(d)?;
        bytes = bytes.saturating_add(doc_size(&d));
        if bytes > limit {
            return Err(memory_error(stage, limit));
        }
        out.push(d);
    }
    Ok(out)
}

pub(crate) fn as_doc<'a>(arg: &'a Bson, stage: &str) -> Result<&'a Document, QueryError> {
    match arg {
        Bson::Document(d) => Ok(d),
        _ => Err(agg_err(format!(
            "the {stage} stage specification must be an object"
        ))),
    }
}

fn non_negative(arg: &Bson, stage: &str) -> Result<u64, QueryError> {
    let n = match arg {
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        Bson::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => {
            #[allow(clippy::cast_possible_truncation)]
            let i = *d as i64;
            i
        }
        _ => {
            return Err(agg_err(format!(
                "the {stage} stage takes an integral number, not {}",
                type_name(Some(arg))
            )))
        }
    };
    u64::try_from(n).map_err(|_| agg_err(format!("the {stage} stage takes a non-negative number")))
}

/// Flattens nested field specifications into dotted paths
/// (`{a: {b: 1}}` → `a.b: 1`); an object whose first key is an operator
/// is an expression and stays whole.
fn flatten<'a>(
    spec: &'a Document,
    stage: &str,
    prefix: &str,
    depth: usize,
) -> Result<Vec<(String, &'a Bson)>, QueryError> {
    if depth > super::MAX_EXPR_DEPTH {
        return Err(agg_err(format!("{stage}: specification nested too deep")));
    }
    if spec.is_empty() {
        return Err(agg_err(format!("{stage} requires at least one field")));
    }
    let mut out = Vec::new();
    for (k, v) in spec {
        if k.is_empty() || k.starts_with('$') || k.split('.').any(str::is_empty) {
            return Err(agg_err(format!("{stage}: invalid field path '{k}'")));
        }
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Bson::Document(d)
                if !d.keys().next().is_some_and(|f| f.starts_with('$')) && !d.is_empty() =>
            {
                out.extend(flatten(d, stage, &path, depth + 1)?);
            }
            _ => out.push((path, v)),
        }
    }
    Ok(out)
}

fn parse_project(spec: &Document) -> Result<Projection, QueryError> {
    let mut paths = Document::new();
    let mut computed = Vec::new();
    let (mut includes, mut excludes) = (false, false);
    let mut id_excluded = false;
    for (path, v) in flatten(spec, "$project", "", 0)? {
        let flag = match v {
            Bson::Boolean(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) => {
                Some(is_truthy(v))
            }
            _ => None,
        };
        match flag {
            Some(true) => {
                includes = true;
                paths.insert(path, 1);
            }
            Some(false) if path == "_id" => id_excluded = true,
            Some(false) => {
                excludes = true;
                paths.insert(path, 0);
            }
            None => {
                includes = true;
                computed.push((path, Expr::parse(v)?));
            }
        }
    }
    if includes && excludes {
        return Err(agg_err(
            "$project cannot mix inclusion (or computed fields) and exclusion, except for _id"
                .into(),
        ));
    }
    if includes && !id_excluded && !paths.contains_key("_id") {
        paths.insert("_id", 1);
    }
    if !includes && id_excluded {
        paths.insert("_id", 0);
    }
    if includes && paths.is_empty() {
        // Only computed fields: keep nothing else.
        paths.insert("\u{0}none", 1);
    }
    Ok(Projection { paths, computed })
}

impl Projection {
    fn apply(&self, doc: Document) -> Result<Document, QueryError> {
        let values = self
            .computed
            .iter()
            .map(|(path, e)| Ok((path, e.eval(&doc)?)))
            .collect::<Result<Vec<_>, QueryError>>()?;
        let mut out = project_document(doc, &self.paths);
        for (path, v) in values {
            if let Some(v) = v {
                set_path(&mut out, path, v);
            }
        }
        Ok(out)
    }
}

fn parse_unset(arg: &Bson) -> Result<Document, QueryError> {
    let names: Vec<&Bson> = match arg {
        Bson::Array(items) if !items.is_empty() => items.iter().collect(),
        Bson::String(_) => vec![arg],
        _ => {
            return Err(agg_err(
                "$unset takes a field name or a non-empty array of them".into(),
            ))
        }
    };
    let mut out = Document::new();
    for n in names {
        match n {
            Bson::String(s)
                if !s.is_empty() && !s.starts_with('$') && !s.split('.').any(str::is_empty) =>
            {
                out.insert(s.clone(), 0);
            }
            _ => return Err(agg_err("$unset takes field paths as strings".into())),
        }
    }
    Ok(out)
}

fn parse_sort(spec: &Document) -> Result<SortSpec, QueryError> {
    if spec.is_empty() || spec.len() > MAX_SORT_KEYS {
        return Err(agg_err(format!(
            "$sort takes between 1 and {MAX_SORT_KEYS} fields"
        )));
    }
    spec.iter()
        .map(|(k, v)| {
            let dir = match v {
                Bson::Int32(1) | Bson::Int64(1) => SortDir::Asc,
                Bson::Int32(-1) | Bson::Int64(-1) => SortDir::Desc,
                Bson::Double(d) if *d == 1.0 => SortDir::Asc,
                Bson::Double(d) if *d == -1.0 => SortDir::Desc,
                _ => {
                    return Err(agg_err(format!(
                    "$sort key ordering for '{k}' must be 1 (for ascending) or -1 (for descending)"
                )))
                }
            };
            if k.is_empty() || k.starts_with('$') {
                return Err(agg_err(format!("$sort: invalid field path '{k}'")));
            }
            Ok((k.clone(), dir))
        })
        .collect()
}

pub(crate) fn sort(
    docs: Vec<Document>,
    spec: &SortSpec,
    keep: Option<usize>,
    limit: usize,
) -> Result<Vec<Document>, QueryError> {
    let mut top = TopK::new(spec.clone(), keep, limit);
    for d in docs {
        let size = doc_size(&d);
        top.push(d, size)
            .map_err(|_| memory_error("$sort", limit))?;
    }
    Ok(top.into_sorted())
}

/// Sets `value` at a dotted path, creating documents on the way; through
/// an array the rest of the path is set in every element.
pub(crate) fn set_path(doc: &mut Document, path: &str, value: Bson) {
    match path.split_once('.') {
        None => {
            doc.insert(path, value);
        }
        Some((head, rest)) => match doc.get_mut(head) {
            Some(Bson::Document(inner)) => set_path(inner, rest, value),
            Some(Bson::Array(items)) => {
                for item in items.iter_mut() {
                    if !matches!(item, Bson::Document(_)) {
                        *item = Bson::Document(Document::new());
                    }
                    if let Bson::Document(inner) = item {
                        set_path(inner, rest, value.clone());
                    }
                }
            }
            _ => {
                let mut inner = Document::new();
                set_path(&mut inner, rest, value);
                doc.insert(head, inner);
            }
        },
    }
}

/// Removes the value at a dotted path through documents only.
fn remove_path(doc: &mut Document, path: &[String]) {
    match path {
        [] => {}
        [last] => {
            doc.remove(last);
        }
        [head, rest @ ..] => {
            if let Some(Bson::Document(inner)) = doc.get_mut(head) {
                remove_path(inner, rest);
            }
        }
    }
}

fn add_fields(mut doc: Document, fields: &[(String, Expr)]) -> Result<Document, QueryError> {
    let values = fields
        .iter()
        .map(|(path, e)| Ok((path, e.eval(&doc)?)))
        .collect::<Result<Vec<_>, QueryError>>()?;
    for (path, v) in values {
        match v {
            Some(v) => set_path(&mut doc, path, v),
            None => {
                let parts: Vec<String> = path.split('.').map(str::to_string).collect();
                remove_path(&mut doc, &parts);
            }
        }
    }
    Ok(doc)
}

fn parse_unwind(arg: &Bson) -> Result<Unwind, QueryError> {
    let (path, preserve, index_field) = match arg {
        Bson::String(s) => (s.as_str(), false, None),
        Bson::Document(d) => {
            if let Some(k) = d.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "path" | "preserveNullAndEmptyArrays" | "includeArrayIndex"
                )
            }) {
                return Err(agg_err(format!("unrecognized option to $unwind: {k}")));
            }
            let Some(Bson::String(path)) = d.get("path") else {
                return Err(agg_err("$unwind requires a 'path' string".into()));
            };
            let preserve = match d.get("preserveNullAndEmptyArrays") {
                None => false,
                Some(Bson::Boolean(b)) => *b,
                Some(_) => {
                    return Err(agg_err(
                        "$unwind's 'preserveNullAndEmptyArrays' must be a boolean".into(),
                    ))
                }
            };
            let index = match d.get("includeArrayIndex") {
                None => None,
                Some(Bson::String(s)) if !s.is_empty() && !s.starts_with('$') => Some(s.clone()),
                Some(_) => {
                    return Err(agg_err(
                        "$unwind's 'includeArrayIndex' must be a field name not starting with '$'"
                            .into(),
                    ))
                }
            };
            (path.as_str(), preserve, index)
        }
        _ => {
            return Err(agg_err(
                "$unwind takes a path string or an options object".into(),
            ))
        }
    };
    if !path.starts_with('$') || path.starts_with("$$") {
        return Err(agg_err(format!(
            "$unwind's path must be a field path prefixed by '$', not '{path}'"
        )));
    }
    let Expr::Path(parts) = parse_path(path)? else {
        return Err(agg_err(format!("invalid $unwind path '{path}'")));
    };
    Ok(Unwind {
        path: parts,
        preserve,
        index_field,
    })
}

/// The value at a dotted path through documents only.
fn get_plain<'a>(doc: &'a Document, path: &[String]) -> Option<&'a Bson> {
    let (first, rest) = path.split_first()?;
    let v = doc.get(first)?;
    if rest.is_empty() {
        return Some(v);
    }
    match v {
        Bson::Document(d) => get_plain(d, rest),
        _ => None,
    }
}

impl Unwind {
    fn run(&self, docs: Vec<Document>, limit: usize) -> Result<Vec<Document>, QueryError> {
        let dotted = self.path.join(".");
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let mut emit = |d: Document, out: &mut Vec<Document>| {
            bytes = bytes.saturating_add(doc_size(&d));
            if bytes > limit {
                return Err(memory_error("$unwind", limit));
            }
            out.push(d);
            Ok(())
        };
        for doc in docs {
            match get_plain(&doc, &self.path).cloned() {
                Some(Bson::Array(items)) if !items.is_empty() => {
                    for (i, item) in items.into_iter().enumerate() {
                        let mut d = doc.clone();
                        set_path(&mut d, &dotted, item);
                        if let Some(f) = &self.index_field {
                            set_path(&mut d, f, Bson::Int64(i64::try_from(i).unwrap_or(i64::MAX)));
                        }
                        emit(d, &mut out)?;
                    }
                }
                Some(Bson::Array(_)) | None | Some(Bson::Null) if !self.preserve => {}
                Some(Bson::Array(_)) => {
                    // An empty array is preserved without the field.
                    let mut d = doc;
                    remove_path(&mut d, &self.path);
                    self.with_null_index(&mut d);
                    emit(d, &mut out)?;
                }
                Some(Bson::Null) | None => {
                    let mut d = doc;
                    self.with_null_index(&mut d);
                    emit(d, &mut out)?;
                }
                Some(_) => {
                    // A non-array value is a one-element array.
                    let mut d = doc;
                    self.with_null_index(&mut d);
                    emit(d, &mut out)?;
                }
            }
        }
        Ok(out)
    }

    fn with_null_index(&self, d: &mut Document) {
        if let Some(f) = &self.index_field {
            set_path(d, f, Bson::Null);
        }
    }
}
