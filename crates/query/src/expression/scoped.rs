//! The expression operators that bind variables (`$filter`, `$map`,
//! `$reduce`, `$let`) or choose among branches (`$switch`). Variables are
//! read as `$$name` (or `$$name.path`); they are bound for the operator's
//! sub-expression only.

use bson::{Bson, Document};

use super::expr::{eval, parse_at, truthy, Expr, Val};
use super::{agg_err, type_name};
use crate::QueryError;

/// The variables bound where an expression is evaluated: a chain from
/// the innermost binding outwards.
pub(crate) struct Vars<'a> {
    bound: Vec<(&'a str, Bson)>,
    parent: Option<&'a Vars<'a>>,
}

impl<'a> Vars<'a> {
    fn one(name: &'a str, value: Bson, parent: Option<&'a Vars<'a>>) -> Vars<'a> {
        Vars {
            bound: vec![(name, value)],
            parent,
        }
    }

    /// The value bound to `name`, innermost first.
    pub(crate) fn lookup<'v>(vars: Option<&'v Vars<'v>>, name: &str) -> Option<&'v Bson> {
        let mut at = vars;
        while let Some(v) = at {
            if let Some((_, value)) = v.bound.iter().find(|(n, _)| *n == name) {
                return Some(value);
            }
            at = v.parent;
        }
        None
    }
}

/// A parsed scoped operator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scoped {
    /// `$switch`: the first branch whose case is true, else the default.
    Switch {
        branches: Vec<(Expr, Expr)>,
        default: Option<Expr>,
    },
    /// `$filter`: the elements of `input` for which `cond` is true.
    Filter {
        input: Expr,
        name: String,
        cond: Expr,
        limit: Option<Expr>,
    },
    /// `$map`: `body` evaluated for each element of `input`.
    Map {
        input: Expr,
        name: String,
        body: Expr,
    },
    /// `$reduce`: `body` folded over `input` with `$$value` and `$$this`.
    Reduce { input: Expr, init: Expr, body: Expr },
    /// `$let`: `body` with `vars` bound.
    Let {
        vars: Vec<(String, Expr)>,
        body: Expr,
    },
}

/// The fields of an operator's object argument, refusing unknown ones.
fn fields<'a>(name: &str, arg: &'a Bson, allowed: &[&str]) -> Result<&'a Document, QueryError> {
    let Bson::Document(d) = arg else {
        return Err(agg_err(format!(
            "{name} only supports an object as its argument"
        )));
    };
    if let Some(k) = d.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(agg_err(format!("{name}: unrecognized parameter '{k}'")));
    }
    Ok(d)
}

fn required<'a>(name: &str, d: &'a Document, key: &str) -> Result<&'a Bson, QueryError> {
    d.get(key)
        .ok_or_else(|| agg_err(format!("{name}: missing '{key}' parameter")))
}

fn var_name(name: &str, d: &Document, key: &str) -> Result<String, QueryError> {
    match d.get(key) {
        None => Ok("this".into()),
        Some(Bson::String(s)) if s.starts_with(|c: char| c.is_ascii_lowercase()) => Ok(s.clone()),
        Some(_) => Err(agg_err(format!(
            "{name}: '{key}' must be a variable name starting with a lower-case letter"
        ))),
    }
}

/// Parses `name` if it is a scoped operator.
pub(crate) fn parse(name: &str, arg: &Bson, depth: usize) -> Result<Option<Scoped>, QueryError> {
    let p = |v: &Bson| parse_at(v, depth);
    Ok(Some(match name {
        "$switch" => {
            let d = fields(name, arg, &["branches", "default"])?;
            let Some(Bson::Array(items)) = d.get("branches") else {
                return Err(agg_err("$switch expects an array for 'branches'".into()));
            };
            let mut branches = Vec::with_capacity(items.len());
            for b in items {
                let b = fields("$switch branch", b, &["case", "then"])?;
                branches.push((
                    p(required("$switch", b, "case")?)?,
                    p(required("$switch", b, "then")?)?,
                ));
            }
            if branches.is_empty() {
                return Err(agg_err("$switch requires at least one branch".into()));
            }
            Scoped::Switch {
                branches,
                default: d.get("default").map(p).transpose()?,
            }
        }
        "$filter" => {
            let d = fields(name, arg, &["input", "as", "cond", "limit"])?;
            Scoped::Filter {
                input: p(required(name, d, "input")?)?,
                name: var_name(name, d, "as")?,
                cond: p(required(name, d, "cond")?)?,
                limit: d.get("limit").map(p).transpose()?,
            }
        }
        "$map" => {
            let d = fields(name, arg, &["input", "as", "in"])?;
            Scoped::Map {
                input: p(required(name, d, "input")?)?,
                name: var_name(name, d, "as")?,
                body: p(required(name, d, "in")?)?,
            }
        }
        "$reduce" => {
            let d = fields(name, arg, &["input", "initialValue", "in"])?;
            Scoped::Reduce {
                input: p(required(name, d, "input")?)?,
                init: p(required(name, d, "initialValue")?)?,
                body: p(required(name, d, "in")?)?,
            }
        }
        "$let" => {
            let d = fields(name, arg, &["vars", "in"])?;
            let Some(Bson::Document(vars)) = d.get("vars") else {
                return Err(agg_err("$let: 'vars' must be an object".into()));
            };
            let mut bound = Vec::with_capacity(vars.len());
            for (k, v) in vars {
                if !k.starts_with(|c: char| c.is_ascii_lowercase()) {
                    return Err(agg_err(format!(
                        "$let: '{k}' must start with a lower-case letter"
                    )));
                }
                bound.push((k.clone(), p(v)?));
            }
            Scoped::Let {
                vars: bound,
                body: p(required(name, d, "in")?)?,
            }
        }
        _ => return Ok(None),
    }))
}

