//! The pure query planner: from a [`Filter`] and a sort to an [`Access`]
//! path over the order-preserving index keys of [`crate::keys`], free of any
//! storage engine. The embedded store runs the chosen ranges on its SQLite
//! side tables; the PostgreSQL layer turns them into SQL on `bytea` keys.
//!
//! The planner looks at the filter's top-level AND conjuncts for one on the
//! leading field of an index whose operand can be located in the key
//! encoding: an equality (`Eq`, or `In` of such values) or a range
//! (`Gt`/`Gte`/`Lt`/`Lte`, also combined in `AllOf`) with a value that is
//! not null, not an array, not a regex. Such a conjunct becomes key ranges
//! on that index; a layer loads the documents found there in natural order
//! and checks every one against the whole filter with [`Filter::matches`],
//! so the semantics always come from `eve-query` and the index only has to
//! yield a superset (ranges are therefore inclusive of their bounds).
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
//! Everything else is a scan of the collection in natural order.

use std::fmt;

use bson::Bson;
use eve_query::{Cond, Filter, SortDir, SortSpec};
use eve_store::{IndexKey, IndexSpec};

use crate::keys::{encode_value, prefix_successor, type_tag};

/// What the planner needs to know of one index of a collection.
pub trait IndexInfo {
    /// The index definition.
    fn spec(&self) -> &IndexSpec;

    /// Whether some stored document put an array through a keyed path
    /// (the index then holds several entries for that document).
    fn multikey(&self) -> bool;

    /// Whether the index has key entries: special kinds (`2dsphere`,
    /// `text`, `hashed`) are recorded only, and queries on them scan.
    fn has_side_table(&self) -> bool {
        has_key_entries(self.spec())
    }

    /// The keyed fields (dotted paths), in order.
    fn fields(&self) -> impl Iterator<Item = &str> {
        self.spec().keys.iter().map(|(f, _)| f.as_str())
    }

    /// The first keyed field.
    fn leading_field(&self) -> Option<&str> {
        self.spec().keys.first().map(|(f, _)| f.as_str())
    }
}

/// Whether an index of this definition has key entries (no special kind).
pub fn has_key_entries(spec: &IndexSpec) -> bool {
    !spec.keys.is_empty()
        && spec
            .keys
            .iter()
            .all(|(_, k)| !matches!(k, IndexKey::Special(_)))
}

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

/// A half-open byte range `[lo, hi)` of encoded keys (`hi: None` = no end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// The smallest key in the range.
    pub lo: Vec<u8>,
    /// The first key past the range; `None` when the range has no end.
    pub hi: Option<Vec<u8>>,
}

impl KeyRange {
    /// Exactly the encoding of `value` (and keys extending it: the
    /// compound entries that start with it).
    pub fn point(value: &Bson) -> Self {
        let lo = encode_value(value);
        let hi = prefix_successor(&lo);
        KeyRange { lo, hi }
    }

    /// Values of `value`'s type bracket from `value` up (inclusive).
    pub fn from(value: &Bson) -> Self {
        let tag = type_tag(value);
        KeyRange {
            lo: encode_value(value),
            hi: tag.checked_add(1).map(|t| vec![t]),
        }
    }

    /// Values of `value`'s type bracket up to `value` (inclusive).
    pub fn to(value: &Bson) -> Self {
        KeyRange {
            lo: vec![type_tag(value)],
            hi: prefix_successor(&encode_value(value)),
        }
    }

    /// The keys in both ranges.
    pub fn intersect(&self, other: &KeyRange) -> KeyRange {
        let lo = self.lo.clone().max(other.lo.clone());
        let hi = match (&self.hi, &other.hi) {
            (Some(a), Some(b)) => Some(a.clone().min(b.clone())),
            (Some(a), None) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        KeyRange { lo, hi }
    }

    /// Whether the range holds no key.
    pub fn is_empty(&self) -> bool {
        matches!(&self.hi, Some(hi) if *hi <= self.lo)
    }

    /// A range holding nothing.
    pub fn nothing() -> KeyRange {
        KeyRange {
            lo: Vec::new(),
            hi: Some(Vec::new()),
        }
    }

    /// The entries whose first components are `prefix` (a concatenation
    /// of encoded values) and whose next component and beyond fall in
    /// `within` (all of them when `None`).
    pub fn under(prefix: &[u8], within: Option<&KeyRange>) -> KeyRange {
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
pub enum Access {
    /// Read every document in natural order.
    Scan,
    /// Read the documents whose entries in index `ix` fall in `ranges`.
    Index {
        /// Position of the index in the slice given to [`plan`].
        ix: usize,
        /// The indexed field whose condition gave the ranges.
        field: String,
        /// Sorted key ranges (one per `$in` value); empty means no match.
        ranges: Vec<KeyRange>,
    },
    /// Walk `range` of index `ix` in key order; its first `fixed` key
    /// components are set by equalities, the next one is `field`'s.
    Order {
        /// Position of the index in the slice given to [`plan`].
        ix: usize,
        /// The sort field the walk provides.
        field: String,
        /// Walk from the largest key down.
        desc: bool,
        /// How many leading key components equalities fix.
        fixed: usize,
        /// The part of the index walked.
        range: KeyRange,
        /// A range of the filter on `field` bounds the walk.
        bounded: bool,
    },
}

impl Access {
    /// The plan as [`QueryPlan`] shows it, index names from `indexes`.
    pub fn describe<I: IndexInfo>(&self, indexes: &[I]) -> QueryPlan {
        let name = |ix: &usize| {
            indexes
                .get(*ix)
                .map(|i| i.spec().name.clone())
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
                prefix: indexes
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
fn ranges_for(cond: &Cond, index: &impl IndexInfo) -> Option<(u32, Vec<KeyRange>)> {
    match cond {
        Cond::Eq(v) if point_operand(v) => {
            let score = if index.spec().unique && index.spec().keys.len() == 1 {
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
            if index.multikey() {
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
pub fn plan<I: IndexInfo>(indexes: &[I], filter: &Filter, sort: &SortSpec) -> Access {
    let mut parts = Vec::new();
    conjuncts(filter, &mut parts);
    let mut best: Option<(u32, usize, String, Vec<KeyRange>)> = None;
    for (ix, index) in indexes.iter().enumerate() {
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
    if let Some(order) = plan_order(indexes, &parts, sort, best.as_ref()) {
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
fn narrowing(parts: &[&Filter], field: &str, index: &impl IndexInfo) -> Option<KeyRange> {
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
fn plan_order<I: IndexInfo>(
    indexes: &[I],
    parts: &[&Filter],
    sort: &SortSpec,
    best: Option<&(u32, usize, String, Vec<KeyRange>)>,
) -> Option<Access> {
    let (field, dir) = sort.first()?;
    // (fixed fields, bounded, index, range): more fixed fields first.
    let mut chosen: Option<(usize, bool, usize, KeyRange)> = None;
    for (ix, index) in indexes.iter().enumerate() {
        if !index.has_side_table() || index.spec().sparse || index.multikey() {
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
