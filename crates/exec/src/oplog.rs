//! The operations log, write side (features.md §39): the entries of a
//! write, added to the very [`WriteBatch`] that writes the change, so a
//! change is never stored without its entry (nor an entry without its
//! change), on every data layer, even if the process dies mid-write.
//!
//! An entry, in Eve's shape (`oplog_push`): `r` (the resource URL as the
//! home page lists it), `o` (the method; a PUT upsert is a `POST`, a soft
//! delete a `DELETE`), `i` (the document id), `_updated` = `_created` (the
//! change's `_updated`, else now), and with `OPLOG_AUDIT` `ip` (the
//! request's [`Access::client_ip`]), `u` (`n/a`: no authentication yet) and
//! for `OPLOG_CHANGE_METHODS` `c` (the change without `_etag`/`_updated`).
//! Writes to internal resources are not logged. A hard collection DELETE
//! is logged too, one `DELETE` entry per document (a deliberate deviation:
//! Eve logs nothing for it, and a change feed would miss those deletions;
//! docs/oplog.md).

use std::sync::Arc;

use bson::oid::ObjectId;
use bson::{Bson, Document};
use eve_core::{ApiResult, Domain, Method, Resource, UrlPart};
use eve_query::{Cond, Filter};
use eve_store::{WriteBatch, WriteOp};

use crate::hooks::Event;
use crate::soft_delete::{first_n, MARK_BATCH};
use crate::stamp::{ensure_meta, now};
use crate::versioning;
use crate::{Access, Executor};

