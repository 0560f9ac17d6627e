//! Writes: insert (one or a bulk list, all or nothing), upsert, PATCH-style
//! update, PUT-style replace, item delete and collection delete. Each
//! validates everything before it writes anything and writes one
//! [`WriteBatch`]; edits and item deletes are compare-and-set on the ETag
//! that was checked, so a concurrent editor gets `412`, never a silent
//! overwrite.

use std::sync::Arc;

use bson::{Bson, Document};
use eve_core::{ApiError, ApiResult, Method, Resource, WriteKind};
use eve_query::Filter;
use eve_schema::{Issues, Mode};
use eve_store::{StoreError, WriteBatch, WriteOp};

use crate::etag::document_etag;
use crate::hooks::Event;
use crate::oplog;
use crate::prepare::prepare;
use crate::stamp::{check_if_match, edit_filter, ensure_meta, now, seal_new, stamp_new, IfMatch};
use crate::versioning;
use crate::{duplicate_on_insert, Access, Executor};

/// Why one document of a write was refused.
#[derive(Debug)]
pub enum Refusal {
    /// The payload element is not a document (a list, a string, …).
    NotADocument,
    /// The document does not validate.
    Invalid(Issues),
}

/// What an insert did.
#[derive(Debug)]
pub enum Inserted<R> {
    /// Every document was stored; the value is what the caller built from
    /// them before the write.
    Stored(R),
    /// Nothing was stored: one entry per input document, `Some` for each
    /// refused one.
    Refused(Vec<Option<Refusal>>),
}

/// What an edit (update or replace) did.
#[derive(Debug)]
pub enum Edited {
    /// The document as now stored.
    Stored(Document),
    /// Nothing was written.
    Refused(Refusal),
}

/// A document loaded for an edit or a delete, its `If-Match` checked.
#[derive(Debug, Clone)]
pub struct Original {
    /// The document, with meta defaults for one written outside the API.
    doc: Document,
    /// The compare-and-set filter: its `_id` and the ETag as stored.
    conditional: Filter,
}

impl Original {
    /// The document as loaded (with meta defaults).
    pub fn document(&self) -> &Document {
        &self.doc
    }

    /// The compare-and-set filter of a write to it.
    pub(crate) fn conditional(&self) -> &Filter {
        &self.conditional
    }
}

/// Only `_id` is immutable, as in MongoDB: another `id_field` (e.g. `sku`)
/// may be changed by PATCH and PUT, as Eve lets it.
fn rejects_id_change(doc: &Document, original: &Document) -> ApiResult<()> {
    match (doc.get("_id"), original.get("_id")) {
        (Some(new), Some(old)) if new != old => Err(ApiError::ImmutableField),
        _ => Ok(()),
    }
}

