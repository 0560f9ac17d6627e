//! `eve-store-postgres`: the PostgreSQL data layer of eve-rs
//! (`DATA_LAYER: postgres`, `--data-layer postgres://…`), a [`DataLayer`]
//! over `tokio-postgres` with a `deadpool-postgres` connection pool.
//!
//! # Storage
//!
//! Each collection is a table of BSON documents, `c{cid}_docs(id bigserial,
//! doc bytea)`: the BSON bytes are the source of truth, so every BSON type
//! (Decimal128, -0.0, MinKey/MaxKey, binary subtypes, field order) comes
//! back exactly; `id` is the natural (insertion) order. Each index is a
//! table of `(key bytea, rid)` whose keys are the order-preserving encoding
//! of `eve-store-keys`, the same as the embedded store's: PostgreSQL
//! compares `bytea` byte by byte, which is MongoDB's order across types,
//! and an array yields one entry per element (multikey). A unique index's
//! table has `key` as primary key, so PostgreSQL enforces uniqueness across
//! every process using the database. The tables live in one schema per
//! store (`eve` unless the URL says `?eve_schema=NAME`); see `catalog`.
//!
//! # Queries
//!
//! The shared planner ([`eve_store_keys::plan`]) picks key ranges or an
//! index walk; they run as SQL on the index tables, and the documents
//! found are checked against the whole filter in Rust (see `read`).
//!
//! # Transactions
//!
//! Every read is one `REPEATABLE READ` transaction, so `find_page` reads
//! its page and its total from one snapshot. A write batch is one
//! `REPEATABLE READ` transaction too: it finds its documents in its
//! snapshot and writes them by row; a row that another transaction changed
//! after that snapshot makes the write fail with a serialization error, so
//! two conditional writes (a filter on `_etag`) on one document cannot both
//! commit, across processes. A document a batch only checks
//! (`WriteOp::Check`) is share-locked for the same reason. A serialization
//! failure or deadlock reruns the whole batch a bounded number of times
//! ([`PgOptions::max_retries`]). Unique violations become
//! [`StoreError::DuplicateKey`] naming the write and the index; a failed
//! "must match" is [`StoreError::Conflict`]; either way the transaction is
//! rolled back and nothing of the batch is applied. (`SERIALIZABLE` was
//! tried first: its page-level predicate locks made most concurrent writes
//! to one small collection collide and rerun.)
//!
//! # Failures
//!
//! Server down, pool exhausted ([`PgOptions::wait_timeout`]), statement
//! timeout ([`PgOptions::statement_timeout`]): [`StoreError::Unavailable`]
//! with a generic text; the driver's message goes to the log. A store
//! opened while the server is down starts anyway and creates its catalog
//! on first use; [`DataLayer::prepare_collection`] then records the
//! collection and its indexes and returns, and every later call first
//! completes those pending preparations (so unique indexes exist before
//! any document is written), answering Unavailable until it can.

mod catalog;
mod error;
mod geoindex;
mod integrity;
mod media;
mod read;
mod temp;
mod text;
mod write;

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bson::Document;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use eve_query::Filter;
use eve_store::{
    BatchResult, Capabilities, DataLayer, FindQuery, IndexSpec, StoreError, StoreResult,
    WriteBatch, WriteOp,
};
use tokio::sync::OnceCell;
use tokio_postgres::{IsolationLevel, NoTls};

pub use media::PgMediaStorage;

use crate::catalog::Names;
use crate::error::{pg_err, pool_err, TxError};

pub use eve_store_keys::plan::QueryPlan;
pub use read::ReadStats;
pub use temp::TempSchema;

/// How a query ran: the plan the shared planner chose and what it cost
/// ([`PostgresStore::explain`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explain {
    /// The access path.
    pub plan: QueryPlan,
    /// Documents read from PostgreSQL.
    pub stats: ReadStats,
    /// Documents returned.
    pub returned: u64,
}

