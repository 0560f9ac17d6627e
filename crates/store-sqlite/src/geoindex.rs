//! `2dsphere` and `2d` indexes: an SQLite R*Tree of each document's
//! bounding box at the indexed field (the union of its locations), kept in
//! the same savepoint as the document's writes, under the index's side
//! table name. A `$near` with a `$maxDistance` reads only the documents
//! whose box meets the search's box ([`eve_query::Near::search_box`]), then
//! checks them with the evaluator and measures them (`eve_store::near`);
//! without a `$maxDistance` it reads what the rest of the filter selects.
//! The R*Tree stores 32-bit floats rounded outwards, so it may return a
//! few documents too many, never too few.

use bson::Document;
use eve_query::{Filter, Near};
use eve_store::StoreResult;
use rusqlite::Connection;

use crate::catalog::{CollMeta, IndexMeta};
use crate::error::sql_err;
use crate::query;

pub(crate) use eve_store_keys::catalog::geo_field;

/// Whether the R*Tree of a geo index exists (a store written before geo
/// indexes had one records the index only).
pub(crate) fn exists(conn: &Connection, table: &str) -> StoreResult<bool> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
    .map_err(sql_err)
}

/// Creates the R*Tree of a new geo index.
pub(crate) fn create(conn: &Connection, table: &str) -> StoreResult<()> {
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE {table} USING rtree(id, min_x, max_x, min_y, max_y);"
    ))
    .map_err(sql_err)
}

/// Records the box of `doc` (nothing when it has no location there).
pub(crate) fn add(
    conn: &Connection,
    cid: i64,
    index: &IndexMeta,
    rowid: i64,
    doc: &Document,
) -> StoreResult<()> {
    let Some(field) = geo_field(&index.spec) else {
        return Ok(());
    };
    let Some([min_x, min_y, max_x, max_y]) = Near::field_bounds(doc, field) else {
        return Ok(());
    };
    let sql = format!(
        "INSERT INTO {}(id, min_x, max_x, min_y, max_y) VALUES (?1, ?2, ?3, ?4, ?5)",
        index.table(cid)
    );
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.execute(rusqlite::params![rowid, min_x, max_x, min_y, max_y]))
        .map(|_| ())
        .map_err(sql_err)
}

/// Forgets the box of the document at `rowid`.
pub(crate) fn remove(
    conn: &Connection,
    cid: i64,
    index: &IndexMeta,
    rowid: i64,
) -> StoreResult<()> {
    let sql = format!("DELETE FROM {} WHERE id = ?1", index.table(cid));
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.execute([rowid]))
        .map(|_| ())
        .map_err(sql_err)
}

/// The `$near` candidates through a geo index on the search's field, when
/// the search has a `$maxDistance` and the collection such an index:
/// documents whose box meets the search box and that match `filter`, in
/// rowid order, at most `want`. `None`: no index applies.
pub(crate) fn near_candidates(
    conn: &Connection,
    meta: &CollMeta,
    near: &Near,
    filter: &Filter,
    want: usize,
) -> StoreResult<Option<Vec<Document>>> {
    let Some(index) = meta
        .indexes
        .iter()
        .find(|i| geo_field(&i.spec) == Some(near.field.as_str()))
    else {
        return Ok(None);
    };
    let Some([min_x, min_y, max_x, max_y]) = near.search_box() else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT id FROM {} WHERE max_x >= ?1 AND min_x <= ?2 AND max_y >= ?3 AND min_y <= ?4 ORDER BY id",
        index.table(meta.cid)
    );
    let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
    let ids = st
        .query_map(rusqlite::params![min_x, max_x, min_y, max_y], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(sql_err)?
        .collect::<Result<Vec<i64>, _>>()
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for rowid in ids {
        if let Some((doc, _)) = query::load_doc(conn, meta, rowid)? {
            if filter.matches(&doc) {
                out.push(doc);
                if out.len() >= want {
                    break;
                }
            }
        }
    }
    Ok(Some(out))
}
