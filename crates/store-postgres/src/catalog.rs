//! The catalog: which collections and indexes exist, and the tables
//! behind them, all in the store's own schema `S`:
//!
//! ```text
//! S.eve_collections(cid bigserial PRIMARY KEY, name text UNIQUE)
//! S.eve_indexes(ixid bigserial PRIMARY KEY, cid, name, spec bytea, multikey bool)
//! S.c{cid}_docs(id bigserial PRIMARY KEY, doc bytea)        -- BSON bytes
//! S.c{cid}_ix{ixid}(key bytea, rid bigint, PRIMARY KEY …)   -- one per index
//! ```
//!
//! Table names are built from integer ids only, never from client text. A
//! unique index's table has `key` alone as primary key, so PostgreSQL
//! enforces uniqueness; other index tables have `(key, rid)`. The catalog
//! is read inside each transaction, so a query is planned with the index
//! set and multikey flags of its own snapshot, whichever process changed
//! them. Changes of the catalog's shape (creating a collection, building or
//! dropping an index) run in their own transactions under an advisory lock
//! on the schema, so several processes starting together do not race.

use bson::Document;
use deadpool_postgres::Transaction;
use eve_store::{IndexSpec, StoreError};
use eve_store_keys::catalog::{id_index_spec, spec_from_bytes, spec_to_bytes, ID_INDEX};
use eve_store_keys::plan::{has_key_entries, IndexInfo};

use crate::error::{is_unique_violation, TxError};

/// One index as the catalog knows it.
#[derive(Debug, Clone)]
pub(crate) struct IndexMeta {
    pub ixid: i64,
    pub spec: IndexSpec,
    /// Some document put an array through one of the keyed paths.
    pub multikey: bool,
}

impl IndexInfo for IndexMeta {
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

/// The qualified table names of one store (its schema).
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// The schema, quoted.
    schema: String,
    /// The schema as given, for the advisory lock.
    plain: String,
}

impl Names {
    /// Names in `schema` (already checked to be a plain identifier).
    pub fn new(schema: &str) -> Names {
        Names {
            schema: format!("\"{schema}\""),
            plain: schema.to_string(),
        }
    }

    /// The quoted schema.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    pub fn collections(&self) -> String {
        format!("{}.eve_collections", self.schema)
    }

    pub fn indexes(&self) -> String {
        format!("{}.eve_indexes", self.schema)
    }

    pub fn docs(&self, cid: i64) -> String {
        format!("{}.c{cid}_docs", self.schema)
    }

    pub fn index(&self, cid: i64, ixid: i64) -> String {
        format!("{}.c{cid}_ix{ixid}", self.schema)
    }

    /// The SQL that takes the schema's DDL lock for the transaction.
    fn lock_sql(&self) -> String {
        format!(
            "SELECT pg_advisory_xact_lock(hashtext('eve-rs:' || {}))",
            literal(&self.plain)
        )
    }
}

/// A SQL string literal (the schema name is a checked identifier, so this
/// only guards against a mistake).
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Whether `name` can be a schema of the store: a plain identifier.
pub(crate) fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

/// Creates the schema and the catalog tables when missing.
pub(crate) async fn setup(tx: &Transaction<'_>, names: &Names) -> Result<(), TxError> {
    tx.batch_execute(&names.lock_sql()).await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {colls}(
             cid bigserial PRIMARY KEY,
             name text NOT NULL UNIQUE
         );
         CREATE TABLE IF NOT EXISTS {ixs}(
             ixid bigserial PRIMARY KEY,
             cid bigint NOT NULL REFERENCES {colls}(cid) ON DELETE CASCADE,
             name text NOT NULL,
             spec bytea NOT NULL,
             multikey boolean NOT NULL DEFAULT false,
             UNIQUE (cid, name)
         );",
        schema = names.schema(),
        colls = names.collections(),
        ixs = names.indexes(),
    ))
    .await?;
    Ok(())
}

