//! Aggregation expressions: parsed once into [`Expr`], then evaluated per
//! document. A value is `Option<Bson>`: `None` is a *missing* field, which
//! MongoDB keeps apart from `null` (it compares below `null` and is left
//! out of computed documents).

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::arith::{self, Num};
use super::ops::{self, ExtOp};
use super::scoped::{self, Scoped, Vars};
use super::{agg_err, type_name, MAX_EXPR_DEPTH};
use crate::compare::compare_bson;
use crate::QueryError;

/// The result of evaluating an expression: `None` when missing.
pub(crate) type Val = Option<Bson>;

/// An operator of the expression language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
    Mod,
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    Cmp,
    And,
    Or,
    Not,
    IfNull,
    Concat,
    ToLower,
    ToUpper,
    Size,
    ArrayElemAt,
}

impl Op {
    fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "$add" => Op::Add,
            "$subtract" => Op::Subtract,
            "$multiply" => Op::Multiply,
            "$divide" => Op::Divide,
            "$mod" => Op::Mod,
            "$eq" => Op::Eq,
            "$ne" => Op::Ne,
            "$gt" => Op::Gt,
            "$gte" => Op::Gte,
            "$lt" => Op::Lt,
            "$lte" => Op::Lte,
            "$cmp" => Op::Cmp,
            "$and" => Op::And,
            "$or" => Op::Or,
            "$not" => Op::Not,
            "$ifNull" => Op::IfNull,
            "$concat" => Op::Concat,
            "$toLower" => Op::ToLower,
            "$toUpper" => Op::ToUpper,
            "$size" => Op::Size,
            "$arrayElemAt" => Op::ArrayElemAt,
            _ => return None,
        })
    }

    /// Allowed argument counts, inclusive.
    fn arity(self) -> (usize, usize) {
        match self {
            Op::Subtract
            | Op::Divide
            | Op::Mod
            | Op::Eq
            | Op::Ne
            | Op::Gt
            | Op::Gte
            | Op::Lt
            | Op::Lte
            | Op::Cmp
            | Op::ArrayElemAt => (2, 2),
            Op::Not | Op::ToLower | Op::ToUpper | Op::Size => (1, 1),
            Op::IfNull => (2, usize::MAX),
            Op::Add | Op::Multiply | Op::And | Op::Or | Op::Concat => (0, usize::MAX),
        }
    }
}

/// A parsed aggregation expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// A constant.
    Lit(Bson),
    /// A field path from the current document (`$a.b`, `$$ROOT.a`);
    /// empty for the whole document (`$$ROOT`, `$$CURRENT`).
    Path(Vec<String>),
    /// `$$REMOVE`: evaluates to missing.
    Remove,
    /// `{k: expr, …}`: a document; missing values are left out.
    Object(Vec<(String, Expr)>),
    /// `[expr, …]`: an array; missing values become null.
    Array(Vec<Expr>),
    /// An operator applied to its arguments.
    Call(Op, Vec<Expr>),
    /// `$cond`: if, then, else.
    Cond(Box<(Expr, Expr, Expr)>),
    /// A user variable (`$$this.a`): its name and the path below it.
    Var(String, Vec<String>),
    /// An operator of [`ops`]: numbers, strings, arrays, dates.
    Ext(ExtOp, Vec<Expr>),
    /// An operator that binds variables or picks a branch ([`scoped`]).
    Scoped(Box<Scoped>),
}

impl Expr {
    /// Parses an expression.
    pub(crate) fn parse(v: &Bson) -> Result<Expr, QueryError> {
        parse(v, 0)
    }

    /// Evaluates the expression against `doc`.
    pub(crate) fn eval(&self, doc: &Document) -> Result<Val, QueryError> {
        eval(self, doc, None)
    }
}

/// Parses an argument of an operator, one level deeper.
pub(crate) fn parse_at(v: &Bson, depth: usize) -> Result<Expr, QueryError> {
    parse(v, depth + 1)
}

