//! Write batches: an ordered list of writes across collections that a
//! data layer applies all-or-nothing ([`DataLayer::apply`](crate::DataLayer::apply)),
//! and what each write did.

use bson::{Bson, Document};
use eve_query::Filter;

/// One write of a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Inserts documents in order; a document without `_id` gets a new
    /// ObjectId.
    Insert {
        /// Target collection.
        collection: String,
        /// The documents.
        docs: Vec<Document>,
    },
    /// Replaces the first document (natural order) matching `filter`; the
    /// stored `_id` is kept.
    Replace {
        /// Target collection.
        collection: String,
        /// Which document.
        filter: Filter,
        /// The new content.
        doc: Document,
    },
    /// MongoDB's `$set` (dotted paths create intermediate documents) then
    /// `$unset` (dotted paths; a missing field is no change) on the first
    /// match, or on every match when `many`. `_id` is never changed.
    Update {
        /// Target collection.
        collection: String,
        /// Which documents.
        filter: Filter,
        /// Fields to set.
        set: Document,
        /// Fields to remove.
        unset: Vec<String>,
        /// Every match rather than the first.
        many: bool,
    },
    /// Deletes the first match, or every match when `many`.
    Delete {
        /// Target collection.
        collection: String,
        /// Which documents.
        filter: Filter,
        /// Every match rather than the first.
        many: bool,
    },
    /// Writes nothing: checks that some document of `collection` matches
    /// `filter` (use it with [`WriteStep::must_match`] to make the other
    /// writes conditional on a document they do not touch).
    Check {
        /// Collection to look in.
        collection: String,
        /// What must (or may) be there.
        filter: Filter,
    },
}

impl WriteOp {
    /// The collection this write targets.
    pub fn collection(&self) -> &str {
        match self {
            WriteOp::Insert { collection, .. }
            | WriteOp::Replace { collection, .. }
            | WriteOp::Update { collection, .. }
            | WriteOp::Delete { collection, .. }
            | WriteOp::Check { collection, .. } => collection,
        }
    }
}

/// A write and whether it must match.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteStep {
    /// The write.
    pub op: WriteOp,
    /// Compare-and-set: the write's filter must match at least one
    /// document (put `_etag` or any other condition in the filter), else
    /// the whole batch is aborted with
    /// [`StoreError::Conflict`](crate::StoreError::Conflict). Ignored by
    /// inserts, which have no filter.
    pub must_match: bool,
}

/// An ordered list of writes applied all-or-nothing: later writes see the
/// effects of earlier ones, and any failure leaves every collection as it
/// was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteBatch {
    /// The writes, in order.
    pub steps: Vec<WriteStep>,
}

impl WriteStep {
    /// Whether a layer must abort the batch when this write matches
    /// nothing: `must_match` on a write that has a filter (inserts have
    /// none). One rule for every layer.
    pub fn requires_match(&self) -> bool {
        self.must_match && !matches!(self.op, WriteOp::Insert { .. })
    }
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        WriteBatch::default()
    }

    /// Appends a write that may match nothing.
    pub fn push(mut self, op: WriteOp) -> Self {
        self.steps.push(WriteStep {
            op,
            must_match: false,
        });
        self
    }

    /// Appends a write whose filter must match (compare-and-set).
    pub fn push_must_match(mut self, op: WriteOp) -> Self {
        self.steps.push(WriteStep {
            op,
            must_match: true,
        });
        self
    }
}

/// What one write of a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OpResult {
    /// The `_id` of each inserted document, in order (inserts only).
    pub inserted_ids: Vec<Bson>,
    /// Documents the filter matched (replace, update, delete, check).
    pub matched: u64,
    /// Documents whose content changed (replace, update) or that were
    /// removed (delete).
    pub modified: u64,
}

/// What a batch did: one [`OpResult`] per write, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchResult {
    /// Per-write results.
    pub ops: Vec<OpResult>,
}

/// What a data layer can do beyond the core contract; the pipeline asks
/// instead of assuming, and a layer refuses what it cannot do with
/// [`StoreError::Unsupported`](crate::StoreError::Unsupported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// [`DataLayer::apply`](crate::DataLayer::apply) is all-or-nothing
    /// across collections (one transaction).
    pub atomic_batches: bool,
    /// Geo queries (`$near`, `$geoWithin`) are evaluated.
    pub geo: bool,
    /// Text search (`$text`) is evaluated.
    pub text_search: bool,
    /// Aggregation pipelines run in the store.
    pub native_aggregation: bool,
    /// Changes can be watched as they happen.
    pub change_stream: bool,
}
