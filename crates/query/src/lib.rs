//! `eve-query`: the query language of eve-rs.
//!
//! This crate owns everything a client can say about *which* documents it
//! wants and *how* it wants them: the `where`, `sort` and `projection`
//! query parameters, the [`Filter`] AST they become, MongoDB's comparison
//! order ([`compare_bson`]), and an in-memory evaluator
//! ([`Filter::matches`], [`sort_documents`], [`apply_projection`]) with
//! MongoDB semantics that data layers without a native query engine use.
//! It also renders and parses `DATE_FORMAT` dates ([`DateFormat`]).
//!
//! # The pipeline for `where`
//!
//! 1. [`parse_where`] reads the raw value: a JSON object, or else the
//!    Python-like form below. The result is a MongoDB query document.
//! 2. [`check_operators`] enforces the known-operator list and
//!    `MONGO_QUERY_BLACKLIST`; [`check_allowed_filters`] enforces
//!    `allowed_filters`.
//! 3. The caller converts date and ObjectId strings, then [`Filter::parse`]
//!    validates every operand and builds the AST that data layers receive.
//!
//! ```
//! use eve_query::{parse_where, check_operators, check_allowed_filters, Filter};
//! use bson::doc;
//!
//! let q = parse_where(r#"{"age": {"$gte": 18}, "tags": "admin"}"#).unwrap();
//! check_operators(&q, &[], &["$where".into(), "$regex".into()]).unwrap();
//! check_allowed_filters(&q, &["*".into()]).unwrap();
//! let f = Filter::parse(&q).unwrap();
//! assert!(f.matches(&doc! {"age": 30, "tags": ["admin", "dev"]}));
//! assert!(!f.matches(&doc! {"age": 12, "tags": "admin"}));
//! ```
//!
//! # The Python-like `where` grammar
//!
//! Tried when the value is not valid JSON. It is the subset of Python
//! expressions that Eve's parser translates, with the safer choices:
//! `True`/`False`/`None` are constants and unary minus is honoured, while
//! lists, `in`, `is`, `not` and arithmetic are syntax errors.
//!
//! ```text
//! query      ::= statement ((";" | NEWLINE) statement)* [";"]
//! statement  ::= or_expr
//! or_expr    ::= and_expr ("or" and_expr)*          -> {"$or": [..]}
//! and_expr   ::= operand ("and" operand)*           -> {"$and": [..]}
//! operand    ::= "(" or_expr ")" | comparison
//! comparison ::= name cmp_op value (cmp_op value)*  -> only the first is used
//! cmp_op     ::= "==" | "!=" | "<" | "<=" | ">" | ">="
//! name       ::= IDENT ("." IDENT)*                 -> dotted field path
//! value      ::= STRING+                            -> string (adjacent literals concatenate)
//!              | ("-" | "+") value                  -> numbers only
//!              | INT | FLOAT                        -> Int32 / Int64 / Double
//!              | "True" | "False" | "None"          -> true / false / null
//!              | "ObjectId" "(" STRING ")"          -> ObjectId
//!              | "datetime" "(" INT ("," INT){2,6} [","] ")"  -> UTC date
//!              | name                               -> the name as a string
//!              | "(" value ")"
//! ```
//!
//! `a == v` becomes `{"a": v}`; the other operators become `{"a": {"$ne":
//! v}}`, `$lt`, `$lte`, `$gt`, `$gte`. Statements are merged into one
//! document, a later key replacing an earlier one. Parentheses may nest
//! 100 deep and the value may be up to 1 MiB long.
//!
//! ```
//! use eve_query::parse_where;
//! use bson::doc;
//!
//! assert_eq!(
//!     parse_where(r#"age<=3 and (name=="x" or rank>2)"#).unwrap(),
//!     doc! {"$and": [{"age": {"$lte": 3}}, {"$or": [{"name": "x"}, {"rank": {"$gt": 2}}]}]},
//! );
//! assert_eq!(parse_where("lastname==Doe; a.b==-1").unwrap(), doc! {"lastname": "Doe", "a.b": -1});
//! assert_eq!(parse_where("active==True").unwrap(), doc! {"active": true});
//! assert!(parse_where("not a==1").is_err());
//! assert!(parse_where("a in [1, 2]").is_err());
//! assert!(parse_where("[1]").is_err()); // JSON, but not an object
//! ```
//!
//! # The `sort` grammar
//!
//! ```text
//! sort      ::= comma_list | literal
//! comma_list::= item ("," item)*                    -> spaces around items trimmed
//! item      ::= ["-"] FIELD                         -> "-" means descending
//! literal   ::= "[" [pair ("," pair)* [","]] "]"    -> also "(" ... ")"
//!             | "{" [STRING ":" dir ("," STRING ":" dir)* [","]] "}"
//! pair      ::= ("(" | "[") STRING "," dir [","] (")" | "]")
//! dir       ::= "1" | "-1"                          -> also 1.0 / -1.0
//! ```
//!
//! A value is read as a Python literal first (strings in single or double
//! quotes); a value that starts like a literal but does not parse is a
//! [`QueryError::SortSyntax`].
//!
//! ```
//! use eve_query::{parse_sort, SortDir::*};
//!
//! assert_eq!(parse_sort("city,-lastname").unwrap(), vec![("city".into(), Asc), ("lastname".into(), Desc)]);
//! assert_eq!(parse_sort("[('age', -1)]").unwrap(), vec![("age".into(), Desc)]);
//! assert_eq!(parse_sort(r#"{"age": -1}"#).unwrap(), vec![("age".into(), Desc)]);
//! assert!(parse_sort(r#"[("age", -1"#).is_err());
//! ```
//!
//! # Projections
//!
//! ```
//! use eve_query::{apply_projection, parse_projection};
//! use bson::doc;
//!
//! let p = parse_projection(r#"{"lastname": 1, "born": 0}"#).unwrap();
//! let d = doc! {"firstname": "J", "lastname": "D", "born": 1970};
//! assert_eq!(apply_projection(&d, &p), doc! {"lastname": "D"}); // inclusion wins
//! ```

