//! Keeping an aggregation pipeline to what the caller may read
//! (features.md §23.6 and §41, docs/auth-field.md): the documents of
//! other users of a user-restricted collection and the write-only fields
//! (an account's password, token, secret) never reach a stage.
//!
//! Every read of a collection gets its [`Guard`]: the pipeline's own
//! source a leading `$match` on the owner (merged into a leading `$match`
//! of the pipeline) and an `$unset` of the hidden fields; each `$lookup`
//! the same two stages in its sub-`pipeline` (MongoDB's concise form,
//! `localField`/`foreignField` with a `pipeline`; the in-memory engine
//! runs that form with `$match` and `$unset` sub-stages); each
//! `$unionWith` the same at the head of its pipeline; `$facet`
//! sub-pipelines are guarded stage by stage. A read that cannot be
//! guarded (`$graphLookup`, a `from` that is not a collection name, a
//! join on a hidden field, stages that read collection metadata) is
//! refused.

use bson::{doc, Bson, Document};

use crate::access::Access;
use crate::domain::{Domain, Resource};
use crate::error::{ApiError, ApiResult};

/// What one collection lets a pipeline read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Guard {
    /// The condition every document read must meet (the owner's
    /// `auth_field` values); `None`: every document.
    pub owner: Option<Document>,
    /// Top-level fields removed from every document read.
    pub hidden: Vec<String>,
}

impl Guard {
    /// Whether the guard lets everything through.
    pub fn is_open(&self) -> bool {
        self.owner.is_none() && self.hidden.is_empty()
    }

    /// Whether `path` (a dotted field path) is, or is inside, a hidden
    /// field.
    fn hides(&self, path: &str) -> bool {
        let top = path.split('.').next().unwrap_or(path);
        self.hidden.iter().any(|h| h == top)
    }
}

/// Stages that read collection metadata or other databases, or write:
/// never run when any read of the pipeline is guarded.
const UNGUARDABLE: &[&str] = &[
    "$collStats",
    "$indexStats",
    "$planCacheStats",
    "$search",
    "$searchMeta",
    "$vectorSearch",
    "$listSearchIndexes",
    "$changeStream",
    "$currentOp",
    "$listSessions",
    "$listLocalSessions",
    "$out",
    "$merge",
];

/// `stages`, a pipeline over a collection guarded by `top`, with every
/// read guarded: `guard_of` gives the guard of each collection a stage
/// joins. The error names the refused stage by its key path below
/// `path` (`pipeline[2].$lookup`).
pub fn guard_pipeline(
    stages: Vec<Document>,
    top: &Guard,
    guard_of: &dyn Fn(&str) -> Guard,
    path: &str,
) -> Result<Vec<Document>, String> {
    let any_guard = !top.is_open();
    let mut out = guard_stages(stages, guard_of, path, any_guard)?;
    if top.hidden.is_empty() && top.owner.is_none() {
        return Ok(out);
    }
    if !top.hidden.is_empty() {
        out.insert(0, doc! {"$unset": top.hidden.clone()});
    }
    if let Some(owner) = &top.owner {
        // Merged into a leading `$match` (a `$text` must stay in the
        // first stage), else a stage of its own.
        match out.first_mut().and_then(|s| s.get_mut("$match")) {
            Some(existing @ Bson::Document(_)) if top.hidden.is_empty() => {
                let theirs = std::mem::take(existing);
                *existing = Bson::Document(doc! {"$and": [owner.clone(), theirs]});
            }
            _ => out.insert(0, doc! {"$match": owner.clone()}),
        }
    }
    Ok(out)
}

/// Guards the reads nested in each stage (the stream itself is the
/// caller's concern). `guarded`: whether some read of the whole pipeline
/// is guarded, which refuses the [`UNGUARDABLE`] stages.
fn guard_stages(
    stages: Vec<Document>,
    guard_of: &dyn Fn(&str) -> Guard,
    path: &str,
    guarded: bool,
) -> Result<Vec<Document>, String> {
    stages
        .into_iter()
        .enumerate()
        .map(|(i, stage)| guard_stage(stage, guard_of, &format!("{path}[{i}]"), guarded))
        .collect()
}

