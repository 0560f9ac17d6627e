//! More expression operators, with MongoDB's semantics: numbers (`$abs`,
//! `$ceil`, `$floor`, `$round`, `$trunc`, `$sqrt`, `$pow`, `$exp`, `$ln`,
//! `$log10`), strings (`$substrCP`, `$substrBytes`/`$substr`,
//! `$strLenCP`, `$split`, `$trim`/`$ltrim`/`$rtrim`, `$toString`,
//! `$indexOfCP`, `$strcasecmp`), arrays (`$in`, `$concatArrays`, `$slice`,
//! `$isArray`, `$reverseArray`, `$first`, `$last`), the accumulators as
//! expressions (`$sum`, `$avg`, `$min`, `$max`) and the date parts
//! ([`super::dates`]). Null or missing operands give null where MongoDB
//! does.

use bson::Bson;

use super::arith::{self, Num};
use super::dates::{self, DatePart};
use super::expr::{is_nullish, parse_at, Expr, Val};
use super::{agg_err, type_name};
use crate::compare::compare_bson;
use crate::QueryError;

/// An operator of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtOp {
    Abs,
    Ceil,
    Floor,
    Round,
    Trunc,
    Sqrt,
    Pow,
    Exp,
    Ln,
    Log10,
    SubstrCP,
    SubstrBytes,
    StrLenCP,
    Split,
    Trim(Trim),
    ToString,
    IndexOfCP,
    Strcasecmp,
    In,
    ConcatArrays,
    Slice,
    IsArray,
    ReverseArray,
    First,
    Last,
    Date(DatePart),
    DateToString,
    Sum,
    Avg,
    Min,
    Max,
}

/// Which ends `$trim` works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trim {
    Both,
    Start,
    End,
}

impl ExtOp {
    fn from_name(name: &str) -> Option<ExtOp> {
        Some(match name {
            "$abs" => ExtOp::Abs,
            "$ceil" => ExtOp::Ceil,
            "$floor" => ExtOp::Floor,
            "$round" => ExtOp::Round,
            "$trunc" => ExtOp::Trunc,
            "$sqrt" => ExtOp::Sqrt,
            "$pow" => ExtOp::Pow,
            "$exp" => ExtOp::Exp,
            "$ln" => ExtOp::Ln,
            "$log10" => ExtOp::Log10,
            "$substrCP" => ExtOp::SubstrCP,
            "$substrBytes" | "$substr" => ExtOp::SubstrBytes,
            "$strLenCP" => ExtOp::StrLenCP,
            "$split" => ExtOp::Split,
            "$toString" => ExtOp::ToString,
            "$indexOfCP" => ExtOp::IndexOfCP,
            "$strcasecmp" => ExtOp::Strcasecmp,
            "$in" => ExtOp::In,
            "$concatArrays" => ExtOp::ConcatArrays,
            "$slice" => ExtOp::Slice,
            "$isArray" => ExtOp::IsArray,
            "$reverseArray" => ExtOp::ReverseArray,
            "$first" => ExtOp::First,
            "$last" => ExtOp::Last,
            "$sum" => ExtOp::Sum,
            "$avg" => ExtOp::Avg,
            "$min" => ExtOp::Min,
            "$max" => ExtOp::Max,
            _ => return DatePart::from_name(name).map(ExtOp::Date),
        })
    }

    /// Allowed argument counts, inclusive.
    fn arity(self) -> (usize, usize) {
        match self {
            ExtOp::Round | ExtOp::Trunc => (1, 2),
            ExtOp::Pow | ExtOp::Split | ExtOp::Strcasecmp | ExtOp::In => (2, 2),
            ExtOp::SubstrCP | ExtOp::SubstrBytes => (3, 3),
            ExtOp::IndexOfCP => (2, 4),
            ExtOp::Slice => (2, 3),
            ExtOp::ConcatArrays | ExtOp::Sum | ExtOp::Avg | ExtOp::Min | ExtOp::Max => {
                (0, usize::MAX)
            }
            _ => (1, 1),
        }
    }
}

