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
//! `$unwind`, `$replaceRoot`/`$replaceWith`, `$sortByCount`, `$facet`,
//! `$bucket`, and `$lookup` (its equality form, over the collections the
//! caller hands in: [`Pipeline::lookup_collections`],
//! [`Pipeline::run_with`]).
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

mod compound;
mod group;
mod stages;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::HashMap;

use bson::{Bson, Document};

use crate::compare::compare_bson;
use crate::{Filter, QueryError};
use stages::Stage;

/// Most stages one pipeline may have (MongoDB's limit too).
pub const MAX_PIPELINE_STAGES: usize = 1000;

pub(crate) use crate::expression::{agg_err, arith, expr, type_name, MAX_EXPR_DEPTH};

/// Default of [`AggregateLimits::max_lookup`].
pub const DEFAULT_MAX_LOOKUP: usize = 1000;

/// The documents of the collections a pipeline's `$lookup` stages join,
/// by collection name, in natural order.
pub type Foreign = HashMap<String, Vec<Document>>;

/// The budget a pipeline runs within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateLimits {
    /// Bytes (estimated BSON size) that one blocking stage (`$group`,
    /// `$sort`, `$sortByCount`, `$bucket`, `$facet`) may hold, and that the
    /// output of a stage that can grow documents (`$project`,
    /// `$addFields`/`$set`, `$replaceRoot`, `$unwind`, `$lookup`) and the
    /// pipeline's result may reach. The store's `SORT_MEMORY_LIMIT` is the
    /// natural value.
    pub memory_bytes: usize,
    /// Most documents one `$lookup` joins to one input document (its
    /// fan-out); more is an error.
    pub max_lookup: usize,
}

impl AggregateLimits {
    /// Limits with a memory budget of `memory_bytes` and the default
    /// `$lookup` fan-out ([`DEFAULT_MAX_LOOKUP`]).
    pub fn new(memory_bytes: usize) -> Self {
        AggregateLimits {
            memory_bytes,
            max_lookup: DEFAULT_MAX_LOOKUP,
        }
    }

    /// These limits with a `$lookup` fan-out of `max_lookup`.
    pub fn with_max_lookup(mut self, max_lookup: usize) -> Self {
        self.max_lookup = max_lookup;
        self
    }
}

/// What a running stage reads besides its input documents.
pub(crate) struct RunCtx<'a> {
    /// The budget.
    pub(crate) limits: &'a AggregateLimits,
    /// The collections `$lookup` joins.
    pub(crate) foreign: &'a Foreign,
}

