//! The write operations, run by the writer thread inside a savepoint (see
//! [`crate::writer`]): each either completes or leaves no trace.
//!
//! Index maintenance is explicit: a document's entries are computed from
//! its content ([`eve_store_keys::keys::index_entries`]); they are inserted after
//! the document and deleted (recomputed from the stored document) before
//! it changes. A unique index refuses a second entry through its primary
//! key, which is how `DuplicateKey` arises, atomically.

use bson::{Bson, Document};
use eve_query::Filter;
use eve_store::{IndexSpec, StoreError, StoreResult};
use rusqlite::Connection;

use crate::catalog::{self, CollMeta, IndexMeta, ID_INDEX};
use crate::error::{is_constraint, sql_err};
use crate::fts;
use crate::geoindex;
use crate::query::{self, ExecStats};
use eve_store_keys::keys::index_entries;
use eve_store_keys::update::{apply_update, check_id, with_id_first};

/// Why inserting a document's index entries failed.
enum EntryError {
    /// A unique index (named first) already holds one of the keys.
    Duplicate(String, String),
    /// Anything else.
    Other(StoreError),
}

impl EntryError {
    fn at(self, position: usize) -> StoreError {
        match self {
            EntryError::Duplicate(index_name, message) => StoreError::DuplicateKey {
                index: position,
                message,
                op: 0,
                index_name,
            },
            EntryError::Other(e) => e,
        }
    }
}

fn add_entries(
    conn: &Connection,
    meta: &mut CollMeta,
    rowid: i64,
    doc: &Document,
) -> Result<(), EntryError> {
    let cid = meta.cid;
    for index in &mut meta.indexes {
        if let Some(text) = catalog::text_of(index) {
            fts::add(conn, cid, index, &text, rowid, doc).map_err(EntryError::Other)?;
            continue;
        }
        if !index.has_side_table() {
            if geoindex::geo_field(&index.spec).is_some() {
                geoindex::add(conn, cid, index, rowid, doc).map_err(EntryError::Other)?;
            }
            continue;
        }
        let (keys, multikey) =
            index_entries(doc, index.fields().collect::<Vec<_>>(), index.spec.sparse).map_err(
                |e| {
                    EntryError::Other(StoreError::InvalidQuery(format!(
                        "index {}: {}",
                        index.spec.name, e.0
                    )))
                },
            )?;
        if multikey && !index.multikey {
            catalog::set_multikey(conn, index).map_err(EntryError::Other)?;
            index.multikey = true;
        }
        let sql = format!("INSERT INTO {}(key, rid) VALUES (?1, ?2)", index.table(cid));
        let mut st = conn
            .prepare_cached(&sql)
            .map_err(|e| EntryError::Other(sql_err(e)))?;
        for key in keys {
            if let Err(e) = st.execute(rusqlite::params![key, rowid]) {
                if is_constraint(&e) {
                    return Err(EntryError::Duplicate(
                        index.spec.name.clone(),
                        format!(
                            "E11000 duplicate key error index: {} dup key: {}",
                            index.spec.name,
                            eve_store_keys::keys::key_text(doc, &index.spec)
                        ),
                    ));
                }
                return Err(EntryError::Other(sql_err(e)));
            }
        }
    }
    Ok(())
}

fn remove_entries(
    conn: &Connection,
    meta: &CollMeta,
    rowid: i64,
    doc: &Document,
) -> StoreResult<()> {
    for index in &meta.indexes {
        if catalog::text_of(index).is_some() {
            fts::remove(conn, meta.cid, index, rowid)?;
            continue;
        }
        if !index.has_side_table() {
            if geoindex::geo_field(&index.spec).is_some() {
                geoindex::remove(conn, meta.cid, index, rowid)?;
            }
            continue;
        }
        // The document was indexed when stored, so its keys compute again;
        // should they not, there is nothing of it to remove.
        let Ok((keys, _)) =
            index_entries(doc, index.fields().collect::<Vec<_>>(), index.spec.sparse)
        else {
            continue;
        };
        let sql = format!(
            "DELETE FROM {} WHERE key = ?1 AND rid = ?2",
            index.table(meta.cid)
        );
        let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
        for key in keys {
            st.execute(rusqlite::params![key, rowid]).map_err(sql_err)?;
        }
    }
    Ok(())
}

