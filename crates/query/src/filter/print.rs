//! Printing a [`Filter`] back as a canonical MongoDB query document.

use bson::{Bson, Document};

use crate::ast::{Cond, ElemMatch, Filter};

use super::is_operator_doc;

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
        Filter::Expr(e) => {
            d.insert("$expr", e.raw().clone());
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
        Cond::Geo(g) => {
            let op = match g.op {
                crate::GeoOp::Within => "$geoWithin",
                crate::GeoOp::Intersects => "$geoIntersects",
            };
            d.insert(op, g.operand.clone());
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
