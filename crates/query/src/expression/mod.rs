//! Aggregation expressions (MongoDB's expression language): parsed once
//! into [`expr::Expr`], then evaluated per document. The aggregation
//! engine ([`crate::aggregate`]) computes fields with them, and `$expr`
//! in a filter ([`crate::AggExpr`]) tests documents with them.

pub(crate) mod arith;
pub(crate) mod dates;
pub(crate) mod expr;
pub(crate) mod ops;
pub(crate) mod scoped;

use bson::Bson;

use crate::QueryError;

/// Deepest nesting of an aggregation expression.
pub(crate) const MAX_EXPR_DEPTH: usize = 100;

/// An aggregation error with `message`.
pub(crate) fn agg_err(message: String) -> QueryError {
    QueryError::Aggregation(message)
}

/// MongoDB's name of a value's type, for messages (`missing` for none).
pub(crate) fn type_name(v: Option<&Bson>) -> &'static str {
    match v {
        None => "missing",
        Some(Bson::Double(_)) => "double",
        Some(Bson::String(_)) => "string",
        Some(Bson::Document(_)) => "object",
        Some(Bson::Array(_)) => "array",
        Some(Bson::Binary(_)) => "binData",
        Some(Bson::Undefined) => "undefined",
        Some(Bson::ObjectId(_)) => "objectId",
        Some(Bson::Boolean(_)) => "bool",
        Some(Bson::DateTime(_)) => "date",
        Some(Bson::Null) => "null",
        Some(Bson::RegularExpression(_)) => "regex",
        Some(Bson::Int32(_)) => "int",
        Some(Bson::Int64(_)) => "long",
        Some(Bson::Timestamp(_)) => "timestamp",
        Some(Bson::Decimal128(_)) => "decimal",
        Some(_) => "other",
    }
}

/// A parsed `$expr` filter: an aggregation expression that a document
/// satisfies when it evaluates to a true value (MongoDB's truthiness:
/// not `false`, `null`, missing, `undefined` or zero). It can compare
/// fields of the same document (`{"$expr": {"$gt": ["$spent", "$budget"]}}`).
///
/// ```
/// use bson::{bson, doc};
/// use eve_query::Filter;
///
/// let f = Filter::parse(&doc! {"$expr": {"$gt": ["$spent", "$budget"]}}).unwrap();
/// assert!(f.matches(&doc! {"spent": 450, "budget": 400}));
/// assert!(!f.matches(&doc! {"spent": 100, "budget": 400}));
/// assert_eq!(f.to_document(), doc! {"$expr": {"$gt": ["$spent", "$budget"]}});
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AggExpr {
    raw: Bson,
    expr: expr::Expr,
}

impl AggExpr {
    /// Parses the operand of `$expr`.
    pub fn parse(v: &Bson) -> Result<AggExpr, QueryError> {
        Ok(AggExpr {
            raw: v.clone(),
            expr: expr::Expr::parse(v)?,
        })
    }

    /// The expression as written.
    pub fn raw(&self) -> &Bson {
        &self.raw
    }

    /// Whether `doc` satisfies the expression. An expression that fails
    /// on a document (a division by zero, a type error) does not match
    /// it (MongoDB fails the whole query instead).
    pub fn matches(&self, doc: &bson::Document) -> bool {
        self.expr.eval(doc).is_ok_and(|v| expr::truthy(&v))
    }
}
