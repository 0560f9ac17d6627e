//! The catalog: which collections and indexes exist, and the SQL tables
//! behind them.
//!
//! ```text
//! eve_collections(cid INTEGER PRIMARY KEY, name TEXT UNIQUE)
//! eve_indexes(ixid INTEGER PRIMARY KEY, cid, name, spec BLOB, multikey)
//! c{cid}_docs(rowid INTEGER PRIMARY KEY, doc BLOB)        -- BSON bytes
//! c{cid}_ix{ixid}(key BLOB, rid INTEGER, …) WITHOUT ROWID  -- one per index
//! ```
//!
//! Table names are built from integer ids only, never from client text.
//! The catalog is read inside each transaction, so readers always see the
//! index set (and multikey flags) matching the data of their snapshot.
//! Readers keep what they read in a [`CatalogCache`], valid while the
//! catalog's version (`eve_catalog_version`, bumped by triggers on every
//! change of the two catalog tables) read in their snapshot is unchanged:
//! one small lookup instead of two queries and the decoding of every index
//! definition on each read.

use std::collections::HashMap;
use std::sync::Arc;

use eve_store::{IndexSpec, StoreResult};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::sql_err;

pub use eve_store_keys::catalog::ID_INDEX;
pub(crate) use eve_store_keys::catalog::{id_index_spec, spec_from_bytes, spec_to_bytes};

/// The SQL that creates the catalog (idempotent).
pub(crate) const CATALOG_SQL: &str = "
CREATE TABLE IF NOT EXISTS eve_collections(
    cid INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS eve_indexes(
    ixid INTEGER PRIMARY KEY,
    cid INTEGER NOT NULL,
    name TEXT NOT NULL,
    spec BLOB NOT NULL,
    multikey INTEGER NOT NULL DEFAULT 0,
    UNIQUE(cid, name)
);
CREATE TABLE IF NOT EXISTS eve_catalog_version(
    id INTEGER PRIMARY KEY CHECK (id = 0),
    v INTEGER NOT NULL
);
INSERT OR IGNORE INTO eve_catalog_version(id, v) VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS eve_collections_ins AFTER INSERT ON eve_collections
    BEGIN UPDATE eve_catalog_version SET v = v + 1; END;
CREATE TRIGGER IF NOT EXISTS eve_collections_upd AFTER UPDATE ON eve_collections
    BEGIN UPDATE eve_catalog_version SET v = v + 1; END;
CREATE TRIGGER IF NOT EXISTS eve_collections_del AFTER DELETE ON eve_collections
    BEGIN UPDATE eve_catalog_version SET v = v + 1; END;
CREATE TRIGGER IF NOT EXISTS eve_indexes_ins AFTER INSERT ON eve_indexes
    BEGIN UPDATE eve_catalog_version SET v = v + 1; END;
CREATE TRIGGER IF NOT EXISTS eve_indexes_upd AFTER UPDATE ON eve_indexes
    BEGIN UPDATE eve_catalog_version SET v = v + 1; END;
CREATE TRIGGER IF NOT EXISTS eve_indexes_del AFTER DELETE ON eve_indexes
    BEGIN UPDATE eve_catalog_version SET v = v + 1; END;
";

/// One index as the catalog knows it.
#[derive(Debug, Clone)]
pub(crate) struct IndexMeta {
    pub ixid: i64,
    pub spec: IndexSpec,
    /// Some document put an array through one of the keyed paths.
    pub multikey: bool,
}

impl IndexMeta {
    /// Special kinds (`2dsphere`, `text`, `hashed`) are recorded only;
    /// queries on them are served by scans.
    pub fn has_side_table(&self) -> bool {
        has_side_table(&self.spec)
    }

    pub fn table(&self, cid: i64) -> String {
        index_table(cid, self.ixid)
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.spec.keys.iter().map(|(f, _)| f.as_str())
    }

    pub fn leading_field(&self) -> Option<&str> {
        self.spec.keys.first().map(|(f, _)| f.as_str())
    }
}

pub(crate) fn has_side_table(spec: &IndexSpec) -> bool {
    eve_store_keys::plan::has_key_entries(spec)
}

impl eve_store_keys::plan::IndexInfo for IndexMeta {
    fn spec(&self) -> &IndexSpec {
        &self.spec
    }

    fn multikey(&self) -> bool {
        self.multikey
    }
}

/// One collection as the catalog knows it.
#[derive(Debug, Clone)]
pub(crate) struct CollMeta {
    pub cid: i64,
    /// The `_id` index first, then the others by creation.
    pub indexes: Vec<IndexMeta>,
}

impl CollMeta {
    pub fn docs_table(&self) -> String {
        docs_table(self.cid)
    }
}

pub(crate) fn docs_table(cid: i64) -> String {
    format!("c{cid}_docs")
}

pub(crate) fn index_table(cid: i64, ixid: i64) -> String {
    format!("c{cid}_ix{ixid}")
}

/// The FTS5 table of a text index.
pub(crate) fn fts_table(cid: i64, ixid: i64) -> String {
    format!("c{cid}_fts{ixid}")
}

/// Creates the (empty) FTS5 table of a text index. Writer only.
pub(crate) fn create_fts(
    conn: &Connection,
    cid: i64,
    ixid: i64,
    text: &eve_query::text::TextIndex,
) -> StoreResult<()> {
    let columns: Vec<String> = (0..text.fields.len()).map(|i| format!("f{i}")).collect();
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE {} USING fts5({}, content='', contentless_delete=1, \
         tokenize='unicode61 remove_diacritics 0');",
        fts_table(cid, ixid),
        columns.join(", ")
    ))
    .map_err(sql_err)
}

