//! Named points of the request pipeline where event hooks run (features.md
//! §32). The pipeline — never the store or the renderer — calls them, in
//! Eve's order. Every method has a no-op default, so an embedder implements
//! only the events it cares about; a hook aborts the request by returning
//! an error (e.g. `ApiError::Abort { status: 403, .. }`).
//!
//! The registry-based public hook API (general and per-resource hooks,
//! typed by event) builds on these points.

use bson::Document;
use eve_core::ApiResult;

/// Hook points, called with the resource name first.
#[allow(unused_variables)]
pub trait Hooks: Send + Sync + 'static {
    /// `on_pre_<METHOD>`: before the method is processed.
    fn on_pre_request(&self, method: &str, resource: Option<&str>) -> ApiResult<()> {
        Ok(())
    }
    /// `on_post_<METHOD>`: after the response is built (not for HEAD).
    fn on_post_request(&self, method: &str, resource: Option<&str>, status: u16) {}
    /// `on_insert`: documents about to be inserted (may be changed).
    fn on_insert(&self, resource: &str, docs: &mut [Document]) -> ApiResult<()> {
        Ok(())
    }
    /// `on_inserted`: documents just inserted.
    fn on_inserted(&self, resource: &str, docs: &[Document]) {}
    /// Whether [`Hooks::on_inserted`] is implemented. The pipeline keeps a
    /// copy of the inserted documents for it only when this is true (the
    /// default); `on_inserted` is not called when it is false.
    fn observes_inserted(&self) -> bool {
        true
    }
    /// `on_update`: updates about to be applied to `original`.
    fn on_update(
        &self,
        resource: &str,
        updates: &mut Document,
        original: &Document,
    ) -> ApiResult<()> {
        Ok(())
    }
    /// `on_updated`: updates applied.
    fn on_updated(&self, resource: &str, updates: &Document, original: &Document) {}
    /// `on_replace`: replacement about to be stored.
    fn on_replace(
        &self,
        resource: &str,
        document: &mut Document,
        original: &Document,
    ) -> ApiResult<()> {
        Ok(())
    }
    /// `on_replaced`: replacement stored.
    fn on_replaced(&self, resource: &str, document: &Document, original: &Document) {}
    /// `on_delete_item`: a document about to be deleted.
    fn on_delete_item(&self, resource: &str, original: &Document) -> ApiResult<()> {
        Ok(())
    }
    /// `on_deleted_item`: a document deleted.
    fn on_deleted_item(&self, resource: &str, original: &Document) {}
    /// `on_delete_resource`: a collection DELETE is about to run.
    fn on_delete_resource(&self, resource: &str) -> ApiResult<()> {
        Ok(())
    }
    /// `on_deleted_resource`: a collection DELETE ran.
    fn on_deleted_resource(&self, resource: &str) {}
    /// `on_fetched_resource`: a page of documents about to be rendered.
    fn on_fetched_resource(&self, resource: &str, docs: &mut Vec<Document>) -> ApiResult<()> {
        Ok(())
    }
    /// `on_fetched_item`: a document about to be rendered.
    fn on_fetched_item(&self, resource: &str, doc: &mut Document) -> ApiResult<()> {
        Ok(())
    }
}

/// Hooks that do nothing (the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {
    fn observes_inserted(&self) -> bool {
        false
    }
}
