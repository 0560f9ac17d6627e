//! Loads for rendering: a page of a collection (with its total, from one
//! snapshot) and one item, as the plan's query projects them, with the
//! documents the request embeds ([`Executor::embed`]), each shown to its
//! `on_fetched_*` hooks.

use std::sync::Arc;

use bson::{Bson, Document};
use eve_core::embed::EmbedPath;
use eve_core::soft_delete::is_deleted;
use eve_core::{ApiResult, Resource};
use eve_query::{Cond, Filter};
use eve_store::FindQuery;

use crate::hooks::Event;
use crate::{ensure_meta, Access, Executor, Replaced};

impl Executor {
    /// A page of `res` and, when `count`, the number of documents the
    /// query matches, read from one snapshot; then the embedded documents
    /// (`embed`, one query per path for the whole page, with the
    /// references it replaced) and, as in Eve, `on_fetched_resource` on the
    /// page as it will be served.
    pub async fn fetch_page(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        query: &FindQuery,
        count: bool,
        embed: &[EmbedPath],
    ) -> ApiResult<(Vec<Document>, Option<u64>, Replaced)> {
        let (mut docs, total) = self
            .store()
            .find_page(&res.datasource.source, query, count)
            .await?;
        let replaced = self.embed(access, embed, &mut docs).await?;
        if let Some(cx) = self.context(Event::FetchedResource, access, Some(res), None) {
            self.hooks()
                .run_page(Event::FetchedResource, &cx, &mut docs)
                .await?;
        }
        self.etags_of_outside_documents(res, &mut docs).await?;
        Ok((docs, total, replaced))
    }

    /// The first document `query` finds (an item plan's query: the item
    /// filter, with the datasource and sub-resource filters merged into it,
    /// and the projection), as the data layer projects it; then the
    /// embedded documents (`embed`, with the references it replaced) and
    /// `on_fetched_item` (neither for a soft-deleted document, answered
    /// 404).
    pub async fn fetch_item(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        query: &FindQuery,
        embed: &[EmbedPath],
    ) -> ApiResult<Option<(Document, Replaced)>> {
        let mut query = query.clone();
        query.limit = Some(1);
        let found = self.store().find(&res.datasource.source, &query).await?;
        let Some(mut doc) = found.into_iter().next() else {
            return Ok(None);
        };
        // A soft-deleted document is answered 404 with its body, without
        // embedding (features.md §31.1), and Eve shows it to no fetch hook.
        let deleted = is_deleted(self.domain(), res, &doc);
        let replaced = if deleted {
            Replaced::default()
        } else {
            self.embed(access, embed, std::slice::from_mut(&mut doc))
                .await?
        };
        if let (false, Some(cx)) = (
            deleted,
            self.context(Event::FetchedItem, access, Some(res), None),
        ) {
            self.hooks()
                .run_doc_mut(Event::FetchedItem, &cx, &mut doc)
                .await?;
        }
        self.etags_of_outside_documents(res, std::slice::from_mut(&mut doc))
            .await?;
        Ok(Some((doc, replaced)))
    }

    /// Gives the documents written outside the API (no stored ETag) the
    /// ETag [`original`](Executor::original) checks `If-Match` against: the
    /// one of the whole stored document, read again here because the data
    /// layer projected the read. One extra read, only when such documents
    /// are in the answer.
    // TODO(#9): Eve computes this ETag on the document under the resource's
    // projection, for reads and writes alike; switch both at once.
    pub(crate) async fn etags_of_outside_documents(
        &self,
        res: &Resource,
        docs: &mut [Document],
    ) -> ApiResult<()> {
        let domain = self.domain();
        let etag_field = &domain.settings.meta.etag;
        if !domain.settings.if_match || docs.iter().all(|d| d.contains_key(etag_field)) {
            return Ok(());
        }
        let ids: Vec<Bson> = docs
            .iter()
            .filter(|d| !d.contains_key(etag_field))
            .filter_map(|d| d.get("_id").cloned())
            .collect();
        let filter = Filter::Field {
            path: "_id".into(),
            cond: Cond::In(ids),
        };
        let stored = self
            .store()
            .find(&res.datasource.source, &FindQuery::new(filter))
            .await?;
        for mut whole in stored {
            ensure_meta(domain, res, &mut whole);
            let (Some(id), Ok(etag)) = (whole.get("_id"), whole.get_str(etag_field)) else {
                continue;
            };
            for doc in docs.iter_mut() {
                if doc.get("_id") == Some(id) && !doc.contains_key(etag_field) {
                    doc.insert(etag_field.clone(), etag);
                }
            }
        }
        Ok(())
    }
}
