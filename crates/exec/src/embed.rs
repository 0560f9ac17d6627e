//! Embedding (features.md §30): references replaced by the documents they
//! name, for the paths the request resolved
//! ([`eve_core::embed::parse_embedded`]).
//!
//! Batched: for each path, the references of every document of the answer
//! (a page, an item, a write's documents) are collected first, then each
//! related resource is read with ONE query — an `$in` over the distinct
//! ids through the data layer's `find` — scoped and projected as a read of
//! that resource is ([`scope_filter`]: its datasource filter, the owner
//! filter, the soft-delete slot; [`projection_for`]: its datasource
//! projection). So embedding never shows a document, or a field, that a
//! GET on the related resource would not. A page of 25 documents with two
//! embedded relations costs two extra queries, never 50.
//!
//! Soft delete (features.md §31.4) needs nothing here: the related
//! resource's [`scope_filter`] hides soft-deleted documents, so one is not
//! found and embeds as missing (`null`). The `404` body of a soft-deleted
//! item (§31.1) is served without embedding (`fetch_item` skips it).
//!
//! `EMBEDDED_MAX_DOCUMENTS` bounds the references one answer looks up
//! (over all paths and nesting levels), checked before each query: more is
//! [`ApiError::TooManyEmbeddedDocuments`] (400).

use std::cmp::Ordering;

use bson::{Bson, Document};
use eve_core::embed::EmbedPath;
use eve_core::plan::{convert_value, projection_for, scope_filter};
use eve_core::{ApiError, ApiResult, Domain};
use eve_query::{compare_bson, Cond, Filter};
use eve_store::FindQuery;

use crate::{Access, Executor};

mod versioned;

pub(crate) use versioned::version_missing;

/// The references of one related resource that one path looks up.
struct Group {
    /// The related resource (a DBRef names its own).
    resource: String,
    /// The field the references match.
    field: String,
    /// The references, distinct, in MongoDB order.
    ids: Vec<Bson>,
    /// What the query found: (value of `field`, document), in MongoDB
    /// order of the values.
    found: Vec<(Bson, Document)>,
}

impl Group {
    /// The document a reference names, if the query found it.
    fn get(&self, id: &Bson) -> Option<&Document> {
        self.found
            .binary_search_by(|(key, _)| compare_bson(key, id))
            .ok()
            .map(|i| &self.found[i].1)
    }
}

/// A DBRef (`{"$ref": <collection>, "$id": <id>}`): the resource it names
/// and its id.
fn dbref(d: &Document) -> Option<(&str, &Bson)> {
    Some((d.get_str("$ref").ok()?, d.get("$id")?))
}

/// What a reference looks up: (resource, field, id), or `None` for a value
/// that names no document (null, a sub-document, a list, a pattern...),
/// which embeds as missing.
fn lookup_of<'a>(path: &'a EmbedPath, value: &'a Bson) -> Option<(&'a str, &'a str, &'a Bson)> {
    match value {
        // A DBRef is matched on `_id` of the resource its `$ref` names,
        // whatever that resource's id field (as Eve).
        Bson::Document(d) => dbref(d).map(|(r, id)| (r, "_id", id)),
        Bson::ObjectId(_)
        | Bson::String(_)
        | Bson::Int32(_)
        | Bson::Int64(_)
        | Bson::Double(_)
        | Bson::Decimal128(_)
        | Bson::DateTime(_)
        | Bson::Boolean(_)
        | Bson::Binary(_)
        | Bson::Timestamp(_)
        | Bson::Symbol(_) => Some((&path.resource, &path.field, value)),
        _ => None,
    }
}

/// The value a reference is looked up by: the value as stored, except a
/// DBRef's `$id`, converted as a query value of the related resource is
/// (a DBRef sent as JSON keeps a string `$id`, which the `data_relation`
/// check converts: Eve compares the string with the ObjectId and embeds
/// `null`, eve-rs embeds the document that check found).
fn key_of(domain: &Domain, reference: &Bson, resource: &str, field: &str, id: &Bson) -> Bson {
    match (reference, domain.resources.get(resource)) {
        (Bson::Document(_), Some(target)) => convert_value(domain, target, field, id.clone()),
        _ => id.clone(),
    }
}

/// Calls `f` on the value of `last` in every sub-document `parents` lead
/// to from `doc`: through sub-documents and the sub-documents of lists
/// (documents embedded by a shorter path included). A segment whose value
/// is anything else (a plain id that was not embedded, a list of ids)
/// leads nowhere: Eve fails with 500 on such paths, eve-rs ignores them.
pub(crate) fn visit(
    doc: &mut Document,
    parents: &[&str],
    last: &str,
    f: &mut dyn FnMut(&mut Bson),
) {
    match parents.split_first() {
        None => {
            if let Some(value) = doc.get_mut(last) {
                f(value);
            }
        }
        Some((segment, rest)) => match doc.get_mut(*segment) {
            Some(Bson::Document(sub)) => visit(sub, rest, last, f),
            Some(Bson::Array(items)) => {
                for item in items {
                    if let Bson::Document(sub) = item {
                        visit(sub, rest, last, f);
                    }
                }
            }
            _ => {}
        },
    }
}

