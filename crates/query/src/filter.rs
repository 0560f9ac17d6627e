//! From a MongoDB query document to the [`Filter`] AST, and back.
//!
//! Parsing checks every operand's shape (MongoDB would refuse the query
//! otherwise) so that data layers and the evaluator only ever see valid
//! conditions. Printing gives a canonical document: `Filter::parse` of
//! `Filter::to_document` returns the same AST.

use bson::{Bson, Document};

use crate::ast::{Cond, ElemMatch, Filter};
use crate::bits::BitTest;
use crate::where_json::KNOWN_OPERATORS;
use crate::QueryError;

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
        "$where" | "$text" | "$expr" => return Err(unsupported(key)),
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
    crate::eval::compile_regex(pattern, options)
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

/// The doubles that convert to an i64 without saturating: [-2^63, 2^63).
const I64_RANGE: std::ops::Range<f64> = -9.223_372_036_854_776e18..9.223_372_036_854_776e18;

/// An integer operand: Int32, Int64, or an integral double/decimal.
fn integer_operand(v: &Bson) -> Option<i64> {
    let f = match v {
        Bson::Int32(i) => return Some(i64::from(*i)),
        Bson::Int64(i) => return Some(*i),
        Bson::Double(f) => *f,
        Bson::Decimal128(d) => crate::compare::decimal_to_f64(d),
        _ => return None,
    };
    // The upper bound is exclusive: 2^63 itself does not fit.
    (f.fract() == 0.0 && I64_RANGE.contains(&f)).then_some(f as i64)
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

/// Prints a filter as a query document.
pub(crate) fn filter_to_document(f: &Filter) -> Document {
    let mut d = Document::new();
    match f {
        Filter::All => {}
        Filter::And(v) => {
            d.insert("$and", filters_array(v));
        }
        Filter::Or(v) => {
            d.insert("$or", filters_array(v));
        }
        Filter::Nor(v) => {
            d.insert("$nor", filters_array(v));
        }
        Filter::Field { path, cond } => {
            d.insert(path.clone(), cond_to_value(cond));
        }
    }
    d
}

fn filters_array(v: &[Filter]) -> Bson {
    Bson::Array(
        v.iter()
            .map(|f| Bson::Document(filter_to_document(f)))
            .collect(),
    )
}

/// The value printed for `{"field": <value>}`.
fn cond_to_value(c: &Cond) -> Bson {
    match c {
        Cond::Eq(v) => {
            let needs_eq = match v {
                Bson::RegularExpression(_) => true,
                Bson::Document(d) => is_operator_doc(d),
                _ => false,
            };
            if needs_eq {
                let mut d = Document::new();
                d.insert("$eq", v.clone());
                Bson::Document(d)
            } else {
                v.clone()
            }
        }
        other => {
            let mut d = Document::new();
            cond_into(other, &mut d);
            Bson::Document(d)
        }
    }
}

fn int_bson(i: i64) -> Bson {
    i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
}

/// Adds the operator entries of `c` to an operator document.
fn cond_into(c: &Cond, d: &mut Document) {
    match c {
        Cond::Eq(v) => {
            d.insert("$eq", v.clone());
        }
        Cond::Ne(v) => {
            d.insert("$ne", v.clone());
        }
        Cond::Gt(v) => {
            d.insert("$gt", v.clone());
        }
        Cond::Gte(v) => {
            d.insert("$gte", v.clone());
        }
        Cond::Lt(v) => {
            d.insert("$lt", v.clone());
        }
        Cond::Lte(v) => {
            d.insert("$lte", v.clone());
        }
        Cond::In(v) => {
            d.insert("$in", v.clone());
        }
        Cond::Nin(v) => {
            d.insert("$nin", v.clone());
        }
        Cond::Exists(b) => {
            d.insert("$exists", *b);
        }
        Cond::Type(codes) => {
            let v = match codes.as_slice() {
                [one] => Bson::Int32(*one),
                many => Bson::Array(many.iter().map(|c| Bson::Int32(*c)).collect()),
            };
            d.insert("$type", v);
        }
        Cond::All(v) => {
            d.insert("$all", v.clone());
        }
        Cond::ElemMatch(ElemMatch::Document(f)) => {
            d.insert("$elemMatch", filter_to_document(f));
        }
        Cond::ElemMatch(ElemMatch::Value(conds)) => {
            let mut inner = Document::new();
            for c in conds {
                cond_into(c, &mut inner);
            }
            d.insert("$elemMatch", inner);
        }
        Cond::Size(n) => {
            d.insert("$size", int_bson(*n));
        }
        Cond::Mod { divisor, remainder } => {
            d.insert("$mod", vec![int_bson(*divisor), int_bson(*remainder)]);
        }
        Cond::Regex { pattern, options } => {
            d.insert("$regex", pattern.clone());
            if !options.is_empty() {
                d.insert("$options", options.clone());
            }
        }
        Cond::Bits { test, mask } => {
            d.insert(test.operator(), mask.to_bson());
        }
        Cond::Not(inner) => {
            let mut nd = Document::new();
            cond_into(inner, &mut nd);
            d.insert("$not", nd);
        }
        Cond::AllOf(conds) => {
            for c in conds {
                cond_into(c, d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn parse(d: Document) -> Result<Filter, QueryError> {
        Filter::parse(&d)
    }

    fn field(path: &str, cond: Cond) -> Filter {
        Filter::Field {
            path: path.into(),
            cond,
        }
    }

    fn re(p: &str, o: &str) -> Bson {
        Bson::RegularExpression(bson::Regex {
            pattern: p.to_string().try_into().unwrap(),
            options: o.to_string().try_into().unwrap(),
        })
    }

    fn err_text(d: Document) -> String {
        match parse(d) {
            Err(QueryError::Invalid(m)) => m,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn empty_query_is_all() {
        assert_eq!(parse(doc! {}), Ok(Filter::All));
    }

    #[test]
    fn implicit_equality_and_several_keys_make_an_and() {
        assert_eq!(parse(doc! {"a": 1}), Ok(field("a", Cond::Eq(1.into()))));
        assert_eq!(
            parse(doc! {"a": 1, "b": "x"}),
            Ok(Filter::And(vec![
                field("a", Cond::Eq(1.into())),
                field("b", Cond::Eq("x".into()))
            ]))
        );
    }

    #[test]
    fn a_document_value_without_operators_is_literal_equality() {
        assert_eq!(
            parse(doc! {"a": {"b": 1}}),
            Ok(field("a", Cond::Eq(doc! {"b": 1}.into())))
        );
        assert_eq!(
            parse(doc! {"a": {}}),
            Ok(field("a", Cond::Eq(doc! {}.into())))
        );
    }

    #[test]
    fn every_comparison_operator_parses() {
        let cases = [
            ("$eq", Cond::Eq(5.into())),
            ("$ne", Cond::Ne(5.into())),
            ("$gt", Cond::Gt(5.into())),
            ("$gte", Cond::Gte(5.into())),
            ("$lt", Cond::Lt(5.into())),
            ("$lte", Cond::Lte(5.into())),
        ];
        for (op, cond) in cases {
            let mut inner = Document::new();
            inner.insert(op, 5);
            assert_eq!(parse(doc! {"a": inner}), Ok(field("a", cond)), "{op}");
        }
    }

    #[test]
    fn several_operators_on_one_field_make_all_of() {
        assert_eq!(
            parse(doc! {"a": {"$gt": 1, "$lt": 5}}),
            Ok(field(
                "a",
                Cond::AllOf(vec![Cond::Gt(1.into()), Cond::Lt(5.into())])
            ))
        );
    }

    #[test]
    fn logical_operators_parse_recursively() {
        assert_eq!(
            parse(doc! {"$or": [{"a": 1}, {"$nor": [{"b": 2}]}]}),
            Ok(Filter::Or(vec![
                field("a", Cond::Eq(1.into())),
                Filter::Nor(vec![field("b", Cond::Eq(2.into()))])
            ]))
        );
        assert_eq!(
            parse(doc! {"$and": [{}]}),
            Ok(Filter::And(vec![Filter::All]))
        );
    }

    #[test]
    fn logical_operators_need_a_nonempty_array_of_documents() {
        assert!(err_text(doc! {"$or": {"a": 1}}).contains("array"));
        assert!(err_text(doc! {"$and": []}).contains("nonempty"));
        assert!(err_text(doc! {"$nor": [1]}).contains("full objects"));
    }

    #[test]
    fn in_and_nin_need_arrays() {
        assert_eq!(
            parse(doc! {"a": {"$in": [1, 2]}}),
            Ok(field("a", Cond::In(vec![1.into(), 2.into()])))
        );
        assert_eq!(
            parse(doc! {"a": {"$nin": []}}),
            Ok(field("a", Cond::Nin(vec![])))
        );
        assert!(err_text(doc! {"a": {"$in": 1}}).contains("$in needs an array"));
        assert!(err_text(doc! {"a": {"$nin": "x"}}).contains("$nin needs an array"));
        assert!(err_text(doc! {"a": {"$in": [{"$gt": 1}]}}).contains("cannot nest"));
    }

    #[test]
    fn exists_reads_bson_truthiness() {
        assert_eq!(
            parse(doc! {"a": {"$exists": 1}}),
            Ok(field("a", Cond::Exists(true)))
        );
        assert_eq!(
            parse(doc! {"a": {"$exists": 0}}),
            Ok(field("a", Cond::Exists(false)))
        );
        assert_eq!(
            parse(doc! {"a": {"$exists": Bson::Null}}),
            Ok(field("a", Cond::Exists(false)))
        );
        assert_eq!(
            parse(doc! {"a": {"$exists": "yes"}}),
            Ok(field("a", Cond::Exists(true)))
        );
    }

    #[test]
    fn type_accepts_numbers_aliases_and_lists() {
        assert_eq!(
            parse(doc! {"a": {"$type": 2}}),
            Ok(field("a", Cond::Type(vec![2])))
        );
        assert_eq!(
            parse(doc! {"a": {"$type": 2.0}}),
            Ok(field("a", Cond::Type(vec![2])))
        );
        assert_eq!(
            parse(doc! {"a": {"$type": "string"}}),
            Ok(field("a", Cond::Type(vec![2])))
        );
        assert_eq!(
            parse(doc! {"a": {"$type": "number"}}),
            Ok(field("a", Cond::Type(vec![1, 16, 18, 19])))
        );
        assert_eq!(
            parse(doc! {"a": {"$type": ["null", 127, -1]}}),
            Ok(field("a", Cond::Type(vec![10, 127, -1])))
        );
        assert!(err_text(doc! {"a": {"$type": "nope"}}).contains("unknown type"));
        assert!(err_text(doc! {"a": {"$type": 42}}).contains("invalid numerical type code"));
        assert!(err_text(doc! {"a": {"$type": []}}).contains("at least one"));
        assert!(err_text(doc! {"a": {"$type": true}}).contains("number or a string"));
    }

    #[test]
    fn size_needs_a_non_negative_whole_number() {
        assert_eq!(
            parse(doc! {"a": {"$size": 2}}),
            Ok(field("a", Cond::Size(2)))
        );
        assert_eq!(
            parse(doc! {"a": {"$size": 3.0}}),
            Ok(field("a", Cond::Size(3)))
        );
        assert!(err_text(doc! {"a": {"$size": 1.5}}).contains("whole number"));
        assert!(err_text(doc! {"a": {"$size": "2"}}).contains("whole number"));
        assert!(err_text(doc! {"a": {"$size": -1}}).contains("negative"));
    }

    #[test]
    fn mod_needs_two_numbers_and_a_nonzero_divisor() {
        assert_eq!(
            parse(doc! {"a": {"$mod": [4, 1]}}),
            Ok(field(
                "a",
                Cond::Mod {
                    divisor: 4,
                    remainder: 1
                }
            ))
        );
        assert_eq!(
            parse(doc! {"a": {"$mod": [4.9, -1.5]}}),
            Ok(field(
                "a",
                Cond::Mod {
                    divisor: 4,
                    remainder: -1
                }
            ))
        );
        assert!(err_text(doc! {"a": {"$mod": [0, 1]}}).contains("divisor cannot be 0"));
        assert!(err_text(doc! {"a": {"$mod": [4]}}).contains("two elements"));
        assert!(err_text(doc! {"a": {"$mod": [4, 1, 2]}}).contains("two elements"));
        assert!(err_text(doc! {"a": {"$mod": 4}}).contains("array"));
        assert!(err_text(doc! {"a": {"$mod": ["4", 1]}}).contains("numbers"));
        assert!(err_text(doc! {"a": {"$mod": [f64::NAN, 1]}}).contains("numbers"));
    }

    #[test]
    fn regex_takes_options_and_bson_regexes() {
        let r = |p: &str, o: &str| {
            field(
                "a",
                Cond::Regex {
                    pattern: p.into(),
                    options: o.into(),
                },
            )
        };
        assert_eq!(parse(doc! {"a": {"$regex": "^x"}}), Ok(r("^x", "")));
        assert_eq!(
            parse(doc! {"a": {"$regex": "^x", "$options": "im"}}),
            Ok(r("^x", "im"))
        );
        assert_eq!(
            parse(doc! {"a": {"$options": "i", "$regex": "^x"}}),
            Ok(r("^x", "i"))
        );
        assert_eq!(parse(doc! {"a": re("^x", "s")}), Ok(r("^x", "s")));
        assert_eq!(
            parse(doc! {"a": {"$regex": re("^x", "i")}}),
            Ok(r("^x", "i"))
        );
        assert_eq!(
            parse(doc! {"a": {"$regex": re("^x", "i"), "$options": "m"}}),
            Ok(r("^x", "m"))
        );
    }

    #[test]
    fn bad_regexes_are_invalid() {
        assert!(err_text(doc! {"a": {"$regex": "("}}).contains("invalid regular expression"));
        assert!(err_text(doc! {"a": {"$regex": "(?=x)"}}).contains("invalid regular expression"));
        assert!(err_text(doc! {"a": {"$regex": "x", "$options": "q"}}).contains("invalid flag"));
        assert!(err_text(doc! {"a": {"$options": "i"}}).contains("$options needs a $regex"));
        assert!(err_text(doc! {"a": {"$regex": 1}}).contains("string"));
        assert!(err_text(doc! {"a": {"$in": [re("(", "")]}}).contains("invalid regular expression"));
    }

    #[test]
    fn regex_values_in_in_are_kept_as_regexes() {
        assert_eq!(
            parse(doc! {"a": {"$in": [re("^a", ""), 1]}}),
            Ok(field("a", Cond::In(vec![re("^a", ""), 1.into()])))
        );
    }

    #[test]
    fn not_takes_an_operator_document_or_a_regex() {
        assert_eq!(
            parse(doc! {"a": {"$not": {"$gt": 5}}}),
            Ok(field("a", Cond::Not(Box::new(Cond::Gt(5.into())))))
        );
        assert_eq!(
            parse(doc! {"a": {"$not": re("x", "")}}),
            Ok(field(
                "a",
                Cond::Not(Box::new(Cond::Regex {
                    pattern: "x".into(),
                    options: "".into()
                }))
            ))
        );
        assert!(err_text(doc! {"a": {"$not": 5}}).contains("$not needs"));
        assert!(err_text(doc! {"a": {"$not": {"b": 1}}}).contains("$not needs"));
        assert!(err_text(doc! {"a": {"$not": {}}}).contains("empty"));
    }

    #[test]
    fn elem_match_document_and_value_forms() {
        assert_eq!(
            parse(doc! {"a": {"$elemMatch": {"b": 1}}}),
            Ok(field(
                "a",
                Cond::ElemMatch(ElemMatch::Document(Box::new(field(
                    "b",
                    Cond::Eq(1.into())
                ))))
            ))
        );
        assert_eq!(
            parse(doc! {"a": {"$elemMatch": {"$gte": 80, "$lt": 85}}}),
            Ok(field(
                "a",
                Cond::ElemMatch(ElemMatch::Value(vec![
                    Cond::Gte(80.into()),
                    Cond::Lt(85.into())
                ]))
            ))
        );
        assert_eq!(
            parse(doc! {"a": {"$elemMatch": {"$or": [{"b": 1}]}}}),
            Ok(field(
                "a",
                Cond::ElemMatch(ElemMatch::Document(Box::new(Filter::Or(vec![field(
                    "b",
                    Cond::Eq(1.into())
                )]))))
            ))
        );
        assert!(err_text(doc! {"a": {"$elemMatch": 1}}).contains("Object"));
    }

    #[test]
    fn all_validates_elem_match_members() {
        assert!(parse(doc! {"a": {"$all": [{"$elemMatch": {"b": 1}}]}}).is_ok());
        assert!(parse(doc! {"a": {"$all": [{"$elemMatch": {"b": {"$zz": 1}}}]}}).is_err());
        assert!(err_text(doc! {"a": {"$all": 1}}).contains("array"));
    }

    #[test]
    fn unknown_operators_are_invalid() {
        assert_eq!(err_text(doc! {"a": {"$foo": 1}}), "unknown operator: $foo");
        assert_eq!(
            err_text(doc! {"$foo": 1}),
            "unknown top level operator: $foo"
        );
        assert!(err_text(doc! {"a": {"$gt": 1, "b": 2}}).contains("unknown operator: b"));
    }

    #[test]
    fn operators_eve_knows_but_we_cannot_evaluate_are_reported_as_unsupported() {
        for d in [
            doc! {"$where": "this.a == 1"},
            doc! {"$text": {"$search": "x"}},
            doc! {"$expr": {"$gt": ["$a", 1]}},
            doc! {"a": {"$near": [0, 0]}},
            doc! {"a": {"$nearSphere": [0, 0]}},
            doc! {"a": {"$geoWithin": {}}},
            doc! {"a": {"$geoIntersects": {}}},
        ] {
            let op = match d.iter().next() {
                Some((k, Bson::Document(inner))) if !k.starts_with('$') => {
                    inner.keys().next().unwrap().clone()
                }
                Some((k, _)) => k.clone(),
                None => unreachable!(),
            };
            assert_eq!(
                err_text(d),
                format!("operator '{op}' is not supported by this data layer")
            );
        }
    }

    #[test]
    fn excessive_nesting_is_invalid_not_a_stack_overflow() {
        let mut d = doc! {"a": 1};
        for _ in 0..150 {
            d = doc! {"$and": [d]};
        }
        assert!(err_text(d).contains("nested"));
        let mut n = doc! {"$gt": 1};
        for _ in 0..150 {
            n = doc! {"$not": n};
        }
        assert!(err_text(doc! {"a": n}).contains("nested"));
    }

    #[test]
    fn printing_uses_explicit_eq_only_when_needed() {
        let f = field("a", Cond::Eq(re("x", "")));
        assert_eq!(f.to_document(), doc! {"a": {"$eq": re("x", "")}});
        let f = field("a", Cond::Eq(doc! {"$x": 1}.into()));
        assert_eq!(f.to_document(), doc! {"a": {"$eq": {"$x": 1}}});
        assert_eq!(field("a", Cond::Eq(1.into())).to_document(), doc! {"a": 1});
    }

    #[test]
    fn printing_round_trips_a_complex_query() {
        let q = doc! {
            "a": {"$gt": 1, "$lt": 5, "$not": {"$regex": "x", "$options": "i"}},
            "b.c": re("^y", "im"),
            "$or": [{"d": {"$in": [1, re("z", "")]}}, {"e": {"$elemMatch": {"f": {"$exists": false}}}}],
            "g": {"$elemMatch": {"$gte": 80, "$type": "number"}},
            "h": {"$size": 3, "$all": [1, 2], "$mod": [3, 0]},
            "i": {"$nin": [Bson::Null]},
        };
        let f = Filter::parse(&q).unwrap();
        assert_eq!(Filter::parse(&f.to_document()), Ok(f));
    }
}
