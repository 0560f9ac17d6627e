//! From a MongoDB query document to the [`Filter`] AST, and back.
//!
//! Parsing checks every operand's shape (MongoDB would refuse the query
//! otherwise) so that data layers and the evaluator only ever see valid
//! conditions. Printing gives a canonical document: `Filter::parse` of
//! `Filter::to_document` returns the same AST.

use bson::{Bson, Document};

use crate::ast::{Cond, ElemMatch, Filter};
use crate::bits::{exact_integer as integer_operand, BitTest, I64_RANGE};
use crate::where_json::KNOWN_OPERATORS;
use crate::QueryError;

mod print;

pub(crate) use print::filter_to_document;

/// Deepest nesting of query documents accepted by [`Filter::parse`].
pub const MAX_FILTER_DEPTH: usize = 100;

/// Regex option letters MongoDB accepts (`u` is a no-op here).
const REGEX_OPTIONS: &str = "imsxu";

/// Top-level operators: as the first key of an `$elemMatch` operand they
/// mean the document form.
const PATHLESS: [&str; 7] = [
    "$and", "$or", "$nor", "$where", "$text", "$expr", "$comment",
];

fn invalid(msg: impl Into<String>) -> QueryError {
    QueryError::Invalid(msg.into())
}

fn unsupported(op: &str) -> QueryError {
    invalid(format!(
        "operator '{op}' is not supported by this data layer"
    ))
}

fn unknown_operator(op: &str) -> QueryError {
    // Logical operators are known but meaningless under a field.
    if KNOWN_OPERATORS.contains(&op) && !matches!(op, "$and" | "$or" | "$nor") {
        unsupported(op)
    } else {
        invalid(format!("unknown operator: {op}"))
    }
}

/// Whether a value written as `{"f": value}` is an operator document.
fn is_operator_doc(d: &Document) -> bool {
    d.keys().next().is_some_and(|k| k.starts_with('$'))
}

/// Builds a filter from a query document (see [`Filter::parse`]).
pub(crate) fn parse_filter(doc: &Document, depth: usize) -> Result<Filter, QueryError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(invalid(format!(
            "query nested deeper than {MAX_FILTER_DEPTH} levels"
        )));
    }
    let mut parts = Vec::with_capacity(doc.len());
    for (key, value) in doc {
        parts.push(parse_entry(key, value, depth)?);
    }
    Ok(match parts.len() {
        0 => Filter::All,
        1 => parts.pop().unwrap_or(Filter::All),
        _ => Filter::And(parts),
    })
}

