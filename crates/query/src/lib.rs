//! `eve-query`: the query language of eve-rs.
//!
//! PLACEHOLDER: the public surface below is the contract; the query helper
//! replaces the bodies with the real parsers and evaluator.

mod ast;

pub use ast::{Cond, ElemMatch, Filter, SortDir, SortSpec};

use bson::{Bson, Document};

/// A client query that cannot be accepted. Each variant's text is what Eve
/// shows (debug-only texts are decided by the HTTP layer).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The `where` value is neither a JSON object nor a valid expression.
    #[error("Unable to parse `where` clause")]
    WhereSyntax,
    /// Operators that are not known (and not whitelisted).
    #[error("Query contains unknown or unsupported operators: {0}")]
    UnknownOperators(String),
    /// A blacklisted operator was used.
    #[error("Query contains operators banned in MONGO_QUERY_BLACKLIST")]
    Blacklisted,
    /// A field not in `allowed_filters`.
    #[error("filter on '{0}' not allowed")]
    FilterNotAllowed(String),
    /// `$or`/`$and`/`$nor` with a non-list value.
    #[error("operator '{0}' expects a list of sub-queries")]
    ExpectsList(String),
    /// A structurally invalid query document (bad operand for an operator).
    #[error("{0}")]
    Invalid(String),
    /// The `sort` value cannot be parsed.
    #[error("{0}")]
    SortSyntax(String),
    /// The `projection` value cannot be parsed.
    #[error("Unable to parse `projection` clause")]
    ProjectionSyntax,
}

/// Renders and parses dates with a Python `strftime` pattern (`DATE_FORMAT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    pattern: String,
}

impl DateFormat {
    /// The default, RFC 1123: `%a, %d %b %Y %H:%M:%S GMT`.
    pub fn rfc1123() -> Self {
        DateFormat { pattern: "%a, %d %b %Y %H:%M:%S GMT".into() }
    }

    /// A format from a Python `strftime` pattern; errors on unsupported
    /// directives.
    pub fn new(pattern: &str) -> Result<Self, String> {
        Ok(DateFormat { pattern: pattern.into() })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats a date (UTC).
    pub fn format(&self, date: bson::DateTime) -> String {
        date.to_chrono().format(&self.pattern).to_string()
    }

    /// Parses a string; `None` when it does not match the pattern.
    pub fn parse(&self, s: &str) -> Option<bson::DateTime> {
        chrono::NaiveDateTime::parse_from_str(s, &self.pattern)
            .ok()
            .map(|n| bson::DateTime::from_chrono(n.and_utc()))
    }
}

/// Converts a JSON value to BSON as pymongo would store it: integers that
/// fit 32 bits become Int32, larger ones Int64, other numbers Double.
pub fn json_to_bson(value: &serde_json::Value) -> Bson {
    match value {
        serde_json::Value::Null => Bson::Null,
        serde_json::Value::Bool(b) => Bson::Boolean(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
            } else {
                Bson::Double(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Bson::String(s.clone()),
        serde_json::Value::Array(a) => Bson::Array(a.iter().map(json_to_bson).collect()),
        serde_json::Value::Object(o) => {
            Bson::Document(o.iter().map(|(k, v)| (k.clone(), json_to_bson(v))).collect())
        }
    }
}

/// Parses a `where` value: MongoDB JSON first, then the Python-like form.
pub fn parse_where(raw: &str) -> Result<Document, QueryError> {
    let v: serde_json::Value = serde_json::from_str(raw).map_err(|_| QueryError::WhereSyntax)?;
    match json_to_bson(&v) {
        Bson::Document(d) => Ok(d),
        _ => Err(QueryError::WhereSyntax),
    }
}

/// Checks that every `$` key is a known operator (or in `whitelist`) and
/// none is in `blacklist`.
pub fn check_operators(query: &Document, whitelist: &[String], blacklist: &[String]) -> Result<(), QueryError> {
    let _ = (query, whitelist, blacklist);
    Ok(())
}

/// Checks field keys against `allowed_filters` (hierarchical; `*` = all).
pub fn check_allowed_filters(query: &Document, allowed: &[String]) -> Result<(), QueryError> {
    let _ = (query, allowed);
    Ok(())
}

/// Parses a `sort` value (comma list or Python literal list/mapping).
pub fn parse_sort(raw: &str) -> Result<SortSpec, QueryError> {
    Ok(raw
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let s = s.trim();
            match s.strip_prefix('-') {
                Some(f) => (f.to_string(), SortDir::Desc),
                None => (s.to_string(), SortDir::Asc),
            }
        })
        .collect())
}

/// Parses a `projection` value (a JSON object of field → 0/1).
pub fn parse_projection(raw: &str) -> Result<Document, QueryError> {
    let v: serde_json::Value = serde_json::from_str(raw).map_err(|_| QueryError::ProjectionSyntax)?;
    match json_to_bson(&v) {
        Bson::Document(d) => Ok(d),
        _ => Err(QueryError::ProjectionSyntax),
    }
}

/// MongoDB's comparison order of two BSON values (type brackets first,
/// numbers compared by value across types).
pub fn compare_bson(a: &Bson, b: &Bson) -> std::cmp::Ordering {
    let _ = (a, b);
    std::cmp::Ordering::Equal
}

/// Sorts documents by a sort spec with MongoDB semantics (missing sorts as
/// null; arrays sort by their smallest element ascending, largest
/// descending).
pub fn sort_documents(docs: &mut [Document], sort: &SortSpec) {
    let _ = (docs, sort);
}

/// The values found at a dotted path, descending through arrays.
pub fn values_at_path<'a>(doc: &'a Document, path: &str) -> Vec<&'a Bson> {
    doc.get(path).into_iter().collect()
}

impl Filter {
    /// Builds a filter from a MongoDB query document.
    pub fn parse(query: &Document) -> Result<Filter, QueryError> {
        let _ = query;
        Ok(Filter::All)
    }

    /// Prints the filter back as a MongoDB query document.
    pub fn to_document(&self) -> Document {
        Document::new()
    }

    /// Whether a document satisfies the filter (MongoDB semantics).
    pub fn matches(&self, doc: &Document) -> bool {
        let _ = doc;
        true
    }

    /// `self AND other`, flattening and dropping `All`.
    pub fn and(self, other: Filter) -> Filter {
        match (self, other) {
            (Filter::All, f) | (f, Filter::All) => f,
            (Filter::And(mut a), Filter::And(b)) => {
                a.extend(b);
                Filter::And(a)
            }
            (Filter::And(mut a), f) => {
                a.push(f);
                Filter::And(a)
            }
            (f, Filter::And(mut b)) => {
                b.insert(0, f);
                Filter::And(b)
            }
            (a, b) => Filter::And(vec![a, b]),
        }
    }

    /// `{path: value}`.
    pub fn eq(path: impl Into<String>, value: impl Into<Bson>) -> Filter {
        Filter::Field { path: path.into(), cond: Cond::Eq(value.into()) }
    }
}
