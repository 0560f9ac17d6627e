//! `eve-store` owns the boundary between the API pipeline and storage: the
//! object-safe [`DataLayer`] trait every back end implements, the
//! [`StoreError`] kinds back ends map their native errors onto, and (behind
//! the `conformance` feature) the conformance suite each back end runs.
//!
//! A data layer knows collections of BSON documents, filters ([`Filter`]),
//! sorts and indexes. It never sees an HTTP request, a status code or a
//! setting: the pipeline plans the query and the store executes it.
//!
//! Conventions every layer follows, as MongoDB does:
//! * every document has a primary key `_id`; a document inserted without
//!   one gets a fresh ObjectId;
//! * a unique index (including the implicit one on `_id`) is enforced by
//!   the store itself, atomically;
//! * `insert` of several documents is atomic: all are stored or none;
//! * a write that returns `Ok` is durable.
//!
//! Writes go through [`DataLayer::apply`]: a [`WriteBatch`] of inserts,
//! replaces, updates and deletes across collections, each optionally
//! "must match" (compare-and-set), applied all-or-nothing when
//! [`Capabilities::atomic_batches`] says so. The one-write methods
//! (`insert`, `replace_one`, …) are provided on top of it. Reads of a page
//! and its total come from one snapshot through [`DataLayer::find_page`].

use async_trait::async_trait;
use bson::{Bson, Document};
pub use eve_query::{Filter, SortDir, SortSpec};

mod batch;
mod change;
pub mod near;
pub use batch::{BatchResult, Capabilities, OpResult, WriteBatch, WriteOp, WriteStep};
pub use change::{ChangeEvent, ChangeOperation, ChangeStream};
pub use eve_query::text::{TextIndex, TEXT_SCORE_KEY};
pub use eve_query::{AggregateLimits, Near, Pipeline, TextSearch};

#[cfg(feature = "conformance")]
pub mod conformance;

/// The deepest nesting of documents and arrays a stored document may have
/// (the document itself is level 1). Layers refuse to store a deeper one
/// ([`StoreError::InvalidQuery`]) and report a deeper one found in storage
/// as corrupt instead of decoding it, so that no stored bytes can make a
/// reader recurse without bound.
pub const MAX_DOCUMENT_DEPTH: usize = 128;

/// The largest stored document in bytes of BSON (MongoDB's limit, 16 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;

/// The errors a data layer reports, whatever its native error type.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index (or `_id`) already holds this value.
    #[error("duplicate key on index {index_name} (write {op}, document {index}): {message}")]
    DuplicateKey {
        /// Position, among the documents of the write, of the document
        /// that collided (0 for a replace or an update).
        index: usize,
        /// Which key collided, for logs and debug messages.
        message: String,
        /// Position of the write in its [`WriteBatch`] (0 for the
        /// one-write methods).
        op: usize,
        /// Name of the unique index (`_id_` for the primary key).
        index_name: String,
    },
    /// A write marked "must match" found no document: the batch was
    /// aborted and nothing of it was applied.
    #[error("write {op} of the batch matched no document: {message}")]
    Conflict {
        /// Position of the write in its [`WriteBatch`].
        op: usize,
        /// What was looked for, for logs.
        message: String,
    },
    /// The request needs something this layer does not do (see
    /// [`Capabilities`]). Maps to a client error.
    #[error("not supported by this data layer: {0}")]
    Unsupported(String),
    /// The query uses something this layer cannot evaluate (a bad regex, an
    /// operator the layer does not implement). Maps to a client error.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// An index definition the layer cannot build (bad keys, or existing
    /// documents violate a new unique index).
    #[error("invalid index {name}: {message}")]
    InvalidIndex {
        /// The index name.
        name: String,
        /// Why it was refused.
        message: String,
    },
    /// The store cannot be reached or is shutting down.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug, an unexpected failure. Never shown to clients.
    #[error("internal store error: {0}")]
    Internal(String),
    /// The disk (or the store's size limit) is full: nothing was written.
    /// Reads still work; writes may succeed again once space is freed.
    #[error("store full: {0}")]
    Full(String),
    /// The operating system failed to read or write the store's files.
    #[error("store I/O error: {0}")]
    Io(String),
    /// The store's files are damaged (truncated, overwritten, a lost
    /// write-ahead log): the layer refuses to serve them. The message says
    /// what was found, for the operator.
    #[error("store damaged: {0}")]
    Corrupt(String),
}