fn parse_entry(key: &str, value: &Bson, depth: usize) -> Result<Filter, QueryError> {
    if !key.starts_with('$') {
        return Ok(Filter::Field {
            path: key.to_string(),
            cond: parse_field_value(value, depth)?,
        });
    }
    let build: fn(Vec<Filter>) -> Filter = match key {
        "$and" => Filter::And,
        "$or" => Filter::Or,
        "$nor" => Filter::Nor,
        "$expr" => return Ok(Filter::Expr(crate::AggExpr::parse(value)?)),
        "$where" | "$text" => return Err(unsupported(key)),
        _ => {
            return Err(if KNOWN_OPERATORS.contains(&key) {
                invalid(format!("operator '{key}' is not valid at the top level"))
            } else {
                invalid(format!("unknown top level operator: {key}"))
            })
        }
    };
    let Bson::Array(items) = value else {
        return Err(invalid(format!("{key} must be an array")));
    };
    if items.is_empty() {
        return Err(invalid(format!("{key} must be a nonempty array")));
    }
    let subs = items
        .iter()
        .map(|item| match item {
            Bson::Document(d) => parse_filter(d, depth + 1),
            _ => Err(invalid(format!("{key} entries need to be full objects"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(build(subs))
}

/// The condition written as the value of a field key.
fn parse_field_value(value: &Bson, depth: usize) -> Result<Cond, QueryError> {
    match value {
        Bson::RegularExpression(re) => regex_cond(re.pattern.as_str(), re.options.as_str()),
        Bson::Document(d) if is_operator_doc(d) => parse_operator_doc(d, depth + 1),
        other => Ok(Cond::Eq(other.clone())),
    }
}

/// An operator document (`{"$gt": 1, "$lt": 5}`): one condition, or
/// `AllOf` when there are several.
fn parse_operator_doc(d: &Document, depth: usize) -> Result<Cond, QueryError> {
    let mut conds = parse_operators(d, depth)?;
    Ok(if conds.len() == 1 {
        conds.remove(0)
    } else {
        Cond::AllOf(conds)
    })
}

fn regex_cond(pattern: &str, options: &str) -> Result<Cond, QueryError> {
    if let Some(c) = options.chars().find(|c| !REGEX_OPTIONS.contains(*c)) {
        return Err(invalid(format!("invalid flag in regex options: {c}")));
    }
    crate::regex_budget::compile_regex(pattern, options)
        .map_err(|e| invalid(format!("invalid regular expression: {e}")))?;
    crate::regex_budget::check_positions(pattern, options).map_err(invalid)?;
    Ok(Cond::Regex {
        pattern: pattern.to_string(),
        options: options.to_string(),
    })
}

fn check_regex_members(op: &str, items: &[Bson]) -> Result<(), QueryError> {
    for item in items {
        if let Bson::RegularExpression(re) = item {
            regex_cond(re.pattern.as_str(), re.options.as_str())?;
        }
        if op == "$in" || op == "$nin" {
            if let Bson::Document(d) = item {
                if is_operator_doc(d) {
                    return Err(invalid(format!("cannot nest $ under {op}")));
                }
            }
        }
    }
    Ok(())
}

/// A `$mod` operand: numbers are truncated towards zero.
fn mod_operand(v: &Bson) -> Option<i64> {
    let f = match v {
        Bson::Int32(i) => return Some(i64::from(*i)),
        Bson::Int64(i) => return Some(*i),
        Bson::Double(f) => *f,
        Bson::Decimal128(d) => crate::compare::decimal_to_f64(d),
        _ => return None,
    };
    (f.is_finite() && I64_RANGE.contains(&f)).then_some(f.trunc() as i64)
}

/// BSON type numbers and their `$type` aliases.
const TYPE_ALIASES: [(&str, i32); 21] = [
    ("double", 1),
    ("string", 2),
    ("object", 3),
    ("array", 4),
    ("binData", 5),
    ("undefined", 6),
    ("objectId", 7),
    ("bool", 8),
    ("date", 9),
    ("null", 10),
    ("regex", 11),
    ("dbPointer", 12),
    ("javascript", 13),
    ("symbol", 14),
    ("javascriptWithScope", 15),
    ("int", 16),
    ("timestamp", 17),
    ("long", 18),
    ("decimal", 19),
    ("minKey", -1),
    ("maxKey", 127),
];

fn type_codes(v: &Bson, out: &mut Vec<i32>) -> Result<(), QueryError> {
    match v {
        Bson::String(s) if s == "number" => out.extend([1, 16, 18, 19]),
        Bson::String(s) => match TYPE_ALIASES.iter().find(|(n, _)| n == s) {
            Some((_, code)) => out.push(*code),
            None => return Err(invalid(format!("unknown type name alias: {s}"))),
        },
        other => match integer_operand(other) {
            Some(code) if TYPE_ALIASES.iter().any(|(_, c)| i64::from(*c) == code) => {
                out.push(code as i32)
            }
            Some(code) => return Err(invalid(format!("invalid numerical type code: {code}"))),
            None => return Err(invalid("type must be represented as a number or a string")),
        },
    }
    Ok(())
}

fn parse_operators(d: &Document, depth: usize) -> Result<Vec<Cond>, QueryError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(invalid(format!(
            "query nested deeper than {MAX_FILTER_DEPTH} levels"
        )));
    }
    let options = match d.get("$options") {
        None => None,
        Some(Bson::String(s)) => Some(s.as_str()),
        Some(_) => return Err(invalid("$options has to be a string")),
    };
    if options.is_some() && !d.contains_key("$regex") {
        return Err(invalid("$options needs a $regex"));
    }
    let mut conds = Vec::with_capacity(d.len());
    for (op, v) in d {
        if let Some(test) = BitTest::from_operator(op) {
            let mask = crate::bits::parse_mask(op, v)?;
            conds.push(Cond::Bits { test, mask });
            continue;
        }
        let cond = match op.as_str() {
            "$eq" => Cond::Eq(v.clone()),
            "$ne" => Cond::Ne(v.clone()),
            "$gt" => Cond::Gt(v.clone()),
            "$gte" => Cond::Gte(v.clone()),
            "$lt" => Cond::Lt(v.clone()),
            "$lte" => Cond::Lte(v.clone()),
            "$in" | "$nin" => {
                let Bson::Array(items) = v else {
                    return Err(invalid(format!("{op} needs an array")));
                };
                check_regex_members(op, items)?;
                if op == "$in" {
                    Cond::In(items.clone())
                } else {
                    Cond::Nin(items.clone())
                }
            }
            "$exists" => Cond::Exists(bson_truthy(v)),
            "$type" => {
                let mut codes = Vec::new();
                match v {
                    Bson::Array(items) => {
                        for item in items {
                            type_codes(item, &mut codes)?;
                        }
                    }
                    other => type_codes(other, &mut codes)?,
                }
                if codes.is_empty() {
                    return Err(invalid("$type must match at least one type"));
                }
                Cond::Type(codes)
            }
            "$all" => {
                let Bson::Array(items) = v else {
                    return Err(invalid("$all needs an array"));
                };
                check_regex_members(op, items)?;
                for item in items {
                    if let Bson::Document(m) = item {
                        if m.keys().next().map(String::as_str) == Some("$elemMatch") {
                            parse_operators(m, depth + 1)?;
                        }
                    }
                }
                Cond::All(items.clone())
            }
            "$elemMatch" => {
                let Bson::Document(inner) = v else {
                    return Err(invalid("$elemMatch needs an Object"));
                };
                let value_form = inner
                    .keys()
                    .next()
                    .is_some_and(|k| k.starts_with('$') && !PATHLESS.contains(&k.as_str()));
                if value_form {
                    Cond::ElemMatch(ElemMatch::Value(parse_operators(inner, depth + 1)?))
                } else {
                    Cond::ElemMatch(ElemMatch::Document(Box::new(parse_filter(
                        inner,
                        depth + 1,
                    )?)))
                }
            }
            "$size" => match integer_operand(v) {
                Some(n) if n >= 0 => Cond::Size(n),
                Some(_) => return Err(invalid("$size may not be negative")),
                None => return Err(invalid("$size needs a whole number")),
            },
            "$mod" => {
                let Bson::Array(items) = v else {
                    return Err(invalid("malformed mod, needs to be an array"));
                };
                let [d, r] = items.as_slice() else {
                    return Err(invalid(
                        "malformed mod, needs exactly two elements: [divisor, remainder]",
                    ));
                };
                let (Some(divisor), Some(remainder)) = (mod_operand(d), mod_operand(r)) else {
                    return Err(invalid(
                        "malformed mod, divisor and remainder must be numbers",
                    ));
                };
                if divisor == 0 {
                    return Err(invalid("divisor cannot be 0"));
                }
                Cond::Mod { divisor, remainder }
            }
            "$regex" => match v {
                Bson::String(p) => regex_cond(p, options.unwrap_or(""))?,
                Bson::RegularExpression(re) => {
                    regex_cond(re.pattern.as_str(), options.unwrap_or(re.options.as_str()))?
                }
                _ => return Err(invalid("$regex has to be a string")),
            },
            "$geoWithin" | "$geoIntersects" => {
                let Bson::Document(operand) = v else {
                    return Err(invalid(format!("{op} needs an object")));
                };
                let geo_op = if op == "$geoWithin" {
                    crate::GeoOp::Within
                } else {
                    crate::GeoOp::Intersects
                };
                Cond::Geo(Box::new(crate::GeoCond::parse(geo_op, operand)?))
            }
            "$options" => continue,
            "$not" => match v {
                Bson::RegularExpression(re) => Cond::Not(Box::new(regex_cond(
                    re.pattern.as_str(),
                    re.options.as_str(),
                )?)),
                Bson::Document(nd) if nd.is_empty() => return Err(invalid("$not cannot be empty")),
                Bson::Document(nd) if is_operator_doc(nd) => {
                    Cond::Not(Box::new(parse_operator_doc(nd, depth + 1)?))
                }
                _ => return Err(invalid("$not needs a regex or a document of operators")),
            },
            other if !other.starts_with('$') => {
                return Err(invalid(format!(
                    "unknown operator: {other} (operators and field names cannot be mixed)"
                )))
            }
            other => return Err(unknown_operator(other)),
        };
        conds.push(cond);
    }
    if conds.is_empty() {
        return Err(invalid("empty operator document"));
    }
    Ok(conds)
}

/// BSON truthiness as MongoDB's `$exists` reads it.
fn bson_truthy(v: &Bson) -> bool {
    match v {
        Bson::Boolean(b) => *b,
        Bson::Int32(i) => *i != 0,
        Bson::Int64(i) => *i != 0,
        Bson::Double(f) => *f != 0.0,
        Bson::Decimal128(d) => crate::compare::decimal_to_f64(d) != 0.0,
        Bson::Null | Bson::Undefined => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests;