/// Parses `name` if it is an operator of this module.
pub(crate) fn parse(name: &str, arg: &Bson, depth: usize) -> Result<Option<Expr>, QueryError> {
    match name {
        "$trim" | "$ltrim" | "$rtrim" => {
            let which = match name {
                "$trim" => Trim::Both,
                "$ltrim" => Trim::Start,
                _ => Trim::End,
            };
            let d = named(name, arg, &["input", "chars"])?;
            let input = d
                .get("input")
                .ok_or_else(|| agg_err(format!("{name} requires an 'input' field")))?;
            let mut args = vec![parse_at(input, depth)?];
            if let Some(chars) = d.get("chars") {
                args.push(parse_at(chars, depth)?);
            }
            return Ok(Some(Expr::Ext(ExtOp::Trim(which), args)));
        }
        "$dateToString" => {
            let d = named(name, arg, &["format", "date", "timezone", "onNull"])?;
            let date = d
                .get("date")
                .ok_or_else(|| agg_err("$dateToString requires a 'date' field".into()))?;
            let lit = |k: &str, default: Bson| d.get(k).cloned().unwrap_or(default);
            let args = vec![
                parse_at(date, depth)?,
                parse_at(&lit("format", Bson::Null), depth)?,
                parse_at(&lit("timezone", Bson::Null), depth)?,
                match d.get("onNull") {
                    Some(v) => parse_at(v, depth)?,
                    None => Expr::Remove,
                },
            ];
            return Ok(Some(Expr::Ext(ExtOp::DateToString, args)));
        }
        _ => {}
    }
    let Some(op) = ExtOp::from_name(name) else {
        return Ok(None);
    };
    let args: Vec<Expr> = match (op, arg) {
        // `{$year: {date: …, timezone: …}}`
        (ExtOp::Date(_), Bson::Document(d)) if d.contains_key("date") => {
            let d = named(name, arg, &["date", "timezone"])?;
            let mut args = vec![parse_at(d.get("date").unwrap_or(&Bson::Null), depth)?];
            if let Some(tz) = d.get("timezone") {
                args.push(parse_at(tz, depth)?);
            }
            args
        }
        (_, Bson::Array(items)) => items
            .iter()
            .map(|e| parse_at(e, depth))
            .collect::<Result<_, _>>()?,
        (_, single) => vec![parse_at(single, depth)?],
    };
    let (min, max) = match op {
        ExtOp::Date(_) => (1, 2),
        _ => op.arity(),
    };
    if args.len() < min || args.len() > max {
        return Err(agg_err(format!(
            "expression {name} takes {} arguments, {} were passed in",
            if min == max {
                format!("exactly {min}")
            } else {
                format!("{min} to {max}")
            },
            args.len()
        )));
    }
    Ok(Some(Expr::Ext(op, args)))
}

fn named<'a>(
    name: &str,
    arg: &'a Bson,
    allowed: &[&str],
) -> Result<&'a bson::Document, QueryError> {
    let Bson::Document(d) = arg else {
        return Err(agg_err(format!(
            "{name} only supports an object as its argument"
        )));
    };
    if let Some(k) = d.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(agg_err(format!("unrecognized argument to {name}: {k}")));
    }
    Ok(d)
}

