//! The `sort` parameter and in-memory sorting with MongoDB's rules.

use std::cmp::Ordering;

use bson::{Bson, Document};

use crate::compare::compare_bson;
use crate::path::resolve;
use crate::pylex::{tokenize, Tok};
use crate::{QueryError, SortDir, SortSpec};

/// Deepest literal nesting accepted in the literal sort form.
const MAX_DEPTH: usize = 100;

/// Longest `sort` value accepted, in bytes.
const MAX_SORT_LEN: usize = 64 * 1024;

/// Most fields one sort may name (MongoDB's limit too).
pub const MAX_SORT_KEYS: usize = 32;

/// A Python literal, as `ast.literal_eval` would produce it.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<Lit>),
    Tuple(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

/// Parses a `sort` value (comma list or Python literal list/mapping) of
/// at most [`MAX_SORT_KEYS`] fields.
///
/// Eve first evaluates the value as a Python literal; when it is not a
/// literal at all it is read as a comma list. So a value starting like a
/// literal (`[`, `(`, `{`, a quote or a digit) that fails to parse is a
/// syntax error, not a field name.
pub fn parse_sort(raw: &str) -> Result<SortSpec, QueryError> {
    let spec = parse_sort_unbounded(raw)?;
    if spec.len() > MAX_SORT_KEYS {
        return Err(QueryError::SortSyntax(format!(
            "cannot sort on more than {MAX_SORT_KEYS} fields (found {})",
            spec.len()
        )));
    }
    Ok(spec)
}

fn parse_sort_unbounded(raw: &str) -> Result<SortSpec, QueryError> {
    if raw.len() > MAX_SORT_LEN {
        return Err(QueryError::SortSyntax("sort value too long".into()));
    }
    // literal_eval strips leading spaces and tabs.
    let src = raw.trim_start_matches([' ', '\t']);
    if src.is_empty() {
        return if raw.is_empty() {
            Ok(Vec::new())
        } else {
            Err(QueryError::SortSyntax("empty sort".into()))
        };
    }
    let looks_literal = src.starts_with(['[', '(', '{', '"', '\''])
        || src.starts_with(|c: char| c.is_ascii_digit());
    match parse_literal(src) {
        Ok(lit) => literal_to_spec(lit).map_err(QueryError::SortSyntax),
        Err(e) if looks_literal => Err(QueryError::SortSyntax(e)),
        Err(_) => parse_comma_list(raw),
    }
}

fn parse_comma_list(raw: &str) -> Result<SortSpec, QueryError> {
    raw.split(',')
        .map(|item| {
            let item = item.trim();
            let (field, dir) = match item.strip_prefix('-') {
                Some(f) => (f, SortDir::Desc),
                None => (item, SortDir::Asc),
            };
            if field.is_empty() {
                return Err(QueryError::SortSyntax(format!(
                    "empty sort field in {raw:?}"
                )));
            }
            if field.chars().any(char::is_whitespace) {
                return Err(QueryError::SortSyntax(format!(
                    "invalid sort field {field:?}"
                )));
            }
            Ok((field.to_string(), dir))
        })
        .collect()
}

fn direction(lit: &Lit) -> Result<SortDir, String> {
    match lit {
        Lit::Int(1) => Ok(SortDir::Asc),
        Lit::Int(-1) => Ok(SortDir::Desc),
        Lit::Float(f) if *f == 1.0 => Ok(SortDir::Asc),
        Lit::Float(f) if *f == -1.0 => Ok(SortDir::Desc),
        other => Err(format!("bad sort direction {other:?}: expected 1 or -1")),
    }
}

/// One sort key: a field and its direction, or `{"$meta": "textScore"}`
/// (the text search's score, best first), which sorts on
/// [`TEXT_SCORE_KEY`](crate::text::TEXT_SCORE_KEY) whatever the field is
/// called.
fn literal_sort_key(field: &str, dir: &Lit) -> Result<(String, SortDir), String> {
    if let Lit::Dict(entries) = dir {
        return match entries.as_slice() {
            [(Lit::Str(k), Lit::Str(v))] if k == "$meta" && v == "textScore" => {
                Ok((crate::text::TEXT_SCORE_KEY.to_string(), SortDir::Desc))
            }
            _ => Err(format!(
                "bad sort direction for '{field}': expected 1, -1 or {{\"$meta\": \"textScore\"}}"
            )),
        };
    }
    Ok((field.to_string(), direction(dir)?))
}

fn literal_to_spec(lit: Lit) -> Result<SortSpec, String> {
    match lit {
        Lit::List(items) | Lit::Tuple(items) => {
            items
                .into_iter()
                .map(|item| match item {
                    Lit::Tuple(pair) | Lit::List(pair) => match pair.as_slice() {
                        [Lit::Str(field), dir] if !field.is_empty() => literal_sort_key(field, dir),
                        _ => Err("each sort item must be a (non-empty field, direction) pair"
                            .to_string()),
                    },
                    _ => Err("each sort item must be a (field, direction) pair".to_string()),
                })
                .collect()
        }
        Lit::Dict(entries) => entries
            .into_iter()
            .map(|(k, v)| match k {
                Lit::Str(field) if !field.is_empty() => literal_sort_key(&field, &v),
                _ => Err("sort keys must be non-empty strings".to_string()),
            })
            .collect(),
        _ => Err("sort must be a list of (field, direction) pairs or a mapping".into()),
    }
}

/// Parses a whole string as one Python literal.
fn parse_literal(src: &str) -> Result<Lit, String> {
    let toks = tokenize(src)?;
    let mut p = LitParser {
        toks,
        pos: 0,
        depth: 0,
    };
    let first = p.value()?;
    let lit = if p.eat(",") {
        // A bare tuple: `"a", 1`.
        let mut items = vec![first];
        while p.pos < p.toks.len() {
            items.push(p.value()?);
            if !p.eat(",") {
                break;
            }
        }
        Lit::Tuple(items)
    } else {
        first
    };
    if p.pos != p.toks.len() {
        return Err("invalid syntax: unexpected trailing input".into());
    }
    Ok(lit)
}

struct LitParser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl LitParser {
    fn eat(&mut self, op: &str) -> bool {
        if matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Comma-separated values up to `close` (trailing comma allowed).
    fn items(&mut self, close: &str) -> Result<(Vec<Lit>, bool), String> {
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            if self.eat(close) {
                return Ok((items, saw_comma));
            }
            items.push(self.value()?);
            if self.eat(",") {
                saw_comma = true;
            } else if self.eat(close) {
                return Ok((items, saw_comma));
            } else {
                return Err(format!("invalid syntax: expected ',' or '{close}'"));
            }
        }
    }

    fn value(&mut self) -> Result<Lit, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("literal nested too deeply".into());
        }
        let v = self.value_inner();
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self) -> Result<Lit, String> {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of input")?;
        self.pos += 1;
        match tok {
            Tok::Str(mut s) => {
                while let Some(Tok::Str(more)) = self.toks.get(self.pos) {
                    s.push_str(more);
                    self.pos += 1;
                }
                Ok(Lit::Str(s))
            }
            Tok::Int(i) => Ok(Lit::Int(i)),
            Tok::Float(f) => Ok(Lit::Float(f)),
            Tok::Name(n) => match n.as_str() {
                "True" => Ok(Lit::Bool(true)),
                "False" => Ok(Lit::Bool(false)),
                "None" => Ok(Lit::None),
                _ => Err(format!("malformed node or string: name {n:?}")),
            },
            Tok::Op("-") | Tok::Op("+") => {
                let neg = self.toks.get(self.pos - 1) == Some(&Tok::Op("-"));
                match self.value()? {
                    Lit::Int(i) => Ok(Lit::Int(if neg { -i } else { i })),
                    Lit::Float(f) => Ok(Lit::Float(if neg { -f } else { f })),
                    _ => Err("malformed node or string: unary operator on a non-number".into()),
                }
            }
            Tok::Op("(") => {
                let (items, saw_comma) = self.items(")")?;
                match (items.len(), saw_comma) {
                    (1, false) => Ok(items.into_iter().next().unwrap_or(Lit::None)),
                    (0, _) | (_, true) => Ok(Lit::Tuple(items)),
                    _ => Err("invalid syntax".into()),
                }
            }
            Tok::Op("[") => Ok(Lit::List(self.items("]")?.0)),
            Tok::Op("{") => {
                let mut entries = Vec::new();
                loop {
                    if self.eat("}") {
                        break;
                    }
                    let k = self.value()?;
                    if !self.eat(":") {
                        return Err("sets are not supported; expected ':'".into());
                    }
                    let v = self.value()?;
                    entries.push((k, v));
                    if !self.eat(",") {
                        if self.eat("}") {
                            break;
                        }
                        return Err("invalid syntax: expected ',' or '}'".into());
                    }
                }
                Ok(Lit::Dict(entries))
            }
            other => Err(format!("invalid syntax near {other:?}")),
        }
    }
}