fn encode_doc(doc: &Document) -> StoreResult<Vec<u8>> {
    eve_store_keys::storable::encode(doc)
}

/// Inserts `docs` in order; the first failure fails the whole call (the
/// caller's savepoint undoes the documents already written).
pub(crate) fn insert(
    conn: &Connection,
    collection: &str,
    docs: Vec<Document>,
) -> StoreResult<Vec<Bson>> {
    let mut meta = catalog::ensure_for_write(conn, collection)?;
    let sql = format!("INSERT INTO {}(doc) VALUES (?1)", meta.docs_table());
    let mut ids = Vec::with_capacity(docs.len());
    for (position, doc) in docs.into_iter().enumerate() {
        let (id, doc) = with_id_first(doc, None);
        check_id(&id)?;
        let bytes = encode_doc(&doc)?;
        conn.prepare_cached(&sql)
            .and_then(|mut st| st.execute([bytes]))
            .map_err(sql_err)?;
        let rowid = conn.last_insert_rowid();
        add_entries(conn, &mut meta, rowid, &doc).map_err(|e| e.at(position))?;
        ids.push(id);
    }
    Ok(ids)
}

/// Rewrites one stored document (same rowid), keeping indexes in step.
fn rewrite(
    conn: &Connection,
    meta: &mut CollMeta,
    rowid: i64,
    old: &Document,
    new: &Document,
) -> StoreResult<()> {
    let bytes = encode_doc(new)?;
    remove_entries(conn, meta, rowid, old)?;
    let sql = format!("UPDATE {} SET doc = ?1 WHERE rowid = ?2", meta.docs_table());
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.execute(rusqlite::params![bytes, rowid]))
        .map_err(sql_err)?;
    add_entries(conn, meta, rowid, new).map_err(|e| e.at(0))
}

/// The documents (natural order) matching `filter`, with their rowids:
/// the first only unless `many`.
fn matches(
    conn: &Connection,
    meta: &CollMeta,
    filter: &Filter,
    many: bool,
) -> StoreResult<Vec<(i64, Document)>> {
    let access = query::plan(meta, filter, &Vec::new());
    let mut stats = ExecStats::default();
    let limit = if many { None } else { Some(1) };
    query::natural(conn, meta, &access, filter, limit, &mut stats)
}

/// How many documents a write matched and changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub matched: u64,
    pub modified: u64,
}

/// Replaces the first match; the stored `_id` is kept.
pub(crate) fn replace_one(
    conn: &Connection,
    collection: &str,
    filter: &Filter,
    doc: Document,
) -> StoreResult<Counts> {
    let Some(mut meta) = catalog::load_for_write(conn, collection)? else {
        return Ok(Counts::default());
    };
    let Some((rowid, old)) = matches(conn, &meta, filter, false)?.into_iter().next() else {
        return Ok(Counts::default());
    };
    let id = old.get("_id").cloned().unwrap_or(Bson::Null);
    let (_, new) = with_id_first(doc, Some(id));
    let modified = u64::from(new != old);
    rewrite(conn, &mut meta, rowid, &old, &new)?;
    Ok(Counts {
        matched: 1,
        modified,
    })
}

/// Applies `$set` then `$unset` to the first match (every match when
/// `many`); `_id` is never changed.
pub(crate) fn update(
    conn: &Connection,
    collection: &str,
    filter: &Filter,
    (set, unset): (&Document, &[String]),
    many: bool,
) -> StoreResult<Counts> {
    let Some(mut meta) = catalog::load_for_write(conn, collection)? else {
        return Ok(Counts::default());
    };
    let targets = matches(conn, &meta, filter, many)?;
    let mut counts = Counts::default();
    for (position, (rowid, old)) in targets.into_iter().enumerate() {
        counts.matched += 1;
        let new = apply_update(&old, set, unset)?;
        if new == old {
            continue;
        }
        counts.modified += 1;
        rewrite(conn, &mut meta, rowid, &old, &new).map_err(|e| match e {
            StoreError::DuplicateKey {
                message,
                op,
                index_name,
                ..
            } => StoreError::DuplicateKey {
                index: position,
                message,
                op,
                index_name,
            },
            other => other,
        })?;
    }
    Ok(counts)
}

