//! `eve-store-mongo`: the MongoDB data layer of eve-rs, on the official
//! `mongodb` driver.
//!
//! Everything runs in MongoDB: the filter AST ([`eve_query::Filter`]) is
//! printed back as the query document, and sort, skip, limit, projection
//! and counts are the server's. Nothing scans a collection in eve-rs.
//!
//! What is atomic depends on the deployment, found with `hello` when the
//! layer first talks to the server ([`Topology`]):
//! * replica set or sharded cluster: a [`WriteBatch`] runs in one
//!   multi-document transaction (retried on transient conflicts), and a
//!   page and its total are read from one snapshot session;
//! * standalone server (no transactions in MongoDB): the writes of a batch
//!   run one after the other and a failure undoes the earlier ones with
//!   compensating writes (ordered insert, then deletes of what was
//!   inserted; saved documents put back for replaces, updates and
//!   deletes). Other clients can see the intermediate state, and a crash
//!   of eve-rs between a write and its undo leaves the earlier writes in
//!   place: see docs/mongodb.md. The layer says so in the log when it
//!   finds such a server.
//!
//! Documents are stored as they are: BSON types (ObjectId, dates,
//! Decimal128, DBRef) and field names are the ones Python Eve uses, so
//! both can serve the same database.

mod aggregate;
mod batch;
mod config;
mod error;
mod gridfs;
mod indexes;
mod text;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bson::{doc, Bson, Document};
use futures_util::TryStreamExt;
use mongodb::options::{DatabaseOptions, FindOptions, Hint, ReadConcern, WriteConcern};
use mongodb::{Client, ClientSession, Collection, Database};
use tokio::sync::OnceCell;

use eve_query::Cond;
use eve_store::{
    AggregateLimits, BatchResult, Capabilities, DataLayer, Filter, FindQuery, IndexSpec, Pipeline,
    SortDir, StoreError, StoreResult, WriteBatch,
};

pub use config::{
    ConfigError, MongoConfig, WriteAck, WriteConcernConfig, DEFAULT_DBNAME,
    DEFAULT_SERVER_SELECTION_TIMEOUT,
};
pub use gridfs::GridFsStorage;

/// The kind of deployment the layer talks to, which decides what is
/// atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One `mongod` without replication: no transactions.
    Standalone,
    /// A replica set (one member is enough): transactions and snapshots.
    ReplicaSet,
    /// A sharded cluster through `mongos`: transactions and snapshots.
    Sharded,
}

impl Topology {
    /// Whether multi-document transactions are available.
    pub fn has_transactions(self) -> bool {
        !matches!(self, Topology::Standalone)
    }
}

/// A MongoDB database served as a [`DataLayer`]. Cheap to clone; every
/// clone shares one connection pool.
#[derive(Clone)]
pub struct MongoStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// The database, carrying the write concern of [`Inner::write_concern`]
    /// when one is set.
    db: Database,
    /// A write concern replacing the client's for this layer's writes
    /// (a resource's `mongo_write_concern`); `None` uses the client's.
    write_concern: Option<WriteConcern>,
    topology: OnceCell<Topology>,
    /// Cleared when the server refuses snapshot reads; pages are then read
    /// without one.
    snapshots: AtomicBool,
    /// Per collection, the fields of its single-field unique indexes.
    unique_fields: Mutex<HashMap<String, HashSet<String>>>,
    /// Index preparations deferred because the server was unreachable at
    /// start-up; done before the first write.
    pending: tokio::sync::Mutex<Vec<(String, Vec<IndexSpec>)>>,
}

impl std::fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.inner.db.name())
            .field("topology", &self.inner.topology.get())
            .finish()
    }
}