/// Parses a field path string (`$a.b`), or a `$$` variable.
pub(crate) fn parse_path(s: &str) -> Result<Expr, QueryError> {
    if let Some(var) = s.strip_prefix("$$") {
        let (name, rest) = match var.split_once('.') {
            Some((n, r)) => (n, Some(r)),
            None => (var, None),
        };
        return match (name, rest) {
            ("ROOT" | "CURRENT", None) => Ok(Expr::Path(Vec::new())),
            ("ROOT" | "CURRENT", Some(r)) => Ok(Expr::Path(split_path(r, s)?)),
            ("REMOVE", None) => Ok(Expr::Remove),
            (user, rest) if user.starts_with(|c: char| c.is_ascii_lowercase()) => Ok(Expr::Var(
                user.to_string(),
                match rest {
                    Some(r) => split_path(r, s)?,
                    None => Vec::new(),
                },
            )),
            _ => Err(agg_err(format!("use of undefined variable: {name}"))),
        };
    }
    let body = s.strip_prefix('$').unwrap_or(s);
    Ok(Expr::Path(split_path(body, s)?))
}

fn split_path(body: &str, whole: &str) -> Result<Vec<String>, QueryError> {
    if body.is_empty() {
        return Err(agg_err(format!("'{whole}' is not a valid field path")));
    }
    body.split('.')
        .map(|p| {
            if p.is_empty() || p.starts_with('$') {
                Err(agg_err(format!("'{whole}' is not a valid field path")))
            } else {
                Ok(p.to_string())
            }
        })
        .collect()
}

fn parse(v: &Bson, depth: usize) -> Result<Expr, QueryError> {
    if depth > MAX_EXPR_DEPTH {
        return Err(agg_err(format!(
            "expression nested deeper than {MAX_EXPR_DEPTH} levels"
        )));
    }
    match v {
        Bson::String(s) if s.starts_with('$') => parse_path(s),
        Bson::Array(items) => Ok(Expr::Array(
            items
                .iter()
                .map(|e| parse(e, depth + 1))
                .collect::<Result<_, _>>()?,
        )),
        Bson::Document(d) => parse_document(d, depth),
        other => Ok(Expr::Lit(other.clone())),
    }
}

fn parse_document(d: &Document, depth: usize) -> Result<Expr, QueryError> {
    let Some(first) = d.keys().next() else {
        return Ok(Expr::Object(Vec::new()));
    };
    if first.starts_with('$') {
        if d.len() != 1 {
            return Err(agg_err(format!(
                "an expression object with operator {first} must have exactly one field"
            )));
        }
        let arg = d.get(first).unwrap_or(&Bson::Null);
        return parse_operator(first, arg, depth);
    }
    let mut fields = Vec::with_capacity(d.len());
    for (k, v) in d {
        if k.starts_with('$') {
            return Err(agg_err(format!(
                "field name '{k}' in an expression object may not start with '$'"
            )));
        }
        if k.contains('.') || k.is_empty() {
            return Err(agg_err(format!(
                "field name '{k}' in an expression object may not be empty or contain '.'"
            )));
        }
        fields.push((k.clone(), parse(v, depth + 1)?));
    }
    Ok(Expr::Object(fields))
}

fn parse_operator(name: &str, arg: &Bson, depth: usize) -> Result<Expr, QueryError> {
    match name {
        "$literal" => return Ok(Expr::Lit(arg.clone())),
        "$cond" => return parse_cond(arg, depth),
        _ => {}
    }
    if let Some(scoped) = scoped::parse(name, arg, depth)? {
        return Ok(Expr::Scoped(Box::new(scoped)));
    }
    if let Some(ext) = ops::parse(name, arg, depth)? {
        return Ok(ext);
    }
    let op = Op::from_name(name).ok_or_else(|| {
        agg_err(format!(
            "unknown or unsupported expression operator: {name}"
        ))
    })?;
    let args: Vec<Expr> = match arg {
        Bson::Array(items) => items
            .iter()
            .map(|e| parse(e, depth + 1))
            .collect::<Result<_, _>>()?,
        single => vec![parse(single, depth + 1)?],
    };
    let (min, max) = op.arity();
    if args.len() < min || args.len() > max {
        let want = if min == max {
            format!("exactly {min}")
        } else {
            format!("at least {min}")
        };
        return Err(agg_err(format!(
            "expression {name} takes {want} arguments, {} were passed in",
            args.len()
        )));
    }
    Ok(Expr::Call(op, args))
}