/// Applies `op` to its evaluated arguments.
pub(crate) fn apply(op: ExtOp, vals: Vec<Val>) -> Result<Val, QueryError> {
    match op {
        ExtOp::Abs
        | ExtOp::Ceil
        | ExtOp::Floor
        | ExtOp::Sqrt
        | ExtOp::Exp
        | ExtOp::Ln
        | ExtOp::Log10 => unary_number(op, &vals[0]),
        ExtOp::Round | ExtOp::Trunc => round(op, &vals),
        ExtOp::Pow => pow(&vals[0], &vals[1]),
        ExtOp::SubstrCP | ExtOp::SubstrBytes => substr(op, &vals),
        ExtOp::StrLenCP => match &vals[0] {
            Some(Bson::String(s)) => Ok(Some(count(s.chars().count()))),
            other => Err(agg_err(format!(
                "$strLenCP requires a string argument, found: {}",
                type_name(other.as_ref())
            ))),
        },
        ExtOp::Split => split(&vals[0], &vals[1]),
        ExtOp::Trim(which) => trim(which, &vals),
        ExtOp::ToString => to_string(&vals[0]),
        ExtOp::IndexOfCP => index_of(&vals),
        ExtOp::Strcasecmp => {
            let a = string_of("$strcasecmp", &vals[0])?.to_ascii_lowercase();
            let b = string_of("$strcasecmp", &vals[1])?.to_ascii_lowercase();
            Ok(Some(Bson::Int32(match a.cmp(&b) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            })))
        }
        ExtOp::In => match &vals[1] {
            Some(Bson::Array(items)) => {
                let needle = vals[0].clone().unwrap_or(Bson::Undefined);
                Ok(Some(Bson::Boolean(items.iter().any(|i| {
                    compare_bson(i, &needle) == std::cmp::Ordering::Equal
                }))))
            }
            other => Err(agg_err(format!(
                "$in requires an array as a second argument, found: {}",
                type_name(other.as_ref())
            ))),
        },
        ExtOp::ConcatArrays => {
            let mut out = Vec::new();
            for v in vals {
                match v {
                    None | Some(Bson::Null | Bson::Undefined) => return Ok(Some(Bson::Null)),
                    Some(Bson::Array(items)) => out.extend(items),
                    Some(other) => {
                        return Err(agg_err(format!(
                            "$concatArrays only supports arrays, not {}",
                            type_name(Some(&other))
                        )))
                    }
                }
            }
            Ok(Some(Bson::Array(out)))
        }
        ExtOp::Slice => slice(&vals),
        ExtOp::IsArray => Ok(Some(Bson::Boolean(matches!(vals[0], Some(Bson::Array(_)))))),
        ExtOp::ReverseArray | ExtOp::First | ExtOp::Last => match &vals[0] {
            None | Some(Bson::Null | Bson::Undefined) => Ok(Some(Bson::Null)),
            Some(Bson::Array(items)) => Ok(match op {
                ExtOp::ReverseArray => Some(Bson::Array(items.iter().rev().cloned().collect())),
                ExtOp::First => items.first().cloned(),
                _ => items.last().cloned(),
            }),
            Some(other) => Err(agg_err(format!(
                "the argument must be an array, but is of type: {}",
                type_name(Some(other))
            ))),
        },
        ExtOp::Date(part) => dates::part(part, &vals[0], vals.get(1).cloned().flatten().as_ref()),
        ExtOp::DateToString => dates::to_string(&vals),
        ExtOp::Sum | ExtOp::Avg | ExtOp::Min | ExtOp::Max => over_values(op, vals),
    }
}

/// `$sum`, `$avg`, `$min`, `$max` as expressions: over the elements of
/// their one argument when it is an array, else over their arguments;
/// non-numbers are ignored by `$sum`/`$avg`, null and missing by
/// `$min`/`$max`.
fn over_values(op: ExtOp, vals: Vec<Val>) -> Result<Val, QueryError> {
    let values: Vec<Bson> = match <[Val; 1]>::try_from(vals) {
        Ok([Some(Bson::Array(items))]) => items,
        Ok([one]) => one.into_iter().collect(),
        Err(many) => many.into_iter().flatten().collect(),
    };
    match op {
        ExtOp::Min | ExtOp::Max => {
            let mut best: Option<Bson> = None;
            for v in values {
                if matches!(v, Bson::Null | Bson::Undefined) {
                    continue;
                }
                let better = best.as_ref().is_none_or(|b| {
                    let o = compare_bson(&v, b);
                    if op == ExtOp::Min {
                        o == std::cmp::Ordering::Less
                    } else {
                        o == std::cmp::Ordering::Greater
                    }
                });
                if better {
                    best = Some(v);
                }
            }
            Ok(Some(best.unwrap_or(Bson::Null)))
        }
        _ => {
            let mut sum = Num::Int(0);
            let mut n = 0usize;
            for v in &values {
                if let Some(x) = Num::of(v, op_name(op))? {
                    sum = arith::add(sum, x);
                    n += 1;
                }
            }
            Ok(Some(match op {
                ExtOp::Sum => sum.into_bson(),
                _ if n == 0 => Bson::Null,
                _ => {
                    #[allow(clippy::cast_precision_loss)]
                    let avg = sum.as_f64() / n as f64;
                    Bson::Double(avg)
                }
            }))
        }
    }
}

/// A count as MongoDB returns it: an `int` when it fits.
fn count(n: usize) -> Bson {
    i32::try_from(n).map_or_else(
        |_| Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX)),
        Bson::Int32,
    )
}