/// Adds `field` to an inclusion projection (or takes it out of an
/// exclusion) so that found documents can be matched to their references;
/// returns the projection as it was when it had to change.
pub(crate) fn force_field(projection: &mut Option<Document>, field: &str) -> Option<Document> {
    let p = projection.as_mut()?;
    let inclusive = p.iter().any(|(_, v)| {
        !matches!(v, Bson::Int32(0) | Bson::Int64(0) | Bson::Boolean(false))
            && !matches!(v, Bson::Double(x) if *x == 0.0)
    });
    if inclusive && !p.contains_key(field) {
        let original = p.clone();
        p.insert(field, 1);
        Some(original)
    } else if !inclusive && p.contains_key(field) {
        let original = p.clone();
        p.remove(field);
        Some(original)
    } else {
        None
    }
}

/// What embedding replaced in the top-level fields of an answer's
/// documents, by document `_id`: the references as stored, which the
/// documents' related links name (Eve builds those links before it
/// embeds, so a missing document still has its link).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replaced {
    by_id: Vec<(Bson, Document)>,
}

impl Replaced {
    /// `doc` with the references embedding replaced in its top-level
    /// fields put back; `None` when it replaced none.
    pub fn restore(&self, doc: &Document) -> Option<Document> {
        let id = doc.get("_id")?;
        let (_, originals) = self.by_id.iter().find(|(i, _)| i == id)?;
        let mut restored = doc.clone();
        for (field, value) in originals {
            restored.insert(field.clone(), value.clone());
        }
        Some(restored)
    }

    /// Whether embedding replaced nothing at the top level.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// The newest `_updated` of the documents embedded in top-level fields
/// holding one reference: what Eve adds to an item's `Last-Modified` and
/// `If-Modified-Since` check (lists and nested paths do not count).
pub fn embedded_last_updated(
    domain: &Domain,
    paths: &[EmbedPath],
    doc: &Document,
) -> Option<bson::DateTime> {
    let updated = &domain.settings.meta.last_updated;
    paths
        .iter()
        .filter(|p| p.is_top_level())
        .filter_map(|p| match doc.get(&p.path) {
            Some(Bson::Document(d)) => d.get_datetime(updated).ok().copied(),
            _ => None,
        })
        .max()
}

impl Executor {
    /// Replaces, in `docs`, the references of each of `paths` (shortest
    /// first) with the documents they name, read as `access` would read
    /// them from the related resource. A missing (or filtered out)
    /// document is `null` in place of a single reference and left out of a
    /// list of references, as in Eve. One store query per path and related
    /// resource. Returns the references replaced in top-level fields.
    pub async fn embed(
        &self,
        access: &Access,
        paths: &[EmbedPath],
        docs: &mut [Document],
    ) -> ApiResult<Replaced> {
        if paths.is_empty() || docs.is_empty() {
            return Ok(Replaced::default());
        }
        let domain = self.domain();
        let limit = domain.settings.embedded_max_documents;
        let mut looked_up = 0usize;
        let mut originals: Vec<Document> = vec![Document::new(); docs.len()];
        for path in paths {
            if path.versioned {
                self.embed_versioned(access, path, docs, &mut originals, &mut looked_up)
                    .await?;
                continue;
            }
            let parents = path.parents();
            let last = path.last();
            // The references of every document, by related resource.
            let mut groups: Vec<Group> = Vec::new();
            let mut count = 0usize;
            for doc in docs.iter_mut() {
                visit(doc, &parents, last, &mut |value| {
                    let values: &[Bson] = match &*value {
                        Bson::Array(items) => items.as_slice(),
                        one => std::slice::from_ref(one),
                    };
                    for v in values {
                        let Some((resource, field, id)) = lookup_of(path, v) else {
                            continue;
                        };
                        let id = key_of(domain, v, resource, field, id);
                        count += 1;
                        match groups
                            .iter_mut()
                            .find(|g| g.resource == resource && g.field == field)
                        {
                            Some(g) => g.ids.push(id),
                            None => groups.push(Group {
                                resource: resource.to_string(),
                                field: field.to_string(),
                                ids: vec![id],
                                found: Vec::new(),
                            }),
                        }
                    }
                });
            }
            if count == 0 {
                continue;
            }
            looked_up = looked_up.saturating_add(count);
            if looked_up > limit {
                return Err(ApiError::TooManyEmbeddedDocuments { limit });
            }
            for group in &mut groups {
                self.load_group(access, group).await?;
            }
            let if_match = domain.settings.if_match;
            let etag = &domain.settings.meta.etag;
            let resolve = |v: &Bson| -> Option<Bson> {
                let (resource, field, id) = lookup_of(path, v)?;
                let group = groups
                    .iter()
                    .find(|g| g.resource == resource && g.field == field)?;
                let mut found = group.get(&key_of(domain, v, resource, field, id))?.clone();
                if !if_match {
                    found.remove(etag);
                }
                Some(Bson::Document(found))
            };
            for (doc, original) in docs.iter_mut().zip(originals.iter_mut()) {
                visit(doc, &parents, last, &mut |value| {
                    if parents.is_empty() {
                        original.insert(last, value.clone());
                    }
                    match value {
                        Bson::Array(items) => {
                            *items = items.iter().filter_map(&resolve).collect();
                        }
                        one => *one = resolve(&*one).unwrap_or(Bson::Null),
                    }
                });
            }
        }
        let by_id = docs
            .iter()
            .zip(originals)
            .filter(|(_, o)| !o.is_empty())
            .filter_map(|(d, o)| Some((d.get("_id")?.clone(), o)))
            .collect();
        Ok(Replaced { by_id })
    }

