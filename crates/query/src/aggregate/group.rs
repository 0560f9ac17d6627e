//! `$group` and its accumulators, within a memory budget.

use std::collections::BTreeMap;

use bson::{Bson, Document};

use super::arith::{self, Num};
use super::expr::{Expr, Val};
use super::{agg_err, bson_size, check_field_name, memory_error, BsonKey};
use crate::compare::compare_bson;
use crate::QueryError;

/// An accumulator operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccOp {
    Sum,
    Avg,
    Min,
    Max,
    First,
    Last,
    Push,
    AddToSet,
}

/// One output field of a `$group`: `field: {$op: expr}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Accumulator {
    field: String,
    op: AccOp,
    expr: Expr,
}

/// A parsed `$group` stage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupSpec {
    id: Expr,
    accumulators: Vec<Accumulator>,
}

impl GroupSpec {
    /// Parses `{_id: expr, field: {$acc: expr}, …}`.
    pub(crate) fn parse(spec: &Bson) -> Result<GroupSpec, QueryError> {
        let Bson::Document(d) = spec else {
            return Err(agg_err(
                "a group's fields must be specified in an object".into(),
            ));
        };
        let id = d
            .get("_id")
            .ok_or_else(|| agg_err("a group specification must include an _id".into()))?;
        let id = Expr::parse(id)?;
        let mut accumulators = Vec::new();
        for (field, v) in d.iter().filter(|(k, _)| *k != "_id") {
            check_field_name(field, "$group")?;
            accumulators.push(parse_accumulator(field, v)?);
        }
        Ok(GroupSpec { id, accumulators })
    }

    /// A `$sortByCount`'s group: `{_id: expr, count: {$sum: 1}}`.
    pub(crate) fn count_by(id: Expr) -> GroupSpec {
        GroupSpec {
            id,
            accumulators: vec![Accumulator {
                field: "count".into(),
                op: AccOp::Sum,
                expr: Expr::Lit(Bson::Int32(1)),
            }],
        }
    }

    /// The accumulators of `{field: {$acc: expr}, …}` (a `$bucket`'s
    /// `output`), with a null `_id` the caller replaces.
    pub(crate) fn from_output(output: &Document, stage: &str) -> Result<GroupSpec, QueryError> {
        let mut accumulators = Vec::new();
        for (field, v) in output {
            check_field_name(field, stage)?;
            accumulators.push(parse_accumulator(field, v)?);
        }
        Ok(GroupSpec {
            id: Expr::Lit(Bson::Null),
            accumulators,
        })
    }

    /// Groups `docs`, keeping groups in first-seen order, holding at most
    /// `limit` bytes of keys and accumulator state.
    pub(crate) fn run(
        &self,
        docs: Vec<Document>,
        limit: usize,
    ) -> Result<Vec<Document>, QueryError> {
        self.run_keyed(docs, limit, |doc| {
            Ok(self.id.eval(doc)?.unwrap_or(Bson::Null))
        })
    }

    /// [`GroupSpec::run`] with the group key of each document computed by
    /// `key` instead of the `_id` expression.
    pub(crate) fn run_keyed(
        &self,
        docs: Vec<Document>,
        limit: usize,
        key: impl Fn(&Document) -> Result<Bson, QueryError>,
    ) -> Result<Vec<Document>, QueryError> {
        let mut index: BTreeMap<BsonKey, usize> = BTreeMap::new();
        let mut groups: Vec<(Bson, Vec<State>)> = Vec::new();
        let mut bytes = 0usize;
        for doc in docs {
            let key = key(&doc)?;
            let slot = match index.get(&BsonKey(key.clone())) {
                Some(&i) => i,
                None => {
                    bytes = bytes.saturating_add(2 * bson_size(&key) + 64);
                    if bytes > limit {
                        return Err(memory_error("$group", limit));
                    }
                    groups.push((
                        key.clone(),
                        self.accumulators.iter().map(State::new).collect(),
                    ));
                    index.insert(BsonKey(key), groups.len() - 1);
                    groups.len() - 1
                }
            };
            for (acc, state) in self.accumulators.iter().zip(groups[slot].1.iter_mut()) {
                let v = acc.expr.eval(&doc)?;
                let before = state.size();
                state.add(v)?;
                bytes = bytes.saturating_add(state.size()).saturating_sub(before);
                if bytes > limit {
                    return Err(memory_error("$group", limit));
                }
            }
        }
        Ok(groups
            .into_iter()
            .map(|(key, states)| {
                let mut out = Document::new();
                out.insert("_id", key);
                for (acc, state) in self.accumulators.iter().zip(states) {
                    out.insert(acc.field.clone(), state.finish());
                }
                out
            })
            .collect())
    }
}