/// The value a document sorts by for one key: missing sorts as null; an
/// array sorts by its smallest element ascending and its largest
/// descending (an empty array sorts before null).
pub(crate) fn sort_key(doc: &Document, path: &str, dir: SortDir) -> Bson {
    let mut candidates: Vec<&Bson> = Vec::new();
    let null = Bson::Null;
    let undefined = Bson::Undefined;
    let reached = resolve(doc, path);
    for r in &reached {
        match r {
            None => candidates.push(&null),
            Some(Bson::Array(items)) if items.is_empty() => candidates.push(&undefined),
            Some(Bson::Array(items)) => candidates.extend(items.iter()),
            Some(v) => candidates.push(v),
        }
    }
    let pick = match dir {
        SortDir::Asc => candidates.into_iter().min_by(|a, b| compare_bson(a, b)),
        SortDir::Desc => candidates.into_iter().max_by(|a, b| compare_bson(a, b)),
    };
    pick.cloned().unwrap_or(Bson::Null)
}

/// Compares two documents by a sort spec (MongoDB semantics).
pub(crate) fn compare_by_spec(a: &[Bson], b: &[Bson], sort: &SortSpec) -> Ordering {
    for ((x, y), (_, dir)) in a.iter().zip(b).zip(sort) {
        let o = compare_bson(x, y);
        let o = if *dir == SortDir::Desc {
            o.reverse()
        } else {
            o
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Sorts documents by a sort spec with MongoDB semantics (missing sorts as
/// null; arrays sort by their smallest element ascending, largest
/// descending). The sort is stable: documents that tie keep their order.
///
/// ```
/// use bson::doc;
/// use eve_query::{parse_sort, sort_documents};
/// let mut docs = vec![doc! {"n": 2}, doc! {"n": [5, 0]}, doc! {}];
/// sort_documents(&mut docs, &parse_sort("n").unwrap());
/// assert_eq!(docs, vec![doc! {}, doc! {"n": [5, 0]}, doc! {"n": 2}]);
/// ```
pub fn sort_documents(docs: &mut [Document], sort: &SortSpec) {
    if sort.is_empty() || docs.len() < 2 {
        return;
    }
    let mut keyed: Vec<(Vec<Bson>, Document)> = docs
        .iter_mut()
        .map(|d| {
            let keys = sort
                .iter()
                .map(|(path, dir)| sort_key(d, path, *dir))
                .collect();
            (keys, std::mem::take(d))
        })
        .collect();
    keyed.sort_by(|(ka, _), (kb, _)| compare_by_spec(ka, kb, sort));
    for (slot, (_, d)) in docs.iter_mut().zip(keyed) {
        *slot = d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn spec(v: &[(&str, SortDir)]) -> SortSpec {
        v.iter().map(|(f, d)| (f.to_string(), *d)).collect()
    }
    use SortDir::{Asc, Desc};

    #[test]
    fn sort_keys_are_capped_at_32() {
        let fields: Vec<String> = (0..33).map(|i| format!("f{i}")).collect();
        assert!(matches!(
            parse_sort(&fields.join(",")),
            Err(QueryError::SortSyntax(m)) if m.contains("more than 32")
        ));
        assert_eq!(parse_sort(&fields[..32].join(",")).map(|s| s.len()), Ok(32));
        let literal: Vec<String> = fields.iter().map(|f| format!("(\"{f}\", 1)")).collect();
        assert!(parse_sort(&format!("[{}]", literal.join(","))).is_err());
    }

    #[test]
    fn comma_list_with_minus_for_descending() {
        assert_eq!(
            parse_sort("city,-lastname"),
            Ok(spec(&[("city", Asc), ("lastname", Desc)]))
        );
        assert_eq!(
            parse_sort(" -age , name "),
            Ok(spec(&[("age", Desc), ("name", Asc)]))
        );
        assert_eq!(
            parse_sort("location.city"),
            Ok(spec(&[("location.city", Asc)]))
        );
        assert_eq!(parse_sort("a-b"), Ok(spec(&[("a-b", Asc)])));
    }

    #[test]
    fn empty_sort_is_no_sort() {
        assert_eq!(parse_sort(""), Ok(vec![]));
        assert_eq!(parse_sort("[]"), Ok(vec![]));
    }

    #[test]
    fn comma_list_rejects_empty_or_spaced_items() {
        for raw in ["a,", ",a", "a,,b", "-", "a b", " "] {
            assert!(
                matches!(parse_sort(raw), Err(QueryError::SortSyntax(_))),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn python_list_of_tuples_with_either_quote() {
        assert_eq!(
            parse_sort(r#"[("lastname", -1)]"#),
            Ok(spec(&[("lastname", Desc)]))
        );
        assert_eq!(
            parse_sort("[('age', -1), ('name', 1)]"),
            Ok(spec(&[("age", Desc), ("name", Asc)]))
        );
        assert_eq!(
            parse_sort(r#"[["a", 1], ["b", -1.0]]"#),
            Ok(spec(&[("a", Asc), ("b", Desc)]))
        );
        assert_eq!(parse_sort(r#"  (("a", 1),)"#), Ok(spec(&[("a", Asc)])));
    }

    #[test]
    fn python_mapping_form() {
        assert_eq!(
            parse_sort(r#"{"age": -1, 'name': 1}"#),
            Ok(spec(&[("age", Desc), ("name", Asc)]))
        );
    }

    #[test]
    fn malformed_literals_are_syntax_errors() {
        for raw in [
            r#"[("age", -1"#,
            r#"[("age", -1]"#,
            r#""name""#,
            "1",
            r#"[("age", 2)]"#,
            r#"[("age", "desc")]"#,
            r#"[("age")]"#,
            r#"[("age", -1, 1)]"#,
            r#"[(1, 1)]"#,
            r#"["age"]"#,
            r#"{1: 1}"#,
            r#"[("", 1)]"#,
            r#"{"": 1}"#,
            r#"{"a"}"#,
            r#"("age", -1)"#,
        ] {
            assert!(
                matches!(parse_sort(raw), Err(QueryError::SortSyntax(_))),
                "{raw:?} gave {:?}",
                parse_sort(raw)
            );
        }
    }

    #[test]
    fn deeply_nested_literals_are_errors_not_overflows() {
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(matches!(parse_sort(&deep), Err(QueryError::SortSyntax(_))));
    }

    fn sorted(mut docs: Vec<Document>, raw: &str) -> Vec<Document> {
        sort_documents(&mut docs, &parse_sort(raw).unwrap());
        docs
    }

    #[test]
    fn sorts_ascending_and_descending_by_several_keys() {
        let docs = vec![
            doc! {"a": 1, "b": 1},
            doc! {"a": 0, "b": 5},
            doc! {"a": 1, "b": 2},
        ];
        assert_eq!(
            sorted(docs.clone(), "a,-b"),
            vec![docs[1].clone(), docs[2].clone(), docs[0].clone()]
        );
        assert_eq!(
            sorted(docs.clone(), "-a,b"),
            vec![docs[0].clone(), docs[2].clone(), docs[1].clone()]
        );
    }

    #[test]
    fn missing_fields_sort_as_null_before_numbers() {
        let docs = vec![
            doc! {"a": 1},
            doc! {"b": 1},
            doc! {"a": Bson::Null},
            doc! {"a": "s"},
        ];
        assert_eq!(
            sorted(docs.clone(), "a"),
            vec![
                docs[1].clone(),
                docs[2].clone(),
                docs[0].clone(),
                docs[3].clone()
            ]
        );
    }

    #[test]
    fn arrays_sort_by_min_ascending_and_max_descending() {
        let docs = vec![
            doc! {"_id": 1, "a": [1, 10]},
            doc! {"_id": 2, "a": 5},
            doc! {"_id": 3, "a": [3, 4]},
        ];
        let ids = |v: Vec<Document>| {
            v.iter()
                .map(|d| d.get_i32("_id").unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(sorted(docs.clone(), "a")), vec![1, 3, 2]);
        assert_eq!(ids(sorted(docs.clone(), "-a")), vec![1, 2, 3]);
    }

    #[test]
    fn empty_arrays_sort_before_null() {
        let docs = vec![doc! {"_id": 1}, doc! {"_id": 2, "a": []}];
        let ids = |v: Vec<Document>| {
            v.iter()
                .map(|d| d.get_i32("_id").unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(sorted(docs, "a")), vec![2, 1]);
    }

    #[test]
    fn sort_is_stable_for_ties() {
        let docs: Vec<Document> = (0..20).map(|i| doc! {"k": i % 3, "i": i}).collect();
        let out = sorted(docs, "k");
        for w in out.windows(2) {
            let (k0, k1) = (w[0].get_i32("k").unwrap(), w[1].get_i32("k").unwrap());
            assert!(
                k0 < k1 || (k0 == k1 && w[0].get_i32("i").unwrap() < w[1].get_i32("i").unwrap())
            );
        }
    }

    #[test]
    fn sorts_through_dotted_paths_and_arrays_of_documents() {
        let docs = vec![
            doc! {"_id": 1, "x": [{"y": 9}, {"y": 2}]},
            doc! {"_id": 2, "x": {"y": 3}},
        ];
        let ids = |v: Vec<Document>| {
            v.iter()
                .map(|d| d.get_i32("_id").unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(sorted(docs.clone(), "x.y")), vec![1, 2]);
        assert_eq!(ids(sorted(docs, "-x.y")), vec![1, 2]);
    }

    #[test]
    fn numbers_of_different_types_sort_by_value() {
        let docs = vec![doc! {"n": 2.5}, doc! {"n": 2_i64}, doc! {"n": 3}];
        assert_eq!(
            sorted(docs.clone(), "n"),
            vec![docs[1].clone(), docs[0].clone(), docs[2].clone()]
        );
    }
}
