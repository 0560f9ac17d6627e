//! Embedding of versioned relations (features.md §30 and §22): a
//! reference `{<field>: <id>, _version: <n>}` embeds version `n` of the
//! related document, as `GET /<resource>/<id>?version=<n>` serves it
//! (without the hooks): the live document when `n` is its current
//! version, else the shadow entry of `<collection><VERSIONS>` merged into
//! the live document's unversioned fields; with `_latest_version` and
//! `_links.self`, as in Eve.
//!
//! Batched like plain references: per path, ONE query on the related
//! resource (the live documents, `field $in ids`, within its datasource
//! filter, owner filter and soft-delete slot, with its projection) and ONE
//! query on its shadow collection (an `$or` of the exact `(document,
//! version)` pairs that are not current), never one per document. A
//! reference whose live document is not readable (missing, filtered out,
//! soft-deleted) or whose version does not exist answers `404` for the
//! whole request, as in Python Eve (features.md §30).

use std::cmp::Ordering;

use bson::{Bson, Document};
use eve_core::embed::{readable, EmbedPath};
use eve_core::plan::{projection_for, scope_filter};
use eve_core::{ApiError, ApiResult, Domain, Resource};
use eve_query::{compare_bson, Cond, Filter};
use eve_store::{DataLayer, FindQuery};

use super::{force_field, visit};
use crate::versioning::{version_of, version_value};
use crate::versions::{latest_version, resolve_version, synthesize};
use crate::{Access, Executor};

/// A versioned reference: the value of the relation's field and the
/// version number.
type Ref = (Bson, i64);

/// The order of references: by value (MongoDB order), then version.
fn cmp_ref(a: &Ref, b: &Ref) -> Ordering {
    compare_bson(&a.0, &b.0).then(a.1.cmp(&b.1))
}

/// The reference a stored value holds: a sub-document with the relation's
/// field and an integral `_version`; `None` for anything else (which
/// embeds as missing).
fn reference_of(domain: &Domain, path: &EmbedPath, value: &Bson) -> Option<Ref> {
    let Bson::Document(d) = value else {
        return None;
    };
    let id = d.get(&path.field)?;
    let n = version_of(domain, d)?;
    Some((id.clone(), n))
}

/// The text of an id in a link (`users/<id>`).
fn id_text(id: Option<&Bson>) -> String {
    match id {
        Some(Bson::ObjectId(o)) => o.to_hex(),
        Some(Bson::String(s)) => s.clone(),
        Some(Bson::Int32(i)) => i.to_string(),
        Some(Bson::Int64(i)) => i.to_string(),
        Some(other) => other.to_string().trim_matches('"').to_string(),
        None => String::new(),
    }
}

/// Adds what Eve's `build_response_document` gives an embedded version:
/// `_links.self` (with HATEOAS on); drops `_etag` with `IF_MATCH: false`.
fn finish(domain: &Domain, target: &Resource, doc: &mut Document) {
    let s = &domain.settings;
    if target.hateoas {
        let href = format!("{}/{}", target.url, id_text(doc.get(&target.id_field)));
        let mut links = Document::new();
        links.insert(
            "self",
            bson::doc! {"title": target.item_title.clone(), "href": href},
        );
        doc.insert(s.meta.links.clone(), links);
    }
    if !s.if_match {
        doc.remove(&s.meta.etag);
    }
}

/// Whether version `n` of `live` (a document of the versioned resource
/// `target`) does not exist: it is neither the live version nor in the
/// shadow collection (the `data_relation` check of a versioned reference,
/// validation.md: `… at version '<n>'.`).
pub(crate) async fn version_missing(
    domain: &Domain,
    store: &dyn DataLayer,
    target: &Resource,
    live: &Document,
    n: i64,
) -> ApiResult<bool> {
    if n == latest_version(domain, live) {
        return Ok(false);
    }
    let s = &domain.settings;
    let Some(collection) = target.versions_collection(s) else {
        return Ok(true);
    };
    let filter = Filter::eq(
        target.version_id_field(s),
        live.get(&target.id_field).cloned().unwrap_or(Bson::Null),
    )
    .and(Filter::eq(s.meta.version.clone(), version_value(n)));
    Ok(store.find_one(&collection, &filter).await?.is_none())
}