/// The array an iterating operator reads: `None` for null or missing
/// (the operator is then null), an error for any other type.
fn input_array(name: &str, v: Val) -> Result<Option<Vec<Bson>>, QueryError> {
    match v {
        None | Some(Bson::Null | Bson::Undefined) => Ok(None),
        Some(Bson::Array(items)) => Ok(Some(items)),
        Some(other) => Err(agg_err(format!(
            "input to {name} must be an array, not {}",
            type_name(Some(&other))
        ))),
    }
}

impl Scoped {
    pub(crate) fn eval(&self, doc: &Document, vars: Option<&Vars<'_>>) -> Result<Val, QueryError> {
        match self {
            Scoped::Switch { branches, default } => {
                for (case, then) in branches {
                    if truthy(&eval(case, doc, vars)?) {
                        return eval(then, doc, vars);
                    }
                }
                match default {
                    Some(d) => eval(d, doc, vars),
                    None => Err(agg_err(
                        "$switch could not find a matching branch for an input, and no default \
                         was specified"
                            .into(),
                    )),
                }
            }
            Scoped::Filter {
                input,
                name,
                cond,
                limit,
            } => {
                let Some(items) = input_array("$filter", eval(input, doc, vars)?)? else {
                    return Ok(Some(Bson::Null));
                };
                let limit = match limit {
                    None => usize::MAX,
                    Some(l) => match eval(l, doc, vars)? {
                        None | Some(Bson::Null) => usize::MAX,
                        Some(Bson::Int32(n)) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
                        Some(Bson::Int64(n)) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
                        Some(Bson::Double(n)) if n >= 1.0 && n.fract() == 0.0 => {
                            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                            let n = n as usize;
                            n
                        }
                        Some(_) => {
                            return Err(agg_err(
                                "$filter: 'limit' must be a positive whole number".into(),
                            ))
                        }
                    },
                };
                let mut out = Vec::new();
                for item in items {
                    if out.len() >= limit {
                        break;
                    }
                    let mut bound = Vars::one(name, item, vars);
                    if truthy(&eval(cond, doc, Some(&bound))?) {
                        out.push(bound.bound.swap_remove(0).1);
                    }
                }
                Ok(Some(Bson::Array(out)))
            }
            Scoped::Map { input, name, body } => {
                let Some(items) = input_array("$map", eval(input, doc, vars)?)? else {
                    return Ok(Some(Bson::Null));
                };
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let bound = Vars::one(name, item, vars);
                    out.push(eval(body, doc, Some(&bound))?.unwrap_or(Bson::Null));
                }
                Ok(Some(Bson::Array(out)))
            }
            Scoped::Reduce { input, init, body } => {
                let Some(items) = input_array("$reduce", eval(input, doc, vars)?)? else {
                    return Ok(Some(Bson::Null));
                };
                let mut acc = eval(init, doc, vars)?.unwrap_or(Bson::Null);
                for item in items {
                    let both = Vars {
                        bound: vec![("value", acc), ("this", item)],
                        parent: vars,
                    };
                    acc = eval(body, doc, Some(&both))?.unwrap_or(Bson::Null);
                }
                Ok(Some(acc))
            }
            Scoped::Let { vars: bound, body } => {
                // Every value is computed in the outer scope, then bound.
                let values = bound
                    .iter()
                    .map(|(_, e)| Ok(eval(e, doc, vars)?.unwrap_or(Bson::Null)))
                    .collect::<Result<Vec<_>, QueryError>>()?;
                let level = Vars {
                    bound: bound.iter().map(|(n, _)| n.as_str()).zip(values).collect(),
                    parent: vars,
                };
                eval(body, doc, Some(&level))
            }
        }
    }
}