/// The text index of `index`, if it is one.
pub(crate) fn text_of(index: &IndexMeta) -> Option<eve_query::text::TextIndex> {
    index.spec.text_index()
}

/// What one reader connection knows of the catalog.
#[derive(Debug, Default)]
pub(crate) struct CatalogCache {
    /// The catalog version the entries were read at.
    version: Option<i64>,
    collections: HashMap<String, Arc<CollMeta>>,
}

/// The catalog entry of `collection` as seen by the current transaction,
/// from `cache` when the catalog has not changed since it was read.
pub(crate) fn load_cached(
    conn: &Connection,
    cache: &mut CatalogCache,
    collection: &str,
) -> StoreResult<Option<Arc<CollMeta>>> {
    let version: i64 = conn
        .prepare_cached("SELECT v FROM eve_catalog_version WHERE id = 0")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(sql_err)?;
    if cache.version != Some(version) {
        cache.collections.clear();
        cache.version = Some(version);
    }
    if let Some(meta) = cache.collections.get(collection) {
        return Ok(Some(Arc::clone(meta)));
    }
    let Some(meta) = load(conn, collection)? else {
        return Ok(None);
    };
    let meta = Arc::new(meta);
    cache
        .collections
        .insert(collection.to_string(), Arc::clone(&meta));
    Ok(Some(meta))
}

thread_local! {
    /// The writer thread's [`CatalogCache`] (see [`load_for_write`]).
    static WRITE_CACHE: std::cell::RefCell<CatalogCache> =
        std::cell::RefCell::new(CatalogCache::default());
}

/// [`load`] for the writer thread: from a cache kept while the catalog
/// version read in the write transaction is unchanged, instead of two
/// queries and the decoding of every index definition on each write. The
/// writer calls [`forget_write_cache`] whenever it rolls anything back: a
/// rolled-back change restores an older version number, which a later
/// change could reuse for a different catalog.
pub(crate) fn load_for_write(conn: &Connection, collection: &str) -> StoreResult<Option<CollMeta>> {
    WRITE_CACHE
        .with(|cache| load_cached(conn, &mut cache.borrow_mut(), collection))
        .map(|meta| meta.map(|m| (*m).clone()))
}

/// [`ensure`] through the writer's cache ([`load_for_write`]).
pub(crate) fn ensure_for_write(conn: &Connection, collection: &str) -> StoreResult<CollMeta> {
    match load_for_write(conn, collection)? {
        Some(meta) => Ok(meta),
        None => ensure(conn, collection),
    }
}

/// Empties the writer's catalog cache (after any rollback).
pub(crate) fn forget_write_cache() {
    WRITE_CACHE.with(|cache| *cache.borrow_mut() = CatalogCache::default());
}

/// The catalog entry of `collection`, if it exists.
pub(crate) fn load(conn: &Connection, collection: &str) -> StoreResult<Option<CollMeta>> {
    let cid: Option<i64> = conn
        .prepare_cached("SELECT cid FROM eve_collections WHERE name = ?1")
        .and_then(|mut st| st.query_row([collection], |r| r.get(0)).optional())
        .map_err(sql_err)?;
    let Some(cid) = cid else { return Ok(None) };
    load_by_id(conn, cid).map(Some)
}