/// The resource's URL as the home page lists it (`people`,
/// `people/<person>/invoices`): Eve's `URLS[resource]` without the regex.
fn listed_url(res: &Resource) -> String {
    res.url_parts
        .iter()
        .map(|p| match p {
            UrlPart::Literal(l) => l.clone(),
            UrlPart::Var { field, .. } => format!("<{field}>"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `op` on `res` is logged.
fn logs(domain: &Domain, res: &Resource, op: Method) -> bool {
    let o = &domain.settings.oplog;
    o.enabled && o.methods.contains(&op) && !res.internal_resource
}

/// The oplog entry of `doc` written by `op` on `res`, or `None` when that
/// write is not logged (`OPLOG` off, `op` not in `OPLOG_METHODS`, an
/// internal resource). `id` is the document id when `doc` lacks it.
pub(crate) fn entry(
    domain: &Domain,
    access: &Access,
    res: &Resource,
    op: Method,
    doc: &Document,
    id: Option<&Bson>,
) -> Option<Document> {
    let o = &domain.settings.oplog;
    if !logs(domain, res, op) {
        return None;
    }
    let m = &domain.settings.meta;
    let mut e = Document::new();
    e.insert("_id", ObjectId::new());
    e.insert("r", listed_url(res));
    e.insert("o", op.as_str());
    e.insert(
        "i",
        doc.get(&res.id_field).or(id).cloned().unwrap_or(Bson::Null),
    );
    let at = doc
        .get(&m.last_updated)
        .cloned()
        .unwrap_or_else(|| Bson::DateTime(now()));
    e.insert(m.last_updated.clone(), at.clone());
    e.insert(m.date_created.clone(), at);
    // The oplog resource's own `auth_field` receives the auth value (Eve's
    // `resolve_user_restricted_access(entry, OPLOG_NAME)`), so that a
    // restricted oplog endpoint shows each user their own entries.
    if let Some(oplog) = domain.resources.get(&o.name) {
        if let Some((field, value)) = access.owner_stamp(oplog) {
            e.insert(field.to_string(), value.clone());
        }
    }
    if o.audit {
        e.insert(
            "ip",
            access.client_ip.clone().map_or(Bson::Null, Bson::String),
        );
        e.insert("u", access.user.clone().unwrap_or_else(|| "n/a".into()));
        if o.change_methods.contains(&op) {
            let c: Document = doc
                .iter()
                // Write-only fields (account secrets) never reach the oplog.
                .filter(|(k, _)| {
                    **k != m.etag
                        && **k != m.last_updated
                        && !res.secret_fields.contains(*k)
                        // Nor fields with read roles: the oplog's readers
                        // are not the writer (features.md §23.7).
                        && !res.field_roles.iter().any(|f| f.field == **k && !f.read.is_empty())
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            e.insert("c", c);
        }
    }
    Some(e)
}

impl Executor {
    /// Shows `entries` (the oplog entries of a write on `res`) to the
    /// `on_oplog_push` hooks and adds their insert to `batch`, the batch
    /// that writes the change. `batch` is returned as it is when there are
    /// no entries.
    pub(crate) async fn with_oplog(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        batch: WriteBatch,
        mut entries: Vec<Document>,
    ) -> ApiResult<WriteBatch> {
        if entries.is_empty() {
            return Ok(batch);
        }
        let domain = self.domain();
        let Some(oplog) = domain.resources.get(&domain.settings.oplog.name) else {
            return Ok(batch);
        };
        if let Some(cx) = self.context(Event::OplogPush, access, Some(res), None) {
            self.hooks()
                .run_docs_mut(Event::OplogPush, &cx, &mut entries)
                .await?;
        }
        Ok(batch.push(WriteOp::Insert {
            collection: oplog.datasource.source.clone(),
            docs: entries,
        }))
    }

    /// The entries of `docs` (each written by `op`), added to `batch` as
    /// [`Executor::with_oplog`] does.
    pub(crate) async fn logged(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        batch: WriteBatch,
        op: Method,
        docs: &[Document],
        id: Option<&Bson>,
    ) -> ApiResult<WriteBatch> {
        let domain = self.domain();
        let entries = docs
            .iter()
            .filter_map(|d| entry(domain, access, res, op, d, id))
            .collect();
        self.with_oplog(access, res, batch, entries).await
    }

    /// A hard collection DELETE whose deletions are logged: the documents
    /// matching `filter` are read, then deleted by id in one batch with
    /// their histories (a versioned resource) and one `DELETE` entry each
    /// (the whole document in `c`). A document inserted meanwhile is not
    /// deleted (it has no entry). `None` when the resource's DELETEs are
    /// not logged: the caller deletes as usual.
    pub(crate) async fn delete_all_logged(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        filter: &Filter,
    ) -> ApiResult<Option<u64>> {
        let domain = self.domain();
        if !logs(domain, res, Method::Delete) {
            return Ok(None);
        }
        let source = res.datasource.source.clone();
        let mut deleted = 0;
        // At most MARK_BATCH documents in memory at once, each chunk one
        // batch with its entries: deleted documents no longer match, so
        // each read finds the next ones.
        loop {
            let mut docs = self
                .store()
                .find(&source, &first_n(filter, MARK_BATCH))
                .await?;
            if docs.is_empty() {
                break;
            }
            let ids: Vec<Bson> = docs
                .iter()
                .filter_map(|d| d.get(&res.id_field).cloned())
                .collect();
            for doc in &mut docs {
                ensure_meta(domain, res, doc);
            }
            let named = filter.clone().and(Filter::Field {
                path: res.id_field.clone(),
                cond: Cond::In(ids.clone()),
            });
            let mut batch = WriteBatch::new().push(WriteOp::Delete {
                collection: source.clone(),
                filter: named,
                many: true,
            });
            if let Some(op) = versioning::shadow_delete_all(domain, res, Some(ids)) {
                batch = batch.push(op);
            }
            let batch = self
                .logged(access, res, batch, Method::Delete, &docs, None)
                .await?;
            let result = self.store().apply(batch).await?;
            let n = result.ops.first().map_or(0, |op| op.modified);
            deleted += n;
            if n == 0 {
                break;
            }
        }
        Ok(Some(deleted))
    }
}
