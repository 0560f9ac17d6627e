//! An in-memory MongoDB aggregation engine: a pipeline (a list of stage
//! documents) is parsed once into a typed [`Pipeline`], then run over
//! documents with [`Pipeline::run`]. Data layers without native
//! aggregation use it; every malformed stage, unknown stage or unknown
//! operator is a [`QueryError::Aggregation`] with a clear message, and a
//! stage that would hold more than the memory budget
//! ([`AggregateLimits`]) fails instead of growing.
//!
//! Stages: `$match`, `$project`, `$addFields`/`$set`, `$unset`, `$group`
//! (`$sum`, `$avg`, `$min`, `$max`, `$first`, `$last`, `$push`,
//! `$addToSet`, `$count`), `$sort`, `$skip`, `$limit`, `$count`,
//! `$unwind`, `$replaceRoot`/`$replaceWith`, `$sortByCount`.
//!
//! ```
//! use bson::doc;
//! use eve_query::{AggregateLimits, Pipeline};
//!
//! let p = Pipeline::parse(&[
//!     doc! {"$match": {"status": "A"}},
//!     doc! {"$group": {"_id": "$cust", "total": {"$sum": "$amount"}}},
//!     doc! {"$sort": {"total": -1}},
//! ]).unwrap();
//! let docs = vec![
//!     doc! {"cust": "a", "status": "A", "amount": 50},
//!     doc! {"cust": "b", "status": "A", "amount": 100},
//!     doc! {"cust": "a", "status": "A", "amount": 75},
//!     doc! {"cust": "b", "status": "D", "amount": 300},
//! ];
//! let out = p.run(docs, &AggregateLimits::new(1 << 20)).unwrap();
//! assert_eq!(out, vec![doc! {"_id": "a", "total": 125}, doc! {"_id": "b", "total": 100}]);
//! ```

mod arith;
mod expr;
mod group;
mod stages;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;

use bson::{Bson, Document};

use crate::compare::compare_bson;
use crate::{Filter, QueryError};
use stages::Stage;

/// Most stages one pipeline may have (MongoDB's limit too).
pub const MAX_PIPELINE_STAGES: usize = 1000;

/// Deepest nesting of an aggregation expression.
pub(crate) const MAX_EXPR_DEPTH: usize = 100;

/// The budget a pipeline runs within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateLimits {
    /// Bytes (estimated BSON size) that one blocking stage (`$group`,
    /// `$sort`, `$sortByCount`) may hold, and that the output of a stage
    /// that can grow documents (`$project`, `$addFields`/`$set`,
    /// `$replaceRoot`, `$unwind`) and the pipeline's result may reach. The
    /// store's `SORT_MEMORY_LIMIT` is the natural value.
    pub memory_bytes: usize,
}

impl AggregateLimits {
    /// Limits with a memory budget of `memory_bytes`.
    pub fn new(memory_bytes: usize) -> Self {
        AggregateLimits { memory_bytes }
    }
}

/// A parsed aggregation pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    stages: Vec<Stage>,
}

impl Pipeline {
    /// Parses a pipeline of at most [`MAX_PIPELINE_STAGES`] stages, each a
    /// document with exactly one key, the stage name.
    pub fn parse(stages: &[Document]) -> Result<Pipeline, QueryError> {
        if stages.len() > MAX_PIPELINE_STAGES {
            return Err(agg_err(format!(
                "a pipeline may have at most {MAX_PIPELINE_STAGES} stages (found {})",
                stages.len()
            )));
        }
        Ok(Pipeline {
            stages: stages.iter().map(Stage::parse).collect::<Result<_, _>>()?,
        })
    }