impl MongoStore {
    /// Prepares a client for `config`. No connection is needed: with the
    /// server down the layer opens, requests fail with
    /// [`StoreError::Unavailable`] until it is back, and the kind of
    /// deployment is found on first contact. Only invalid settings fail.
    pub async fn open(config: &MongoConfig) -> Result<MongoStore, ConfigError> {
        let (options, dbname) = config.client_options().await?;
        let client = Client::with_options(options).map_err(|e| {
            tracing::warn!(error = %e, "MongoDB client options refused");
            ConfigError::InvalidUri(
                "the driver refused the client options (details in the log)".into(),
            )
        })?;
        let db = client.database(&dbname);
        let store = MongoStore {
            inner: Arc::new(Inner {
                client,
                db,
                write_concern: None,
                topology: OnceCell::new(),
                snapshots: AtomicBool::new(true),
                unique_fields: Mutex::default(),
                pending: tokio::sync::Mutex::default(),
            }),
        };
        // Found in the background: start-up does not wait for the server.
        let probe = store.clone();
        tokio::spawn(async move {
            match probe.topology().await {
                Ok(t) => {
                    tracing::info!(database = %dbname, topology = ?t, "MongoDB data layer ready")
                }
                Err(_) => tracing::warn!(
                    database = %dbname,
                    "MongoDB is not reachable yet: requests answer 503 until it is"
                ),
            }
        });
        Ok(store)
    }

    /// Opens the database `dbname` of `uri` (a test fixture's shortcut).
    pub async fn open_uri(uri: &str, dbname: &str) -> Result<MongoStore, ConfigError> {
        let mut config = MongoConfig::from_uri(uri);
        config.dbname = Some(dbname.to_string());
        let store = MongoStore::open(&config).await?;
        Ok(store.with_database(dbname))
    }

    /// The same client on another database of the deployment.
    pub fn with_database(&self, dbname: &str) -> MongoStore {
        self.derive(dbname, self.inner.write_concern.clone())
    }

    /// The same client and database, with `write_concern` instead of the
    /// client's for every write (inserts, replaces, updates, deletes and
    /// the commit of a batch's transaction); index builds keep the
    /// client's. `w: 0` is refused as in `MONGO_WRITE_CONCERN`.
    pub fn with_write_concern(
        &self,
        write_concern: &WriteConcernConfig,
    ) -> Result<MongoStore, ConfigError> {
        let wc = write_concern.to_driver()?;
        Ok(self.derive(self.inner.db.name(), Some(wc)))
    }

    /// A layer sharing the client, on `dbname` with `write_concern`.
    fn derive(&self, dbname: &str, write_concern: Option<WriteConcern>) -> MongoStore {
        let db = match &write_concern {
            Some(wc) => self.inner.client.database_with_options(
                dbname,
                DatabaseOptions::builder().write_concern(wc.clone()).build(),
            ),
            None => self.inner.client.database(dbname),
        };
        MongoStore {
            inner: Arc::new(Inner {
                client: self.inner.client.clone(),
                db,
                write_concern,
                topology: self.inner.topology.clone(),
                snapshots: AtomicBool::new(self.inner.snapshots.load(Ordering::Relaxed)),
                unique_fields: Mutex::default(),
                pending: tokio::sync::Mutex::default(),
            }),
        }
    }

    /// The GridFS media storage (bucket `fs`) of this layer's database.
    pub fn media_storage(&self) -> GridFsStorage {
        GridFsStorage::new(&self.inner.db)
    }

    /// The database name.
    pub fn database_name(&self) -> &str {
        self.inner.db.name()
    }

    /// The kind of deployment, asked with `hello` on first use and then
    /// remembered. Fails with [`StoreError::Unavailable`] while the
    /// server cannot be reached.
    pub async fn topology(&self) -> StoreResult<Topology> {
        self.inner
            .topology
            .get_or_try_init(|| async {
                let hello = self
                    .inner
                    .client
                    .database("admin")
                    .run_command(doc! {"hello": 1})
                    .await
                    .map_err(|e| error::map(e, 0))?;
                let topology = if hello.get_str("msg").ok() == Some("isdbgrid") {
                    Topology::Sharded
                } else if hello.contains_key("setName") {
                    Topology::ReplicaSet
                } else {
                    Topology::Standalone
                };
                if topology == Topology::Standalone {
                    tracing::warn!(
                        "MongoDB is a standalone server: it has no multi-document transactions, \
                         so a bulk POST is made all-or-nothing by compensating deletes, and other \
                         clients may briefly see part of it (docs/mongodb.md)"
                    );
                }
                Ok(topology)
            })
            .await
            .copied()
    }