/// How a [`PostgresStore`] connects and behaves.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The schema holding the store's tables (a plain lower-case
    /// identifier); created when missing.
    pub schema: String,
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long a request waits for a free connection before the store
    /// answers [`StoreError::Unavailable`].
    pub wait_timeout: Duration,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// PostgreSQL's `statement_timeout` for every statement (unless the
    /// URL's `options` set one).
    pub statement_timeout: Duration,
    /// Memory one in-memory sort may use, in bytes (`SORT_MEMORY_LIMIT`).
    pub sort_memory_limit: usize,
    /// How many times a write batch runs again after a serialization
    /// failure or a deadlock before the store gives up (Unavailable).
    pub max_retries: u32,
}

/// The schema used when neither the options nor the URL name one.
pub const DEFAULT_SCHEMA: &str = "eve";

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            schema: DEFAULT_SCHEMA.into(),
            pool_size: 16,
            wait_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            sort_memory_limit: 100 * 1024 * 1024,
            max_retries: 10,
        }
    }
}

/// The PostgreSQL data layer (see the crate documentation).
pub struct PostgresStore {
    pool: Pool,
    names: Names,
    options: PgOptions,
    /// The schema and catalog tables exist (checked once).
    ready: OnceCell<()>,
    /// Collections known to exist (collections are never dropped).
    known: Mutex<HashSet<String>>,
    /// Collections (and their wanted indexes) whose preparation was
    /// deferred because the server was unreachable; completed, in order,
    /// before any other call runs.
    pending: tokio::sync::Mutex<Vec<(String, Vec<IndexSpec>)>>,
    /// `pending` is not empty (checked without taking the lock).
    has_pending: AtomicBool,
    /// Write batches run again after a serialization failure or deadlock.
    retries: AtomicU64,
    /// Drops the schema when the store goes (temporary stores only);
    /// declared after the pool so the pool's connections close first.
    _cleanup: Option<TempSchema>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.options.schema)
            .finish_non_exhaustive()
    }
}

/// Splits `eve_schema=NAME` off a connection URL's query string: what
/// `tokio-postgres` does not know, and the schema it names.
fn split_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("eve_schema=") {
            Some(name) => {
                schema = Some(name.to_string());
                false
            }
            None => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, schema)
}

impl PostgresStore {
    /// Opens a store on the server `url` names (`postgres://` or
    /// `postgresql://`, as libpq reads it; `?eve_schema=NAME` picks the
    /// schema instead of `options.schema`). A malformed URL or schema name
    /// is refused ([`StoreError::InvalidQuery`]); an unreachable server is
    /// not: the store starts and reports [`StoreError::Unavailable`] on
    /// each call until the server answers.
    pub async fn connect(url: &str, mut options: PgOptions) -> StoreResult<PostgresStore> {
        let (url, schema) = split_schema(url);
        if let Some(schema) = schema {
            options.schema = schema;
        }
        if !catalog::valid_schema(&options.schema) {
            return Err(StoreError::InvalidQuery(format!(
                "invalid PostgreSQL schema name '{}' (lower-case letters, digits and _)",
                options.schema
            )));
        }
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
            tracing::warn!(error = %e, "postgres: invalid connection URL");
            StoreError::InvalidQuery("invalid PostgreSQL connection URL".into())
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        if config.get_options().is_none() {
            config.options(format!(
                "-c statement_timeout={}",
                options.statement_timeout.as_millis()
            ));
        }
        if config.get_application_name().is_none() {
            config.application_name("eve-rs");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Internal(format!("cannot build the connection pool: {e}")))?;
        let store = PostgresStore {
            pool,
            names: Names::new(&options.schema),
            options,
            ready: OnceCell::new(),
            known: Mutex::new(HashSet::new()),
            pending: tokio::sync::Mutex::new(Vec::new()),
            has_pending: AtomicBool::new(false),
            retries: AtomicU64::new(0),
            _cleanup: None,
        };
        if let Err(e) = store.ready().await {
            match e {
                StoreError::Unavailable(_) => {
                    tracing::warn!("postgres: the server is not reachable yet; the store will retry on each request");
                }
                other => return Err(other),
            }
        }
        Ok(store)
    }