/// Result alias for data-layer calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// Direction or kind of one index key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexKey {
    /// Ascending (`1`).
    Asc,
    /// Descending (`-1`).
    Desc,
    /// A special kind: `2d`, `2dsphere`, `text`, `hashed`. Layers that do
    /// not support a kind keep the definition and fall back to scans.
    Special(String),
}

/// One index of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    /// Index name (unique per collection).
    pub name: String,
    /// Keyed fields (dotted paths), in order.
    pub keys: Vec<(String, IndexKey)>,
    /// Reject two documents with the same key.
    pub unique: bool,
    /// Skip documents that lack the first key field.
    pub sparse: bool,
    /// For a text index (keys of kind `text`): the fields with their
    /// weights and the languages. A collection has at most one.
    pub text: Option<TextIndex>,
}

impl IndexSpec {
    /// The text index this is (an index with `text` keys): its
    /// [`IndexSpec::text`] options, or for an index whose keys are all
    /// `text` and that has none, MongoDB's defaults (weight 1, English,
    /// `language`). `None` for other indexes.
    pub fn text_index(&self) -> Option<TextIndex> {
        let is_text = |k: &IndexKey| matches!(k, IndexKey::Special(s) if s == "text");
        if !self.keys.iter().any(|(_, k)| is_text(k)) {
            return None;
        }
        if let Some(t) = &self.text {
            return Some(t.clone());
        }
        if !self.keys.iter().all(|(_, k)| is_text(k)) {
            return None;
        }
        Some(TextIndex {
            fields: self.keys.iter().map(|(f, _)| (f.clone(), 1)).collect(),
            default_language: eve_query::text::Language::English,
            language_override: "language".into(),
        })
    }
}

/// A read: filter, order, window.
#[derive(Debug, Clone, PartialEq)]
pub struct FindQuery {
    /// Which documents.
    pub filter: Filter,
    /// Order of the results; empty means natural (insertion) order.
    pub sort: SortSpec,
    /// Documents to skip after sorting.
    pub skip: u64,
    /// Maximum number of documents, `None` for all.
    pub limit: Option<u64>,
    /// MongoDB projection (`{field: 1, …}` or `{field: 0, …}`, dotted
    /// paths through arrays of documents), applied by the layer after
    /// filtering and sorting with [`project`]; `None`
    /// returns whole documents.
    pub projection: Option<Document>,
    /// A proximity search (`$near`/`$nearSphere` lifted out of the
    /// client `where`): only a layer with [`Capabilities::geo`] runs it;
    /// the others refuse the query ([`FindQuery::check_supported`]).
    pub near: Option<Near>,
    /// A `$text` search: only a layer with [`Capabilities::text_search`]
    /// runs it; the others refuse the query.
    pub text: Option<TextSearch>,
}

impl FindQuery {
    /// All documents matching `filter`, in natural order.
    pub fn new(filter: Filter) -> Self {
        FindQuery {
            filter,
            sort: Vec::new(),
            skip: 0,
            limit: None,
            projection: None,
            near: None,
            text: None,
        }
    }

    /// Refuses, with [`StoreError::Unsupported`], a query that needs what
    /// `capabilities` lack (a geo or text search). Every layer calls it
    /// first in `find` and `find_page`, so that a search is never
    /// silently dropped.
    ///
    /// ```
    /// use eve_store::{Capabilities, Filter, FindQuery, StoreError, TextSearch};
    /// let mut q = FindQuery::new(Filter::All);
    /// assert!(q.check_supported(Capabilities::default()).is_ok());
    /// q.text = Some(TextSearch::new("coffee"));
    /// let err = q.check_supported(Capabilities::default()).unwrap_err();
    /// assert_eq!(err.to_string(), "not supported by this data layer: text search ($text)");
    /// ```
    pub fn check_supported(&self, capabilities: Capabilities) -> StoreResult<()> {
        if self.near.is_some() && !capabilities.geo {
            return Err(StoreError::Unsupported(
                "geo queries ($near, $nearSphere)".into(),
            ));
        }
        if self.text.is_some() && !capabilities.text_search {
            return Err(StoreError::Unsupported("text search ($text)".into()));
        }
        if self.text.is_none() && self.sort.iter().any(|(k, _)| k == TEXT_SCORE_KEY) {
            return Err(StoreError::InvalidQuery(
                "sorting on {\"$meta\": \"textScore\"} needs a $text search".into(),
            ));
        }
        Ok(())
    }
}