fn number_of(op: &str, v: &Bson) -> Result<Num, QueryError> {
    Num::of(v, op)?.ok_or_else(|| {
        agg_err(format!(
            "{op} only supports numeric types, not {}",
            type_name(Some(v))
        ))
    })
}

fn op_name(op: ExtOp) -> &'static str {
    match op {
        ExtOp::Abs => "$abs",
        ExtOp::Ceil => "$ceil",
        ExtOp::Floor => "$floor",
        ExtOp::Sqrt => "$sqrt",
        ExtOp::Exp => "$exp",
        ExtOp::Ln => "$ln",
        ExtOp::Log10 => "$log10",
        ExtOp::Round => "$round",
        ExtOp::Trunc => "$trunc",
        ExtOp::SubstrCP => "$substrCP",
        ExtOp::Sum => "$sum",
        ExtOp::Avg => "$avg",
        _ => "$substrBytes",
    }
}

fn unary_number(op: ExtOp, v: &Val) -> Result<Val, QueryError> {
    if is_nullish(v) {
        return Ok(Some(Bson::Null));
    }
    let name = op_name(op);
    let n = number_of(name, v.as_ref().unwrap_or(&Bson::Null))?;
    let d = n.as_f64();
    Ok(Some(match (op, n) {
        (ExtOp::Abs, Num::Int(i)) => i
            .checked_abs()
            .map_or(Bson::Int64(-i64::from(i)), Bson::Int32),
        (ExtOp::Abs, Num::Long(i)) => i.checked_abs().map_or(Bson::Double(d.abs()), Bson::Int64),
        (ExtOp::Abs, Num::Double(x)) => Bson::Double(x.abs()),
        (ExtOp::Ceil | ExtOp::Floor, Num::Int(_) | Num::Long(_)) => n.into_bson(),
        (ExtOp::Ceil, Num::Double(x)) => Bson::Double(x.ceil()),
        (ExtOp::Floor, Num::Double(x)) => Bson::Double(x.floor()),
        (ExtOp::Sqrt, _) if d < 0.0 => {
            return Err(agg_err(
                "$sqrt's argument must be greater than or equal to 0".into(),
            ))
        }
        (ExtOp::Sqrt, _) => Bson::Double(d.sqrt()),
        (ExtOp::Exp, _) => Bson::Double(d.exp()),
        (ExtOp::Ln | ExtOp::Log10, _) if d <= 0.0 => {
            return Err(agg_err(format!(
                "{name}'s argument must be a positive number, but is {d}"
            )))
        }
        (ExtOp::Ln, _) => Bson::Double(d.ln()),
        _ => Bson::Double(d.log10()),
    }))
}

/// `$round` (half to even, as MongoDB) and `$trunc` to `place` decimal
/// places (negative: left of the point).
fn round(op: ExtOp, vals: &[Val]) -> Result<Val, QueryError> {
    let place_val = vals.get(1).cloned().unwrap_or(Some(Bson::Int32(0)));
    if is_nullish(&vals[0]) || is_nullish(&place_val) {
        return Ok(Some(Bson::Null));
    }
    let name = op_name(op);
    let n = number_of(name, vals[0].as_ref().unwrap_or(&Bson::Null))?;
    let place = number_of(name, place_val.as_ref().unwrap_or(&Bson::Null))
        .ok()
        .and_then(arith::integral)
        .filter(|p| (-20..=100).contains(p))
        .ok_or_else(|| {
            agg_err(format!(
                "{name}: the place must be an integral number between -20 and 100"
            ))
        })?;
    let place = i32::try_from(place).unwrap_or(0);
    let cut = |x: f64| match op {
        ExtOp::Round => x.round_ties_even(),
        _ => x.trunc(),
    };
    Ok(Some(match n {
        Num::Double(x) => {
            let scale = 10f64.powi(place);
            Bson::Double(cut(x * scale) / scale)
        }
        Num::Int(_) | Num::Long(_) if place >= 0 => n.into_bson(),
        Num::Int(_) | Num::Long(_) => {
            let i = n.as_i64().unwrap_or(0);
            let scale = 10i64.checked_pow(place.unsigned_abs()).unwrap_or(i64::MAX);
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let r = (cut(i as f64 / scale as f64) as i64).saturating_mul(scale);
            match n {
                Num::Int(_) => i32::try_from(r).map_or(Bson::Int64(r), Bson::Int32),
                _ => Bson::Int64(r),
            }
        }
    }))
}

