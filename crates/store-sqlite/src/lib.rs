//! `eve-store-sqlite`: the embedded, durable document store of eve-rs
//! (`DATA_LAYER: embedded`), a [`DataLayer`] over SQLite.
//!
//! # Files
//!
//! [`SqliteStore::open`] takes a directory and keeps one database in it,
//! `eve.sqlite3` (plus SQLite's `-wal` and `-shm` files). The database
//! runs in WAL mode with `synchronous = FULL`: a write that returned `Ok`
//! has been synced to disk and survives a crash or `kill -9`. A small
//! state file, [`STATE_FILE`], records what the WAL must hold; every open
//! checks the files against it before serving them, and closing the store
//! checkpoints the WAL into the main file (see `atrest`).
//!
//! Each collection is a table of BSON documents keyed by an integer rowid
//! (natural order = insertion order; a replaced document keeps its rowid),
//! plus one *side table* per index, `(key BLOB, rid)`. The catalog tables
//! `eve_collections` and `eve_indexes` name them (see `catalog`).
//!
//! # Threads
//!
//! * **One writer thread** owns the only read-write connection and takes
//!   requests from a channel. It commits in groups: it drains every queued
//!   request, runs each inside its own `SAVEPOINT` of one transaction (a
//!   failing operation rolls back alone), commits once, then answers every
//!   caller through a oneshot channel (see `writer`). Conditional writes
//!   evaluate their filter inside that transaction, so they are race free.
//! * **Readers**: a small pool of read-only connections used from
//!   `spawn_blocking`; WAL lets them read a consistent snapshot while the
//!   writer writes. Every read is one transaction, catalog included (each
//!   reader caches the catalog while its version is unchanged). A read of
//!   one document by `_id` runs on the calling task when a reader is idle:
//!   it is shorter than the two thread switches `spawn_blocking` costs.
//!   Dropping the future that awaits a read (the client went away) makes
//!   the read stop before its next document and give its connection back
//!   (see `cancel`); in-memory sorts keep `skip + limit` documents within
//!   the sort memory budget ([`SqliteStore::with_sort_memory_limit`]).
//!
//! # Indexes
//!
//! An index entry's key is an order-preserving byte encoding of the
//! indexed value(s) (see `keys`): comparing encodings byte by byte gives
//! MongoDB's order across types, numbers compared by exact value. A
//! compound key is the concatenation of its components; an array yields
//! one entry per (distinct) element and marks the index *multikey*. A
//! unique index's side table has the key alone as primary key, so SQLite
//! enforces uniqueness atomically; the implicit `_id_` index is one of
//! those. Special kinds (`2dsphere`, `text`, `hashed`) are recorded but
//! have no side table: queries on them scan.
//!
//! # Planning
//!
//! An equality, `$in` or range on the leading field of an index becomes key
//! ranges on its side table; the documents found are re-checked with
//! [`Filter::matches`], so query semantics always come from `eve-query`.
//! A sort whose first field is field `p` of a non-sparse, non-multikey
//! index walks that index in order and stops after `skip + limit` matches,
//! when the filter's top-level equalities fix the fields before it (as a
//! MongoDB compound index `(owner, seq)` serves `{owner: X}` sorted on
//! `seq`): only the entries starting with the encoded equality values are
//! walked, bounded further by ranges on the sort field. Ties on the sort
//! field are ordered in memory, so results are those of
//! `eve_query::sort_documents`. Anything else scans.
//! [`SqliteStore::explain`] shows the choice and its cost (see `query`).

mod atrest;
mod batch;
mod cancel;
mod catalog;
mod error;
mod find;
mod fts;
mod geoindex;
mod integrity;
mod query;
mod write;
mod writer;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use bson::{Bson, Document};
use eve_query::{Cond, Filter};
use eve_store::{
    BatchResult, Capabilities, DataLayer, FindQuery, IndexSpec, StoreError, StoreResult, WriteBatch,
};
use rusqlite::{Connection, OpenFlags};

