//! The stages that hold more than one document stream: `$facet` (several
//! sub-pipelines over the same input), `$lookup` (a join with another
//! collection) and `$bucket` (grouping by ranges).

use std::collections::BTreeMap;

use bson::{Bson, Document};

use super::expr::Expr;
use super::group::GroupSpec;
use super::stages::{as_doc, bounded_map};
use super::{
    agg_err, check_field_name, doc_size, memory_error, type_name, BsonKey, Pipeline, RunCtx,
};
use crate::compare::compare_bson;
use crate::path::resolve;
use crate::QueryError;

/// A `$facet`: named sub-pipelines, each run over the whole input; the
/// output is one document with each name bound to its results.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Facet {
    facets: Vec<(String, Pipeline)>,
}

impl Facet {
    pub(crate) fn parse(spec: &Document) -> Result<Facet, QueryError> {
        if spec.is_empty() {
            return Err(agg_err(
                "the $facet specification must be a non-empty object".into(),
            ));
        }
        let mut facets = Vec::with_capacity(spec.len());
        for (name, v) in spec {
            check_field_name(name, "$facet")?;
            let Bson::Array(items) = v else {
                return Err(agg_err(format!(
                    "arguments to $facet must be arrays, '{name}' is type {}",
                    type_name(Some(v))
                )));
            };
            if items.is_empty() {
                return Err(agg_err(format!(
                    "the $facet sub-pipeline '{name}' must not be empty"
                )));
            }
            let stages = items
                .iter()
                .map(|s| match s {
                    Bson::Document(d) => Ok(d.clone()),
                    other => Err(agg_err(format!(
                        "each stage of the $facet sub-pipeline '{name}' must be an object, not {}",
                        type_name(Some(other))
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let pipeline = Pipeline::parse(&stages)?;
            if pipeline.has_facet_forbidden_stage() {
                return Err(agg_err(
                    "$facet is not allowed to be used within a $facet stage".into(),
                ));
            }
            facets.push((name.clone(), pipeline));
        }
        Ok(Facet { facets })
    }

    pub(crate) fn lookup_collections(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, p) in &self.facets {
            for c in p.lookup_collections() {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    }

    pub(crate) fn run(
        &self,
        docs: Vec<Document>,
        cx: &RunCtx<'_>,
    ) -> Result<Vec<Document>, QueryError> {
        let limit = cx.limits.memory_bytes;
        let mut out = Document::new();
        let mut bytes = 0usize;
        let last = self.facets.len().saturating_sub(1);
        let mut docs = Some(docs);
        for (i, (name, pipeline)) in self.facets.iter().enumerate() {
            // The last facet takes the input; the others a copy of it.
            let input = if i == last {
                docs.take().unwrap_or_default()
            } else {
                docs.clone().unwrap_or_default()
            };
            let results = pipeline.run_stages(input, cx)?;
            bytes = results
                .iter()
                .map(doc_size)
                .fold(bytes, usize::saturating_add);
            if bytes > limit {
                return Err(memory_error("$facet", limit));
            }
            out.insert(
                name.clone(),
                Bson::Array(results.into_iter().map(Bson::Document).collect()),
            );
        }
        Ok(vec![out])
    }
}

/// A `$lookup` in its equality form: `{from, localField, foreignField,
/// as}`, optionally with a `pipeline` of `$match` and `$unset` stages
/// (MongoDB's concise form), which the joined documents pass through.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lookup {
    pub(crate) from: String,
    local: String,
    foreign: String,
    as_field: String,
    /// The `$match`/`$unset` stages of `pipeline`, in order.
    pipeline: Vec<super::stages::Stage>,
}

impl Lookup {
    pub(crate) fn parse(spec: &Document) -> Result<Lookup, QueryError> {
        let field = |k: &str| -> Result<String, QueryError> {
            match spec.get(k) {
                Some(Bson::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(other) => Err(agg_err(format!(
                    "$lookup argument '{k}' must be a string, is type {}",
                    type_name(Some(other))
                ))),
                None => Err(agg_err(format!("$lookup requires the field '{k}'"))),
            }
        };
        if let Some(k) = spec.keys().find(|k| {
            !matches!(
                k.as_str(),
                "from" | "localField" | "foreignField" | "as" | "pipeline"
            )
        }) {
            return Err(agg_err(format!(
                "$lookup: the argument '{k}' is not supported (only the equality form: from, \
                 localField, foreignField, as, and a pipeline of $match and $unset stages)"
            )));
        }
        let pipeline = match spec.get("pipeline") {
            None => Vec::new(),
            Some(Bson::Array(items)) => items
                .iter()
                .map(|s| match s {
                    Bson::Document(d) if d.contains_key("$match") || d.contains_key("$unset") => {
                        super::stages::Stage::parse(d)
                    }
                    _ => Err(agg_err(
                        "$lookup: only $match and $unset stages are supported in its pipeline"
                            .into(),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(agg_err("$lookup: 'pipeline' must be an array".into())),
        };
        let lookup = Lookup {
            from: field("from")?,
            local: field("localField")?,
            foreign: field("foreignField")?,
            as_field: field("as")?,
            pipeline,
        };
        for path in [&lookup.local, &lookup.foreign, &lookup.as_field] {
            if path.starts_with('$') || path.split('.').any(str::is_empty) {
                return Err(agg_err(format!("$lookup: invalid field path '{path}'")));
            }
        }
        Ok(lookup)
    }

    pub(crate) fn run(
        &self,
        docs: Vec<Document>,
        cx: &RunCtx<'_>,
    ) -> Result<Vec<Document>, QueryError> {
        let empty = Vec::new();
        let foreign = cx.foreign.get(&self.from).unwrap_or(&empty);
        // Index the foreign documents by every value of the foreign field
        // (an array by itself and by each element; missing as null).
        let mut index: BTreeMap<BsonKey, Vec<usize>> = BTreeMap::new();
        for (i, d) in foreign.iter().enumerate() {
            for key in keys_at(d, &self.foreign, true) {
                let slot = index.entry(BsonKey(key)).or_default();
                if slot.last() != Some(&i) {
                    slot.push(i);
                }
            }
        }
        let max = cx.limits.max_lookup;
        bounded_map(docs, cx.limits.memory_bytes, "$lookup", |mut doc| {
            let mut hits: Vec<usize> = Vec::new();
            for key in keys_at(&doc, &self.local, false) {
                if let Some(found) = index.get(&BsonKey(key)) {
                    hits.extend(found);
                }
            }
            hits.sort_unstable();
            hits.dedup();
            if hits.len() > max {
                return Err(agg_err(format!(
                    "$lookup from '{}' joined {} documents to one document, more than the \
                     limit of {max} (AGGREGATION_MAX_LOOKUP)",
                    self.from,
                    hits.len()
                )));
            }
            let mut joined: Vec<Document> = hits.into_iter().map(|i| foreign[i].clone()).collect();
            // As MongoDB's concise form: the sub-pipeline runs on the
            // documents the equality joined.
            for stage in &self.pipeline {
                joined = stage.run(joined, None, cx)?;
            }
            let joined = joined.into_iter().map(Bson::Document).collect();
            super::stages::set_path(&mut doc, &self.as_field, Bson::Array(joined));
            Ok(doc)
        })
    }
}

/// The values a `$lookup` matches on at `path`: each value reached (an
/// array's elements, and for the foreign side the array itself), null
/// when nothing is reached.
fn keys_at(doc: &Document, path: &str, whole_arrays: bool) -> Vec<Bson> {
    let mut out = Vec::new();
    for v in resolve(doc, path) {
        match v {
            Some(Bson::Array(items)) => {
                out.extend(items.iter().cloned());
                if whole_arrays {
                    out.push(Bson::Array(items.clone()));
                }
            }
            Some(v) => out.push(v.clone()),
            None => out.push(Bson::Null),
        }
    }
    if out.is_empty() {
        out.push(Bson::Null);
    }
    out
}

/// A `$bucket`: documents grouped by the range of boundaries their
/// `groupBy` value falls in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bucket {
    group_by: Expr,
    boundaries: Vec<Bson>,
    default: Option<Bson>,
    output: GroupSpec,
}

impl Bucket {
    pub(crate) fn parse(spec: &Document) -> Result<Bucket, QueryError> {
        if let Some(k) = spec
            .keys()
            .find(|k| !matches!(k.as_str(), "groupBy" | "boundaries" | "default" | "output"))
        {
            return Err(agg_err(format!("unrecognized option to $bucket: {k}")));
        }
        let group_by = match spec.get("groupBy") {
            Some(v @ Bson::String(s)) if s.starts_with('$') => Expr::parse(v)?,
            Some(v @ Bson::Document(_)) => Expr::parse(v)?,
            Some(_) => {
                return Err(agg_err(
                    "the $bucket 'groupBy' field must be a $-prefixed path or an expression".into(),
                ))
            }
            None => {
                return Err(agg_err(
                    "$bucket requires 'groupBy' and 'boundaries'".into(),
                ))
            }
        };
        let boundaries = match spec.get("boundaries") {
            Some(Bson::Array(b)) if b.len() >= 2 => b.clone(),
            Some(_) => {
                return Err(agg_err(
                    "the $bucket 'boundaries' field must be an array of at least two values".into(),
                ))
            }
            None => {
                return Err(agg_err(
                    "$bucket requires 'groupBy' and 'boundaries'".into(),
                ))
            }
        };
        for pair in boundaries.windows(2) {
            let same_type = numeric(&pair[0]) && numeric(&pair[1])
                || std::mem::discriminant(&pair[0]) == std::mem::discriminant(&pair[1]);
            if !same_type {
                return Err(agg_err(
                    "all values in the $bucket 'boundaries' must have the same type".into(),
                ));
            }
            if compare_bson(&pair[0], &pair[1]) != std::cmp::Ordering::Less {
                return Err(agg_err(
                    "the $bucket 'boundaries' must be sorted in ascending order".into(),
                ));
            }
        }
        let default = spec.get("default").cloned();
        if let Some(d) = &default {
            let lo = &boundaries[0];
            let hi = &boundaries[boundaries.len() - 1];
            let inside = compare_bson(d, lo) != std::cmp::Ordering::Less
                && compare_bson(d, hi) == std::cmp::Ordering::Less;
            let comparable = numeric(d) && numeric(lo)
                || std::mem::discriminant(d) == std::mem::discriminant(lo);
            if inside && comparable {
                return Err(agg_err(
                    "the $bucket 'default' must be less than the lowest boundary or greater \
                     than or equal to the highest boundary"
                        .into(),
                ));
            }
        }
        let output = match spec.get("output") {
            None => GroupSpec::from_output(&bson::doc! {"count": {"$sum": 1}}, "$bucket")?,
            Some(v) => GroupSpec::from_output(as_doc(v, "$bucket output")?, "$bucket")?,
        };
        Ok(Bucket {
            group_by,
            boundaries,
            default,
            output,
        })
    }

    pub(crate) fn run(
        &self,
        docs: Vec<Document>,
        limit: usize,
    ) -> Result<Vec<Document>, QueryError> {
        let key = |doc: &Document| -> Result<Bson, QueryError> {
            let v = self.group_by.eval(doc)?.unwrap_or(Bson::Null);
            let lo = &self.boundaries[0];
            let comparable = numeric(&v) && numeric(lo)
                || std::mem::discriminant(&v) == std::mem::discriminant(lo);
            if comparable {
                // The last boundary not above the value, if the value is
                // below the highest boundary.
                let upper = self
                    .boundaries
                    .partition_point(|b| compare_bson(b, &v) != std::cmp::Ordering::Greater);
                if upper > 0 && upper < self.boundaries.len() {
                    return Ok(self.boundaries[upper - 1].clone());
                }
            }
            self.default.clone().ok_or_else(|| {
                agg_err(
                    "$bucket could not find a matching branch for an input, and no default \
                     was specified"
                        .into(),
                )
            })
        };
        let mut groups = self.output.run_keyed(docs, limit, key)?;
        // Buckets in boundary order, the default bucket last.
        let rank = |d: &Document| {
            let id = d.get("_id").unwrap_or(&Bson::Null);
            self.boundaries
                .iter()
                .position(|b| compare_bson(b, id) == std::cmp::Ordering::Equal)
                .unwrap_or(usize::MAX)
        };
        groups.sort_by_key(rank);
        let bytes = groups
            .iter()
            .map(doc_size)
            .fold(0usize, usize::saturating_add);
        if bytes > limit {
            return Err(memory_error("$bucket", limit));
        }
        Ok(groups)
    }
}

fn numeric(v: &Bson) -> bool {
    matches!(
        v,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
    )
}