/// One stage with its nested reads guarded.
fn guard_stage(
    mut stage: Document,
    guard_of: &dyn Fn(&str) -> Guard,
    path: &str,
    guarded: bool,
) -> Result<Document, String> {
    let Some(name) = stage.keys().next().cloned() else {
        return Ok(stage);
    };
    let here = format!("{path}.{name}");
    let refuse = |why: &str| Err(format!("{here}: {why}"));
    if guarded && UNGUARDABLE.contains(&name.as_str()) {
        return refuse(
            "this stage cannot be kept to the caller's documents (user-restricted access)",
        );
    }
    let Some(arg) = stage.get_mut(&name) else {
        return Ok(stage);
    };
    match (name.as_str(), arg) {
        ("$facet", Bson::Document(spec)) => {
            for (facet, sub) in spec.iter_mut() {
                if let Bson::Array(items) = sub {
                    let inner = take_stages(items, &format!("{here}.{facet}"))?;
                    let done = guard_stages(inner, guard_of, &format!("{here}.{facet}"), guarded)?;
                    *items = done.into_iter().map(Bson::Document).collect();
                }
            }
        }
        ("$lookup", Bson::Document(spec)) => {
            let guard = match spec.get("from") {
                None => Guard::default(),
                Some(Bson::String(from)) => guard_of(from),
                Some(_) => return refuse("'from' must name a collection of this database"),
            };
            if let Some(Bson::String(foreign)) = spec.get("foreignField") {
                if guard.hides(foreign) {
                    return refuse(&format!("'foreignField' {foreign} is a hidden field"));
                }
            }
            let inner = match spec.get_mut("pipeline") {
                Some(Bson::Array(items)) => take_stages(items, &format!("{here}.pipeline"))?,
                Some(_) => return refuse("'pipeline' must be a list of stages"),
                None => Vec::new(),
            };
            let inner = guard_pipeline(inner, &guard, guard_of, &format!("{here}.pipeline"))?;
            if !inner.is_empty() || spec.contains_key("pipeline") {
                spec.insert(
                    "pipeline",
                    inner.into_iter().map(Bson::Document).collect::<Vec<_>>(),
                );
            }
        }
        ("$graphLookup", Bson::Document(spec)) => {
            let open = match spec.get("from") {
                Some(Bson::String(from)) => guard_of(from).is_open(),
                _ => false,
            };
            if !open {
                return refuse(
                    "$graphLookup cannot be kept to the caller's documents of a \
                     user-restricted collection, nor hide its write-only fields",
                );
            }
        }
        ("$graphLookup", _) => return refuse("the argument must be a mapping"),
        ("$unionWith", arg) => {
            let (coll, inner) = match arg {
                Bson::String(c) => (Some(c.clone()), Vec::new()),
                Bson::Document(spec) => {
                    let coll = match spec.get("coll") {
                        None => None,
                        Some(Bson::String(c)) => Some(c.clone()),
                        Some(_) => return refuse("'coll' must name a collection of this database"),
                    };
                    let inner = match spec.get_mut("pipeline") {
                        Some(Bson::Array(items)) => {
                            take_stages(items, &format!("{here}.pipeline"))?
                        }
                        Some(_) => return refuse("'pipeline' must be a list of stages"),
                        None => Vec::new(),
                    };
                    (coll, inner)
                }
                _ => return refuse("the argument must be a collection name or a mapping"),
            };
            let guard = coll.as_deref().map(guard_of).unwrap_or_default();
            let inner = guard_pipeline(inner, &guard, guard_of, &format!("{here}.pipeline"))?;
            let mut spec = Document::new();
            if let Some(c) = coll {
                spec.insert("coll", c);
            }
            spec.insert(
                "pipeline",
                inner.into_iter().map(Bson::Document).collect::<Vec<_>>(),
            );
            *arg = Bson::Document(spec);
        }
        _ => {}
    }
    Ok(stage)
}

/// The guard of `collection` for a request: the owner condition of every
/// resource stored in it (or in it as its versions collection) that
/// restricts a `GET` by `access` ([`Access::owner_field_for`]), plus
/// `top`'s own when given (the aggregation resource, for its source), and
/// the write-only fields of those resources and the fields their read
/// roles hide from the caller (features.md §23.7).
fn request_guard(
    domain: &Domain,
    access: &Access,
    collection: &str,
    top: Option<&Resource>,
) -> Guard {
    let reader = access.as_reader();
    let mut fields: Vec<&str> = Vec::new();
    let mut hidden: Vec<String> = Vec::new();
    for r in domain.resources.values() {
        if r.datasource.aggregation.is_some() {
            continue;
        }
        let stored_here = r.datasource.source == collection
            || r.versions_collection(&domain.settings).as_deref() == Some(collection);
        if !stored_here {
            continue;
        }
        fields.extend(reader.owner_field_for(r));
        let role_hidden = reader.hidden_fields(r).into_iter().map(str::to_string);
        for s in r.secret_fields.iter().cloned().chain(role_hidden) {
            if !hidden.contains(&s) {
                hidden.push(s);
            }
        }
    }
    fields.extend(top.and_then(|r| access.owner_field_for(r)));
    let owner = access
        .owner_value
        .as_ref()
        .filter(|_| !fields.is_empty())
        .map(|v| {
            let mut d = Document::new();
            for f in fields {
                d.insert(f, v.clone());
            }
            d
        });
    Guard { owner, hidden }
}

/// The pipeline a request runs on an aggregation resource `res`, kept to
/// what `access` may read ([`guard_pipeline`], with the guards of
/// [`request_guard`]); a read that cannot be guarded is
/// [`ApiError::AggregationRefused`].
pub fn guard_request_pipeline(
    domain: &Domain,
    access: &Access,
    res: &Resource,
    stages: Vec<Document>,
) -> ApiResult<Vec<Document>> {
    let top = request_guard(domain, access, &res.datasource.source, Some(res));
    let guard_of = |c: &str| request_guard(domain, access, c, None);
    guard_pipeline(stages, &top, &guard_of, "pipeline").map_err(ApiError::AggregationRefused)
}