/// The catalog entry of `collection` as the transaction sees it.
pub(crate) async fn load(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
) -> Result<Option<CollMeta>, TxError> {
    let sql = format!(
        "SELECT c.cid, i.ixid, i.spec, i.multikey FROM {} c \
         LEFT JOIN {} i ON i.cid = c.cid WHERE c.name = $1 ORDER BY i.ixid",
        names.collections(),
        names.indexes()
    );
    let st = tx.prepare_cached(&sql).await?;
    let rows = tx.query(&st, &[&collection]).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let cid: i64 = first.try_get(0)?;
    let mut indexes = Vec::with_capacity(rows.len());
    for row in &rows {
        let ixid: Option<i64> = row.try_get(1)?;
        let Some(ixid) = ixid else { continue };
        let spec: Vec<u8> = row.try_get(2)?;
        indexes.push(IndexMeta {
            ixid,
            spec: spec_from_bytes(&spec)?,
            multikey: row.try_get(3)?,
        });
    }
    // The `_id` index first: the planner prefers it on ties.
    indexes.sort_by_key(|ix| (ix.spec.name != ID_INDEX, ix.ixid));
    Ok(Some(CollMeta { cid, indexes }))
}

/// Creates `collection` (with its `_id` index) unless it exists. Runs in
/// its own transaction, under the schema's DDL lock.
pub(crate) async fn ensure(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
) -> Result<CollMeta, TxError> {
    if let Some(meta) = load(tx, names, collection).await? {
        return Ok(meta);
    }
    tx.batch_execute(&names.lock_sql()).await?;
    if let Some(meta) = load(tx, names, collection).await? {
        return Ok(meta);
    }
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO {}(name) VALUES ($1) RETURNING cid",
                names.collections()
            ),
            &[&collection],
        )
        .await?;
    let cid: i64 = row.try_get(0)?;
    tx.batch_execute(&format!(
        "CREATE TABLE {}(id bigserial PRIMARY KEY, doc bytea NOT NULL)",
        names.docs(cid)
    ))
    .await?;
    create_index_entry(tx, names, cid, &id_index_spec()).await?;
    load(tx, names, collection)
        .await?
        .ok_or_else(|| TxError::Store(StoreError::Internal("collection vanished".into())))
}

/// Records an index and creates its (empty) table.
pub(crate) async fn create_index_entry(
    tx: &Transaction<'_>,
    names: &Names,
    cid: i64,
    spec: &IndexSpec,
) -> Result<IndexMeta, TxError> {
    let bytes = spec_to_bytes(spec)?;
    let row = tx
        .query_one(
            &format!(
                "INSERT INTO {}(cid, name, spec) VALUES ($1, $2, $3) RETURNING ixid",
                names.indexes()
            ),
            &[&cid, &spec.name, &bytes],
        )
        .await?;
    let ixid: i64 = row.try_get(0)?;
    if spec.text_index().is_some() {
        crate::text::create(tx, &names.index(cid, ixid), spec).await?;
    } else if has_key_entries(spec) {
        let key = if spec.unique { "key" } else { "key, rid" };
        tx.batch_execute(&format!(
            "CREATE TABLE {}(key bytea NOT NULL, rid bigint NOT NULL, PRIMARY KEY ({key}))",
            names.index(cid, ixid)
        ))
        .await?;
    } else if crate::geoindex::geo_field(spec).is_some() {
        crate::geoindex::create(tx, &names.index(cid, ixid)).await?;
    }
    Ok(IndexMeta {
        ixid,
        spec: spec.clone(),
        multikey: false,
    })
}

/// Drops an index and its table.
pub(crate) async fn drop_index(
    tx: &Transaction<'_>,
    names: &Names,
    cid: i64,
    index: &IndexMeta,
) -> Result<(), TxError> {
    tx.batch_execute(&format!(
        "DROP TABLE IF EXISTS {}",
        names.index(cid, index.ixid)
    ))
    .await?;
    tx.execute(
        &format!("DELETE FROM {} WHERE ixid = $1", names.indexes()),
        &[&index.ixid],
    )
    .await?;
    Ok(())
}