fn parse_cond(arg: &Bson, depth: usize) -> Result<Expr, QueryError> {
    let parts = match arg {
        Bson::Array(items) if items.len() == 3 => (&items[0], &items[1], &items[2]),
        Bson::Document(d) => {
            if let Some(k) = d
                .keys()
                .find(|k| !matches!(k.as_str(), "if" | "then" | "else"))
            {
                return Err(agg_err(format!("unrecognized parameter to $cond: {k}")));
            }
            let get = |k: &str| {
                d.get(k)
                    .ok_or_else(|| agg_err(format!("missing '{k}' parameter to $cond")))
            };
            (get("if")?, get("then")?, get("else")?)
        }
        _ => {
            return Err(agg_err(
                "$cond takes an array of 3 expressions or a document {if, then, else}".into(),
            ))
        }
    };
    Ok(Expr::Cond(Box::new((
        parse(parts.0, depth + 1)?,
        parse(parts.1, depth + 1)?,
        parse(parts.2, depth + 1)?,
    ))))
}

/// The value at a path, MongoDB's aggregation way: through an array, the
/// path applies to each element that is a document (or array) and the
/// result is the array of what was found.
pub(crate) fn walk(v: &Bson, rest: &[String]) -> Val {
    let Some(key) = rest.first() else {
        return Some(v.clone());
    };
    match v {
        Bson::Document(d) => d.get(key).and_then(|x| walk(x, &rest[1..])),
        Bson::Array(items) => Some(Bson::Array(
            items
                .iter()
                .filter(|e| matches!(e, Bson::Document(_) | Bson::Array(_)))
                .filter_map(|e| walk(e, rest))
                .collect(),
        )),
        _ => None,
    }
}

/// The value at a path of `doc` (see [`walk`]).
pub(crate) fn get_path(doc: &Document, path: &[String]) -> Val {
    match path.split_first() {
        None => Some(Bson::Document(doc.clone())),
        Some((first, rest)) => doc.get(first).and_then(|v| walk(v, rest)),
    }
}

/// MongoDB's truthiness: `false`, `null`, missing and zero are false.
pub(crate) fn truthy(v: &Val) -> bool {
    match v {
        None | Some(Bson::Null | Bson::Undefined) => false,
        Some(Bson::Boolean(b)) => *b,
        Some(Bson::Int32(i)) => *i != 0,
        Some(Bson::Int64(i)) => *i != 0,
        Some(Bson::Double(d)) => *d != 0.0,
        Some(_) => true,
    }
}

/// Whether a value is null, undefined or missing.
pub(crate) fn is_nullish(v: &Val) -> bool {
    matches!(v, None | Some(Bson::Null | Bson::Undefined))
}

/// Aggregation comparison: MongoDB's total BSON order, with missing below
/// null.
fn cmp_vals(a: &Val, b: &Val) -> Ordering {
    let missing = Bson::Undefined;
    compare_bson(
        a.as_ref().unwrap_or(&missing),
        b.as_ref().unwrap_or(&missing),
    )
}

/// Evaluates `e` against `doc` with the variables `vars` bound.
pub(crate) fn eval(e: &Expr, doc: &Document, vars: Option<&Vars<'_>>) -> Result<Val, QueryError> {
    match e {
        Expr::Lit(v) => Ok(Some(v.clone())),
        Expr::Path(p) => Ok(get_path(doc, p)),
        Expr::Var(name, path) => {
            let v = Vars::lookup(vars, name)
                .ok_or_else(|| agg_err(format!("use of undefined variable: {name}")))?;
            Ok(walk(v, path))
        }
        Expr::Ext(op, args) => {
            let vals = args
                .iter()
                .map(|a| eval(a, doc, vars))
                .collect::<Result<Vec<Val>, _>>()?;
            ops::apply(*op, vals)
        }
        Expr::Scoped(s) => s.eval(doc, vars),
        Expr::Remove => Ok(None),
        Expr::Object(fields) => {
            let mut out = Document::new();
            for (k, x) in fields {
                if let Some(v) = eval(x, doc, vars)? {
                    out.insert(k.clone(), v);
                }
            }
            Ok(Some(Bson::Document(out)))
        }
        Expr::Array(items) => Ok(Some(Bson::Array(
            items
                .iter()
                .map(|x| Ok(eval(x, doc, vars)?.unwrap_or(Bson::Null)))
                .collect::<Result<_, QueryError>>()?,
        ))),
        Expr::Cond(parts) => {
            if truthy(&eval(&parts.0, doc, vars)?) {
                eval(&parts.1, doc, vars)
            } else {
                eval(&parts.2, doc, vars)
            }
        }
        Expr::Call(op, args) => call(*op, args, doc, vars),
    }
}

