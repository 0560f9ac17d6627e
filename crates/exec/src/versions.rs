//! Document versioning, read side (features.md §22.3): one version of a
//! document (`?version=N`, or the eve-rs addition `?as_of=<date>`), every
//! version (`?version=all`) and what changed from one version to the next
//! (`?version=diffs`), synthesised as Eve does from the latest document
//! and the shadow entries; and the collection DELETE that removes the
//! histories with the documents.
//!
//! The latest document is read first (the caller answers `404` when it is
//! missing), then the shadow collection `<collection><VERSIONS>`.

use std::sync::Arc;

use bson::{Bson, Document};
use eve_core::{ApiError, ApiResult, Domain, Resource};
use eve_query::{Cond, Filter, SortDir};
use eve_store::{FindQuery, WriteBatch, WriteOp};

use crate::hooks::Event;
use crate::soft_delete::{first_n, MARK_BATCH};
use crate::versioning::{shadow_delete_all, version_of, version_value};
use crate::{Access, Executor};

/// What a `?version=` argument asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionArg {
    /// One version (`N` ≥ 1).
    Number(i64),
    /// Every version, whole.
    All,
    /// The first version whole, then what each version changed.
    Diffs,
}

impl VersionArg {
    /// Parses the argument: `all`, `diffs` or an integer greater than 0
    /// (else [`ApiError::InvalidVersion`], `400`).
    pub fn parse(raw: &str) -> ApiResult<VersionArg> {
        match raw {
            "all" => Ok(VersionArg::All),
            "diffs" => Ok(VersionArg::Diffs),
            n => match n.trim().parse::<i64>() {
                Ok(n) if n > 0 => Ok(VersionArg::Number(n)),
                _ => Err(ApiError::InvalidVersion),
            },
        }
    }
}

/// A page of a document's history.
#[derive(Debug, Clone, Default)]
pub struct VersionPage {
    /// The entries served: whole versions for `all`; for `diffs` the first
    /// entry of the page whole, then the changed fields of each version.
    pub entries: Vec<Document>,
    /// The whole version each entry stands for (same order): what its
    /// links are built from.
    pub versions: Vec<Document>,
    /// How many versions the document has.
    pub total: u64,
}

/// The latest version number of a stored document: its `_version`, or 1
/// for a document stored before versioning was on (features.md §22.1).
pub fn latest_version(domain: &Domain, latest: &Document) -> i64 {
    version_of(domain, latest).unwrap_or(1)
}

/// Gives a document read from the main collection (a collection page, an
/// item, a write response) its version fields: `_version` (1 when it has
/// none) and `_latest_version` (its own version, unless already set by a
/// version query).
pub fn resolve_version(domain: &Domain, res: &Resource, doc: &mut Document) {
    if !res.versioning {
        return;
    }
    let m = &domain.settings.meta;
    let version = latest_version(domain, doc);
    if !doc.contains_key(&m.version) {
        doc.insert(m.version.clone(), version_value(version));
    }
    if !doc.contains_key(&m.latest_version) {
        doc.insert(m.latest_version.clone(), version_value(version));
    }
}

/// Eve's `synthesize_versioned_document`: the latest document without its
/// versioned fields, then the shadow entry's fields (its `_id_document`
/// back under `id_field`), with `_latest_version`.
pub(crate) fn synthesize(
    domain: &Domain,
    res: &Resource,
    latest: &Document,
    mut shadow: Document,
) -> ApiResult<Document> {
    let s = &domain.settings;
    let id_document = res.version_id_field(s);
    let Some(id) = shadow.remove(&id_document) else {
        return Err(ApiError::VersionProjectionWithoutId { field: id_document });
    };
    let mut old = Document::new();
    for (field, value) in latest {
        if !res.is_versioned_field(s, field) {
            old.insert(field.clone(), value.clone());
        }
    }
    if res.id_field != "_id" {
        // The entry's own `_id` names the entry, not the document.
        shadow.remove("_id");
    }
    shadow.insert(res.id_field.clone(), id);
    for (field, value) in shadow {
        old.insert(field, value);
    }
    if !old.contains_key(&s.meta.version) {
        old.insert(s.meta.version.clone(), version_value(1));
    }
    old.insert(
        s.meta.latest_version.clone(),
        version_value(latest_version(domain, latest)),
    );
    Ok(old)
}