    /// Runs the one query of a group: `field $in ids` within the related
    /// resource's scope, with its projection. A `$ref` naming no resource
    /// finds nothing.
    async fn load_group(&self, access: &Access, group: &mut Group) -> ApiResult<()> {
        let domain = self.domain();
        // A DBRef may name any resource: only readable ones embed.
        let Some(target) = domain
            .resources
            .get(&group.resource)
            .filter(|r| eve_core::embed::readable(r))
        else {
            return Ok(());
        };
        group.ids.sort_by(compare_bson);
        group
            .ids
            .dedup_by(|a, b| compare_bson(a, b) == Ordering::Equal);
        let mut projection = eve_core::field_roles::hide(
            projection_for(domain, target, None),
            &access.as_reader(),
            target,
        );
        let restore = force_field(&mut projection, &group.field);
        let ids = std::mem::take(&mut group.ids);
        let filter = Filter::Field {
            path: group.field.clone(),
            cond: Cond::In(ids),
        }
        .and(scope_filter(domain, target, &[], &access.as_reader()));
        let mut query = FindQuery::new(filter);
        query.projection = projection;
        let docs = self.store().find(&target.datasource.source, &query).await?;
        let mut found: Vec<(Bson, Document)> = docs
            .into_iter()
            .filter_map(|doc| {
                let key = eve_query::values_at_path(&doc, &group.field)
                    .first()
                    .map(|v| (*v).clone())?;
                let doc = match &restore {
                    Some(p) => eve_store::project(doc, p),
                    None => doc,
                };
                Some((key, doc))
            })
            .collect();
        // Stable: of several documents with one value, the first found wins.
        found.sort_by(|a, b| compare_bson(&a.0, &b.0));
        found.dedup_by(|a, b| compare_bson(&a.0, &b.0) == Ordering::Equal);
        group.found = found;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn path(p: &str) -> EmbedPath {
        EmbedPath {
            path: p.into(),
            resource: "users".into(),
            field: "_id".into(),
            versioned: false,
        }
    }

    #[test]
    fn visit_walks_sub_documents_and_lists_of_them_only() {
        let mut d = doc! {
            "a": 1,
            "meta": {"owner": 2},
            "lines": [{"who": 3}, 4, {"who": 5}, {"other": 6}],
            "ids": [7, 8],
        };
        let mut seen = Vec::new();
        for (parents, last) in [
            (vec![], "a"),
            (vec!["meta"], "owner"),
            (vec!["lines"], "who"),
            (vec!["ids"], "x"),
            (vec!["a"], "x"),
            (vec!["missing"], "x"),
        ] {
            visit(&mut d, &parents, last, &mut |v| seen.push(v.clone()));
        }
        assert_eq!(
            seen,
            [
                Bson::Int32(1),
                Bson::Int32(2),
                Bson::Int32(3),
                Bson::Int32(5)
            ]
        );
    }

    #[test]
    fn references_look_up_ids_and_dbrefs_only() {
        let p = path("author");
        let oid = bson::oid::ObjectId::new();
        let id = Bson::ObjectId(oid);
        assert_eq!(lookup_of(&p, &id), Some(("users", "_id", &id)));
        let r = Bson::Document(doc! {"$ref": "people", "$id": oid});
        assert_eq!(lookup_of(&p, &r), Some(("people", "_id", &id)));
        for none in [
            Bson::Null,
            Bson::Document(doc! {"_id": oid, "_version": 1}),
            Bson::Array(vec![id.clone()]),
            Bson::MinKey,
            Bson::Undefined,
        ] {
            assert_eq!(lookup_of(&p, &none), None, "{none:?}");
        }
    }

    #[test]
    fn the_match_field_is_forced_into_the_projection_and_restored() {
        let mut inc = Some(doc! {"name": 1, "_id": 1});
        assert_eq!(
            force_field(&mut inc, "email"),
            Some(doc! {"name": 1, "_id": 1})
        );
        assert_eq!(inc, Some(doc! {"name": 1, "_id": 1, "email": 1}));
        let mut inc = Some(doc! {"name": 1, "_id": 1});
        assert_eq!(force_field(&mut inc, "_id"), None);
        let mut exc = Some(doc! {"email": 0});
        assert_eq!(force_field(&mut exc, "email"), Some(doc! {"email": 0}));
        assert_eq!(exc, Some(doc! {}));
        let mut exc = Some(doc! {"secret": 0});
        assert_eq!(force_field(&mut exc, "email"), None);
        let mut all = None;
        assert_eq!(force_field(&mut all, "email"), None);
    }
}