fn parse_accumulator(field: &str, v: &Bson) -> Result<Accumulator, QueryError> {
    let Bson::Document(d) = v else {
        return Err(agg_err(format!(
            "the field '{field}' must be an accumulator object"
        )));
    };
    if d.len() != 1 {
        return Err(agg_err(format!(
            "the field '{field}' must specify one accumulator"
        )));
    }
    let (name, arg) = d
        .iter()
        .next()
        .ok_or_else(|| agg_err("empty accumulator".into()))?;
    let op = match name.as_str() {
        "$sum" => AccOp::Sum,
        "$avg" => AccOp::Avg,
        "$min" => AccOp::Min,
        "$max" => AccOp::Max,
        "$first" => AccOp::First,
        "$last" => AccOp::Last,
        "$push" => AccOp::Push,
        "$addToSet" => AccOp::AddToSet,
        "$count" => {
            if !matches!(arg, Bson::Document(a) if a.is_empty()) {
                return Err(agg_err("$count takes no arguments, i.e. $count:{}".into()));
            }
            return Ok(Accumulator {
                field: field.to_string(),
                op: AccOp::Sum,
                expr: Expr::Lit(Bson::Int32(1)),
            });
        }
        other => {
            return Err(agg_err(format!(
                "unknown or unsupported group accumulator: {other}"
            )))
        }
    };
    if matches!(arg, Bson::Array(_)) {
        return Err(agg_err(format!(
            "the {name} accumulator is a unary operator"
        )));
    }
    Ok(Accumulator {
        field: field.to_string(),
        op,
        expr: Expr::parse(arg)?,
    })
}

/// The running state of one accumulator in one group.
enum State {
    Sum(Num),
    Avg { sum: f64, n: u64 },
    Min(Option<Bson>),
    Max(Option<Bson>),
    First(Option<Bson>),
    Last(Option<Bson>),
    Push(Vec<Bson>, usize),
    Set(Vec<Bson>, BTreeMap<BsonKey, ()>, usize),
}

impl State {
    fn new(acc: &Accumulator) -> State {
        match acc.op {
            AccOp::Sum => State::Sum(Num::Int(0)),
            AccOp::Avg => State::Avg { sum: 0.0, n: 0 },
            AccOp::Min => State::Min(None),
            AccOp::Max => State::Max(None),
            AccOp::First => State::First(None),
            AccOp::Last => State::Last(None),
            AccOp::Push => State::Push(Vec::new(), 0),
            AccOp::AddToSet => State::Set(Vec::new(), BTreeMap::new(), 0),
        }
    }

    /// Bytes held (an estimate of the BSON size).
    fn size(&self) -> usize {
        match self {
            State::Sum(_) | State::Avg { .. } => 16,
            State::Min(v) | State::Max(v) | State::First(v) | State::Last(v) => {
                v.as_ref().map_or(0, bson_size)
            }
            State::Push(_, n) => *n,
            State::Set(_, _, n) => 2 * n,
        }
    }

    fn add(&mut self, v: Val) -> Result<(), QueryError> {
        let nullish = matches!(v, None | Some(Bson::Null | Bson::Undefined));
        match self {
            // Non-numbers are ignored by $sum and $avg.
            State::Sum(total) => {
                if let Some(n) = v
                    .as_ref()
                    .map(|v| Num::of(v, "$sum"))
                    .transpose()?
                    .flatten()
                {
                    *total = arith::add(*total, n);
                }
            }
            State::Avg { sum, n } => {
                if let Some(x) = v
                    .as_ref()
                    .map(|v| Num::of(v, "$avg"))
                    .transpose()?
                    .flatten()
                {
                    *sum += match x.into_bson() {
                        Bson::Double(d) => d,
                        Bson::Int32(i) => f64::from(i),
                        #[allow(clippy::cast_precision_loss)]
                        Bson::Int64(i) => i as f64,
                        _ => 0.0,
                    };
                    *n += 1;
                }
            }
            // $min and $max ignore null and missing values.
            State::Min(cur) | State::Max(cur) if nullish => {
                let _ = cur;
            }
            State::Min(cur) => {
                if let Some(v) = v {
                    if cur.as_ref().is_none_or(|c| compare_bson(&v, c).is_lt()) {
                        *cur = Some(v);
                    }
                }
            }
            State::Max(cur) => {
                if let Some(v) = v {
                    if cur.as_ref().is_none_or(|c| compare_bson(&v, c).is_gt()) {
                        *cur = Some(v);
                    }
                }
            }
            State::First(cur) => {
                if cur.is_none() {
                    *cur = Some(v.unwrap_or(Bson::Null));
                }
            }
            State::Last(cur) => *cur = Some(v.unwrap_or(Bson::Null)),
            // Missing values are not pushed; null ones are.
            State::Push(items, bytes) => {
                if let Some(v) = v {
                    *bytes += bson_size(&v);
                    items.push(v);
                }
            }
            State::Set(items, seen, bytes) => {
                if let Some(v) = v {
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        seen.entry(BsonKey(v.clone()))
                    {
                        slot.insert(());
                        *bytes += bson_size(&v);
                        items.push(v);
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Bson {
        match self {
            State::Sum(n) => n.into_bson(),
            State::Avg { n: 0, .. } => Bson::Null,
            #[allow(clippy::cast_precision_loss)]
            State::Avg { sum, n } => Bson::Double(sum / n as f64),
            State::Min(v) | State::Max(v) | State::First(v) | State::Last(v) => {
                v.unwrap_or(Bson::Null)
            }
            State::Push(items, _) | State::Set(items, _, _) => Bson::Array(items),
        }
    }
}
