//! Reads: the access path the shared planner chose
//! ([`eve_store_keys::plan`]) as SQL on the index tables, then the
//! residual check, the sort and the window.
//!
//! What runs in SQL, and what in Rust:
//!
//! * **Index scan** (equality, `$in` or range on an index's leading field):
//!   `SELECT … FROM docs WHERE id IN (SELECT rid FROM ix WHERE key >= lo
//!   AND key < hi OR …) ORDER BY id`. PostgreSQL reads only the key
//!   ranges, through the index table's primary key; every document it
//!   returns is checked against the whole filter with
//!   [`Filter::matches`] (the ranges are a superset: inclusive bounds, the
//!   other conjuncts, and cross-type brackets), so the semantics stay
//!   `eve-query`'s.
//! * **Index walk in sort order**: `… FROM ix JOIN docs … WHERE key in
//!   range ORDER BY key, rid`, read through a portal in batches and stopped
//!   once `skip + limit` documents matched; ties on the sort field are
//!   ordered in memory.
//! * **Scan**: `SELECT … FROM docs ORDER BY id` through a portal, every
//!   document checked in Rust, stopped at `skip + limit` when no sort
//!   needs them all. A filter matching everything with no sort pushes
//!   `OFFSET`/`LIMIT` down; its count is `count(*)`.
//! * **Counts** of one equality on a non-multikey index (strings,
//!   ObjectIds, booleans, integers: values whose encoding is exact) are a
//!   `count(*)` of the index table's key range, reading no document.
//!
//! A sort no index provides goes through [`TopK`] in Rust: only
//! `skip + limit` documents are held, within the sort memory budget.

use bson::{Bson, Document};
use deadpool_postgres::Transaction;
use eve_query::{Cond, Filter, SortMemoryExceeded, SortSpec, TopK};
use eve_store::{FindQuery, StoreError};
use eve_store_keys::keys::{components_len, encode_value, prefix_successor};
use eve_store_keys::plan::{self, Access, KeyRange};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::catalog::{CollMeta, Names};
use crate::error::TxError;

/// What a read cost: documents fetched from PostgreSQL and checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Documents PostgreSQL returned (each decoded and, unless the SQL
    /// alone answered, checked against the filter in Rust).
    pub docs_examined: u64,
}

/// More key ranges than this (a long `$in`) scan instead: the statement
/// would grow past what is worth planning.
const MAX_RANGES: usize = 512;

/// Rows fetched from a portal at a time.
const BATCH: i32 = 256;

fn over_budget(limit: usize) -> TxError {
    TxError::Store(StoreError::InvalidQuery(
        SortMemoryExceeded { limit }.to_string(),
    ))
}

/// A statement read through a portal in batches, so a long result never
/// sits in memory whole and a read can stop early.
struct Cursor<'t, 'c> {
    tx: &'t Transaction<'c>,
    portal: tokio_postgres::Portal,
    batch: i32,
    done: bool,
}

impl<'t, 'c> Cursor<'t, 'c> {
    async fn open(
        tx: &'t Transaction<'c>,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        batch: i32,
    ) -> Result<Cursor<'t, 'c>, TxError> {
        let st = tx.prepare_cached(sql).await?;
        let portal = tx.bind(&st, params).await?;
        Ok(Cursor {
            tx,
            portal,
            batch,
            done: false,
        })
    }

    /// The next rows; empty at the end.
    async fn next(&mut self) -> Result<Vec<Row>, TxError> {
        if self.done {
            return Ok(Vec::new());
        }
        let rows = self.tx.query_portal(&self.portal, self.batch).await?;
        if rows.len() < self.batch as usize {
            self.done = true;
        }
        // Later batches may be larger: the read has not stopped early.
        self.batch = (self.batch * 2).min(BATCH * 8);
        Ok(rows)
    }
}

/// The first batch size for a read that wants `want` documents.
fn first_batch(want: Option<usize>) -> i32 {
    match want {
        Some(w) => i32::try_from(w.clamp(1, BATCH as usize)).unwrap_or(BATCH),
        None => BATCH,
    }
}

/// `(sql, params)` of the candidate documents of an access path, in
/// natural (id) order: `None` when the path finds nothing.
fn candidates_sql(
    names: &Names,
    meta: &CollMeta,
    access: &Access,
) -> Option<(String, Vec<Vec<u8>>)> {
    let docs = names.docs(meta.cid);
    let scan = || {
        (
            format!("SELECT id, doc FROM {docs} ORDER BY id"),
            Vec::new(),
        )
    };
    let Access::Index { ix, ranges, .. } = access else {
        return Some(scan());
    };
    let Some(index) = meta.indexes.get(*ix) else {
        return Some(scan());
    };
    if ranges.is_empty() {
        return None;
    }
    if ranges.len() > MAX_RANGES {
        return Some(scan());
    }
    let mut params = Vec::with_capacity(ranges.len() * 2);
    let mut terms = Vec::with_capacity(ranges.len());
    for range in ranges {
        params.push(range.lo.clone());
        let lo = params.len();
        match &range.hi {
            Some(hi) => {
                params.push(hi.clone());
                terms.push(format!("(key >= ${lo} AND key < ${})", params.len()));
            }
            None => terms.push(format!("key >= ${lo}")),
        }
    }
    let sql = format!(
        "SELECT id, doc FROM {docs} WHERE id IN (SELECT rid FROM {} WHERE {}) ORDER BY id",
        names.index(meta.cid, index.ixid),
        terms.join(" OR ")
    );
    Some((sql, params))
}