    /// Whether the server answers `ping` (for health checks).
    pub async fn ping(&self) -> StoreResult<()> {
        self.inner
            .db
            .run_command(doc! {"ping": 1})
            .await
            .map(|_| ())
            .map_err(|e| error::map(e, 0))
    }

    /// The server's `buildInfo` (version, and for test servers their own
    /// version fields).
    pub async fn build_info(&self) -> StoreResult<Document> {
        self.inner
            .client
            .database("admin")
            .run_command(doc! {"buildInfo": 1})
            .await
            .map_err(|e| error::map(e, 0))
    }

    /// Drops the whole database (tests and tools only).
    pub async fn drop_database(&self) -> StoreResult<()> {
        self.inner.db.drop().await.map_err(|e| error::map(e, 0))
    }

    pub(crate) fn coll(&self, name: &str) -> Collection<Document> {
        self.inner.db.collection(name)
    }

    /// The database without this layer's own write concern (index builds
    /// are not the resource's writes).
    pub(crate) fn index_db(&self) -> Database {
        self.inner.client.database(self.inner.db.name())
    }

    /// The write concern replacing the client's, if any.
    pub(crate) fn write_concern(&self) -> Option<&WriteConcern> {
        self.inner.write_concern.as_ref()
    }

    pub(crate) fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Runs a find, in `session` when given.
    async fn run_find(
        &self,
        collection: &str,
        query: &FindQuery,
        session: Option<&mut ClientSession>,
    ) -> StoreResult<Vec<Document>> {
        // MongoDB takes skip as a signed 64-bit number: beyond that no
        // collection has documents left.
        if query.limit == Some(0) || i64::try_from(query.skip).is_err() {
            return Ok(Vec::new());
        }
        let coll = self.coll(collection);
        let filter = find_filter(query);
        let mut options = find_options(query);
        if query.sort.is_empty()
            && query.near.is_none()
            && !self.selects_one(collection, &query.filter)
        {
            // The contract's "natural (insertion) order": MongoDB returns
            // index order when an index serves the query.
            options.hint = Some(Hint::Keys(doc! {"$natural": 1}));
        }
        let docs = match session {
            Some(s) => {
                let mut cursor = coll
                    .find(filter)
                    .with_options(options)
                    .session(&mut *s)
                    .await
                    .map_err(|e| error::map(e, 0))?;
                cursor.stream(s).try_collect::<Vec<_>>().await
            }
            None => {
                let cursor = coll
                    .find(filter)
                    .with_options(options)
                    .await
                    .map_err(|e| error::map(e, 0))?;
                cursor.try_collect::<Vec<_>>().await
            }
        };
        docs.map_err(|e| error::map(e, 0))
    }

    async fn run_count(
        &self,
        collection: &str,
        filter: Document,
        session: Option<&mut ClientSession>,
    ) -> StoreResult<u64> {
        let coll = self.coll(collection);
        let action = coll.count_documents(filter);
        match session {
            Some(s) => action.session(s).await,
            None => action.await,
        }
        .map_err(|e| error::map(e, 0))
    }

    /// A page and its total from one snapshot: a read-only transaction
    /// with read concern `snapshot` (replica sets from MongoDB 4.0,
    /// sharded clusters from 4.2).
    async fn snapshot_page(
        &self,
        collection: &str,
        query: &FindQuery,
    ) -> StoreResult<(Vec<Document>, Option<u64>)> {
        let mut session = self
            .client()
            .start_session()
            .await
            .map_err(|e| error::map(e, 0))?;
        session
            .start_transaction()
            .read_concern(ReadConcern::snapshot())
            .await
            .map_err(|e| error::map(e, 0))?;
        let read = async {
            let docs = self.run_find(collection, query, Some(&mut session)).await?;
            let total = self
                .run_count(collection, count_filter(query), Some(&mut session))
                .await?;
            Ok::<_, StoreError>((docs, total))
        }
        .await;
        match read {
            Ok((docs, total)) => {
                // Nothing was written: a failed commit changes nothing read.
                if let Err(e) = session.commit_transaction().await {
                    tracing::debug!(error = %e, "committing a read-only MongoDB transaction failed");
                }
                Ok((docs, Some(total)))
            }
            Err(e) => {
                let _ = session.abort_transaction().await;
                Err(e)
            }
        }
    }