fn merge(stored: &mut Document, updates: &Document, nested: bool) {
    for (k, v) in updates {
        match (stored.get_mut(k), v) {
            (Some(Bson::Document(old)), Bson::Document(new)) if nested => merge(old, new, true),
            _ => {
                stored.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Stores the request's auth value in `res`'s `auth_field` (POST, PUT,
/// PUT upserts: features.md §23.6), after validation, as Eve does.
fn stamp_owner(access: &Access, res: &Resource, doc: &mut Document) {
    if let Some((field, value)) = access.owner_stamp(res) {
        doc.insert(field.to_string(), value.clone());
    }
}

/// `batch` with `op` appended when there is one (the shadow writes of a
/// versioned resource).
fn with(batch: WriteBatch, op: Option<WriteOp>) -> WriteBatch {
    match op {
        Some(op) => batch.push(op),
        None => batch,
    }
}

/// A unique index refused a PATCH or PUT: Eve answers 400 (not the 409 of
/// an insert), the store's text shown only with `DEBUG`.
fn duplicate_on_edit(message: String) -> ApiError {
    ApiError::DuplicateKey {
        op: WriteKind::Edit,
        message: format!("DuplicateKeyError: {message}"),
    }
}

/// The error of a conditional write: a failed compare-and-set means the
/// document changed (or went) after it was read.
fn edit_error(err: StoreError) -> ApiError {
    match err {
        StoreError::Conflict { .. } => ApiError::EtagMismatch,
        StoreError::DuplicateKey { message, .. } => duplicate_on_edit(message),
        e => e.into(),
    }
}

impl Executor {
    /// Inserts documents (a POST, one or bulk): each is prepared and
    /// validated; if any is refused nothing is written. Otherwise they are
    /// stamped, shown to the `on_insert` hooks, given their ETag and `_id`,
    /// passed to `respond` (which builds the answer without a copy) and
    /// written as one batch; then `on_inserted` runs.
    pub async fn insert<R>(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        input: Vec<Bson>,
        url_vars: &[(String, String)],
        respond: impl FnOnce(&[Document]) -> R,
    ) -> ApiResult<Inserted<R>> {
        let mut docs = Vec::with_capacity(input.len());
        let mut refusals = Vec::with_capacity(input.len());
        let mut refused = false;
        for value in input {
            let Some(doc) = prepare(self.domain(), res, value, url_vars) else {
                refusals.push(Some(Refusal::NotADocument));
                refused = true;
                continue;
            };
            let outcome = self.validate(access, res, doc, Mode::Insert, None).await?;
            if outcome.issues.is_empty() {
                docs.push(outcome.document);
                refusals.push(None);
            } else {
                refusals.push(Some(Refusal::Invalid(outcome.issues)));
                refused = true;
            }
        }
        if refused {
            return Ok(Inserted::Refused(refusals));
        }
        self.store_new(access, res, docs, respond)
            .await
            .map(Inserted::Stored)
    }

    /// Inserts one document under the id an item URL names (a PUT on a
    /// missing document with `UPSERT_ON_PUT`); `id` is the lookup field and
    /// its value.
    pub async fn upsert<R>(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        input: Bson,
        url_vars: &[(String, String)],
        id: (String, Bson),
        respond: impl FnOnce(&[Document]) -> R,
    ) -> ApiResult<Inserted<R>> {
        let Some(mut doc) = prepare(self.domain(), res, input, url_vars) else {
            return Ok(Inserted::Refused(vec![Some(Refusal::NotADocument)]));
        };
        doc.insert(id.0, id.1);
        let outcome = self.validate(access, res, doc, Mode::Insert, None).await?;
        if !outcome.issues.is_empty() {
            return Ok(Inserted::Refused(vec![Some(Refusal::Invalid(
                outcome.issues,
            ))]));
        }
        self.store_new(access, res, vec![outcome.document], respond)
            .await
            .map(Inserted::Stored)
    }

    /// Stamps, runs the insert hooks and writes valid new documents.
    async fn store_new<R>(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        mut docs: Vec<Document>,
        respond: impl FnOnce(&[Document]) -> R,
    ) -> ApiResult<R> {
        let domain = self.domain();
        let at = now();
        for doc in &mut docs {
            stamp_owner(access, res, doc);
            stamp_new(domain, res, doc, at);
            versioning::stamp_first(domain, res, doc);
        }
        if let Some(cx) = self.context(Event::Insert, access, Some(res), None) {
            self.hooks()
                .run_docs_mut(Event::Insert, &cx, &mut docs)
                .await?;
        }
        for doc in &mut docs {
            seal_new(domain, res, doc);
        }
        let answer = respond(&docs);
        // The store takes the documents without a copy; one is kept only
        // for `on_inserted` hooks.
        let observer = self.context(Event::Inserted, access, Some(res), None);
        let kept = observer.as_ref().map(|_| docs.clone());
        let shadows = versioning::shadow_insert(domain, res, &docs);
        // A PUT upsert is logged as a POST, as in Eve.
        let entries = docs
            .iter()
            .filter_map(|d| oplog::entry(domain, access, res, Method::Post, d, None))
            .collect();
        let op = WriteOp::Insert {
            collection: res.datasource.source.clone(),
            docs,
        };
        let batch = with(WriteBatch::new().push(op), shadows);
        let batch = self.with_oplog(access, res, batch, entries).await?;
        match self.store().apply(batch).await {
            Ok(_) => {}
            Err(StoreError::DuplicateKey { index, message, .. }) => {
                return Err(duplicate_on_insert(index, &message))
            }
            Err(e) => return Err(e.into()),
        }
        if let (Some(cx), Some(docs)) = (observer, kept) {
            self.hooks().run_docs(Event::Inserted, &cx, &docs).await?;
        }
        Ok(answer)
    }

    /// Whether a document of `res` matches `filter` (a PUT that its own
    /// scope did not find asks whether another user owns the document).
    pub async fn exists(&self, res: &Resource, filter: &Filter) -> ApiResult<bool> {
        Ok(self
            .store()
            .find_one(&res.datasource.source, filter)
            .await?
            .is_some())
    }

    /// Loads the document `lookup` names for an edit or a delete and checks
    /// `if_match` against its ETag (`428` when one is required and missing,
    /// `412` when it differs). `None` when no document matches.
    pub async fn original(
        &self,
        res: &Resource,
        lookup: &Filter,
        if_match: &IfMatch,
    ) -> ApiResult<Option<Original>> {
        let Some(stored) = self
            .store()
            .find_one(&res.datasource.source, lookup)
            .await?
        else {
            return Ok(None);
        };
        let domain = self.domain();
        let conditional = edit_filter(domain, &stored);
        let mut doc = stored;
        ensure_meta(domain, res, &mut doc);
        check_if_match(domain, if_match, &doc)?;
        Ok(Some(Original { doc, conditional }))
    }

    /// Applies PATCH updates to `original`: prepared, validated as an
    /// update, stamped, shown to `on_update`, merged, given a new ETag and
    /// written only if the document still has the ETag that was checked
    /// (else `412`). Returns the merged document.
    pub async fn update(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        original: &Original,
        input: Bson,
        url_vars: &[(String, String)],
    ) -> ApiResult<Edited> {
        let domain = self.domain();
        let s = &domain.settings;
        let original_doc = &original.doc;
        let Some(updates) = prepare(domain, res, input, url_vars) else {
            return Ok(Edited::Refused(Refusal::NotADocument));
        };
        rejects_id_change(&updates, original_doc)?;
        let mode = Mode::Update {
            original: original_doc,
            normalize: res.normalize_on_patch,
        };
        let outcome = self
            .validate(access, res, updates, mode, original_doc.get("_id"))
            .await?;
        if !outcome.issues.is_empty() {
            return Ok(Edited::Refused(Refusal::Invalid(outcome.issues)));
        }
        let mut updates = outcome.document;
        // A PATCH cannot hand the document to another owner.
        if let Some((field, _)) = access.owner_stamp(res) {
            if updates.contains_key(field) {
                stamp_owner(access, res, &mut updates);
            }
        }
        let first_shadow = versioning::next_version(domain, res, original_doc, &mut updates);
        updates.insert(s.meta.last_updated.clone(), now());
        if res.soft_delete {
            updates.insert(s.meta.deleted.clone(), false);
        }
        if let Some(cx) = self.context(Event::Update, access, Some(res), None) {
            self.hooks()
                .run_edit_mut(Event::Update, &cx, &mut updates, original_doc)
                .await?;
        }
        let mut merged = original_doc.clone();
        merge(&mut merged, &updates, res.merge_nested_documents);
        let mut set = Document::new();
        for key in updates.keys() {
            if let Some(v) = merged.get(key) {
                set.insert(key.clone(), v.clone());
            }
        }
        if s.if_match {
            let etag = document_etag(&merged, &res.etag_ignore_fields);
            merged.insert(s.meta.etag.clone(), etag.clone());
            set.insert(s.meta.etag.clone(), etag.clone());
            updates.insert(s.meta.etag.clone(), etag);
        }
        let op = WriteOp::Update {
            collection: res.datasource.source.clone(),
            filter: original.conditional.clone(),
            set,
            unset: Vec::new(),
            many: false,
        };
        let shadow = versioning::shadow_insert(domain, res, std::slice::from_ref(&merged));
        let batch = with(WriteBatch::new(), first_shadow).push_must_match(op);
        let batch = self
            .logged(
                access,
                res,
                with(batch, shadow),
                Method::Patch,
                std::slice::from_ref(&updates),
                original_doc.get(&res.id_field),
            )
            .await?;
        self.store().apply(batch).await.map_err(edit_error)?;
        self.release_media(res, original_doc, Some(&merged)).await;
        if let Some(cx) = self.context(Event::Updated, access, Some(res), None) {
            self.hooks()
                .run_edit(Event::Updated, &cx, &updates, original_doc)
                .await?;
        }
        Ok(Edited::Stored(merged))
    }

    /// Replaces `original` (PUT): prepared, validated as a replacement,
    /// keeping the id field and `_created`, shown to `on_replace`, given a
    /// new ETag and written only if the document still has the ETag that
    /// was checked (else `412`). Returns the document as stored.
    pub async fn replace(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        original: &Original,
        input: Bson,
        url_vars: &[(String, String)],
    ) -> ApiResult<Edited> {
        let domain = self.domain();
        let m = &domain.settings.meta;
        let original_doc = &original.doc;
        let Some(doc) = prepare(domain, res, input, url_vars) else {
            return Ok(Edited::Refused(Refusal::NotADocument));
        };
        rejects_id_change(&doc, original_doc)?;
        let mode = Mode::Replace {
            original: original_doc,
        };
        let outcome = self
            .validate(access, res, doc, mode, original_doc.get("_id"))
            .await?;
        if !outcome.issues.is_empty() {
            return Ok(Edited::Refused(Refusal::Invalid(outcome.issues)));
        }
        let mut doc = outcome.document;
        // A replacement keeps what the caller may neither write nor see
        // (field-level roles, features.md §23.7): it cannot erase it.
        let kept = access.unwritable_fields(res).into_iter();
        for field in kept.chain(access.hidden_fields(res)) {
            if let (false, Some(v)) = (doc.contains_key(field), original_doc.get(field)) {
                doc.insert(field, v.clone());
            }
        }
        if let (false, Some(id)) = (
            doc.contains_key(&res.id_field),
            original_doc.get(&res.id_field),
        ) {
            doc.insert(res.id_field.clone(), id.clone());
        }
        if let Some(created) = original_doc.get(&m.date_created) {
            doc.insert(m.date_created.clone(), created.clone());
        }
        doc.insert(m.last_updated.clone(), now());
        if res.soft_delete {
            doc.insert(m.deleted.clone(), false);
        }
        stamp_owner(access, res, &mut doc);
        let first_shadow = versioning::next_version(domain, res, original_doc, &mut doc);
        if let Some(cx) = self.context(Event::Replace, access, Some(res), None) {
            self.hooks()
                .run_edit_mut(Event::Replace, &cx, &mut doc, original_doc)
                .await?;
        }
        if domain.settings.if_match {
            doc.remove(&m.etag);
            let etag = document_etag(&doc, &res.etag_ignore_fields);
            doc.insert(m.etag.clone(), etag);
        }
        let op = WriteOp::Replace {
            collection: res.datasource.source.clone(),
            filter: original.conditional.clone(),
            doc: doc.clone(),
        };
        let shadow = versioning::shadow_insert(domain, res, std::slice::from_ref(&doc));
        let batch = with(WriteBatch::new(), first_shadow).push_must_match(op);
        let batch = self
            .logged(
                access,
                res,
                with(batch, shadow),
                Method::Put,
                std::slice::from_ref(&doc),
                original_doc.get(&res.id_field),
            )
            .await?;
        self.store().apply(batch).await.map_err(edit_error)?;
        self.release_media(res, original_doc, Some(&doc)).await;
        if let Some(cx) = self.context(Event::Replaced, access, Some(res), None) {
            self.hooks()
                .run_edit(Event::Replaced, &cx, &doc, original_doc)
                .await?;
        }
        Ok(Edited::Stored(doc))
    }

    /// Deletes `original` (an item DELETE) if it still has the ETag that
    /// was checked (else `412`), between `on_delete_item` (which may abort
    /// it) and `on_deleted_item`. A soft-delete resource marks it instead
    /// (`soft_delete.rs`).
    pub async fn delete_item(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        original: &Original,
    ) -> ApiResult<()> {
        if res.soft_delete {
            return self.mark_deleted(access, res, original).await;
        }
        if let Some(cx) = self.context(Event::DeleteItem, access, Some(res), None) {
            self.hooks()
                .run_doc(Event::DeleteItem, &cx, &original.doc)
                .await?;
        }
        let op = WriteOp::Delete {
            collection: res.datasource.source.clone(),
            filter: original.conditional.clone(),
            many: false,
        };
        let history =
            versioning::shadow_delete(self.domain(), res, original.doc.get(&res.id_field));
        let batch = self
            .logged(
                access,
                res,
                with(WriteBatch::new().push_must_match(op), history),
                Method::Delete,
                std::slice::from_ref(&original.doc),
                original.doc.get(&res.id_field),
            )
            .await?;
        self.store().apply(batch).await.map_err(edit_error)?;
        self.release_media(res, &original.doc, None).await;
        if let Some(cx) = self.context(Event::DeletedItem, access, Some(res), None) {
            self.hooks()
                .run_doc(Event::DeletedItem, &cx, &original.doc)
                .await?;
        }
        Ok(())
    }

    /// Deletes every document matching `filter` (a collection DELETE: the
    /// caller gives the datasource and sub-resource filter), between
    /// `on_delete_resource` and `on_deleted_resource`. Returns how many. A
    /// soft-delete resource marks its live documents instead
    /// (`soft_delete.rs`).
    pub async fn delete_all(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        filter: &Filter,
    ) -> ApiResult<u64> {
        if res.soft_delete {
            return self.mark_all_deleted(access, res, filter).await;
        }
        if let Some(cx) = self.context(Event::DeleteResource, access, Some(res), None) {
            self.hooks().run_ctx(Event::DeleteResource, &cx).await?;
        }
        let deleted = if let Some(n) = self.delete_all_logged(access, res, filter).await? {
            n
        } else if res.versioning {
            self.delete_all_with_histories(res, filter).await?
        } else {
            self.store()
                .delete_many(&res.datasource.source, filter)
                .await?
        };
        if let Some(cx) = self.context(Event::DeletedResource, access, Some(res), None) {
            self.hooks().run_ctx(Event::DeletedResource, &cx).await?;
        }
        Ok(deleted)
    }
}