fn call(op: Op, args: &[Expr], doc: &Document, vars: Option<&Vars<'_>>) -> Result<Val, QueryError> {
    match op {
        Op::And => {
            for a in args {
                if !truthy(&eval(a, doc, vars)?) {
                    return Ok(Some(Bson::Boolean(false)));
                }
            }
            Ok(Some(Bson::Boolean(true)))
        }
        Op::Or => {
            for a in args {
                if truthy(&eval(a, doc, vars)?) {
                    return Ok(Some(Bson::Boolean(true)));
                }
            }
            Ok(Some(Bson::Boolean(false)))
        }
        Op::IfNull => {
            let (last, firsts) = args.split_last().unwrap_or((&Expr::Remove, &[]));
            for a in firsts {
                let v = eval(a, doc, vars)?;
                if !is_nullish(&v) {
                    return Ok(v);
                }
            }
            eval(last, doc, vars)
        }
        _ => {
            let vals = args
                .iter()
                .map(|a| eval(a, doc, vars))
                .collect::<Result<Vec<Val>, _>>()?;
            apply(op, vals)
        }
    }
}

fn apply(op: Op, vals: Vec<Val>) -> Result<Val, QueryError> {
    let cmp = || cmp_vals(&vals[0], &vals[1]);
    let boolean = |b: bool| Ok(Some(Bson::Boolean(b)));
    match op {
        Op::Eq => boolean(cmp() == Ordering::Equal),
        Op::Ne => boolean(cmp() != Ordering::Equal),
        Op::Gt => boolean(cmp() == Ordering::Greater),
        Op::Gte => boolean(cmp() != Ordering::Less),
        Op::Lt => boolean(cmp() == Ordering::Less),
        Op::Lte => boolean(cmp() != Ordering::Greater),
        Op::Cmp => Ok(Some(Bson::Int32(match cmp() {
            Ordering::Less => -1,
            Ordering::Equal => 0,
            Ordering::Greater => 1,
        }))),
        Op::Not => boolean(!truthy(&vals[0])),
        Op::Add => add(vals),
        Op::Subtract => subtract(&vals[0], &vals[1]),
        Op::Multiply | Op::Divide | Op::Mod => numeric(op, vals),
        Op::Concat => concat(vals),
        Op::ToLower | Op::ToUpper => change_case(op, &vals[0]),
        Op::Size => match &vals[0] {
            Some(Bson::Array(a)) => Ok(Some(Bson::Int32(
                i32::try_from(a.len()).unwrap_or(i32::MAX),
            ))),
            other => Err(agg_err(format!(
                "the argument to $size must be an array, but was of type: {}",
                type_name(other.as_ref())
            ))),
        },
        Op::ArrayElemAt => array_elem_at(&vals[0], &vals[1]),
        Op::And | Op::Or | Op::IfNull => Ok(None),
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Add => "$add",
        Op::Subtract => "$subtract",
        Op::Multiply => "$multiply",
        Op::Divide => "$divide",
        Op::Mod => "$mod",
        Op::ToLower => "$toLower",
        Op::ToUpper => "$toUpper",
        _ => "expression",
    }
}

/// The number of an arithmetic operand, or an error naming its type.
fn number(op: Op, v: &Bson) -> Result<Num, QueryError> {
    Num::of(v, op_name(op))?.ok_or_else(|| {
        agg_err(format!(
            "{} only supports numeric types, not {}",
            op_name(op),
            type_name(Some(v))
        ))
    })
}

fn add(vals: Vec<Val>) -> Result<Val, QueryError> {
    if vals.iter().any(is_nullish) {
        return Ok(Some(Bson::Null));
    }
    let mut date: Option<i64> = None;
    let mut sum = Num::Int(0);
    for v in vals.into_iter().flatten() {
        if let Bson::DateTime(d) = v {
            if date.replace(d.timestamp_millis()).is_some() {
                return Err(agg_err(
                    "only one date allowed in an $add expression".into(),
                ));
            }
            continue;
        }
        let n = Num::of(&v, "$add")?.ok_or_else(|| {
            agg_err(format!(
                "$add only supports numeric or date types, not {}",
                type_name(Some(&v))
            ))
        })?;
        sum = arith::add(sum, n);
    }
    match date {
        None => Ok(Some(sum.into_bson())),
        Some(ms) => {
            let total = ms
                .checked_add(arith::millis(sum)?)
                .ok_or_else(|| agg_err("date arithmetic overflow".into()))?;
            Ok(Some(Bson::DateTime(bson::DateTime::from_millis(total))))
        }
    }
}