    /// Runs the index preparations deferred at start-up, in order; the
    /// ones left stay pending when the server is still unreachable.
    async fn prepare_pending(&self) -> StoreResult<()> {
        let mut pending = self.inner.pending.lock().await;
        while let Some((collection, specs)) = pending.first() {
            indexes::prepare(self, collection, specs).await?;
            tracing::info!(collection = %collection, "deferred indexes prepared");
            pending.remove(0);
        }
        Ok(())
    }

    /// Remembers the fields of single-field unique indexes (from
    /// `prepare_collection`): an equality on one of them selects at most
    /// one document.
    pub(crate) fn set_unique_fields(&self, collection: &str, fields: HashSet<String>) {
        if let Ok(mut map) = self.inner.unique_fields.lock() {
            map.insert(collection.to_string(), fields);
        }
    }

    /// Whether `filter` selects at most one document: an equality on `_id`
    /// or on a single-field unique index, at the top or in a top-level
    /// `$and`.
    fn selects_one(&self, collection: &str, filter: &Filter) -> bool {
        let unique = self.inner.unique_fields.lock().ok();
        let is_unique = |path: &str| {
            path == "_id"
                || unique
                    .as_ref()
                    .and_then(|m| m.get(collection))
                    .is_some_and(|s| s.contains(path))
        };
        let pins = |f: &Filter| match f {
            Filter::Field {
                path,
                cond: Cond::Eq(v),
            } => {
                !matches!(
                    v,
                    Bson::Null | Bson::Array(_) | Bson::RegularExpression(_) | Bson::Document(_)
                ) && is_unique(path)
            }
            _ => false,
        };
        match filter {
            Filter::And(parts) => parts.iter().any(pins),
            other => pins(other),
        }
    }
}

/// The driver's find options for a query: sort, skip, limit, projection.
/// The query document of a find: the filter, with a `$near` put back at
/// the top level where MongoDB wants it (the rest under `$and` when the
/// filter names the same field).
fn find_filter(query: &FindQuery) -> Document {
    let filter = text::filter_document(query);
    let Some(near) = &query.near else {
        return filter;
    };
    let mut out = Document::new();
    out.insert(near.field.clone(), near.to_operator_document());
    if !filter.is_empty() {
        out.insert("$and", vec![filter]);
    }
    out
}

/// The count document of a page: `countDocuments` refuses `$near`, so a
/// search counts as the `$geoWithin` circle it amounts to
/// (`Near::count_filter_document`, docs/geo.md "Counts").
fn count_filter(query: &FindQuery) -> Document {
    let filter = text::filter_document(query);
    match &query.near {
        None => filter,
        Some(near) if filter.is_empty() => near.count_filter_document(),
        Some(near) => doc! {"$and": [filter, near.count_filter_document()]},
    }
}

fn find_options(query: &FindQuery) -> FindOptions {
    let mut options = FindOptions::default();
    if !query.sort.is_empty() {
        let mut sort = Document::new();
        for (field, dir) in &query.sort {
            if field == eve_store::TEXT_SCORE_KEY {
                sort.insert(text::score_name(query), text::meta());
                continue;
            }
            let d = match dir {
                SortDir::Asc => 1,
                SortDir::Desc => -1,
            };
            sort.insert(field.clone(), Bson::Int32(d));
        }
        options.sort = Some(sort);
    }
    if query.skip > 0 {
        options.skip = Some(query.skip);
    }
    options.limit = query.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    options.projection =
        text::with_score(query, query.projection.as_ref().map(normalize_projection));
    options
}