fn as_params(params: &[Vec<u8>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

fn decode_row(row: &Row, at: usize) -> Result<(Document, usize), TxError> {
    let bytes: &[u8] = row.try_get(at)?;
    Ok((eve_store_keys::storable::decode(bytes)?, bytes.len()))
}

/// Calls `visit` with each document matching `filter` (its id, itself and
/// its stored size), in natural order, until it returns `false`.
async fn each_match(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    (access, filter): (&Access, &Filter),
    (want, stats): (Option<usize>, &mut ReadStats),
    mut visit: impl FnMut(i64, Document, usize) -> bool,
) -> Result<(), TxError> {
    let Some((sql, params)) = candidates_sql(names, meta, access) else {
        return Ok(());
    };
    let mut cursor = Cursor::open(tx, &sql, &as_params(&params), first_batch(want)).await?;
    loop {
        let rows = cursor.next().await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            let id: i64 = row.try_get(0)?;
            let (doc, size) = decode_row(&row, 1)?;
            stats.docs_examined += 1;
            if filter.matches(&doc) && !visit(id, doc, size) {
                return Ok(());
            }
        }
    }
}

/// Documents matching `filter` with their ids, in natural order; at most
/// `want` of them. What the writes work on.
pub(crate) async fn matching(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    filter: &Filter,
    want: Option<usize>,
) -> Result<Vec<(i64, Document)>, TxError> {
    let access = plan::plan(&meta.indexes, filter, &Vec::new());
    let mut out = Vec::new();
    if want == Some(0) {
        return Ok(out);
    }
    let mut stats = ReadStats::default();
    each_match(
        tx,
        names,
        meta,
        (&access, filter),
        (want, &mut stats),
        |id, doc, _| {
            out.push((id, doc));
            want.is_none_or(|w| out.len() < w)
        },
    )
    .await?;
    Ok(out)
}

/// Runs a find: plan, fetch, sort, window, projection.
pub(crate) async fn find(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    (query, memory): (&FindQuery, usize),
    stats: &mut ReadStats,
) -> Result<(Access, Vec<Document>), TxError> {
    let (filter, sort) = (&query.filter, &query.sort);
    let skip = usize::try_from(query.skip).unwrap_or(usize::MAX);
    let want = query
        .limit
        .map(|l| skip.saturating_add(usize::try_from(l).unwrap_or(usize::MAX)));
    let access = plan::plan(&meta.indexes, filter, sort);
    let mut docs = if matches!(filter, Filter::All) && sort.is_empty() {
        let docs = window_all(tx, names, meta, query, stats).await?;
        return Ok((access, docs));
    } else {
        match &access {
            Access::Order {
                ix,
                desc,
                fixed,
                range,
                ..
            } => {
                walk_order(
                    tx,
                    names,
                    meta,
                    (*ix, *desc, *fixed, range),
                    (filter, sort),
                    (want, memory),
                    stats,
                )
                .await?
            }
            _ if sort.is_empty() => {
                let mut out = Vec::new();
                if want != Some(0) {
                    each_match(
                        tx,
                        names,
                        meta,
                        (&access, filter),
                        (want, stats),
                        |_, doc, _| {
                            out.push(doc);
                            want.is_none_or(|w| out.len() < w)
                        },
                    )
                    .await?;
                }
                out
            }
            _ => {
                let mut top = TopK::new(sort.clone(), want, memory);
                let mut over = None;
                each_match(
                    tx,
                    names,
                    meta,
                    (&access, filter),
                    (None, &mut *stats),
                    |_, doc, size| match top.push(doc, size) {
                        Ok(()) => true,
                        Err(e) => {
                            over = Some(e);
                            false
                        }
                    },
                )
                .await?;
                if let Some(e) = over {
                    return Err(over_budget(e.limit));
                }
                top.into_sorted()
            }
        }
    };
    let end = want.unwrap_or(usize::MAX).min(docs.len());
    docs.truncate(end);
    let docs = if skip >= docs.len() {
        Vec::new()
    } else {
        docs.split_off(skip)
    };
    Ok((access, project(docs, query)))
}

fn project(docs: Vec<Document>, query: &FindQuery) -> Vec<Document> {
    match &query.projection {
        Some(projection) => eve_store::project_all(docs, projection),
        None => docs,
    }
}

/// Every document, natural order, `OFFSET`/`LIMIT` in SQL.
async fn window_all(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    query: &FindQuery,
    stats: &mut ReadStats,
) -> Result<Vec<Document>, TxError> {
    let offset = i64::try_from(query.skip).unwrap_or(i64::MAX);
    let limit: Option<i64> = query.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    let sql = format!(
        "SELECT doc FROM {} ORDER BY id OFFSET $1 LIMIT $2",
        names.docs(meta.cid)
    );
    let want = limit.and_then(|l| usize::try_from(l).ok());
    let mut cursor = Cursor::open(tx, &sql, &[&offset, &limit], first_batch(want)).await?;
    let mut out = Vec::new();
    loop {
        let rows = cursor.next().await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            stats.docs_examined += 1;
            out.push(decode_row(&row, 0)?.0);
        }
    }
    Ok(project(out, query))
}

