//! Query planning and execution, shared by readers and the writer.
//!
//! The planner looks at the filter's top-level AND conjuncts for one on the
//! leading field of an index whose operand can be located in the key
//! encoding: an equality (`Eq`, or `In` of such values) or a range
//! (`Gt`/`Gte`/`Lt`/`Lte`, also combined in `AllOf`) with a value that is
//! not null, not an array, not a regex. Such a conjunct becomes key ranges
//! on the index's side table; the rowids found there are loaded in rowid
//! (natural) order and every document is checked against the whole filter
//! with [`Filter::matches`], so the semantics always come from `eve-query`
//! and the index only has to yield a superset (ranges are therefore
//! inclusive of their bounds).
//!
//! A sort is served by walking a non-sparse index that never met an array
//! in key order, stopping once `skip + limit` documents matched, when the
//! sort's first field is field `p` of that index and the filter fixes the
//! fields before it (`0..p`) with top-level equalities (as MongoDB uses a
//! compound index `(owner, seq)` for `{owner: X}` sorted on `seq`): the
//! walk covers only the entries that start with the encoded equality
//! values (`p ≥ 1`), further bounded by the filter's ranges on the sort
//! field itself. Such a walk is preferred to every index scan except a
//! unique single-field equality; with `p = 0` (the sort field leads the
//! index) it is taken when no index scan applies, or when the best index
//! scan is a range on the sort field itself (the walk then reads that
//! range in order). Entries are grouped by their first `p + 1` key
//! components, and each group is ordered by the whole sort in memory
//! (stably, from natural order), so the result is exactly what
//! [`eve_query::sort_documents`] gives; the walk stops at a group boundary.
//! A multikey index is never walked for order: a document would appear
//! once per element, and MongoDB sorts an array by its smallest (largest,
//! descending) element, which an in-memory sort gets right.
//!
//! Everything else is a scan of the documents table in rowid order.

use std::collections::BTreeSet;
use std::fmt;

use bson::{Bson, Document};
use eve_query::{Cond, Filter, SortDir, SortSpec};
use eve_store::{StoreError, StoreResult};
use rusqlite::{Connection, OptionalExtension};

use crate::catalog::{CollMeta, IndexMeta};
use crate::error::sql_err;
use crate::keys::{encode_value, first_component_len, prefix_successor, type_tag};

/// How a query reaches its documents, as chosen by the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPlan {
    /// The collection does not exist: nothing to read.
    NoCollection,
    /// Every document is read, in natural order.
    CollectionScan,
    /// Key ranges of an index give the candidate documents.
    IndexScan {
        /// The index used.
        index: String,
        /// The indexed field whose condition gave the ranges.
        field: String,
        /// How many key ranges are scanned (one per `$in` value).
        ranges: usize,
    },
    /// An index is walked in key order to produce sorted results.
    IndexOrder {
        /// The index walked.
        index: String,
        /// The sort field it provides.
        field: String,
        /// Walked from the largest key down.
        descending: bool,
        /// The index fields before `field`, fixed by equalities of the
        /// filter: only the entries with those values are walked.
        prefix: Vec<String>,
        /// A range of the filter on `field` bounds the walk.
        bounded: bool,
    },
}

impl fmt::Display for QueryPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryPlan::NoCollection => write!(f, "EOF (no such collection)"),
            QueryPlan::CollectionScan => write!(f, "COLLSCAN"),
            QueryPlan::IndexScan {
                index,
                field,
                ranges,
            } => {
                write!(f, "IXSCAN {index} on {field} ({ranges} range(s))")
            }
            QueryPlan::IndexOrder {
                index,
                field,
                descending,
                prefix,
                bounded,
            } => {
                let dir = if *descending { "desc" } else { "asc" };
                write!(f, "IXORDER {index} on {field} {dir}")?;
                if !prefix.is_empty() {
                    write!(f, " after equality on {}", prefix.join(", "))?;
                }
                if *bounded {
                    write!(f, " (bounded)")?;
                }
                Ok(())
            }
        }
    }
}

/// What executing a query cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Index entries read.
    pub keys_examined: u64,
    /// Documents loaded and checked against the filter.
    pub docs_examined: u64,
}

/// A half-open byte range `[lo, hi)` of encoded keys (`hi: None` = no end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub(crate) lo: Vec<u8>,
    pub(crate) hi: Option<Vec<u8>>,
}

impl KeyRange {
    fn point(value: &Bson) -> Self {
        let lo = encode_value(value);
        let hi = prefix_successor(&lo);
        KeyRange { lo, hi }
    }

    /// Values of `value`'s type bracket from `value` up (inclusive).
    fn from(value: &Bson) -> Self {
        let tag = type_tag(value);
        KeyRange {
            lo: encode_value(value),
            hi: tag.checked_add(1).map(|t| vec![t]),
        }
    }