    /// Opens a store in a fresh schema of its own (a random name) that is
    /// dropped, with everything in it, when the store is dropped: for
    /// tests, so that runs and parallel tests never see each other.
    pub async fn connect_temporary(url: &str, options: PgOptions) -> StoreResult<PostgresStore> {
        let (base, _) = split_schema(url);
        let schema = temp::fresh_name();
        let guard = TempSchema::new(&base, &schema);
        let mut store = PostgresStore::connect(
            &base,
            PgOptions {
                schema: schema.clone(),
                ..options
            },
        )
        .await?;
        store.ready().await?;
        store._cleanup = Some(guard);
        Ok(store)
    }

    /// The media storage in this store's schema (`media.rs`).
    pub fn media_storage(&self) -> PgMediaStorage {
        PgMediaStorage::new(self.pool.clone(), self.names.schema())
    }

    /// The schema holding the store's tables.
    pub fn schema(&self) -> &str {
        &self.options.schema
    }

    /// How many times a write batch ran again because a concurrent
    /// transaction made it fail (serialization failure, deadlock).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Plans and runs `query` on `collection`, reporting the chosen plan
    /// and how many documents PostgreSQL returned for it (as MongoDB's
    /// `explain("executionStats")`).
    pub async fn explain(&self, collection: &str, query: &FindQuery) -> StoreResult<Explain> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let memory = self.options.sort_memory_limit;
        let result = async {
            let Some(meta) = catalog::load(&tx, &self.names, collection).await? else {
                return Ok(Explain {
                    plan: QueryPlan::NoCollection,
                    stats: ReadStats::default(),
                    returned: 0,
                });
            };
            let mut stats = ReadStats::default();
            let (access, docs) =
                read::find(&tx, &self.names, &meta, (query, memory), &mut stats).await?;
            Ok(Explain {
                plan: access.describe(&meta.indexes),
                stats,
                returned: docs.len() as u64,
            })
        }
        .await;
        finish(tx, result).await.map_err(TxError::into_store)
    }

    /// Creates the schema and the catalog once.
    async fn ready(&self) -> StoreResult<()> {
        self.ready
            .get_or_try_init(|| async {
                let mut client = self.pool.get().await.map_err(pool_err)?;
                for attempt in 0..=self.options.max_retries {
                    let tx = client.transaction().await.map_err(pg_err)?;
                    let result = catalog::setup(&tx, &self.names).await;
                    match finish(tx, result).await {
                        Err(e)
                            if catalog::is_catalog_race(&e)
                                && attempt < self.options.max_retries =>
                        {
                            continue
                        }
                        other => return other.map_err(TxError::into_store),
                    }
                }
                Err(StoreError::Unavailable(
                    "the catalog could not be created".into(),
                ))
            })
            .await
            .map(|_| ())
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        self.ready().await?;
        self.finish_pending().await?;
        self.pool.get().await.map_err(pool_err)
    }

    /// Completes the preparations deferred while the server was down, in
    /// order; what fails stays pending (and the error is returned).
    async fn finish_pending(&self) -> StoreResult<()> {
        if !self.has_pending.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut pending = self.pending.lock().await;
        while let Some((collection, indexes)) = pending.first() {
            self.prepare_now(collection, indexes).await?;
            pending.remove(0);
        }
        self.has_pending.store(false, Ordering::Release);
        tracing::info!("postgres: the deferred collection preparations are done");
        Ok(())
    }

    /// Creates `collection` and its indexes now (see
    /// [`DataLayer::prepare_collection`]).
    async fn prepare_now(&self, collection: &str, indexes: &[IndexSpec]) -> StoreResult<()> {
        self.ready().await?;
        let mut client = self.pool.get().await.map_err(pool_err)?;
        for attempt in 0..=self.options.max_retries {
            let tx = client.transaction().await.map_err(pg_err)?;
            let result = catalog::prepare_collection(&tx, &self.names, collection, indexes).await;
            match finish(tx, result).await {
                Ok(()) => return Ok(()),
                Err(e)
                    if (catalog::is_catalog_race(&e) || e.is_retryable())
                        && attempt < self.options.max_retries =>
                {
                    backoff(attempt).await;
                }
                Err(e) => return Err(e.into_store()),
            }
        }
        Err(StoreError::Unavailable(
            "the collection could not be prepared".into(),
        ))
    }

    /// Creates the collections the batch inserts into, each in its own
    /// short transaction before the batch's (DDL under the schema lock).
    async fn ensure_collections(&self, batch: &WriteBatch) -> StoreResult<()> {
        for step in &batch.steps {
            let WriteOp::Insert { collection, docs } = &step.op else {
                continue;
            };
            if docs.is_empty() || self.is_known(collection) {
                continue;
            }
            let mut client = self.client().await?;
            for attempt in 0..=self.options.max_retries {
                let tx = client.transaction().await.map_err(pg_err)?;
                let result = catalog::ensure(&tx, &self.names, collection).await;
                match finish(tx, result).await {
                    Ok(_) => break,
                    Err(e) if catalog::is_catalog_race(&e) || e.is_retryable() => {
                        if attempt == self.options.max_retries {
                            return Err(e.into_store());
                        }
                    }
                    Err(e) => return Err(e.into_store()),
                }
            }
            if let Ok(mut known) = self.known.lock() {
                known.insert(collection.clone());
            }
        }
        Ok(())
    }

    fn is_known(&self, collection: &str) -> bool {
        self.known
            .lock()
            .map(|k| k.contains(collection))
            .unwrap_or(false)
    }
}