/// MongoDB refuses a projection that mixes inclusions and exclusions
/// (besides `_id`); eve-rs lets inclusion win, as its in-memory projection
/// does, so exclusions are dropped when any field is included.
fn normalize_projection(projection: &Document) -> Document {
    let included = |v: &Bson| match v {
        Bson::Int32(n) => *n != 0,
        Bson::Int64(n) => *n != 0,
        Bson::Double(n) => *n != 0.0,
        Bson::Boolean(b) => *b,
        _ => true,
    };
    let any_inclusion = projection.iter().any(|(k, v)| k != "_id" && included(v));
    if !any_inclusion {
        return projection.clone();
    }
    projection
        .iter()
        .filter(|(k, v)| *k == "_id" || included(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[async_trait]
impl DataLayer for MongoStore {
    fn name(&self) -> &'static str {
        "mongo"
    }

    /// With the server unreachable, the preparation is kept and done
    /// before the first write (so that unique indexes exist before any
    /// document is stored): the API starts and answers 503 meanwhile.
    async fn prepare_collection(&self, collection: &str, indexes: &[IndexSpec]) -> StoreResult<()> {
        let mut pending = self.inner.pending.lock().await;
        if !pending.is_empty() {
            pending.push((collection.to_string(), indexes.to_vec()));
            return Ok(());
        }
        match indexes::prepare(self, collection, indexes).await {
            Err(StoreError::Unavailable(_)) => {
                tracing::warn!(
                    collection,
                    "MongoDB is unreachable: the indexes will be prepared before the first write"
                );
                pending.push((collection.to_string(), indexes.to_vec()));
                Ok(())
            }
            other => other,
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_batches: self
                .inner
                .topology
                .get()
                .is_some_and(|t| t.has_transactions()),
            geo: true,
            text_search: true,
            native_aggregation: true,
            ..Capabilities::default()
        }
    }

    async fn aggregate(
        &self,
        collection: &str,
        pipeline: &Pipeline,
        limits: AggregateLimits,
    ) -> StoreResult<Vec<Document>> {
        // MongoDB's own limits apply (docs/aggregation.md).
        let _ = limits;
        self.run_aggregate(collection, pipeline).await
    }

    async fn find(&self, collection: &str, query: &FindQuery) -> StoreResult<Vec<Document>> {
        // What the layer cannot translate is refused, never dropped.
        query.check_supported(self.capabilities())?;
        self.run_find(collection, query, None).await
    }

    async fn count(&self, collection: &str, filter: &Filter) -> StoreResult<u64> {
        self.run_count(collection, filter.to_document(), None).await
    }

    async fn find_page(
        &self,
        collection: &str,
        query: &FindQuery,
        count: bool,
    ) -> StoreResult<(Vec<Document>, Option<u64>)> {
        query.check_supported(self.capabilities())?;
        if count
            && self.topology().await?.has_transactions()
            && self.inner.snapshots.load(Ordering::Relaxed)
        {
            match self.snapshot_page(collection, query).await {
                Err(StoreError::Internal(e)) => {
                    tracing::warn!(
                        error = %e,
                        "MongoDB refused a snapshot read: pages and totals are read apart from now on"
                    );
                    self.inner.snapshots.store(false, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        let docs = self.run_find(collection, query, None).await?;
        let total = if count {
            Some(
                self.run_count(collection, count_filter(query), None)
                    .await?,
            )
        } else {
            None
        };
        Ok((docs, total))
    }

    async fn apply(&self, batch: WriteBatch) -> StoreResult<BatchResult> {
        self.prepare_pending().await?;
        batch::apply(self, batch).await
    }

    async fn check_integrity(&self) -> StoreResult<()> {
        self.ping().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inclusion_wins_over_exclusion_in_projections() {
        assert_eq!(
            normalize_projection(&doc! {"a": 1, "b": 0, "_id": 0}),
            doc! {"a": 1, "_id": 0}
        );
        assert_eq!(
            normalize_projection(&doc! {"b": 0, "_id": 0}),
            doc! {"b": 0, "_id": 0}
        );
    }

    #[test]
    fn find_options_push_sort_window_and_projection_down() {
        let mut query = FindQuery::new(Filter::All);
        query.sort = vec![("a".into(), SortDir::Desc), ("b".into(), SortDir::Asc)];
        query.skip = 3;
        query.limit = Some(u64::MAX);
        query.projection = Some(doc! {"a": 1});
        let o = find_options(&query);
        assert_eq!(o.sort, Some(doc! {"a": -1, "b": 1}));
        assert_eq!(o.skip, Some(3));
        assert_eq!(o.limit, Some(i64::MAX));
        assert_eq!(o.projection, Some(doc! {"a": 1}));
    }
}