impl Executor {
    /// Replaces, in `docs`, the versioned references of `path` with the
    /// versions they name (see the module's documentation); counts them in
    /// `looked_up` against `EMBEDDED_MAX_DOCUMENTS` and records the
    /// top-level values replaced in `originals`.
    pub(super) async fn embed_versioned(
        &self,
        access: &Access,
        path: &EmbedPath,
        docs: &mut [Document],
        originals: &mut [Document],
        looked_up: &mut usize,
    ) -> ApiResult<()> {
        let domain = self.domain();
        let parents = path.parents();
        let last = path.last();
        let mut refs: Vec<Ref> = Vec::new();
        for doc in docs.iter_mut() {
            visit(doc, &parents, last, &mut |value| {
                let values: &[Bson] = match &*value {
                    Bson::Array(items) => items.as_slice(),
                    one => std::slice::from_ref(one),
                };
                refs.extend(values.iter().filter_map(|v| reference_of(domain, path, v)));
            });
        }
        if refs.is_empty() {
            return Ok(());
        }
        *looked_up = looked_up.saturating_add(refs.len());
        let limit = domain.settings.embedded_max_documents;
        if *looked_up > limit {
            return Err(ApiError::TooManyEmbeddedDocuments { limit });
        }
        let found = self.load_versions(access, path, refs.clone()).await?;
        // As in Eve (features.md §30): a versioned reference whose version
        // cannot be read answers 404 for the whole request.
        if refs
            .iter()
            .any(|r| found.binary_search_by(|(k, _)| cmp_ref(k, r)).is_err())
        {
            return Err(ApiError::DocumentNotFound);
        }
        let resolve = |v: &Bson| -> Option<Bson> {
            let r = reference_of(domain, path, v)?;
            let i = found.binary_search_by(|(k, _)| cmp_ref(k, &r)).ok()?;
            Some(Bson::Document(found[i].1.clone()))
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
        Ok(())
    }

    /// The versions `refs` name, found ones only, sorted by reference:
    /// one query on the related resource, one on its shadow collection.
    async fn load_versions(
        &self,
        access: &Access,
        path: &EmbedPath,
        mut refs: Vec<Ref>,
    ) -> ApiResult<Vec<(Ref, Document)>> {
        let domain = self.domain();
        let s = &domain.settings;
        let Some(target) = domain.resources.get(&path.resource).filter(|r| readable(r)) else {
            return Ok(Vec::new());
        };
        refs.sort_by(cmp_ref);
        refs.dedup_by(|a, b| cmp_ref(a, b) == Ordering::Equal);

        // The live documents, read as a GET of the related resource reads
        // them (the relation's field and the id kept for the matching).
        let projection = eve_core::field_roles::hide(
            projection_for(domain, target, None),
            &access.as_reader(),
            target,
        );
        let mut live_projection = projection.clone();
        let forced = force_field(&mut live_projection, &path.field).is_some()
            | force_field(&mut live_projection, &target.id_field).is_some();
        let mut ids: Vec<Bson> = refs.iter().map(|(id, _)| id.clone()).collect();
        ids.dedup_by(|a, b| compare_bson(a, b) == Ordering::Equal);
        let filter = Filter::Field {
            path: path.field.clone(),
            cond: Cond::In(ids),
        }
        .and(scope_filter(domain, target, &[], &access.as_reader()));
        let mut query = FindQuery::new(filter);
        query.projection = live_projection;
        let docs = self.store().find(&target.datasource.source, &query).await?;
        // (value of the relation's field, id, live document as served)
        let mut live: Vec<(Bson, Bson, Document)> = docs
            .into_iter()
            .filter_map(|doc| {
                let key = eve_query::values_at_path(&doc, &path.field)
                    .first()
                    .map(|v| (*v).clone())?;
                let id = doc.get(&target.id_field)?.clone();
                let doc = match (&projection, forced) {
                    (Some(p), true) => eve_store::project(doc, p),
                    _ => doc,
                };
                Some((key, id, doc))
            })
            .collect();
        // Stable: of several documents with one value, the first found wins.
        live.sort_by(|a, b| compare_bson(&a.0, &b.0));
        live.dedup_by(|a, b| compare_bson(&a.0, &b.0) == Ordering::Equal);
        let live_of = |key: &Bson| {
            live.binary_search_by(|(k, _, _)| compare_bson(k, key))
                .ok()
                .map(|i| (&live[i].1, &live[i].2))
        };

        // The shadow entries of the versions that are not the live ones.
        let id_document = target.version_id_field(s);
        let version = s.meta.version.clone();
        let mut pairs: Vec<Filter> = Vec::new();
        for (key, n) in &refs {
            if let Some((id, doc)) = live_of(key) {
                if *n != latest_version(domain, doc) {
                    pairs.push(
                        Filter::eq(id_document.clone(), id.clone())
                            .and(Filter::eq(version.clone(), version_value(*n))),
                    );
                }
            }
        }
        let mut shadows: Vec<(Ref, Document)> = Vec::new();
        if let (Some(collection), false) = (target.versions_collection(s), pairs.is_empty()) {
            let mut shadow_projection = projection.clone();
            force_field(&mut shadow_projection, &id_document);
            force_field(&mut shadow_projection, &version);
            let mut query = FindQuery::new(Filter::Or(pairs));
            query.projection = shadow_projection;
            for shadow in self.store().find(&collection, &query).await? {
                let (Some(id), Some(n)) = (shadow.get(&id_document), version_of(domain, &shadow))
                else {
                    continue;
                };
                shadows.push(((id.clone(), n), shadow));
            }
            shadows.sort_by(|a, b| cmp_ref(&a.0, &b.0));
            shadows.dedup_by(|a, b| cmp_ref(&a.0, &b.0) == Ordering::Equal);
        }

        let mut found = Vec::with_capacity(refs.len());
        for (key, n) in refs {
            let Some((id, latest)) = live_of(&key) else {
                continue;
            };
            let mut doc = if n == latest_version(domain, latest) {
                let mut doc = latest.clone();
                resolve_version(domain, target, &mut doc);
                doc
            } else {
                let wanted = (id.clone(), n);
                let Ok(i) = shadows.binary_search_by(|(k, _)| cmp_ref(k, &wanted)) else {
                    continue;
                };
                synthesize(domain, target, latest, shadows[i].1.clone())?
            };
            finish(domain, target, &mut doc);
            found.push(((key, n), doc));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::oid::ObjectId;

    #[test]
    fn references_order_by_value_then_version() {
        let a = Bson::ObjectId(ObjectId::parse_str("5f0000000000000000000001").unwrap());
        let b = Bson::ObjectId(ObjectId::parse_str("5f0000000000000000000002").unwrap());
        let mut refs = vec![
            (b.clone(), 1),
            (a.clone(), 2),
            (a.clone(), 1),
            (a.clone(), 2),
        ];
        refs.sort_by(cmp_ref);
        refs.dedup_by(|x, y| cmp_ref(x, y) == Ordering::Equal);
        assert_eq!(refs, [(a.clone(), 1), (a, 2), (b, 1)]);
    }

    #[test]
    fn link_ids_are_plain_text() {
        let oid = ObjectId::parse_str("5f0000000000000000000001").unwrap();
        assert_eq!(
            id_text(Some(&Bson::ObjectId(oid))),
            "5f0000000000000000000001"
        );
        assert_eq!(id_text(Some(&Bson::String("ann".into()))), "ann");
        assert_eq!(id_text(Some(&Bson::Int64(7))), "7");
        assert_eq!(id_text(None), "");
    }
}