    /// Values of `value`'s type bracket up to `value` (inclusive).
    fn to(value: &Bson) -> Self {
        KeyRange {
            lo: vec![type_tag(value)],
            hi: prefix_successor(&encode_value(value)),
        }
    }

    fn intersect(&self, other: &KeyRange) -> KeyRange {
        let lo = self.lo.clone().max(other.lo.clone());
        let hi = match (&self.hi, &other.hi) {
            (Some(a), Some(b)) => Some(a.clone().min(b.clone())),
            (Some(a), None) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        KeyRange { lo, hi }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(&self.hi, Some(hi) if *hi <= self.lo)
    }

    /// A range holding nothing.
    fn nothing() -> KeyRange {
        KeyRange {
            lo: Vec::new(),
            hi: Some(Vec::new()),
        }
    }

    /// The entries whose first components are `prefix` (a concatenation
    /// of encoded values) and whose next component and beyond fall in
    /// `within` (all of them when `None`).
    fn under(prefix: &[u8], within: Option<&KeyRange>) -> KeyRange {
        let end = || {
            if prefix.is_empty() {
                None
            } else {
                prefix_successor(prefix)
            }
        };
        match within {
            None => KeyRange {
                lo: prefix.to_vec(),
                hi: end(),
            },
            Some(r) => KeyRange {
                lo: [prefix, &r.lo].concat(),
                hi: match &r.hi {
                    Some(hi) => Some([prefix, hi].concat()),
                    None => end(),
                },
            },
        }
    }
}

/// The access path chosen for one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Access {
    Scan,
    Index {
        ix: usize,
        field: String,
        ranges: Vec<KeyRange>,
    },
    /// Walk `range` of index `ix` in key order; its first `fixed` key
    /// components are set by equalities, the next one is `field`'s.
    Order {
        ix: usize,
        field: String,
        desc: bool,
        fixed: usize,
        range: KeyRange,
        bounded: bool,
    },
}

impl Access {
    pub fn describe(&self, meta: &CollMeta) -> QueryPlan {
        let name = |ix: &usize| {
            meta.indexes
                .get(*ix)
                .map(|i| i.spec.name.clone())
                .unwrap_or_default()
        };
        match self {
            Access::Scan => QueryPlan::CollectionScan,
            Access::Index { ix, field, ranges } => QueryPlan::IndexScan {
                index: name(ix),
                field: field.clone(),
                ranges: ranges.len(),
            },
            Access::Order {
                ix,
                field,
                desc,
                fixed,
                bounded,
                ..
            } => QueryPlan::IndexOrder {
                index: name(ix),
                field: field.clone(),
                descending: *desc,
                prefix: meta
                    .indexes
                    .get(*ix)
                    .map(|i| i.fields().take(*fixed).map(str::to_string).collect())
                    .unwrap_or_default(),
                bounded: *bounded,
            },
        }
    }
}

/// Whether a value can be located in the key encoding for an equality.
fn point_operand(v: &Bson) -> bool {
    !matches!(
        v,
        Bson::Null | Bson::Undefined | Bson::Array(_) | Bson::RegularExpression(_)
    )
}

/// Whether a value can bound a range.
fn range_operand(v: &Bson) -> bool {
    point_operand(v) && !matches!(v, Bson::MinKey | Bson::MaxKey)
}

/// Key ranges for one condition on an index's leading field, with a score
/// (higher is more selective), or `None` when the index cannot help.
fn ranges_for(cond: &Cond, index: &IndexMeta) -> Option<(u32, Vec<KeyRange>)> {
    match cond {
        Cond::Eq(v) if point_operand(v) => {
            let score = if index.spec.unique && index.spec.keys.len() == 1 {
                100
            } else {
                60
            };
            Some((score, vec![KeyRange::point(v)]))
        }
        Cond::In(vs) if vs.iter().all(point_operand) => {
            let mut ranges: Vec<KeyRange> = vs.iter().map(KeyRange::point).collect();
            ranges.sort_by(|a, b| a.lo.cmp(&b.lo));
            ranges.dedup();
            Some((50, ranges))
        }
        Cond::Gt(v) | Cond::Gte(v) if range_operand(v) => Some((10, vec![KeyRange::from(v)])),
        Cond::Lt(v) | Cond::Lte(v) if range_operand(v) => Some((10, vec![KeyRange::to(v)])),
        Cond::AllOf(conds) => {
            // An equality inside wins.
            if let Some(best) = conds
                .iter()
                .filter(|c| matches!(c, Cond::Eq(_) | Cond::In(_)))
                .filter_map(|c| ranges_for(c, index))
                .max_by_key(|(score, _)| *score)
            {
                return Some(best);
            }
            let bounds: Vec<KeyRange> = conds
                .iter()
                .filter(|c| {
                    matches!(
                        c,
                        Cond::Gt(_) | Cond::Gte(_) | Cond::Lt(_) | Cond::Lte(_) | Cond::AllOf(_)
                    )
                })
                .filter_map(|c| ranges_for(c, index))
                .filter_map(|(_, r)| r.into_iter().next())
                .collect();
            let first = bounds.first()?.clone();
            if index.multikey {
                // Each condition may be met by a different array element:
                // bounds must not be intersected.
                return Some((10, vec![first]));
            }
            let range = bounds.iter().skip(1).fold(first, |acc, r| acc.intersect(r));
            let score = if bounds.len() > 1 { 20 } else { 10 };
            if range.is_empty() {
                Some((score, Vec::new()))
            } else {
                Some((score, vec![range]))
            }
        }
        _ => None,
    }
}