/// Deletes the first match (every match when `many`); returns how many.
pub(crate) fn delete(
    conn: &Connection,
    collection: &str,
    filter: &Filter,
    many: bool,
) -> StoreResult<u64> {
    let Some(meta) = catalog::load_for_write(conn, collection)? else {
        return Ok(0);
    };
    let victims = matches(conn, &meta, filter, many)?;
    let sql = format!("DELETE FROM {} WHERE rowid = ?1", meta.docs_table());
    for (rowid, doc) in &victims {
        remove_entries(conn, &meta, *rowid, doc)?;
        conn.prepare_cached(&sql)
            .and_then(|mut st| st.execute([rowid]))
            .map_err(sql_err)?;
    }
    Ok(victims.len() as u64)
}

/// Whether some document of `collection` matches `filter`.
pub(crate) fn exists(conn: &Connection, collection: &str, filter: &Filter) -> StoreResult<bool> {
    let Some(meta) = catalog::load_for_write(conn, collection)? else {
        return Ok(false);
    };
    Ok(!matches(conn, &meta, filter, false)?.is_empty())
}

/// Makes the collection's indexes exactly `wanted` (plus `_id`):
/// unchanged ones stay, changed ones are rebuilt, unlisted ones dropped.
pub(crate) fn prepare_collection(
    conn: &Connection,
    collection: &str,
    wanted: &[IndexSpec],
) -> StoreResult<()> {
    eve_store_keys::catalog::check_index_specs(wanted)?;
    let meta = catalog::ensure(conn, collection)?;
    for existing in &meta.indexes {
        if existing.spec.name == ID_INDEX {
            continue;
        }
        match wanted.iter().find(|w| w.name == existing.spec.name) {
            Some(w) if *w == existing.spec => {}
            _ => catalog::drop_index(conn, meta.cid, existing)?,
        }
    }
    for existing in &meta.indexes {
        // A geo index recorded before it had an R*Tree gets one now.
        let table = existing.table(meta.cid);
        if geoindex::geo_field(&existing.spec).is_some()
            && wanted.contains(&existing.spec)
            && !geoindex::exists(conn, &table)?
        {
            geoindex::create(conn, &table)?;
            build_index(conn, meta.cid, existing.clone())?;
        }
    }
    for spec in wanted {
        if meta.indexes.iter().any(|e| e.spec == *spec) {
            continue;
        }
        let index = catalog::create_index_entry(conn, meta.cid, spec)?;
        build_index(conn, meta.cid, index)?;
    }
    Ok(())
}

/// Fills a new index from the existing documents.
fn build_index(conn: &Connection, cid: i64, index: IndexMeta) -> StoreResult<()> {
    if !index.has_side_table()
        && geoindex::geo_field(&index.spec).is_none()
        && catalog::text_of(&index).is_none()
    {
        return Ok(());
    }
    let mut one = CollMeta {
        cid,
        indexes: vec![index],
    };
    let sql = format!("SELECT rowid, doc FROM {} ORDER BY rowid", one.docs_table());
    let mut st = conn.prepare(&sql).map_err(sql_err)?;
    let mut rows = st.query([]).map_err(sql_err)?;
    while let Some(row) = rows.next().map_err(sql_err)? {
        let rowid: i64 = row.get(0).map_err(sql_err)?;
        let bytes: Vec<u8> = row.get(1).map_err(sql_err)?;
        let doc = query::decode(&bytes)?;
        let name = one
            .indexes
            .first()
            .map(|i| i.spec.name.clone())
            .unwrap_or_default();
        add_entries(conn, &mut one, rowid, &doc).map_err(|e| match e {
            EntryError::Duplicate(_, message) => StoreError::InvalidIndex {
                name,
                message: format!("existing documents violate the unique index: {message}"),
            },
            EntryError::Other(StoreError::InvalidQuery(message)) => {
                StoreError::InvalidIndex { name, message }
            }
            EntryError::Other(e) => e,
        })?;
    }
    Ok(())
}