    /// Number of stages.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// Whether the pipeline has no stage (it returns its input).
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Splits off the leading `$match` stages, for a data layer to push
    /// down into its own query: their conjunction (`Filter::All` when
    /// there is none) and the pipeline of the remaining stages.
    ///
    /// ```
    /// use bson::doc;
    /// use eve_query::{Filter, Pipeline};
    ///
    /// let p = Pipeline::parse(&[doc! {"$match": {"a": 1}}, doc! {"$limit": 1}]).unwrap();
    /// let (filter, rest) = p.split_leading_match();
    /// assert_eq!(filter, Filter::eq("a", 1));
    /// assert_eq!(rest.len(), 1);
    /// ```
    pub fn split_leading_match(&self) -> (Filter, Pipeline) {
        let mut filter = Filter::All;
        let mut n = 0;
        for stage in &self.stages {
            let Stage::Match(f) = stage else { break };
            filter = filter.and(f.clone());
            n += 1;
        }
        (
            filter,
            Pipeline {
                stages: self.stages[n..].to_vec(),
            },
        )
    }

    /// Runs the pipeline over `docs`, in their order.
    pub fn run(
        &self,
        docs: Vec<Document>,
        limits: &AggregateLimits,
    ) -> Result<Vec<Document>, QueryError> {
        let mut docs = docs;
        let mut i = 0;
        while let Some(stage) = self.stages.get(i) {
            // A $sort directly followed by a $limit keeps only that many
            // documents while sorting, as MongoDB does.
            let keep = match (stage, self.stages.get(i + 1)) {
                (Stage::Sort(_), Some(Stage::Limit(n))) => usize::try_from(*n).ok(),
                _ => None,
            };
            docs = stage.run(docs, keep, limits.memory_bytes)?;
            i += 1;
        }
        let total = docs
            .iter()
            .map(doc_size)
            .fold(0usize, usize::saturating_add);
        if total > limits.memory_bytes {
            return Err(memory_error("the aggregation result", limits.memory_bytes));
        }
        Ok(docs)
    }
}

/// An aggregation error with `message`.
pub(crate) fn agg_err(message: String) -> QueryError {
    QueryError::Aggregation(message)
}

/// The error of a stage over its memory budget.
pub(crate) fn memory_error(what: &str, limit: usize) -> QueryError {
    agg_err(format!(
        "{what} exceeded the memory limit of {limit} bytes: filter more, or $limit earlier"
    ))
}

/// Refuses an output field name that is empty, starts with `$` or has a
/// dot.
pub(crate) fn check_field_name(name: &str, stage: &str) -> Result<(), QueryError> {
    if name.is_empty() || name.starts_with('$') || name.contains('.') {
        return Err(agg_err(format!(
            "{stage}: the field name '{name}' must be non-empty and may not start with '$' or contain '.'"
        )));
    }
    Ok(())
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

/// An estimate of a value's BSON size in bytes, for memory budgets.
pub(crate) fn bson_size(v: &Bson) -> usize {
    match v {
        Bson::String(s) | Bson::Symbol(s) | Bson::JavaScriptCode(s) => s.len() + 5,
        Bson::Document(d) => doc_size(d),
        Bson::Array(items) => items
            .iter()
            .map(|e| bson_size(e) + 4)
            .fold(5usize, usize::saturating_add),
        Bson::Binary(b) => b.bytes.len() + 5,
        Bson::RegularExpression(r) => r.pattern.len() + r.options.len() + 2,
        Bson::Decimal128(_) => 16,
        Bson::ObjectId(_) => 12,
        _ => 8,
    }
}

/// An estimate of a document's BSON size in bytes.
pub(crate) fn doc_size(d: &Document) -> usize {
    d.iter()
        .map(|(k, v)| k.len() + 2 + bson_size(v))
        .fold(5usize, usize::saturating_add)
}

/// A BSON value ordered and compared by MongoDB's order, so that `1`,
/// `1.0` and `NumberLong(1)` are one group key.
#[derive(Debug, Clone)]
pub(crate) struct BsonKey(pub(crate) Bson);

impl PartialEq for BsonKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for BsonKey {}

impl PartialOrd for BsonKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BsonKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_bson(&self.0, &other.0)
    }
}