mod aggregate;
mod ast;
mod bits;
mod compare;
mod datefmt;
mod eqset;
mod eval;
mod expression;
mod filter;
mod geometry;
mod path;
mod projection;
mod pylex;
mod regex_budget;
mod search;
mod sort;
pub mod text;
mod topk;
mod where_json;
mod where_python;

pub use aggregate::{
    AggregateLimits, Foreign, Pipeline, PushDown, DEFAULT_MAX_LOOKUP, MAX_PIPELINE_STAGES,
};
pub use ast::{Cond, ElemMatch, Filter, SortDir, SortSpec};
pub use bits::{binary_mask, BitMask, BitTest};
pub use compare::compare_bson;
pub use datefmt::DateFormat;
pub use expression::AggExpr;
pub use filter::MAX_FILTER_DEPTH;
pub use geometry::{
    bounding_box, central_angle, distance as geo_distance, stored_geometry, GeoCond, GeoOp,
    GeoShape, Metric, EARTH_RADIUS_M, MAX_GEO_POSITIONS,
};
pub use path::values_at_path;
pub use projection::{apply_projection, parse_projection, project_document, Projection};
pub use regex_budget::{MAX_REGEX_POSITIONS, REGEX_SIZE_LIMIT};
pub use search::{lift_searches, Near, Searches, TextSearch};
pub use sort::{parse_sort, sort_documents, MAX_SORT_KEYS};
pub use topk::{SortMemoryExceeded, TopK};
pub use where_json::{
    check_allowed_filters, check_operators, parse_where, parse_where_with_form, WhereForm,
    KNOWN_OPERATORS, MAX_WHERE_LEN,
};

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
    /// An aggregation pipeline that cannot be parsed or run: a malformed or
    /// unknown stage or operator, an expression applied to the wrong
    /// types, or a stage over its memory budget.
    #[error("{0}")]
    Aggregation(String),
}

/// Converts a JSON value to BSON as pymongo would store it: integers that
/// fit 32 bits become Int32, larger ones Int64, other numbers Double.
///
/// ```
/// use bson::Bson;
/// use eve_query::json_to_bson;
/// assert_eq!(json_to_bson(&serde_json::json!(1)), Bson::Int32(1));
/// assert_eq!(json_to_bson(&serde_json::json!(5_000_000_000_i64)), Bson::Int64(5_000_000_000));
/// assert_eq!(json_to_bson(&serde_json::json!(1.5)), Bson::Double(1.5));
/// ```
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
        serde_json::Value::Object(o) => Bson::Document(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_bson(v)))
                .collect(),
        ),
    }
}