/// Eve's `diff_document`: the fields of `new` that `old` lacks or holds
/// with another value, among the schema fields and the automatic ones,
/// plus the `VERSION_DIFF_INCLUDE` fields `new` has. Removed fields are
/// not reported (as in Eve).
fn diff(domain: &Domain, res: &Resource, old: &Document, new: &Document) -> Document {
    let s = &domain.settings;
    let m = &s.meta;
    let mut fields: Vec<&str> = res.schema_as_written().keys().map(String::as_str).collect();
    fields.extend([
        m.version.as_str(),
        m.latest_version.as_str(),
        res.id_field.as_str(),
        m.last_updated.as_str(),
        m.date_created.as_str(),
        m.etag.as_str(),
    ]);
    if res.soft_delete {
        fields.push(m.deleted.as_str());
    }
    let mut out = Document::new();
    for field in fields {
        if let Some(value) = new.get(field) {
            if old.get(field) != Some(value) && !out.contains_key(field) {
                out.insert(field, value.clone());
            }
        }
    }
    for field in &s.versions.diff_include {
        if let Some(value) = new.get(field) {
            out.insert(field.clone(), value.clone());
        }
    }
    out
}

impl Executor {
    /// The latest document an item query names (no hooks run: the
    /// version served is what they see), with the ETag of a document
    /// written outside the API.
    pub async fn fetch_latest(
        &self,
        res: &Arc<Resource>,
        query: &FindQuery,
    ) -> ApiResult<Option<Document>> {
        let mut query = query.clone();
        query.limit = Some(1);
        let found = self.store().find(&res.datasource.source, &query).await?;
        let Some(mut doc) = found.into_iter().next() else {
            return Ok(None);
        };
        self.etags_of_outside_documents(res, std::slice::from_mut(&mut doc))
            .await?;
        Ok(Some(doc))
    }

    /// The filter of the shadow entries of `latest`.
    fn history_filter(&self, res: &Resource, latest: &Document) -> Filter {
        Filter::eq(
            res.version_id_field(&self.domain().settings),
            latest.get(&res.id_field).cloned().unwrap_or(Bson::Null),
        )
    }

    /// Version `n` of `latest` (`?version=N`), projected like the item
    /// read; `None` when there is no such version. `on_fetched_item` sees
    /// it.
    pub async fn fetch_version(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        latest: &Document,
        n: i64,
        projection: Option<&Document>,
    ) -> ApiResult<Option<Document>> {
        let domain = self.domain();
        let Some(collection) = res.versions_collection(&domain.settings) else {
            return Ok(None);
        };
        let filter = self
            .history_filter(res, latest)
            .and(Filter::eq(domain.settings.meta.version.clone(), n));
        let mut query = FindQuery::new(filter);
        query.limit = Some(1);
        query.projection = projection.cloned();
        let Some(shadow) = self.store().find(&collection, &query).await?.pop() else {
            return Ok(None);
        };
        let mut doc = synthesize(domain, res, latest, shadow)?;
        self.fetched_item(access, res, &mut doc).await?;
        Ok(Some(doc))
    }

    /// `latest` as it was at `at` (the eve-rs addition `?as_of=`): the
    /// newest version written at or before `at`; `None` when the document
    /// did not exist yet. A document without history counts from its
    /// `_updated`. `on_fetched_item` sees it.
    pub async fn fetch_as_of(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        latest: &Document,
        at: bson::DateTime,
        projection: Option<&Document>,
    ) -> ApiResult<Option<Document>> {
        let domain = self.domain();
        let m = &domain.settings.meta;
        let Some(collection) = res.versions_collection(&domain.settings) else {
            return Ok(None);
        };
        let history = self.history_filter(res, latest);
        let mut query = FindQuery::new(history.clone().and(Filter::Field {
            path: m.last_updated.clone(),
            cond: Cond::Lte(Bson::DateTime(at)),
        }));
        query.sort = vec![
            (m.last_updated.clone(), SortDir::Desc),
            (m.version.clone(), SortDir::Desc),
        ];
        query.limit = Some(1);
        query.projection = projection.cloned();
        let mut doc = match self.store().find(&collection, &query).await?.pop() {
            Some(shadow) => synthesize(domain, res, latest, shadow)?,
            None => {
                let has_history = self.store().count(&collection, &history).await? > 0;
                let updated = latest
                    .get_datetime(&m.last_updated)
                    .copied()
                    .unwrap_or_else(|_| crate::epoch());
                if has_history || updated > at {
                    return Ok(None);
                }
                let mut doc = latest.clone();
                resolve_version(domain, res, &mut doc);
                doc
            }
        };
        self.fetched_item(access, res, &mut doc).await?;
        Ok(Some(doc))
    }