fn pow(base: &Val, exp: &Val) -> Result<Val, QueryError> {
    if is_nullish(base) || is_nullish(exp) {
        return Ok(Some(Bson::Null));
    }
    let b = number_of("$pow", base.as_ref().unwrap_or(&Bson::Null))?;
    let e = number_of("$pow", exp.as_ref().unwrap_or(&Bson::Null))?;
    if b.as_f64() == 0.0 && e.as_f64() < 0.0 {
        return Err(agg_err(
            "$pow cannot take a base of 0 and a negative exponent".into(),
        ));
    }
    if let (Some(bi), Some(ei)) = (b.as_i64(), e.as_i64()) {
        if let Ok(ei) = u32::try_from(ei) {
            if let Some(r) = bi.checked_pow(ei) {
                let both_int = matches!((b, e), (Num::Int(_), Num::Int(_)));
                return Ok(Some(match i32::try_from(r) {
                    Ok(small) if both_int => Bson::Int32(small),
                    _ => Bson::Int64(r),
                }));
            }
        }
    }
    Ok(Some(Bson::Double(b.as_f64().powf(e.as_f64()))))
}

/// The string form `$substr*`, `$toString` and `$strcasecmp` read: null
/// and missing are the empty string; numbers are written out.
fn string_of(op: &str, v: &Val) -> Result<String, QueryError> {
    match v {
        None | Some(Bson::Null | Bson::Undefined) => Ok(String::new()),
        Some(Bson::String(s)) => Ok(s.clone()),
        Some(Bson::Int32(i)) => Ok(i.to_string()),
        Some(Bson::Int64(i)) => Ok(i.to_string()),
        Some(Bson::Double(d)) => Ok(double_string(*d)),
        Some(Bson::DateTime(d)) => Ok(dates::iso(*d)),
        Some(other) => Err(agg_err(format!(
            "{op}: can't convert from BSON type {} to String",
            type_name(Some(other))
        ))),
    }
}

/// A double as MongoDB writes it: whole numbers without a fraction.
fn double_string(d: f64) -> String {
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        let i = d as i64;
        i.to_string()
    } else {
        d.to_string()
    }
}

fn index_arg(op: &str, v: &Val, what: &str) -> Result<usize, QueryError> {
    v.as_ref()
        .and_then(|b| Num::of(b, op).ok().flatten())
        .and_then(arith::integral)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or_else(|| {
            agg_err(format!(
                "{op}: {what} must be a non-negative integral number, but is {}",
                type_name(v.as_ref())
            ))
        })
}

fn substr(op: ExtOp, vals: &[Val]) -> Result<Val, QueryError> {
    let name = op_name(op);
    let s = string_of(name, &vals[0])?;
    let start = index_arg(name, &vals[1], "the starting index")?;
    // A negative length means "to the end" for $substrBytes.
    let len = match &vals[2] {
        Some(Bson::Int32(i)) if *i < 0 && op == ExtOp::SubstrBytes => usize::MAX,
        Some(Bson::Int64(i)) if *i < 0 && op == ExtOp::SubstrBytes => usize::MAX,
        v => index_arg(name, v, "the length")?,
    };
    let out = if op == ExtOp::SubstrCP {
        s.chars().skip(start).take(len).collect()
    } else {
        let end = start.saturating_add(len).min(s.len());
        let start = start.min(s.len());
        if !s.is_char_boundary(start) || !s.is_char_boundary(end) {
            return Err(agg_err(
                "$substrBytes: invalid range, the byte offsets split a UTF-8 character".into(),
            ));
        }
        s[start..end].to_string()
    };
    Ok(Some(Bson::String(out)))
}

fn split(s: &Val, delim: &Val) -> Result<Val, QueryError> {
    if is_nullish(s) {
        return Ok(Some(Bson::Null));
    }
    let (Some(Bson::String(s)), Some(Bson::String(d))) = (s, delim) else {
        return Err(agg_err(format!(
            "$split requires a string and a string delimiter, found {} and {}",
            type_name(s.as_ref()),
            type_name(delim.as_ref())
        )));
    };
    if d.is_empty() {
        return Err(agg_err("$split requires a non-empty separator".into()));
    }
    Ok(Some(Bson::Array(
        s.split(d.as_str())
            .map(|p| Bson::String(p.into()))
            .collect(),
    )))
}

