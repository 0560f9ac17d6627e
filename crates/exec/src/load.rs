//! Loads for rendering: a page of a collection (with its total, from one
//! snapshot) and one item, each shown to its `on_fetched_*` hooks.

use std::sync::Arc;

use bson::Document;
use eve_core::{ApiResult, Resource};
use eve_store::FindQuery;

use crate::hooks::Event;
use crate::{Access, Executor};

impl Executor {
    /// A page of `res` and, when `count`, the number of documents the
    /// query matches, read from one snapshot; then `on_fetched_resource`.
    pub async fn fetch_page(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        query: &FindQuery,
        count: bool,
    ) -> ApiResult<(Vec<Document>, Option<u64>)> {
        let (mut docs, total) = self
            .store()
            .find_page(&res.datasource.source, query, count)
            .await?;
        if let Some(cx) = self.context(Event::FetchedResource, access, Some(res), None) {
            self.hooks()
                .run_page(Event::FetchedResource, &cx, &mut docs)
                .await?;
        }
        Ok((docs, total))
    }

    /// The first document `query` finds (an item plan's query: the item
    /// filter, with the datasource and sub-resource filters merged into it,
    /// and the projection), as the data layer projects it; then
    /// `on_fetched_item`.
    pub async fn fetch_item(
        &self,
        access: &Access,
        res: &Arc<Resource>,
        query: &FindQuery,
    ) -> ApiResult<Option<Document>> {
        let mut query = query.clone();
        query.limit = Some(1);
        let found = self.store().find(&res.datasource.source, &query).await?;
        let Some(mut doc) = found.into_iter().next() else {
            return Ok(None);
        };
        if let Some(cx) = self.context(Event::FetchedItem, access, Some(res), None) {
            self.hooks()
                .run_doc_mut(Event::FetchedItem, &cx, &mut doc)
                .await?;
        }
        Ok(Some(doc))
    }
}