    /// A page of the history of `latest` (`?version=all` or `diffs`):
    /// `query` gives the sort (ignored for diffs: always by version), the
    /// window and the projection. A document without history has one
    /// version: itself. `all` shows each version to `on_fetched_item`,
    /// `diffs` shows the entries to `on_fetched_diffs`.
    pub async fn fetch_versions(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        latest: &Document,
        query: &FindQuery,
        diffs: bool,
    ) -> ApiResult<VersionPage> {
        let domain = self.domain();
        let m = &domain.settings.meta;
        let Some(collection) = res.versions_collection(&domain.settings) else {
            return Ok(VersionPage::default());
        };
        let mut query = query.clone();
        query.filter = self.history_filter(res, latest);
        if diffs || query.sort.is_empty() {
            query.sort = vec![(m.version.clone(), SortDir::Asc)];
        }
        let (shadows, total) = self.store().find_page(&collection, &query, true).await?;
        let mut total = total.unwrap_or(0);
        let mut versions = Vec::with_capacity(shadows.len());
        if total == 0 {
            // Stored before versioning was on: the document is version 1.
            total = 1;
            if query.skip == 0 {
                let mut doc = latest.clone();
                resolve_version(domain, res, &mut doc);
                versions.push(doc);
            }
        } else {
            for shadow in shadows {
                versions.push(synthesize(domain, res, latest, shadow)?);
            }
        }
        let entries = if diffs {
            let mut entries: Vec<Document> = versions
                .iter()
                .enumerate()
                .map(|(i, v)| match i {
                    0 => v.clone(),
                    _ => diff(domain, res, &versions[i - 1], v),
                })
                .collect();
            if let Some(cx) = self.context(Event::FetchedDiffs, access, Some(res), None) {
                self.hooks()
                    .run_page(Event::FetchedDiffs, &cx, &mut entries)
                    .await?;
            }
            entries
        } else {
            for doc in &mut versions {
                self.fetched_item(access, res, doc).await?;
            }
            versions.clone()
        };
        Ok(VersionPage {
            entries,
            versions,
            total,
        })
    }

    /// Runs `on_fetched_item` on one version.
    async fn fetched_item(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        doc: &mut Document,
    ) -> ApiResult<()> {
        if let Some(cx) = self.context(Event::FetchedItem, access, Some(res), None) {
            self.hooks()
                .run_doc_mut(Event::FetchedItem, &cx, doc)
                .await?;
        }
        Ok(())
    }

    /// A collection DELETE on a versioned resource: the documents and their
    /// histories in one batch. The whole collection empties both
    /// collections; a narrower endpoint (datasource filter, sub-resource)
    /// deletes the documents it names and their entries.
    pub(crate) async fn delete_all_with_histories(
        &self,
        res: &Resource,
        filter: &Filter,
    ) -> ApiResult<u64> {
        let domain = self.domain();
        let source = res.datasource.source.clone();
        if *filter == Filter::All {
            let mut batch = WriteBatch::new().push(WriteOp::Delete {
                collection: source,
                filter: Filter::All,
                many: true,
            });
            if let Some(op) = shadow_delete_all(domain, res, None) {
                batch = batch.push(op);
            }
            let result = self.store().apply(batch).await?;
            return Ok(result.ops.first().map_or(0, |op| op.modified));
        }
        // A bounded chunk of ids at a time, each deleted with its
        // histories in one batch: deleted documents no longer match.
        let mut deleted = 0;
        loop {
            let mut query = first_n(filter, MARK_BATCH);
            let mut projection = Document::new();
            projection.insert(res.id_field.clone(), 1);
            query.projection = Some(projection);
            let ids: Vec<Bson> = self
                .store()
                .find(&source, &query)
                .await?
                .into_iter()
                .filter_map(|mut d| d.remove(&res.id_field))
                .collect();
            if ids.is_empty() {
                break;
            }
            let named = Filter::Field {
                path: res.id_field.clone(),
                cond: Cond::In(ids.clone()),
            };
            let mut batch = WriteBatch::new().push(WriteOp::Delete {
                collection: source.clone(),
                filter: filter.clone().and(named),
                many: true,
            });
            if let Some(op) = shadow_delete_all(domain, res, Some(ids)) {
                batch = batch.push(op);
            }
            let result = self.store().apply(batch).await?;
            let n = result.ops.first().map_or(0, |op| op.modified);
            deleted += n;
            if n == 0 {
                break;
            }
        }
        Ok(deleted)
    }
}