pub use atrest::STATE_FILE;
pub use catalog::ID_INDEX;
pub use find::DEFAULT_SORT_MEMORY_LIMIT;
pub use query::{ExecStats, QueryPlan};

use error::sql_err;

/// The database file's name inside the store directory.
pub const DB_FILE: &str = "eve.sqlite3";

/// Read-only connections kept for readers.
const READERS: usize = 4;

/// Stores up to this size (main file) get SQLite's `quick_check` at every
/// open: it reads every page (about 0.2 s for this much on a busy machine),
/// so larger stores skip it (`eve-rs check-store` runs the full check).
pub const QUICK_CHECK_MAX_SIZE: u64 = 16 << 20;

/// How long a connection waits on a lock before reporting `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedded store. Cheap to share behind an `Arc`; dropping it stops
/// the writer thread once the queued writes are done.
pub struct SqliteStore {
    path: PathBuf,
    sender: Option<mpsc::Sender<writer::Job>>,
    writer: Option<JoinHandle<()>>,
    readers: Arc<ReadPool>,
    counters: Arc<writer::Counters>,
    sort_memory: usize,
}

/// How the writer thread grouped its work since the store was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed (or attempted): one per group of writes.
    pub batches: u64,
    /// Write operations received.
    pub writes: u64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What [`SqliteStore::explain`] reports: the plan and what running it
/// cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explain {
    /// How the documents were reached.
    pub plan: QueryPlan,
    /// Index entries and documents read.
    pub stats: ExecStats,
    /// Documents returned (after skip and limit).
    pub returned: u64,
}

/// A read-only connection and what it knows of the catalog.
struct Reader {
    conn: Connection,
    catalog: catalog::CatalogCache,
}

impl Reader {
    /// Runs `op` inside one read transaction (a consistent snapshot).
    fn run<T>(
        &mut self,
        op: impl FnOnce(&Connection, &mut catalog::CatalogCache) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let conn = &self.conn;
        let cache = &mut self.catalog;
        match conn
            .prepare_cached("BEGIN")
            .and_then(|mut st| st.execute([]))
        {
            Err(e) => Err(sql_err(e)),
            Ok(_) => {
                // A panic (a bug) must not cost the pool its connection.
                let result = catch_unwind(AssertUnwindSafe(|| op(conn, &mut *cache)))
                    .unwrap_or_else(|_| {
                        // What the cache holds may be half-updated.
                        *cache = catalog::CatalogCache::default();
                        Err(StoreError::Internal("a read operation panicked".into()))
                    });
                if !conn.is_autocommit() {
                    // A read transaction has nothing to keep.
                    let _ = conn
                        .prepare_cached("COMMIT")
                        .and_then(|mut st| st.execute([]));
                }
                result
            }
        }
    }
}

/// Read-only connections, handed out one at a time.
struct ReadPool {
    idle: Mutex<Vec<Reader>>,
    available: Condvar,
    /// Reads stopped because their caller went away.
    cancelled: AtomicU64,
}

impl ReadPool {
    fn take(&self) -> StoreResult<Reader> {
        let poisoned = |_| StoreError::Internal("reader pool lock poisoned".into());
        let mut idle = self.idle.lock().map_err(poisoned)?;
        loop {
            if let Some(reader) = idle.pop() {
                return Ok(reader);
            }
            idle = self.available.wait(idle).map_err(poisoned)?;
        }
    }

    /// An idle reader, if there is one now.
    fn try_take(&self) -> Option<Reader> {
        self.idle.lock().ok()?.pop()
    }

    fn give_back(&self, reader: Reader) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(reader);
            self.available.notify_one();
        }
    }
}

/// Whether `query` reads at most one document located by an `_id`
/// equality: short enough (one index probe, one row) to run on the calling
/// task instead of paying two thread switches for `spawn_blocking`.
fn is_point_read(query: &FindQuery) -> bool {
    let by_id = |f: &Filter| {
        matches!(f, Filter::Field { path, cond: Cond::Eq(v) }
            if path == "_id" && !matches!(v, Bson::Array(_) | Bson::Null | Bson::RegularExpression(_)))
    };
    query.limit == Some(1)
        && query.skip == 0
        && match &query.filter {
            Filter::And(parts) => parts.iter().any(by_id),
            other => by_id(other),
        }
}