/// A parsed aggregation pipeline. It keeps the stage documents it was
/// parsed from ([`Pipeline::documents`]) and MongoDB's aggregate options
/// ([`Pipeline::options`]), for layers that run pipelines natively.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    stages: Vec<Stage>,
    raw: Vec<Document>,
    options: Document,
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
            raw: stages.to_vec(),
            options: Document::new(),
        })
    }

    /// This pipeline with MongoDB's aggregate `options` (`allowDiskUse`,
    /// `maxTimeMS`, `batchSize`, ...): layers that run pipelines natively
    /// pass them on; the in-memory engine ignores them.
    pub fn with_options(mut self, options: Document) -> Pipeline {
        self.options = options;
        self
    }

    /// The stage documents, as parsed.
    pub fn documents(&self) -> &[Document] {
        &self.raw
    }

    /// MongoDB's aggregate options ([`Pipeline::with_options`]).
    pub fn options(&self) -> &Document {
        &self.options
    }

    /// The collections the pipeline's `$lookup` stages join (those inside
    /// `$facet` included), each once, in order of appearance.
    pub fn lookup_collections(&self) -> Vec<String> {
        let mut out = Vec::new();
        for stage in &self.stages {
            stage.lookup_collections(&mut out);
        }
        out
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
        (filter, self.tail(n))
    }

    /// Splits off what a data layer's find can run: the leading `$match`
    /// stages, then a `$sort`, `$skip` and `$limit` if they come next in
    /// that order (each optional). See [`PushDown`].
    ///
    /// ```
    /// use bson::doc;
    /// use eve_query::{Filter, Pipeline, SortDir};
    ///
    /// let p = Pipeline::parse(&[
    ///     doc! {"$match": {"a": 1}},
    ///     doc! {"$sort": {"b": -1}},
    ///     doc! {"$limit": 5},
    ///     doc! {"$count": "n"},
    /// ]).unwrap();
    /// let (push, rest) = p.split_push_down();
    /// assert_eq!(push.filter, Filter::eq("a", 1));
    /// assert_eq!(push.sort, vec![("b".to_string(), SortDir::Desc)]);
    /// assert_eq!((push.skip, push.limit), (0, Some(5)));
    /// assert_eq!(rest.len(), 1);
    /// ```
    pub fn split_push_down(&self) -> (PushDown, Pipeline) {
        let (filter, _) = self.split_leading_match();
        let mut n = self
            .stages
            .iter()
            .take_while(|s| matches!(s, Stage::Match(_)))
            .count();
        let mut push = PushDown {
            filter,
            sort: Vec::new(),
            skip: 0,
            limit: None,
        };
        if let Some(Stage::Sort(spec)) = self.stages.get(n) {
            push.sort = spec.clone();
            n += 1;
        }
        if let Some(Stage::Skip(k)) = self.stages.get(n) {
            push.skip = *k;
            n += 1;
        }
        if let Some(Stage::Limit(k)) = self.stages.get(n) {
            push.limit = Some(*k);
            n += 1;
        }
        (push, self.tail(n))
    }

    fn tail(&self, n: usize) -> Pipeline {
        Pipeline {
            stages: self.stages[n..].to_vec(),
            raw: self.raw.get(n..).unwrap_or_default().to_vec(),
            options: self.options.clone(),
        }
    }

    /// Runs the pipeline over `docs`, in their order, with no collection
    /// to join (a `$lookup` finds nothing).
    pub fn run(
        &self,
        docs: Vec<Document>,
        limits: &AggregateLimits,
    ) -> Result<Vec<Document>, QueryError> {
        self.run_with(docs, limits, &Foreign::new())
    }

    /// Runs the pipeline over `docs`, in their order; `$lookup` stages
    /// join the documents of `foreign` (a collection absent from it is
    /// empty).
    pub fn run_with(
        &self,
        docs: Vec<Document>,
        limits: &AggregateLimits,
        foreign: &Foreign,
    ) -> Result<Vec<Document>, QueryError> {
        let cx = RunCtx { limits, foreign };
        let docs = self.run_stages(docs, &cx)?;
        let total = docs
            .iter()
            .map(doc_size)
            .fold(0usize, usize::saturating_add);
        if total > limits.memory_bytes {
            return Err(memory_error("the aggregation result", limits.memory_bytes));
        }
        Ok(docs)
    }

    pub(crate) fn run_stages(
        &self,
        mut docs: Vec<Document>,
        cx: &RunCtx<'_>,
    ) -> Result<Vec<Document>, QueryError> {
        let mut i = 0;
        while let Some(stage) = self.stages.get(i) {
            // A $sort directly followed by a $limit keeps only that many
            // documents while sorting, as MongoDB does.
            let keep = match (stage, self.stages.get(i + 1)) {
                (Stage::Sort(_), Some(Stage::Limit(n))) => usize::try_from(*n).ok(),
                _ => None,
            };
            docs = stage.run(docs, keep, cx)?;
            i += 1;
        }
        Ok(docs)
    }

    /// Whether a stage of this pipeline may not run inside `$facet`.
    pub(crate) fn has_facet_forbidden_stage(&self) -> bool {
        self.stages.iter().any(|s| matches!(s, Stage::Facet(_)))
    }
}

/// The part of a pipeline a data layer's find runs
/// ([`Pipeline::split_push_down`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PushDown {
    /// The conjunction of the leading `$match` stages.
    pub filter: Filter,
    /// The `$sort` that follows them (empty: none).
    pub sort: crate::SortSpec,
    /// The `$skip` after that (0: none).
    pub skip: u64,
    /// The `$limit` after that.
    pub limit: Option<u64>,
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