/// Applies a MongoDB projection to one stored document, as a data layer
/// does for [`FindQuery::projection`]: `eve_query::project_document` (the
/// one projection of eve-rs), with `_id` kept unless the projection
/// mentions it, as MongoDB does.
pub fn project(doc: Document, projection: &Document) -> Document {
    project_all(vec![doc], projection).pop().unwrap_or_default()
}

/// [`project`] for every document of a page: the projection is parsed once.
pub fn project_all(docs: Vec<Document>, projection: &Document) -> Vec<Document> {
    let keep_id = !projection.contains_key("_id");
    let compiled = eve_query::Projection::new(projection);
    docs.into_iter()
        .map(|doc| {
            if !keep_id {
                return compiled.apply(doc);
            }
            let id = doc.get("_id").cloned();
            let out = compiled.apply(doc);
            match id {
                Some(id) if !out.contains_key("_id") => {
                    let mut with_id = Document::new();
                    with_id.insert("_id", id);
                    with_id.extend(out);
                    with_id
                }
                _ => out,
            }
        })
        .collect()
}

/// The storage interface of eve-rs. Object safe: hold it as
/// `Arc<dyn DataLayer>`.
#[async_trait]
pub trait DataLayer: Send + Sync + 'static {
    /// A short name for logs (`embedded`, `mongo`, `postgres`).
    fn name(&self) -> &'static str;

    /// Makes sure `collection` exists with exactly these indexes (besides
    /// the implicit unique `_id` index): creates missing ones, rebuilds
    /// changed ones, drops the ones no longer listed. Called at start-up.
    async fn prepare_collection(&self, collection: &str, indexes: &[IndexSpec]) -> StoreResult<()>;

    /// What this layer can do beyond the core contract. The default
    /// claims nothing.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Documents matching the query, sorted (MongoDB order across types),
    /// then windowed, then projected (`query.projection`).
    async fn find(&self, collection: &str, query: &FindQuery) -> StoreResult<Vec<Document>>;

    /// Number of documents matching `filter`.
    async fn count(&self, collection: &str, filter: &Filter) -> StoreResult<u64>;

    /// A page of documents (as [`find`](Self::find)) and, when `count`,
    /// the number of documents matching the filter, both read from one
    /// snapshot, so the total always agrees with the page. The default
    /// runs `find` then `count` (no snapshot): layers with snapshots
    /// override it.
    async fn find_page(
        &self,
        collection: &str,
        query: &FindQuery,
        count: bool,
    ) -> StoreResult<(Vec<Document>, Option<u64>)> {
        let docs = self.find(collection, query).await?;
        let total = if count {
            Some(self.count(collection, &query.filter).await?)
        } else {
            None
        };
        Ok((docs, total))
    }

    /// The first document matching `filter` (natural order).
    async fn find_one(&self, collection: &str, filter: &Filter) -> StoreResult<Option<Document>> {
        let mut query = FindQuery::new(filter.clone());
        query.limit = Some(1);
        Ok(self.find(collection, &query).await?.into_iter().next())
    }

    /// Applies the writes of `batch` in order, all-or-nothing when
    /// [`Capabilities::atomic_batches`]: a failed "must match" aborts with
    /// [`StoreError::Conflict`] naming the write, a unique violation with
    /// [`StoreError::DuplicateKey`] naming the write, the index and the
    /// document; either way nothing of the batch is applied. Returns one
    /// result per write.
    async fn apply(&self, batch: WriteBatch) -> StoreResult<BatchResult>;

    /// Inserts every document, atomically and in order; documents without
    /// `_id` get a new ObjectId. Returns the `_id` of each document.
    async fn insert(&self, collection: &str, docs: Vec<Document>) -> StoreResult<Vec<Bson>> {
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let op = WriteOp::Insert {
            collection: collection.to_string(),
            docs,
        };
        Ok(first(self.apply(WriteBatch::new().push(op)).await?).inserted_ids)
    }

    /// Replaces the first document matching `filter` with `doc` (which
    /// keeps the matched document's `_id`). Returns whether one matched:
    /// `false` means the conditional write found nothing (changed or gone).
    async fn replace_one(
        &self,
        collection: &str,
        filter: &Filter,
        doc: Document,
    ) -> StoreResult<bool> {
        let op = WriteOp::Replace {
            collection: collection.to_string(),
            filter: filter.clone(),
            doc,
        };
        Ok(first(self.apply(WriteBatch::new().push(op)).await?).matched > 0)
    }

    /// Sets fields on the first document matching `filter`. Keys of `set`
    /// may be dotted paths (`a.b`), which create intermediate documents as
    /// MongoDB's `$set` does. Returns whether one matched.
    async fn update_one(
        &self,
        collection: &str,
        filter: &Filter,
        set: Document,
    ) -> StoreResult<bool> {
        let op = WriteOp::Update {
            collection: collection.to_string(),
            filter: filter.clone(),
            set,
            unset: Vec::new(),
            many: false,
        };
        Ok(first(self.apply(WriteBatch::new().push(op)).await?).matched > 0)
    }

    /// Deletes every document matching `filter`; returns how many.
    async fn delete_many(&self, collection: &str, filter: &Filter) -> StoreResult<u64> {
        let op = WriteOp::Delete {
            collection: collection.to_string(),
            filter: filter.clone(),
            many: true,
        };
        Ok(first(self.apply(WriteBatch::new().push(op)).await?).modified)
    }

    /// Runs an aggregation pipeline over `collection`. The default pushes
    /// the leading `$match` stages, and a `$sort`, `$skip` and `$limit`
    /// right after them ([`Pipeline::split_push_down`]), down into
    /// [`find`](Self::find), reads the collections `$lookup` joins whole,
    /// and runs the rest in memory ([`Pipeline::run_with`]) within
    /// `limits`: documents read, blocking stages and the result each count
    /// against the memory budget, and going over it is a
    /// [`StoreError::InvalidQuery`] that says so, as is any error of the
    /// pipeline itself. Layers with native aggregation
    /// ([`Capabilities::native_aggregation`]) override it.
    async fn aggregate(
        &self,
        collection: &str,
        pipeline: &Pipeline,
        limits: AggregateLimits,
    ) -> StoreResult<Vec<Document>> {
        let (push, rest) = pipeline.split_push_down();
        let mut query = FindQuery::new(push.filter);
        query.sort = push.sort;
        query.skip = push.skip;
        query.limit = push.limit;
        let over = || {
            StoreError::InvalidQuery(format!(
                "the documents read by the aggregation exceed the memory limit of {} bytes \
                 (AGGREGATION_MEMORY_LIMIT): start the pipeline with a more selective $match",
                limits.memory_bytes
            ))
        };
        let mut held = 0usize;
        let mut weigh = |docs: &[Document]| {
            held = docs
                .iter()
                .map(|d| d.to_vec().map_or(usize::MAX, |b| b.len()))
                .fold(held, usize::saturating_add);
            held <= limits.memory_bytes
        };
        let docs = self.find(collection, &query).await?;
        if !weigh(&docs) {
            return Err(over());
        }
        let mut foreign = eve_query::Foreign::new();
        for name in pipeline.lookup_collections() {
            let joined = self.find(&name, &FindQuery::new(Filter::All)).await?;
            if !weigh(&joined) {
                return Err(over());
            }
            foreign.insert(name, joined);
        }
        rest.run_with(docs, &limits, &foreign)
            .map_err(|e| StoreError::InvalidQuery(e.to_string()))
    }

    /// The changes to `collection` as they are committed, from now on.
    /// The default (a layer without [`Capabilities::change_stream`]) is
    /// [`StoreError::Unsupported`]`("change stream")`.
    async fn watch(&self, collection: &str) -> StoreResult<ChangeStream> {
        let _ = collection;
        Err(StoreError::Unsupported("change stream".into()))
    }

    /// Checks the store's own integrity (indexes agree with documents, files
    /// are sound). Layers without such a check return `Ok(())`.
    async fn check_integrity(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// The result of a one-write batch.
fn first(result: BatchResult) -> OpResult {
    result.ops.into_iter().next().unwrap_or_default()
}