/// Options of [`SqliteStore::open_with`].
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// The most bytes the database may hold (`None`: as much as the disk
    /// holds). A write that would need more fails with [`StoreError::Full`]
    /// and writes nothing, as when the disk itself is full.
    pub max_size: Option<u64>,
    /// Run SQLite's `quick_check` (reads every page) at open when the main
    /// file is at most this many bytes; `None`: [`QUICK_CHECK_MAX_SIZE`].
    pub quick_check_max_size: Option<u64>,
}

fn open_writer(file: &Path, options: &StoreOptions) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(sql_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Internal(format!(
            "cannot switch the database to WAL mode (got {mode})"
        )));
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;")
        .map_err(sql_err)?;
    if let Some(max) = options.max_size {
        let page: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(sql_err)?;
        let pages = (max / page.max(1).unsigned_abs()).max(1);
        conn.execute_batch(&format!("PRAGMA max_page_count = {pages};"))
            .map_err(sql_err)?;
    }
    conn.set_prepared_statement_cache_capacity(128);
    conn.execute_batch(catalog::CATALOG_SQL).map_err(sql_err)?;
    Ok(conn)
}

fn open_reader(file: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating when needed) the store kept in directory `dir`.
    pub fn open(dir: &Path) -> StoreResult<SqliteStore> {
        SqliteStore::open_with(dir, &StoreOptions::default())
    }

    /// [`open`](Self::open) with options.
    pub fn open_with(dir: &Path, options: &StoreOptions) -> StoreResult<SqliteStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Internal(format!(
                "cannot create store directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(DB_FILE);
        // Damaged files are refused before SQLite reads (and "recovers")
        // them.
        let verified = atrest::verify(&path)?;
        let conn = open_writer(&path, options)
            .and_then(|conn| {
                if verified.size <= options.quick_check_max_size.unwrap_or(QUICK_CHECK_MAX_SIZE) {
                    integrity::quick_check(&conn)?;
                }
                Ok(conn)
            })
            .map_err(|e| match e {
                StoreError::Corrupt(m) => atrest::damaged(
                    &path,
                    &format!("the database file {DB_FILE} is damaged ({m})"),
                    atrest::Remedy::MainFile,
                ),
                other => other,
            })?;
        let mut idle = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            idle.push(Reader {
                conn: open_reader(&path)?,
                catalog: catalog::CatalogCache::default(),
            });
        }
        let (sender, receiver) = mpsc::channel();
        let counters = Arc::new(writer::Counters::default());
        let thread_counters = Arc::clone(&counters);
        let tracker = writer::Tracker {
            state: atrest::StateFile::open(
                &path,
                atrest::State {
                    size: verified.size,
                    clean: false,
                    ..verified.state
                },
            ),
            wal: atrest::wal_path(&path),
            db: path.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("eve-store-writer".into())
            .spawn(move || writer::run(conn, receiver, thread_counters, tracker))
            .map_err(|e| StoreError::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            path,
            sender: Some(sender),
            writer: Some(writer),
            readers: Arc::new(ReadPool {
                idle: Mutex::new(idle),
                available: Condvar::new(),
                cancelled: AtomicU64::new(0),
            }),
            counters,
            sort_memory: DEFAULT_SORT_MEMORY_LIMIT,
        })
    }

    /// Sets the memory budget of in-memory sorts, in bytes of stored
    /// documents held at once (default [`DEFAULT_SORT_MEMORY_LIMIT`], the
    /// `SORT_MEMORY_LIMIT` setting): a find whose sort would hold more is
    /// refused with [`StoreError::InvalidQuery`]. A sort keeps only the
    /// first `skip + limit` documents, so only deep pages or sorts without a
    /// limit over large matches reach it.
    pub fn with_sort_memory_limit(mut self, bytes: usize) -> SqliteStore {
        self.sort_memory = bytes.max(1);
        self
    }

    /// How many reads stopped early because the future awaiting them was
    /// dropped (the client went away).
    pub fn cancelled_reads(&self) -> u64 {
        self.readers.cancelled.load(AtomicOrdering::Relaxed)
    }

    /// How many write batches (transactions) and writes the writer
    /// thread has handled: with concurrent writers, batches < writes
    /// shows group commit at work.
    pub fn write_stats(&self) -> WriteStats {
        use std::sync::atomic::Ordering;
        WriteStats {
            batches: self.counters.batches.load(Ordering::Relaxed),
            writes: self.counters.writes.load(Ordering::Relaxed),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` on the writer thread (grouped with concurrent writes) and
    /// waits until its batch is durably committed.
    async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (job, answer) = writer::job(op);
        writer::submit(self.sender.as_ref(), job)?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the write could not be applied; see the logs".into())
        })?
    }

    /// Runs `op` on a reader connection, off the async runtime, inside one
    /// read transaction (a consistent snapshot). Dropping the returned
    /// future (the client went away) cancels the read: it stops before its
    /// next document and frees its reader (see `cancel`).
    async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &mut catalog::CatalogCache) -> StoreResult<T> + Send + 'static,
    {
        let pool = Arc::clone(&self.readers);
        let flag: cancel::Flag = Arc::new(AtomicBool::new(false));
        let guard = cancel::CancelOnDrop(Arc::clone(&flag));
        let result = tokio::task::spawn_blocking(move || {
            let mut reader = pool.take()?;
            let result = if cancel::is_raised(&flag) {
                Err(cancel::cancelled())
            } else {
                let _scope = cancel::Scope::enter(&flag);
                reader.run(op)
            };
            if result.is_err() && cancel::is_raised(&flag) {
                pool.cancelled.fetch_add(1, AtomicOrdering::Relaxed);
            }
            pool.give_back(reader);
            result
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?;
        // The read is over: raising its flag now changes nothing.
        drop(guard);
        result
    }

    /// Plans and runs `query` on `collection`, reporting the chosen plan
    /// and what it cost (as MongoDB's `explain("executionStats")`).
    pub async fn explain(&self, collection: &str, query: &FindQuery) -> StoreResult<Explain> {
        let collection = collection.to_string();
        let query = query.clone();
        let sort_memory = self.sort_memory;
        self.read(move |conn, cache| {
            let Some(meta) = catalog::load_cached(conn, cache, &collection)? else {
                return Ok(Explain {
                    plan: QueryPlan::NoCollection,
                    stats: ExecStats::default(),
                    returned: 0,
                });
            };
            let mut stats = ExecStats::default();
            let (access, docs) = find::find(
                conn,
                &meta,
                &query.filter,
                &query.sort,
                (query.skip, query.limit),
                sort_memory,
                &mut stats,
            )?;
            Ok(Explain {
                plan: access.describe(&meta.indexes),
                stats,
                returned: docs.len() as u64,
            })
        })
        .await
    }
}

/// Runs a find on one snapshot: plan, sort, window, then projection.
fn page(
    conn: &Connection,
    meta: &catalog::CollMeta,
    query: &FindQuery,
    sort_memory: usize,
) -> StoreResult<Vec<Document>> {
    if let Some(near) = &query.near {
        return Ok(near_page(conn, meta, query, near, sort_memory)?.0);
    }
    if query.text.is_some() {
        return fts::find(conn, meta, query, sort_memory).map(|(docs, _)| docs);
    }
    let mut stats = ExecStats::default();
    let (_, docs) = find::find(
        conn,
        meta,
        &query.filter,
        &query.sort,
        (query.skip, query.limit),
        sort_memory,
        &mut stats,
    )?;
    Ok(match &query.projection {
        Some(projection) => eve_store::project_all(docs, projection),
        None => docs,
    })
}

/// A `$near` page and its total: the candidates read with the search's
/// circle as part of the filter, measured and ordered by `eve-store`.
fn near_page(
    conn: &Connection,
    meta: &catalog::CollMeta,
    query: &FindQuery,
    near: &eve_store::Near,
    sort_memory: usize,
) -> StoreResult<(Vec<Document>, u64)> {
    let candidates = eve_store::near::candidate_query(query, near);
    let want = eve_store::near::NEAR_MAX_CANDIDATES + 1;
    if let Some(docs) = geoindex::near_candidates(conn, meta, near, &candidates.filter, want)? {
        return eve_store::near::finish_near(docs, query, near);
    }
    let mut stats = ExecStats::default();
    let (_, docs) = find::find(
        conn,
        meta,
        &candidates.filter,
        &candidates.sort,
        (0, candidates.limit),
        sort_memory,
        &mut stats,
    )?;
    eve_store::near::finish_near(docs, query, near)
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer loop after the queued writes.
        self.sender.take();
        if let Some(handle) = self.writer.take() {
            if handle.join().is_err() {
                tracing::error!("the store writer thread panicked");
            }
        }
    }
}

#[async_trait]
impl DataLayer for SqliteStore {
    fn name(&self) -> &'static str {
        "embedded"
    }

    async fn prepare_collection(&self, collection: &str, indexes: &[IndexSpec]) -> StoreResult<()> {
        let collection = collection.to_string();
        let indexes = indexes.to_vec();
        self.write(move |conn| write::prepare_collection(conn, &collection, &indexes))
            .await
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
        query.check_supported(self.capabilities())?;
        let sort_memory = self.sort_memory;
        if is_point_read(query) {
            // A read by `_id` runs right here when a reader is idle: it is
            // shorter than the two thread switches of `read`, and borrows
            // the query (no copy of it). Otherwise it waits like any read.
            if let Some(mut reader) = self.readers.try_take() {
                let result = reader.run(|conn, cache| {
                    let Some(meta) = catalog::load_cached(conn, cache, collection)? else {
                        return Ok(Vec::new());
                    };
                    page(conn, &meta, query, sort_memory)
                });
                self.readers.give_back(reader);
                return result;
            }
        }
        let collection = collection.to_string();
        let query = query.clone();
        self.read(move |conn, cache| {
            let Some(meta) = catalog::load_cached(conn, cache, &collection)? else {
                return Ok(Vec::new());
            };
            page(conn, &meta, &query, sort_memory)
        })
        .await
    }

    async fn count(&self, collection: &str, filter: &Filter) -> StoreResult<u64> {
        let collection = collection.to_string();
        let filter = filter.clone();
        self.read(move |conn, cache| {
            let Some(meta) = catalog::load_cached(conn, cache, &collection)? else {
                return Ok(0);
            };
            query::count(conn, &meta, &filter)
        })
        .await
    }

    async fn find_page(
        &self,
        collection: &str,
        query: &FindQuery,
        count: bool,
    ) -> StoreResult<(Vec<Document>, Option<u64>)> {
        query.check_supported(self.capabilities())?;
        let collection = collection.to_string();
        let query = query.clone();
        let sort_memory = self.sort_memory;
        // One read transaction: the page and the total see one snapshot.
        self.read(move |conn, cache| {
            let Some(meta) = catalog::load_cached(conn, cache, &collection)? else {
                return Ok((Vec::new(), count.then_some(0)));
            };
            if let Some(near) = &query.near {
                let (docs, total) = near_page(conn, &meta, &query, near, sort_memory)?;
                return Ok((docs, count.then_some(total)));
            }
            if query.text.is_some() {
                let (docs, total) = fts::find(conn, &meta, &query, sort_memory)?;
                return Ok((docs, count.then_some(total)));
            }
            let docs = page(conn, &meta, &query, sort_memory)?;
            let total = if count {
                Some(query::count(conn, &meta, &query.filter)?)
            } else {
                None
            };
            Ok((docs, total))
        })
        .await
    }

    async fn apply(&self, batch: WriteBatch) -> StoreResult<BatchResult> {
        if batch.steps.is_empty() {
            return Ok(BatchResult::default());
        }
        self.write(move |conn| batch::apply(conn, batch)).await
    }

    async fn check_integrity(&self) -> StoreResult<()> {
        self.read(|conn, _| integrity::check(conn)).await
    }
}