fn subtract(a: &Val, b: &Val) -> Result<Val, QueryError> {
    if is_nullish(a) || is_nullish(b) {
        return Ok(Some(Bson::Null));
    }
    let (Some(a), Some(b)) = (a, b) else {
        return Ok(Some(Bson::Null));
    };
    match (a, b) {
        (Bson::DateTime(x), Bson::DateTime(y)) => Ok(Some(Bson::Int64(
            x.timestamp_millis()
                .checked_sub(y.timestamp_millis())
                .ok_or_else(|| agg_err("date arithmetic overflow".into()))?,
        ))),
        (Bson::DateTime(x), n) => {
            let ms = arith::millis(number(Op::Subtract, n)?)?;
            let r = x
                .timestamp_millis()
                .checked_sub(ms)
                .ok_or_else(|| agg_err("date arithmetic overflow".into()))?;
            Ok(Some(Bson::DateTime(bson::DateTime::from_millis(r))))
        }
        (x, y) => Ok(Some(
            arith::subtract(number(Op::Subtract, x)?, number(Op::Subtract, y)?).into_bson(),
        )),
    }
}

fn numeric(op: Op, vals: Vec<Val>) -> Result<Val, QueryError> {
    if vals.iter().any(is_nullish) {
        return Ok(Some(Bson::Null));
    }
    let nums = vals
        .iter()
        .flatten()
        .map(|v| number(op, v))
        .collect::<Result<Vec<Num>, _>>()?;
    let out = match op {
        Op::Multiply => nums.into_iter().fold(Num::Int(1), arith::multiply),
        Op::Divide => arith::divide(nums[0], nums[1])?,
        _ => arith::modulo(nums[0], nums[1])?,
    };
    Ok(Some(out.into_bson()))
}

fn concat(vals: Vec<Val>) -> Result<Val, QueryError> {
    let mut out = String::new();
    for v in &vals {
        match v {
            None | Some(Bson::Null | Bson::Undefined) => return Ok(Some(Bson::Null)),
            Some(Bson::String(s)) => out.push_str(s),
            Some(other) => {
                return Err(agg_err(format!(
                    "$concat only supports strings, not {}",
                    type_name(Some(other))
                )))
            }
        }
    }
    Ok(Some(Bson::String(out)))
}

fn change_case(op: Op, v: &Val) -> Result<Val, QueryError> {
    let s = match v {
        None | Some(Bson::Null | Bson::Undefined) => String::new(),
        Some(Bson::String(s)) => s.clone(),
        Some(Bson::Int32(i)) => i.to_string(),
        Some(Bson::Int64(i)) => i.to_string(),
        Some(other) => {
            return Err(agg_err(format!(
                "{} cannot convert a value of type {} to a string",
                op_name(op),
                type_name(Some(other))
            )))
        }
    };
    // MongoDB changes the case of ASCII letters only.
    Ok(Some(Bson::String(if op == Op::ToLower {
        s.to_ascii_lowercase()
    } else {
        s.to_ascii_uppercase()
    })))
}

fn array_elem_at(arr: &Val, idx: &Val) -> Result<Val, QueryError> {
    if is_nullish(arr) || is_nullish(idx) {
        return Ok(Some(Bson::Null));
    }
    let Some(Bson::Array(items)) = arr else {
        return Err(agg_err(format!(
            "$arrayElemAt's first argument must be an array, but is {}",
            type_name(arr.as_ref())
        )));
    };
    let i = idx
        .as_ref()
        .and_then(|v| Num::of(v, "$arrayElemAt").ok().flatten())
        .and_then(arith::integral)
        .ok_or_else(|| {
            agg_err(format!(
                "$arrayElemAt's second argument must be an integral number, but is {}",
                type_name(idx.as_ref())
            ))
        })?;
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let at = if i < 0 { len + i } else { i };
    if at < 0 || at >= len {
        return Ok(None);
    }
    Ok(usize::try_from(at).ok().and_then(|a| items.get(a)).cloned())
}