/// The catalog entry of the collection with this id.
pub(crate) fn load_by_id(conn: &Connection, cid: i64) -> StoreResult<CollMeta> {
    let mut st = conn
        .prepare_cached("SELECT ixid, spec, multikey FROM eve_indexes WHERE cid = ?1 ORDER BY ixid")
        .map_err(sql_err)?;
    let rows = st
        .query_map([cid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })
        .map_err(sql_err)?;
    let mut indexes = Vec::new();
    for row in rows {
        let (ixid, spec, multikey) = row.map_err(sql_err)?;
        indexes.push(IndexMeta {
            ixid,
            spec: spec_from_bytes(&spec)?,
            multikey,
        });
    }
    // The `_id` index first: the planner prefers it on ties.
    indexes.sort_by_key(|ix| (ix.spec.name != ID_INDEX, ix.ixid));
    Ok(CollMeta { cid, indexes })
}

/// Every collection: (name, id).
pub(crate) fn list(conn: &Connection) -> StoreResult<Vec<(String, i64)>> {
    let mut st = conn
        .prepare("SELECT name, cid FROM eve_collections ORDER BY cid")
        .map_err(sql_err)?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
}

/// The catalog entry of `collection`, creating the collection (with its
/// `_id` index) when missing. Writer only.
pub(crate) fn ensure(conn: &Connection, collection: &str) -> StoreResult<CollMeta> {
    if let Some(meta) = load(conn, collection)? {
        return Ok(meta);
    }
    conn.execute(
        "INSERT INTO eve_collections(name) VALUES (?1)",
        [collection],
    )
    .map_err(sql_err)?;
    let cid = conn.last_insert_rowid();
    conn.execute_batch(&format!(
        "CREATE TABLE {}(rowid INTEGER PRIMARY KEY, doc BLOB NOT NULL);",
        docs_table(cid)
    ))
    .map_err(sql_err)?;
    create_index_entry(conn, cid, &id_index_spec())?;
    load_by_id(conn, cid)
}

/// Records an index and creates its (empty) side table. Writer only.
pub(crate) fn create_index_entry(
    conn: &Connection,
    cid: i64,
    spec: &IndexSpec,
) -> StoreResult<IndexMeta> {
    conn.execute(
        "INSERT INTO eve_indexes(cid, name, spec, multikey) VALUES (?1, ?2, ?3, 0)",
        params![cid, spec.name, spec_to_bytes(spec)?],
    )
    .map_err(sql_err)?;
    let ixid = conn.last_insert_rowid();
    let meta = IndexMeta {
        ixid,
        spec: spec.clone(),
        multikey: false,
    };
    if let Some(text) = text_of(&meta) {
        create_fts(conn, cid, ixid, &text)?;
    } else if meta.has_side_table() {
        let table = meta.table(cid);
        // Unique: the key alone is the primary key, so SQLite itself refuses
        // a second document with the same key (no check-then-insert race).
        let sql = if spec.unique {
            format!("CREATE TABLE {table}(key BLOB NOT NULL PRIMARY KEY, rid INTEGER NOT NULL) WITHOUT ROWID;")
        } else {
            format!(
                "CREATE TABLE {table}(key BLOB NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY(key, rid)) WITHOUT ROWID;"
            )
        };
        conn.execute_batch(&sql).map_err(sql_err)?;
    } else if crate::geoindex::geo_field(spec).is_some() {
        crate::geoindex::create(conn, &meta.table(cid))?;
    }
    Ok(meta)
}

/// Forgets an index and drops its side table. Writer only.
pub(crate) fn drop_index(conn: &Connection, cid: i64, index: &IndexMeta) -> StoreResult<()> {
    conn.execute("DELETE FROM eve_indexes WHERE ixid = ?1", [index.ixid])
        .map_err(sql_err)?;
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {};",
        index.table(cid),
        fts_table(cid, index.ixid)
    ))
    .map_err(sql_err)
}

/// Records that an index met an array. Writer only.
pub(crate) fn set_multikey(conn: &Connection, index: &IndexMeta) -> StoreResult<()> {
    conn.prepare_cached("UPDATE eve_indexes SET multikey = 1 WHERE ixid = ?1")
        .and_then(|mut st| st.execute([index.ixid]))
        .map(|_| ())
        .map_err(sql_err)
}
