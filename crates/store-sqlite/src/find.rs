//! Running a find: the planned access, the sort, the window
//! (`skip`/`limit`), within the sort memory budget.
//!
//! A sort no index serves goes through [`TopK`]: only the first
//! `skip + limit` documents of the order are held (a bounded heap), and the
//! documents held may not exceed the store's sort memory budget (MongoDB's
//! blocking-sort limit, `SORT_MEMORY_LIMIT`); over it the query is refused
//! with a client error. A walk of an index in order produces the answer in
//! order; only its current group of ties is sorted in memory, and that
//! group is under the same budget.

use std::collections::BTreeSet;

use bson::Document;
use eve_query::{Filter, SortMemoryExceeded, SortSpec, TopK};
use eve_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::catalog::CollMeta;
use crate::error::sql_err;
use crate::query::{self, load_doc, Access, ExecStats, KeyRange};
use eve_store_keys::keys::components_len;

/// MongoDB's default memory limit of a blocking sort: 100 MiB.
pub const DEFAULT_SORT_MEMORY_LIMIT: usize = 100 * 1024 * 1024;

fn over_budget(limit: usize) -> StoreError {
    StoreError::InvalidQuery(SortMemoryExceeded { limit }.to_string())
}

/// Walks `range` of a (non-multikey, non-sparse) index in key order;
/// documents with equal values in the first `fixed + 1` key components
/// (the equality prefix and the sort field) are ordered by the full sort
/// in memory (stably, from natural order), so the result equals an
/// in-memory sort.
fn walk_order(
    conn: &Connection,
    meta: &CollMeta,
    (ix, desc, fixed, range): (usize, bool, usize, &KeyRange),
    filter: &Filter,
    sort: &SortSpec,
    (want, memory): (Option<usize>, usize),
    stats: &mut ExecStats,
) -> StoreResult<Vec<Document>> {
    let Some(index) = meta.indexes.get(ix) else {
        return Ok(Vec::new());
    };
    if range.is_empty() {
        return Ok(Vec::new());
    }
    let order = if desc { "DESC" } else { "ASC" };
    let table = index.table(meta.cid);
    let tail = format!("ORDER BY key {order}, rid ASC");
    let (sql, params) = match (&range.lo, &range.hi) {
        (lo, None) if lo.is_empty() => (format!("SELECT key, rid FROM {table} {tail}"), vec![]),
        (lo, None) => (
            format!("SELECT key, rid FROM {table} WHERE key >= ?1 {tail}"),
            vec![lo],
        ),
        (lo, Some(hi)) => (
            format!("SELECT key, rid FROM {table} WHERE key >= ?1 AND key < ?2 {tail}"),
            vec![lo, hi],
        ),
    };
    let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
    let mut rows = st
        .query(rusqlite::params_from_iter(params))
        .map_err(sql_err)?;
    let mut out: Vec<Document> = Vec::new();
    // Bytes of the documents in `group`: ties on the sort field are sorted
    // in memory (a blocking sort), so they count against the sort budget;
    // `out` is the answer in index order, as a natural-order read's is.
    let mut group_bytes = 0usize;
    let mut group: Vec<(i64, Document)> = Vec::new();
    let mut group_key: Option<Vec<u8>> = None;
    let mut seen = BTreeSet::new();
    let flush = |group: &mut Vec<(i64, Document)>, out: &mut Vec<Document>| {
        group.sort_by_key(|(rowid, _)| *rowid);
        let mut docs: Vec<Document> = group.drain(..).map(|(_, d)| d).collect();
        eve_query::sort_documents(&mut docs, sort);
        out.extend(docs);
    };
    while let Some(row) = rows.next().map_err(sql_err)? {
        stats.keys_examined += 1;
        let key: Vec<u8> = row.get(0).map_err(sql_err)?;
        let rowid: i64 = row.get(1).map_err(sql_err)?;
        // Documents are grouped by the key components up to the sort
        // field's, read from the entry itself: a group ends before the
        // next one is loaded.
        let lead_len = components_len(&key, fixed + 1).ok_or_else(|| {
            StoreError::Internal(format!("malformed key in index {}", index.spec.name))
        })?;
        let lead = &key[..lead_len];
        if group_key.as_deref() != Some(lead) {
            flush(&mut group, &mut out);
            group_bytes = 0;
            if want.is_some_and(|w| out.len() >= w) {
                return Ok(out);
            }
            group_key = Some(lead.to_vec());
        }
        if !seen.insert(rowid) {
            continue;
        }
        let Some((doc, size)) = load_doc(conn, meta, rowid)? else {
            continue;
        };
        stats.docs_examined += 1;
        if filter.matches(&doc) {
            group.push((rowid, doc));
            group_bytes = group_bytes.saturating_add(size);
            if group_bytes > memory {
                return Err(over_budget(memory));
            }
        }
    }
    flush(&mut group, &mut out);
    Ok(out)
}

/// Runs a find: plan, fetch, sort, window. `memory` is the sort budget in
/// bytes of held documents.
pub(crate) fn find(
    conn: &Connection,
    meta: &CollMeta,
    filter: &Filter,
    sort: &SortSpec,
    (skip, limit): (u64, Option<u64>),
    memory: usize,
    stats: &mut ExecStats,
) -> StoreResult<(Access, Vec<Document>)> {
    let access = query::plan(meta, filter, sort);
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    let want = limit.map(|l| skip.saturating_add(usize::try_from(l).unwrap_or(usize::MAX)));
    let mut docs = match &access {
        Access::Order {
            ix,
            desc,
            fixed,
            range,
            ..
        } => walk_order(
            conn,
            meta,
            (*ix, *desc, *fixed, range),
            filter,
            sort,
            (want, memory),
            stats,
        )?,
        _ if sort.is_empty() => query::natural(conn, meta, &access, filter, want, stats)?
            .into_iter()
            .map(|(_, d)| d)
            .collect(),
        _ => {
            let mut top = TopK::new(sort.clone(), want, memory);
            let mut over = None;
            query::each_match(conn, meta, &access, filter, stats, |_, doc, size| match top
                .push(doc, size)
            {
                Ok(()) => true,
                Err(e) => {
                    over = Some(e);
                    false
                }
            })?;
            if let Some(e) = over {
                return Err(over_budget(e.limit));
            }
            top.into_sorted()
        }
    };
    let end = want.unwrap_or(usize::MAX).min(docs.len());
    docs.truncate(end);
    let docs = if skip >= docs.len() {
        Vec::new()
    } else {
        docs.split_off(skip)
    };
    Ok((access, docs))
}
