//! Soft delete (features.md §31): on a resource with `soft_delete`, an
//! item DELETE and a collection DELETE keep the documents and mark them
//! `DELETED: true` (default `_deleted`) with a new `_updated` and `_etag`,
//! as Eve does. Which reads hide marked documents is the planner's
//! ([`eve_core::soft_delete`]); PUT and PATCH restore them
//! ([`Executor::update`], [`Executor::replace`] stamp `DELETED: false`).
//!
//! Every marking is a conditional replace on the ETag that was read (the
//! compare-and-set filter of an edit), so a concurrent edit is never lost.

use std::sync::Arc;

use bson::{Bson, Document};
use eve_core::soft_delete::{is_deleted, not_deleted};
use eve_core::{ApiError, ApiResult, Domain, Method, Resource};
use eve_query::{Cond, Filter};
use eve_store::{FindQuery, StoreError, WriteBatch, WriteOp};

use crate::etag::document_etag;
use crate::hooks::Event;
use crate::oplog;
use crate::stamp::{edit_filter, ensure_meta, now};
use crate::versioning;
use crate::{Access, Executor, Original};

/// Documents marked per write batch by a collection DELETE: each batch is
/// all-or-nothing; a larger collection takes several (as Eve, which marks
/// documents one by one, a failure leaves the earlier ones marked, and the
/// DELETE can simply be sent again).
pub(crate) const MARK_BATCH: usize = 1000;

/// Times a collection DELETE reads a batch again after a concurrent edit
/// changed one of its documents (the compare-and-set failed).
const MARK_RETRIES: usize = 3;

/// `original` marked deleted at `at`: `DELETED: true`, `_updated` and, with
/// concurrency control, the ETag of the marked document (computed, as Eve
/// does, over the document including its previous `_etag`).
fn marked(domain: &Domain, res: &Resource, original: &Document, at: bson::DateTime) -> Document {
    let m = &domain.settings.meta;
    let mut doc = original.clone();
    doc.insert(m.deleted.clone(), true);
    doc.insert(m.last_updated.clone(), at);
    if domain.settings.if_match {
        let etag = document_etag(&doc, &res.etag_ignore_fields);
        doc.insert(m.etag.clone(), etag);
    }
    doc
}

/// Adds to `batch` the marking of `original` (a replace that must match
/// `conditional`, the compare-and-set on the ETag that was read) and, on a
/// versioned resource (features.md §31.3), the marked document as a new
/// version: `_version` + 1 and its shadow entry, after Eve's "late
/// versioning catch" (the original's own entry when it has no version).
/// As in Eve, the ETag is computed before the version number changes.
///
/// The oplog entry of the marking (a `DELETE` carrying the marked
/// document) is added to `entries`, for the same batch.
fn mark_one(
    domain: &Domain,
    (access, res): (&Access, &Resource),
    mut batch: WriteBatch,
    conditional: Filter,
    original: &Document,
    at: bson::DateTime,
    entries: &mut Vec<Document>,
) -> WriteBatch {
    let mut doc = marked(domain, res, original, at);
    if let Some(first) = versioning::next_version(domain, res, original, &mut doc) {
        batch = batch.push(first);
    }
    entries.extend(oplog::entry(
        domain,
        access,
        res,
        Method::Delete,
        &doc,
        original.get(&res.id_field),
    ));
    let shadow = versioning::shadow_insert(domain, res, std::slice::from_ref(&doc));
    batch = batch.push_must_match(WriteOp::Replace {
        collection: res.datasource.source.clone(),
        filter: conditional,
        doc,
    });
    match shadow {
        Some(op) => batch.push(op),
        None => batch,
    }
}

/// The first `n` documents (natural order) matching `filter`: how
/// collection DELETEs read what they change, a bounded chunk at a time.
pub(crate) fn first_n(filter: &Filter, n: usize) -> FindQuery {
    let mut query = FindQuery::new(filter.clone());
    query.limit = Some(n as u64);
    query
}

/// A failed compare-and-set is the `412` of an edit.
fn conflict_is_412(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict { .. } => ApiError::EtagMismatch,
        e => e.into(),
    }
}

