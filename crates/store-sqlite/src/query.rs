//! Query execution on the SQLite side tables: the pure planner of
//! `eve_store_keys::plan` chooses the access path (see there); this module
//! reads the key ranges it gives, loads the candidate documents in rowid
//! (natural) order and checks every one against the whole filter with
//! [`Filter::matches`]. Everything else is a scan of the documents table
//! in rowid order.

use std::collections::BTreeSet;

use bson::{Bson, Document};
use eve_query::{Cond, Filter};
use eve_store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension};

use crate::catalog::CollMeta;
use crate::error::sql_err;
use eve_store_keys::keys::{encode_value, first_component_len, prefix_successor};
pub use eve_store_keys::plan::{Access, KeyRange, QueryPlan};

/// What executing a query cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Index entries read.
    pub keys_examined: u64,
    /// Documents loaded and checked against the filter.
    pub docs_examined: u64,
}

/// Chooses how to run a query on the collection `meta` describes.
pub(crate) fn plan(meta: &CollMeta, filter: &Filter, sort: &eve_query::SortSpec) -> Access {
    eve_store_keys::plan::plan(&meta.indexes, filter, sort)
}

pub(crate) use eve_store_keys::storable::decode;

/// The document stored at `rowid` and its size in bytes.
pub(crate) fn load_doc(
    conn: &Connection,
    meta: &CollMeta,
    rowid: i64,
) -> StoreResult<Option<(Document, usize)>> {
    crate::cancel::check()?;
    let sql = format!("SELECT doc FROM {} WHERE rowid = ?1", meta.docs_table());
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached(&sql)
        .and_then(|mut st| st.query_row([rowid], |r| r.get(0)).optional())
        .map_err(sql_err)?;
    bytes.map(|b| Ok((decode(&b)?, b.len()))).transpose()
}

/// Documents matching `filter`, in natural order, with their rowids; at
/// most `want` of them. `access` must be `Scan` or `Index`.
pub(crate) fn natural(
    conn: &Connection,
    meta: &CollMeta,
    access: &Access,
    filter: &Filter,
    want: Option<usize>,
    stats: &mut ExecStats,
) -> StoreResult<Vec<(i64, Document)>> {
    let mut out = Vec::new();
    if want == Some(0) {
        return Ok(out);
    }
    each_match(conn, meta, access, filter, stats, |rowid, doc, _| {
        out.push((rowid, doc));
        want.is_none_or(|w| out.len() < w)
    })?;
    Ok(out)
}

/// Calls `visit` with each document matching `filter` (and its stored
/// size), in natural order, until it returns `false`; nothing is kept, so
/// counting a large match set costs no memory. `access` must be `Scan` or
/// `Index`. A cancelled read stops at the next document.
pub(crate) fn each_match(
    conn: &Connection,
    meta: &CollMeta,
    access: &Access,
    filter: &Filter,
    stats: &mut ExecStats,
    mut visit: impl FnMut(i64, Document, usize) -> bool,
) -> StoreResult<()> {
    match access {
        Access::Index { ix, ranges, .. } => {
            let table = meta
                .indexes
                .get(*ix)
                .map(|i| i.table(meta.cid))
                .unwrap_or_default();
            let mut rowids = BTreeSet::new();
            for range in ranges {
                let rids: Vec<i64> = match &range.hi {
                    Some(hi) => {
                        let sql = format!("SELECT rid FROM {table} WHERE key >= ?1 AND key < ?2");
                        let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
                        let rows = st
                            .query_map(rusqlite::params![range.lo, hi], |r| r.get(0))
                            .map_err(sql_err)?;
                        rows.collect::<Result<_, _>>().map_err(sql_err)?
                    }
                    None => {
                        let sql = format!("SELECT rid FROM {table} WHERE key >= ?1");
                        let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
                        let rows = st.query_map([&range.lo], |r| r.get(0)).map_err(sql_err)?;
                        rows.collect::<Result<_, _>>().map_err(sql_err)?
                    }
                };
                stats.keys_examined += rids.len() as u64;
                rowids.extend(rids);
            }
            for rowid in rowids {
                let Some((doc, size)) = load_doc(conn, meta, rowid)? else {
                    continue;
                };
                stats.docs_examined += 1;
                if filter.matches(&doc) && !visit(rowid, doc, size) {
                    break;
                }
            }
        }
        _ => {
            let sql = format!(
                "SELECT rowid, doc FROM {} ORDER BY rowid",
                meta.docs_table()
            );
            let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
            let mut rows = st.query([]).map_err(sql_err)?;
            while let Some(row) = rows.next().map_err(sql_err)? {
                crate::cancel::check()?;
                let rowid: i64 = row.get(0).map_err(sql_err)?;
                let bytes: Vec<u8> = row.get(1).map_err(sql_err)?;
                let doc = decode(&bytes)?;
                stats.docs_examined += 1;
                if filter.matches(&doc) && !visit(rowid, doc, bytes.len()) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Counts the documents matching `filter`.
pub(crate) fn count(conn: &Connection, meta: &CollMeta, filter: &Filter) -> StoreResult<u64> {
    let access = plan(meta, filter, &Vec::new());
    let mut stats = ExecStats::default();
    if matches!(filter, Filter::All) {
        let sql = format!("SELECT COUNT(*) FROM {}", meta.docs_table());
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0)).map_err(sql_err)?;
        return Ok(u64::try_from(n).unwrap_or(0));
    }
    if let Some(n) = count_by_index(conn, meta, filter)? {
        return Ok(n);
    }
    let mut n = 0u64;
    each_match(conn, meta, &access, filter, &mut stats, |_, _, _| {
        n += 1;
        true
    })?;
    Ok(n)
}

/// Counts a filter that is one equality on the leading field of an index
/// that never met an array from the index alone: every document has one
/// entry there, and an entry whose first key component is exactly the
/// encoded value matches (the encoding gives equal keys to equal values,
/// numbers by exact value). `None` when the filter has another shape.
fn count_by_index(conn: &Connection, meta: &CollMeta, filter: &Filter) -> StoreResult<Option<u64>> {
    let Filter::Field {
        path,
        cond: Cond::Eq(value),
    } = filter
    else {
        return Ok(None);
    };
    if !matches!(
        value,
        Bson::String(_) | Bson::ObjectId(_) | Bson::Boolean(_) | Bson::Int32(_) | Bson::Int64(_)
    ) {
        return Ok(None);
    }
    let Some(index) = meta
        .indexes
        .iter()
        .find(|i| i.has_side_table() && !i.multikey && i.leading_field() == Some(path.as_str()))
    else {
        return Ok(None);
    };
    let lo = encode_value(value);
    let Some(hi) = prefix_successor(&lo) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT key FROM {} WHERE key >= ?1 AND key < ?2",
        index.table(meta.cid)
    );
    let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
    let mut rows = st.query(rusqlite::params![lo, hi]).map_err(sql_err)?;
    let mut n = 0u64;
    while let Some(row) = rows.next().map_err(sql_err)? {
        crate::cancel::check()?;
        let key = row
            .get_ref(0)
            .map_err(sql_err)?
            .as_blob()
            .map_err(|e| StoreError::Internal(format!("index {}: {e}", index.spec.name)))?;
        if first_component_len(key) == Some(lo.len()) {
            n += 1;
        }
    }
    Ok(Some(n))
}