impl Filter {
    /// Builds a filter from a MongoDB query document, checking every
    /// operator and operand. Structurally bad operands, unknown operators
    /// and operators this evaluator cannot run (`$where`, `$text`, geo
    /// operators) give [`QueryError::Invalid`]; `$expr` is an aggregation
    /// expression ([`AggExpr`]).
    ///
    /// ```
    /// use eve_query::{Cond, Filter, QueryError};
    /// use bson::doc;
    ///
    /// assert_eq!(
    ///     Filter::parse(&doc! {"a": {"$gt": 1}}),
    ///     Ok(Filter::Field { path: "a".into(), cond: Cond::Gt(1.into()) }),
    /// );
    /// assert_eq!(
    ///     Filter::parse(&doc! {"a": {"$in": 1}}),
    ///     Err(QueryError::Invalid("$in needs an array".into())),
    /// );
    /// ```
    pub fn parse(query: &Document) -> Result<Filter, QueryError> {
        filter::parse_filter(query, 0)
    }

    /// Prints the filter back as a MongoDB query document; parsing the
    /// result gives the same filter back.
    ///
    /// ```
    /// use eve_query::Filter;
    /// use bson::doc;
    ///
    /// let f = Filter::parse(&doc! {"a": 1, "b": {"$size": 2}}).unwrap();
    /// assert_eq!(f.to_document(), doc! {"$and": [{"a": 1}, {"b": {"$size": 2}}]});
    /// assert_eq!(Filter::parse(&f.to_document()), Ok(f));
    /// ```
    pub fn to_document(&self) -> Document {
        filter::filter_to_document(self)
    }

    /// Whether a document satisfies the filter (MongoDB semantics).
    ///
    /// ```
    /// use eve_query::Filter;
    /// use bson::doc;
    ///
    /// let f = Filter::parse(&doc! {"items.price": {"$lt": 10}}).unwrap();
    /// assert!(f.matches(&doc! {"items": [{"price": 50}, {"price": 5}]}));
    /// let ne = Filter::parse(&doc! {"x": {"$ne": 1}}).unwrap();
    /// assert!(ne.matches(&doc! {})); // a missing field is "not equal"
    /// ```
    pub fn matches(&self, doc: &Document) -> bool {
        eval::filter_matches(self, doc)
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
        Filter::Field {
            path: path.into(),
            cond: Cond::Eq(value.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn and_flattens_and_drops_all() {
        let a = Filter::eq("a", 1);
        let b = Filter::eq("b", 2);
        assert_eq!(Filter::All.and(a.clone()), a);
        assert_eq!(a.clone().and(Filter::All), a);
        assert_eq!(
            a.clone().and(b.clone()),
            Filter::And(vec![a.clone(), b.clone()])
        );
        assert_eq!(
            Filter::And(vec![a.clone()]).and(Filter::And(vec![b.clone()])),
            Filter::And(vec![a.clone(), b.clone()])
        );
        assert_eq!(
            b.clone().and(Filter::And(vec![a.clone()])),
            Filter::And(vec![b, a])
        );
    }

    #[test]
    fn eq_builds_an_equality_filter_that_matches() {
        let f = Filter::eq("x.y", "v");
        assert!(f.matches(&doc! {"x": {"y": "v"}}));
        assert!(!f.matches(&doc! {"x": {"y": "w"}}));
    }

    #[test]
    fn error_texts_are_eves() {
        assert_eq!(
            QueryError::WhereSyntax.to_string(),
            "Unable to parse `where` clause"
        );
        assert_eq!(
            QueryError::Blacklisted.to_string(),
            "Query contains operators banned in MONGO_QUERY_BLACKLIST"
        );
        assert_eq!(QueryError::Invalid("boom".into()).to_string(), "boom");
        assert_eq!(QueryError::SortSyntax("bad".into()).to_string(), "bad");
    }

    #[test]
    fn json_to_bson_keeps_key_order_and_nesting() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"z": [1, {"b": null}], "a": true}"#).unwrap();
        assert_eq!(
            json_to_bson(&v),
            Bson::Document(doc! {"z": [1, {"b": Bson::Null}], "a": true})
        );
    }
}