fn trim(which: Trim, vals: &[Val]) -> Result<Val, QueryError> {
    if is_nullish(&vals[0]) {
        return Ok(Some(Bson::Null));
    }
    let Some(Bson::String(s)) = &vals[0] else {
        return Err(agg_err(format!(
            "$trim requires its input to be a string, got {}",
            type_name(vals[0].as_ref())
        )));
    };
    let chars: Option<Vec<char>> = match vals.get(1) {
        None => None,
        Some(v) if is_nullish(v) => return Ok(Some(Bson::Null)),
        Some(Some(Bson::String(c))) => Some(c.chars().collect()),
        Some(other) => {
            return Err(agg_err(format!(
                "$trim requires 'chars' to be a string, got {}",
                type_name(other.as_ref())
            )))
        }
    };
    let strip = |c: char| match &chars {
        Some(set) => set.contains(&c),
        None => c.is_whitespace() || c == '\0',
    };
    let out = match which {
        Trim::Both => s.trim_matches(strip),
        Trim::Start => s.trim_start_matches(strip),
        Trim::End => s.trim_end_matches(strip),
    };
    Ok(Some(Bson::String(out.to_string())))
}

fn to_string(v: &Val) -> Result<Val, QueryError> {
    Ok(match v {
        None | Some(Bson::Null | Bson::Undefined) => Some(Bson::Null),
        Some(Bson::Boolean(b)) => Some(Bson::String(b.to_string())),
        Some(Bson::ObjectId(o)) => Some(Bson::String(o.to_hex())),
        _ => Some(Bson::String(string_of("$toString", v)?)),
    })
}

fn index_of(vals: &[Val]) -> Result<Val, QueryError> {
    if is_nullish(&vals[0]) {
        return Ok(Some(Bson::Null));
    }
    let (Some(Bson::String(s)), Some(Bson::String(sub))) = (&vals[0], &vals[1]) else {
        return Err(agg_err(
            "$indexOfCP requires a string to search and a string to find".into(),
        ));
    };
    let chars: Vec<char> = s.chars().collect();
    let needle: Vec<char> = sub.chars().collect();
    let start = match vals.get(2) {
        Some(v) => index_arg("$indexOfCP", v, "the starting index")?,
        None => 0,
    };
    let end = match vals.get(3) {
        Some(v) => index_arg("$indexOfCP", v, "the ending index")?.min(chars.len()),
        None => chars.len(),
    };
    let mut at = start;
    while at <= end && at + needle.len() <= end {
        if chars[at..at + needle.len()] == needle[..] {
            return Ok(Some(count(at)));
        }
        at += 1;
    }
    Ok(Some(Bson::Int32(-1)))
}

fn slice(vals: &[Val]) -> Result<Val, QueryError> {
    if vals.iter().any(is_nullish) {
        return Ok(Some(Bson::Null));
    }
    let Some(Bson::Array(items)) = &vals[0] else {
        return Err(agg_err(format!(
            "first argument to $slice must be an array, but is of type: {}",
            type_name(vals[0].as_ref())
        )));
    };
    let int = |v: &Val, what: &str| {
        v.as_ref()
            .and_then(|b| Num::of(b, "$slice").ok().flatten())
            .and_then(arith::integral)
            .ok_or_else(|| agg_err(format!("$slice: the {what} must be an integral number")))
    };
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let (start, n) = if vals.len() == 2 {
        let n = int(&vals[1], "count")?;
        if n >= 0 {
            (0, n)
        } else {
            ((len + n).max(0), -n)
        }
    } else {
        let pos = int(&vals[1], "position")?;
        let n = int(&vals[2], "count")?;
        if n <= 0 {
            return Err(agg_err(format!(
                "third argument to $slice must be positive: {n}"
            )));
        }
        let start = if pos < 0 {
            (len + pos).max(0)
        } else {
            pos.min(len)
        };
        (start, n)
    };
    let start = usize::try_from(start).unwrap_or(0);
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    Ok(Some(Bson::Array(
        items.iter().skip(start).take(n).cloned().collect(),
    )))
}