fn conjuncts<'a>(filter: &'a Filter, out: &mut Vec<&'a Filter>) {
    match filter {
        Filter::And(parts) => parts.iter().for_each(|p| conjuncts(p, out)),
        other => out.push(other),
    }
}

/// Chooses how to run a query (see the module documentation).
pub(crate) fn plan(meta: &CollMeta, filter: &Filter, sort: &SortSpec) -> Access {
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let mut best: Option<(u32, usize, String, Vec<KeyRange>)> = None;
    for (ix, index) in meta.indexes.iter().enumerate() {
        if !index.has_side_table() {
            continue;
        }
        let Some(leading) = index.leading_field() else {
            continue;
        };
        for part in &parts {
            let Filter::Field { path, cond } = part else {
                continue;
            };
            if path != leading {
                continue;
            }
            if let Some((score, ranges)) = ranges_for(cond, index) {
                if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                    best = Some((score, ix, path.clone(), ranges));
                }
            }
        }
    }
    if let Some(order) = plan_order(meta, &parts, sort, best.as_ref()) {
        return order;
    }
    if let Some((_, ix, field, ranges)) = best {
        return Access::Index { ix, field, ranges };
    }
    Access::Scan
}

/// The operand of an equality that can be located in the key encoding.
fn eq_operand(cond: &Cond) -> Option<&Bson> {
    match cond {
        Cond::Eq(v) if point_operand(v) => Some(v),
        Cond::AllOf(conds) => conds.iter().find_map(eq_operand),
        _ => None,
    }
}

/// The range of `field`'s key component that the conjuncts on `field`
/// allow (intersected), or `None` when none of them bounds it. A `$in` of
/// several values (several ranges) does not bound it: the gaps between
/// its values could be long to walk.
fn narrowing(parts: &[&Filter], field: &str, index: &IndexMeta) -> Option<KeyRange> {
    let mut acc: Option<KeyRange> = None;
    for part in parts {
        let Filter::Field { path, cond } = part else {
            continue;
        };
        if path != field {
            continue;
        }
        let Some((_, ranges)) = ranges_for(cond, index) else {
            continue;
        };
        let range = match ranges.as_slice() {
            [] => KeyRange::nothing(),
            [one] => one.clone(),
            _ => continue,
        };
        acc = Some(match acc {
            None => range,
            Some(a) => a.intersect(&range),
        });
    }
    acc
}

/// An index walk that yields the documents in the sort's order (see the
/// module documentation), when one applies and beats `best`.
fn plan_order(
    meta: &CollMeta,
    parts: &[&Filter],
    sort: &SortSpec,
    best: Option<&(u32, usize, String, Vec<KeyRange>)>,
) -> Option<Access> {
    let (field, dir) = sort.first()?;
    // (fixed fields, bounded, index, range): more fixed fields first.
    let mut chosen: Option<(usize, bool, usize, KeyRange)> = None;
    for (ix, index) in meta.indexes.iter().enumerate() {
        if !index.has_side_table() || index.spec.sparse || index.multikey {
            continue;
        }
        let Some(p) = index.fields().position(|f| f == field) else {
            continue;
        };
        let mut prefix = Vec::new();
        let fixed = index.fields().take(p).all(|f| {
            let value = parts.iter().find_map(|part| match part {
                Filter::Field { path, cond } if path == f => eq_operand(cond),
                _ => None,
            });
            value.map(|v| prefix.extend(encode_value(v))).is_some()
        });
        if !fixed {
            continue;
        }
        let narrow = narrowing(parts, field, index);
        let bounded = narrow.is_some();
        if chosen
            .as_ref()
            .is_none_or(|(q, b, ..)| (p, bounded) > (*q, *b))
        {
            chosen = Some((p, bounded, ix, KeyRange::under(&prefix, narrow.as_ref())));
        }
    }
    let (fixed, bounded, ix, range) = chosen?;
    let take = match best {
        None => true,
        // A unique single-field equality reads at most one document.
        Some((score, ..)) if fixed > 0 => *score < 100,
        // The best scan reads a range of the sort field: read it in order.
        Some((_, _, best_field, _)) => bounded && best_field == field,
    };
    take.then(|| Access::Order {
        ix,
        field: field.clone(),
        desc: *dir == SortDir::Desc,
        fixed,
        range,
        bounded,
    })
}

pub(crate) use crate::storable::decode;

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
