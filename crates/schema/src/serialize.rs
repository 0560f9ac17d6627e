//! Eve's type serializers (features.md §1.4): converts incoming payload
//! values to the stored types before validation, driven by the schema.
//! Values that do not convert are left as they are for validation to
//! report.

use std::str::FromStr;

use bson::{oid::ObjectId, Bson, Decimal128, Document};
use eve_query::DateFormat;

use crate::coerce::{int_bson, parse_py_float, parse_py_int};
use crate::compile::{Check, FieldMap, Rules, SubSchema, Ty};
use crate::pyfmt;
use crate::registry::Registry;

pub(crate) struct Serializer<'a> {
    pub registry: &'a Registry,
    pub date_format: &'a DateFormat,
}

impl Serializer<'_> {
    pub(crate) fn fields(&self, doc: &mut Document, fields: &FieldMap) {
        for (name, value) in doc.iter_mut() {
            if let Some(rules) = fields.get(name) {
                self.value(value, rules);
            }
        }
    }

    pub(crate) fn value(&self, value: &mut Bson, rules: &Rules) {
        if *value == Bson::Null {
            return;
        }
        // Alternatives of logical rules (and their typesavers).
        for c in &rules.checks {
            if let Check::Logic { defs, .. } = c {
                for d in defs {
                    self.value(value, d);
                }
            }
        }
        match (&rules.schema, &mut *value) {
            (Some(SubSchema::Dict(fields)), Bson::Document(d)) => return self.fields(d, fields),
            (Some(SubSchema::List(item)), Bson::Array(a)) => {
                for x in a.iter_mut() {
                    self.value(x, item);
                }
                return;
            }
            (Some(_), _) => return,
            _ => {}
        }
        if let (Some(items), Bson::Array(a)) = (&rules.items, &mut *value) {
            for (x, r) in a.iter_mut().zip(items) {
                self.value(x, r);
            }
            return;
        }
        // Mapping values (`valuesrules`, legacy `valueschema`) are stored
        // as sent. Eve's serializer has a `valueschema` branch (objectid and
        // dict values), but Cerberus renames that rule to `valuesrules` in
        // the schema when the first validator is built, so the branch never
        // runs: on the oracle `{"k": "1"}` against an integer rule is a 422
        // and a dict value's fields are not converted either.
        if let (Some(_), Bson::Document(_)) = (&rules.valuesrules, &*value) {
            return;
        }
        for t in rules.types.iter().flatten() {
            if let Some(v) = self.scalar(t, value) {
                *value = v;
            }
        }
    }

    /// The converted value, or `None` to leave it.
    fn scalar(&self, t: &Ty, v: &Bson) -> Option<Bson> {
        match t {
            // Safer than Eve's `int(value)`: only integral values convert.
            Ty::Integer => match v {
                Bson::Boolean(b) => Some(Bson::Int32(*b as i32)),
                Bson::Double(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
                    Some(int_bson(*f as i64))
                }
                Bson::String(s) => parse_py_int(s).map(int_bson),
                _ => None,
            },
            Ty::Float => match v {
                Bson::String(s) => parse_py_float(s).map(Bson::Double),
                other => match pyfmt::as_num(other)? {
                    pyfmt::Num::Int(i) => Some(Bson::Double(i as f64)),
                    pyfmt::Num::Float(_) => None,
                },
            },
            Ty::Number => match v {
                Bson::String(s) => serde_json::from_str::<serde_json::Value>(s)
                    .ok()
                    .map(|j| eve_query::json_to_bson(&j)),
                _ => None,
            },
            Ty::Boolean => {
                let s = match v {
                    Bson::String(s) => s.to_lowercase(),
                    Bson::Int32(i) => i.to_string(),
                    Bson::Int64(i) => i.to_string(),
                    _ => return None,
                };
                match s.as_str() {
                    "1" | "true" => Some(Bson::Boolean(true)),
                    "0" | "false" => Some(Bson::Boolean(false)),
                    _ => None,
                }
            }
            Ty::Datetime => match v {
                Bson::String(s) => self.date_format.parse(s).map(Bson::DateTime),
                _ => None,
            },
            Ty::ObjectId => {
                if !pyfmt::truthy(v) {
                    return Some(Bson::Null);
                }
                match v {
                    Bson::String(s) => ObjectId::parse_str(s).ok().map(Bson::ObjectId),
                    _ => None,
                }
            }
            Ty::DbRef => {
                let Bson::Document(d) = v else { return None };
                let coll = d.get("$col").or_else(|| d.get("$ref"))?;
                let Bson::String(coll) = coll else {
                    return None;
                };
                let id = d.get("$id")?.clone();
                let mut out = Document::new();
                out.insert("$ref", coll.clone());
                out.insert("$id", id);
                match d.get("$db") {
                    None | Some(Bson::Null) => {}
                    Some(Bson::String(db)) => {
                        out.insert("$db", db.clone());
                    }
                    Some(_) => return None,
                }
                Some(Bson::Document(out))
            }
            Ty::Decimal => {
                let text = match v {
                    Bson::String(s) => s.trim().to_string(),
                    Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) => pyfmt::py_str(v),
                    _ => return None,
                };
                let looks_numeric = text.parse::<f64>().is_ok()
                    || matches!(
                        text.to_ascii_lowercase().trim_start_matches(['+', '-']),
                        "nan" | "inf" | "infinity"
                    );
                if !looks_numeric {
                    return None;
                }
                Decimal128::from_str(&text).ok().map(Bson::Decimal128)
            }
            Ty::Custom(name) => self
                .registry
                .types
                .get(name)
                .and_then(|t| t.serializer.as_ref())
                .and_then(|f| f(v)),
            _ => None,
        }
    }
}