/// The guard of `collection` whoever asks: the owner condition of every
/// resource stored in it with an `auth_field` (public methods aside) and
/// their write-only fields. The start-up check of settings pipelines
/// uses it, so a pipeline that could not be guarded for some caller is
/// refused before any request.
pub fn strictest_guard(
    domain_resources: &[&Resource],
    versions_suffix: &str,
    collection: &str,
) -> Guard {
    let mut owner = Document::new();
    let mut hidden: Vec<String> = Vec::new();
    for r in domain_resources {
        if r.datasource.aggregation.is_some() {
            continue;
        }
        let versions = format!("{}{versions_suffix}", r.datasource.source);
        if r.datasource.source != collection && !(r.versioning && versions == collection) {
            continue;
        }
        if let Some(f) = &r.auth_field {
            owner.insert(f.clone(), Bson::Null);
        }
        let role_hidden = r.field_roles.iter().filter(|f| !f.read.is_empty());
        let role_hidden = role_hidden.map(|f| f.field.clone());
        for s in r.secret_fields.iter().cloned().chain(role_hidden) {
            if !hidden.contains(&s) {
                hidden.push(s);
            }
        }
    }
    Guard {
        owner: (!owner.is_empty()).then_some(owner),
        hidden,
    }
}

/// The stage documents of a nested pipeline, taken out of `items`.
fn take_stages(items: &mut Vec<Bson>, path: &str) -> Result<Vec<Document>, String> {
    std::mem::take(items)
        .into_iter()
        .enumerate()
        .map(|(i, s)| match s {
            Bson::Document(d) => Ok(d),
            _ => Err(format!("{path}[{i}]: each stage must be a mapping")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(c: &str) -> Guard {
        match c {
            "posts" => Guard {
                owner: Some(doc! {"owner": "ann"}),
                hidden: Vec::new(),
            },
            "accounts" => Guard {
                owner: None,
                hidden: vec!["password".into()],
            },
            _ => Guard::default(),
        }
    }

    fn run(stages: Vec<Document>, top: &str) -> Result<Vec<Document>, String> {
        guard_pipeline(stages, &owned(top), &owned, "pipeline")
    }

    #[test]
    fn the_source_gets_a_leading_owner_match() {
        let out = run(vec![doc! {"$group": {"_id": "$tag"}}], "posts").unwrap();
        assert_eq!(
            out,
            vec![
                doc! {"$match": {"owner": "ann"}},
                doc! {"$group": {"_id": "$tag"}}
            ]
        );
        // merged into a leading $match
        let out = run(vec![doc! {"$match": {"a": 1}}], "posts").unwrap();
        assert_eq!(
            out,
            vec![doc! {"$match": {"$and": [{"owner": "ann"}, {"a": 1}]}}]
        );
        // an open collection is left alone
        let stages = vec![doc! {"$match": {"a": 1}}];
        assert_eq!(run(stages.clone(), "tags").unwrap(), stages);
    }

    #[test]
    fn lookups_get_the_joined_collections_guard() {
        let out = run(
            vec![doc! {"$facet": {"x": [{"$lookup": {
            "from": "posts", "localField": "a", "foreignField": "b", "as": "j"}}]}}],
            "tags",
        )
        .unwrap();
        assert_eq!(
            out,
            vec![doc! {"$facet": {"x": [{"$lookup": {
            "from": "posts", "localField": "a", "foreignField": "b", "as": "j",
            "pipeline": [{"$match": {"owner": "ann"}}]}}]}}]
        );
        let out = run(
            vec![doc! {"$lookup": {"from": "accounts", "pipeline": [{"$match": {"x": 1}}], "as": "j"}}],
            "tags",
        )
        .unwrap();
        assert_eq!(
            out,
            vec![doc! {"$lookup": {"from": "accounts", "as": "j",
            "pipeline": [{"$unset": ["password"]}, {"$match": {"x": 1}}]}}]
        );
    }

    #[test]
    fn unguardable_reads_are_refused_with_their_path() {
        let err = run(
            vec![
                doc! {"$match": {}},
                doc! {"$graphLookup": {"from": "posts", "startWith": "$a",
                "connectFromField": "a", "connectToField": "b", "as": "g"}},
            ],
            "tags",
        )
        .unwrap_err();
        assert!(err.starts_with("pipeline[1].$graphLookup:"), "{err}");
        let err = run(
            vec![doc! {"$lookup": {"from": "accounts", "localField": "u",
            "foreignField": "password", "as": "j"}}],
            "tags",
        )
        .unwrap_err();
        assert!(err.contains("hidden field"), "{err}");
        let err = run(vec![doc! {"$collStats": {}}], "posts").unwrap_err();
        assert!(err.starts_with("pipeline[0].$collStats"), "{err}");
        let out = run(vec![doc! {"$unionWith": "posts"}], "tags").unwrap();
        assert_eq!(
            out,
            vec![
                doc! {"$unionWith": {"coll": "posts", "pipeline": [{"$match": {"owner": "ann"}}]}}
            ]
        );
    }
}