/// Walks `range` of a (non-multikey, non-sparse) index in key order;
/// documents with equal values in the first `fixed + 1` key components
/// are ordered by the full sort in memory (stably, from natural order).
async fn walk_order(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    (ix, desc, fixed, range): (usize, bool, usize, &KeyRange),
    (filter, sort): (&Filter, &SortSpec),
    (want, memory): (Option<usize>, usize),
    stats: &mut ReadStats,
) -> Result<Vec<Document>, TxError> {
    let Some(index) = meta.indexes.get(ix) else {
        return Ok(Vec::new());
    };
    if range.is_empty() {
        return Ok(Vec::new());
    }
    let order = if desc { "DESC" } else { "ASC" };
    let head = format!(
        "SELECT e.key, d.id, d.doc FROM {} e JOIN {} d ON d.id = e.rid",
        names.index(meta.cid, index.ixid),
        names.docs(meta.cid)
    );
    let tail = format!("ORDER BY e.key {order}, e.rid ASC");
    let mut params: Vec<Vec<u8>> = Vec::new();
    let sql = match (&range.lo, &range.hi) {
        (lo, None) if lo.is_empty() => format!("{head} {tail}"),
        (lo, None) => {
            params.push(lo.clone());
            format!("{head} WHERE e.key >= $1 {tail}")
        }
        (lo, Some(hi)) => {
            params.push(lo.clone());
            params.push(hi.clone());
            format!("{head} WHERE e.key >= $1 AND e.key < $2 {tail}")
        }
    };
    let mut cursor = Cursor::open(tx, &sql, &as_params(&params), first_batch(want)).await?;
    let mut out: Vec<Document> = Vec::new();
    let mut group: Vec<(i64, Document)> = Vec::new();
    let mut group_bytes = 0usize;
    let mut group_key: Option<Vec<u8>> = None;
    let flush = |group: &mut Vec<(i64, Document)>, out: &mut Vec<Document>| {
        group.sort_by_key(|(id, _)| *id);
        let mut docs: Vec<Document> = group.drain(..).map(|(_, d)| d).collect();
        eve_query::sort_documents(&mut docs, sort);
        out.extend(docs);
    };
    loop {
        let rows = cursor.next().await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let key: &[u8] = row.try_get(0)?;
            let id: i64 = row.try_get(1)?;
            let lead_len = components_len(key, fixed + 1).ok_or_else(|| {
                TxError::Store(StoreError::Internal(format!(
                    "malformed key in index {}",
                    index.spec.name
                )))
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
            let (doc, size) = decode_row(&row, 2)?;
            stats.docs_examined += 1;
            if filter.matches(&doc) {
                group.push((id, doc));
                group_bytes = group_bytes.saturating_add(size);
                if group_bytes > memory {
                    return Err(over_budget(memory));
                }
            }
        }
    }
    flush(&mut group, &mut out);
    Ok(out)
}

/// Counts the documents matching `filter`.
pub(crate) async fn count(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    filter: &Filter,
    stats: &mut ReadStats,
) -> Result<u64, TxError> {
    if matches!(filter, Filter::All) {
        let sql = format!("SELECT count(*) FROM {}", names.docs(meta.cid));
        let row = tx.query_one(&sql, &[]).await?;
        return Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0));
    }
    if let Some(n) = count_by_index(tx, names, meta, filter).await? {
        return Ok(n);
    }
    let access = plan::plan(&meta.indexes, filter, &Vec::new());
    let mut n = 0u64;
    each_match(
        tx,
        names,
        meta,
        (&access, filter),
        (None, stats),
        |_, _, _| {
            n += 1;
            true
        },
    )
    .await?;
    Ok(n)
}

/// Counts one equality on the leading field of a non-multikey index from
/// the index table alone: each document has exactly one entry there, and
/// the encoding is self-delimiting, so the entries starting with the
/// encoded value are the matches. `None` when the filter has another shape.
async fn count_by_index(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    filter: &Filter,
) -> Result<Option<u64>, TxError> {
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
    let Some(index) = meta.indexes.iter().find(|i| {
        eve_store_keys::plan::has_key_entries(&i.spec)
            && !i.multikey
            && i.spec.keys.first().map(|(f, _)| f.as_str()) == Some(path.as_str())
    }) else {
        return Ok(None);
    };
    let lo = encode_value(value);
    let Some(hi) = prefix_successor(&lo) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT count(*) FROM {} WHERE key >= $1 AND key < $2",
        names.index(meta.cid, index.ixid)
    );
    let st = tx.prepare_cached(&sql).await?;
    let row = tx.query_one(&st, &[&lo, &hi]).await?;
    Ok(Some(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0)))
}