/// Commits on success, rolls back (by dropping) on failure.
async fn finish<T>(
    tx: deadpool_postgres::Transaction<'_>,
    result: Result<T, TxError>,
) -> Result<T, TxError> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            // A failed rollback (the connection is gone) changes nothing:
            // the server rolls back an unfinished transaction itself.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// A short pause before running a batch again: grows with the attempt,
/// with jitter so that colliding writers do not collide again.
async fn backoff(attempt: u32) {
    let base = 2u64.saturating_pow(attempt.min(7));
    let jitter = u64::from(std::process::id() ^ attempt.wrapping_mul(2_654_435_761)) % 5;
    let nanos = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    ) % (base + 1);
    tokio::time::sleep(Duration::from_millis(base + jitter + nanos)).await;
}

#[async_trait]
impl DataLayer for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }

    /// Creates the collection and its indexes; when the server cannot be
    /// reached, records them instead and returns Ok: every later call
    /// completes the pending preparations first.
    async fn prepare_collection(&self, collection: &str, indexes: &[IndexSpec]) -> StoreResult<()> {
        let mut pending = self.pending.lock().await;
        if pending.is_empty() {
            match self.prepare_now(collection, indexes).await {
                Err(StoreError::Unavailable(_)) => {
                    tracing::warn!(
                        collection,
                        "postgres: the server is not reachable; the collection will be prepared before the first request that reaches it"
                    );
                }
                other => return other,
            }
        }
        pending.push((collection.to_string(), indexes.to_vec()));
        self.has_pending.store(true, Ordering::Release);
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_batches: true,
            geo: true,
            text_search: true,
            ..Capabilities::default()
        }
    }

    async fn find(&self, collection: &str, query: &FindQuery) -> StoreResult<Vec<Document>> {
        Ok(self.find_page(collection, query, false).await?.0)
    }

    async fn count(&self, collection: &str, filter: &Filter) -> StoreResult<u64> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let result = async {
            match catalog::load(&tx, &self.names, collection).await? {
                Some(meta) => {
                    let mut stats = ReadStats::default();
                    read::count(&tx, &self.names, &meta, filter, &mut stats).await
                }
                None => Ok(0),
            }
        }
        .await;
        finish(tx, result).await.map_err(TxError::into_store)
    }

    async fn find_page(
        &self,
        collection: &str,
        query: &FindQuery,
        count: bool,
    ) -> StoreResult<(Vec<Document>, Option<u64>)> {
        // `$near` is measured here by `eve_store::near` over the
        // candidates (docs/geo.md); `$text` runs on the tsvector side
        // tables. Anything else not translated is refused, never dropped
        // (`find` comes through here too).
        query.check_supported(self.capabilities())?;
        let mut client = self.client().await?;
        // One REPEATABLE READ transaction: page and total, one snapshot.
        let tx = snapshot(&mut client).await?;
        let memory = self.options.sort_memory_limit;
        let result = async {
            let Some(meta) = catalog::load(&tx, &self.names, collection).await? else {
                return Ok((Vec::new(), count.then_some(0)));
            };
            if query.text.is_some() {
                let specs: Vec<&eve_store::IndexSpec> =
                    meta.indexes.iter().map(|i| &i.spec).collect();
                let ixid = |spec: &eve_store::IndexSpec| {
                    let found = meta.indexes.iter().find(|i| i.spec.name == spec.name);
                    self.names.index(meta.cid, found.map_or(0, |i| i.ixid))
                };
                let tables = (specs.as_slice(), ixid, self.names.docs(meta.cid));
                let (docs, total) = text::find(&tx, tables, query, memory).await?;
                return Ok((docs, count.then_some(total)));
            }
            let mut stats = ReadStats::default();
            if let Some(near) = &query.near {
                let candidates = eve_store::near::candidate_query(query, near);
                let want = eve_store::near::NEAR_MAX_CANDIDATES + 1;
                let indexed = geoindex::near_candidates(
                    &tx,
                    &self.names,
                    &meta,
                    near,
                    &candidates.filter,
                    want,
                )
                .await?;
                let docs = match indexed {
                    Some(docs) => docs,
                    None => {
                        read::find(&tx, &self.names, &meta, (&candidates, memory), &mut stats)
                            .await?
                            .1
                    }
                };
                let (docs, total) = eve_store::near::finish_near(docs, query, near)?;
                return Ok((docs, count.then_some(total)));
            }
            let (_, docs) =
                read::find(&tx, &self.names, &meta, (query, memory), &mut stats).await?;
            let total = if count {
                Some(read::count(&tx, &self.names, &meta, &query.filter, &mut stats).await?)
            } else {
                None
            };
            Ok((docs, total))
        }
        .await;
        finish(tx, result).await.map_err(TxError::into_store)
    }

    async fn apply(&self, batch: WriteBatch) -> StoreResult<BatchResult> {
        if batch.steps.is_empty() {
            return Ok(BatchResult::default());
        }
        self.ensure_collections(&batch).await?;
        let mut client = self.client().await?;
        let mut attempt = 0;
        let mut bulk = true;
        loop {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .start()
                .await
                .map_err(pg_err)?;
            let result = write::apply(&tx, &self.names, &batch, bulk).await;
            match finish(tx, result).await {
                Ok(result) => return Ok(result),
                Err(TxError::NeedsExactPath) if bulk => bulk = false,
                Err(e) if e.is_retryable() && attempt < self.options.max_retries => {
                    attempt += 1;
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    backoff(attempt).await;
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(
                        attempts = attempt + 1,
                        "postgres: a write batch kept colliding with concurrent writes"
                    );
                    return Err(StoreError::Unavailable(
                        "the write collided with concurrent writes too often; try again".into(),
                    ));
                }
                Err(e) => return Err(e.into_store()),
            }
        }
    }

    /// Compares every index table with the entries rebuilt from the
    /// documents, in one snapshot (see `integrity`).
    async fn check_integrity(&self) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = snapshot(&mut client).await?;
        let result = integrity::check(&tx, &self.names).await;
        let problems = finish(tx, result).await.map_err(TxError::into_store)?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Internal(format!(
                "integrity check failed: {}",
                problems.join("; ")
            )))
        }
    }
}

/// A read-only `REPEATABLE READ` transaction: one snapshot.
async fn snapshot(
    client: &mut deadpool_postgres::Client,
) -> StoreResult<deadpool_postgres::Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parameter_is_taken_off_the_url() {
        assert_eq!(
            split_schema("postgres://u@h/db?eve_schema=api"),
            ("postgres://u@h/db".to_string(), Some("api".to_string()))
        );
        assert_eq!(
            split_schema("postgres://u@h/db?sslmode=disable&eve_schema=a1&application_name=x"),
            (
                "postgres://u@h/db?sslmode=disable&application_name=x".to_string(),
                Some("a1".to_string())
            )
        );
        assert_eq!(
            split_schema("postgres://u@h/db"),
            ("postgres://u@h/db".to_string(), None)
        );
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(catalog::valid_schema("eve"));
        assert!(catalog::valid_schema("eve_t_12_ab"));
        for bad in ["", "Eve", "1a", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(!catalog::valid_schema(bad), "{bad}");
        }
    }
}