/// Marks an index multikey (some document put an array through it).
pub(crate) async fn set_multikey(
    tx: &Transaction<'_>,
    names: &Names,
    index: &IndexMeta,
) -> Result<(), TxError> {
    let sql = format!(
        "UPDATE {} SET multikey = true WHERE ixid = $1 AND NOT multikey",
        names.indexes()
    );
    let st = tx.prepare_cached(&sql).await?;
    tx.execute(&st, &[&index.ixid]).await?;
    Ok(())
}

/// Makes the collection's indexes exactly `wanted` (plus `_id`):
/// unchanged ones stay, changed ones are rebuilt, unlisted ones dropped.
/// The caller holds the DDL lock (see [`ensure`]).
pub(crate) async fn prepare_collection(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
    wanted: &[IndexSpec],
) -> Result<(), TxError> {
    eve_store_keys::catalog::check_index_specs(wanted)?;
    tx.batch_execute(&names.lock_sql()).await?;
    let meta = ensure(tx, names, collection).await?;
    for existing in &meta.indexes {
        if existing.spec.name == ID_INDEX {
            continue;
        }
        match wanted.iter().find(|w| w.name == existing.spec.name) {
            Some(w) if *w == existing.spec => {}
            _ => drop_index(tx, names, meta.cid, existing).await?,
        }
    }
    for existing in &meta.indexes {
        // A geo index recorded before it had a box table gets one now.
        if crate::geoindex::geo_field(&existing.spec).is_some()
            && wanted.contains(&existing.spec)
            && !table_exists(tx, names, &names.index(meta.cid, existing.ixid)).await?
        {
            crate::geoindex::create(tx, &names.index(meta.cid, existing.ixid)).await?;
            build_index(tx, names, meta.cid, existing.clone()).await?;
        }
    }
    for spec in wanted {
        if meta.indexes.iter().any(|e| e.spec == *spec) {
            continue;
        }
        let index = create_index_entry(tx, names, meta.cid, spec).await?;
        build_index(tx, names, meta.cid, index).await?;
    }
    Ok(())
}

/// Fills a new index from the existing documents (read in batches through
/// a portal, so memory stays bounded).
async fn build_index(
    tx: &Transaction<'_>,
    names: &Names,
    cid: i64,
    index: IndexMeta,
) -> Result<(), TxError> {
    if !index.has_side_table()
        && crate::geoindex::geo_field(&index.spec).is_none()
        && crate::text::text_of(&index.spec).is_none()
    {
        return Ok(());
    }
    let name = index.spec.name.clone();
    let mut one = CollMeta {
        cid,
        indexes: vec![index],
    };
    let st = tx
        .prepare(&format!(
            "SELECT id, doc FROM {} ORDER BY id",
            names.docs(cid)
        ))
        .await?;
    let portal = tx.bind(&st, &[]).await?;
    loop {
        let rows = tx.query_portal(&portal, 256).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id: i64 = row.try_get(0)?;
            let bytes: Vec<u8> = row.try_get(1)?;
            let doc: Document = eve_store_keys::storable::decode(&bytes)?;
            if let Err(e) = crate::write::add_entries(tx, names, &mut one, id, &doc).await {
                return Err(match e {
                    crate::write::EntryError::Duplicate(_, message) => {
                        TxError::Store(StoreError::InvalidIndex {
                            name,
                            message: format!(
                                "existing documents violate the unique index: {message}"
                            ),
                        })
                    }
                    crate::write::EntryError::Other(TxError::Store(StoreError::InvalidQuery(
                        message,
                    ))) => TxError::Store(StoreError::InvalidIndex { name, message }),
                    crate::write::EntryError::Other(e) => e,
                });
            }
        }
    }
    Ok(())
}

/// Whether `table` (as [`Names::index`] writes it) exists.
async fn table_exists(tx: &Transaction<'_>, names: &Names, table: &str) -> Result<bool, TxError> {
    let _ = names;
    let row = tx
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await?;
    Ok(row.try_get(0)?)
}

/// Maps an error of a catalog change: a unique violation on the catalog
/// tables means another process changed it at the same time (retryable by
/// running the change again).
pub(crate) fn is_catalog_race(e: &TxError) -> bool {
    matches!(e, TxError::Pg(e) if is_unique_violation(e))
}