impl Executor {
    /// The item DELETE of a soft-delete resource: a document already
    /// marked is left as it is, without hooks (`204`, features.md §31.1);
    /// otherwise `on_delete_item` (which may abort), the marked document
    /// written if the document still has the ETag that was checked (else
    /// `412`), then `on_deleted_item` with the document as it was.
    pub(crate) async fn mark_deleted(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        original: &Original,
    ) -> ApiResult<()> {
        let domain = self.domain();
        let doc = original.document();
        if is_deleted(domain, res, doc) {
            return Ok(());
        }
        if let Some(cx) = self.context(Event::DeleteItem, access, Some(res), None) {
            self.hooks().run_doc(Event::DeleteItem, &cx, doc).await?;
        }
        let mut entries = Vec::new();
        let batch = mark_one(
            domain,
            (access, res),
            WriteBatch::new(),
            original.conditional().clone(),
            doc,
            now(),
            &mut entries,
        );
        let batch = self.with_oplog(access, res, batch, entries).await?;
        self.store().apply(batch).await.map_err(conflict_is_412)?;
        if let Some(cx) = self.context(Event::DeletedItem, access, Some(res), None) {
            self.hooks().run_doc(Event::DeletedItem, &cx, doc).await?;
        }
        Ok(())
    }

    /// The collection DELETE of a soft-delete resource: `on_delete_resource`,
    /// then every live document matching `filter` is marked (no item
    /// hooks, as in Eve), then `on_deleted_resource`. When no document is
    /// live, nothing is written and `on_deleted_resource` does not run (as
    /// Eve returns early). Returns how many documents were marked.
    pub(crate) async fn mark_all_deleted(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        filter: &Filter,
    ) -> ApiResult<u64> {
        if let Some(cx) = self.context(Event::DeleteResource, access, Some(res), None) {
            self.hooks().run_ctx(Event::DeleteResource, &cx).await?;
        }
        let domain = self.domain();
        let live = filter.clone().and(not_deleted(domain, res));
        let at = now();
        let mut count = 0;
        // At most MARK_BATCH documents in memory at once: marked documents
        // no longer match `live`, so each read finds the next ones.
        loop {
            let chunk = self
                .store()
                .find(&res.datasource.source, &first_n(&live, MARK_BATCH))
                .await?;
            if chunk.is_empty() {
                break;
            }
            let marked = self.mark_batch(access, res, &live, chunk, at).await?;
            count += marked;
            if marked == 0 {
                break;
            }
        }
        if count == 0 {
            return Ok(0);
        }
        if let Some(cx) = self.context(Event::DeletedResource, access, Some(res), None) {
            self.hooks().run_ctx(Event::DeletedResource, &cx).await?;
        }
        Ok(count)
    }

    /// Marks `stored` (documents as read) in one batch, each on the ETag
    /// that was read. When a concurrent write changed one of them, the
    /// documents still live are read again and the batch retried (at most
    /// [`MARK_RETRIES`] times, then `412`).
    async fn mark_batch(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        live: &Filter,
        mut stored: Vec<Document>,
        at: bson::DateTime,
    ) -> ApiResult<u64> {
        let domain = self.domain();
        let collection = &res.datasource.source;
        let mut retries = 0;
        loop {
            if stored.is_empty() {
                return Ok(0);
            }
            let mut batch = WriteBatch::new();
            let mut entries = Vec::new();
            for doc in &stored {
                let conditional = edit_filter(domain, doc);
                let mut doc = doc.clone();
                ensure_meta(domain, res, &mut doc);
                batch = mark_one(
                    domain,
                    (access, res),
                    batch,
                    conditional,
                    &doc,
                    at,
                    &mut entries,
                );
            }
            let batch = self.with_oplog(access, res, batch, entries).await?;
            match self.store().apply(batch).await {
                Ok(_) => return Ok(stored.len() as u64),
                Err(StoreError::Conflict { .. }) if retries < MARK_RETRIES => {
                    retries += 1;
                    let ids: Vec<Bson> = stored
                        .iter()
                        .filter_map(|d| d.get("_id").cloned())
                        .collect();
                    let again = live.clone().and(Filter::Field {
                        path: "_id".into(),
                        cond: Cond::In(ids),
                    });
                    stored = self
                        .store()
                        .find(collection, &FindQuery::new(again))
                        .await?;
                }
                Err(e) => return Err(conflict_is_412(e)),
            }
        }
    }
}
