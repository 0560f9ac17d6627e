//! The files of `media` fields (features.md §35, docs/media.md): the
//! executor's media storage, removal of the files a write or delete no
//! longer references, and the orphan collector.
//!
//! Files are stored (and synced) by the caller before the document naming
//! them is written. When the write fails the caller discards them
//! ([`Executor::discard_media`]); what a crash leaves between the two is
//! found by [`Executor::collect_media_orphans`]: files older than a grace
//! period that no document (nor a version of one) references.

use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use eve_core::{ApiError, ApiResult, Resource};
use eve_media::{MediaError, MediaStorage};

use crate::Executor;

/// The file ids a document's media fields hold.
pub fn media_ids(res: &Resource, doc: &Document) -> Vec<ObjectId> {
    let mut out = Vec::new();
    for field in res.media_fields() {
        match doc.get(&field.name) {
            Some(Bson::ObjectId(id)) => out.push(*id),
            Some(Bson::Array(items)) => {
                out.extend(items.iter().filter_map(|v| match v {
                    Bson::ObjectId(id) => Some(*id),
                    _ => None,
                }));
            }
            _ => {}
        }
    }
    out
}

/// A media storage failure as the pipeline reports it (`503`, logged).
pub fn media_error(e: MediaError) -> ApiError {
    tracing::error!(error = %e, "media storage failed");
    ApiError::MediaStorage(e.to_string())
}

impl Executor {
    /// The media storage, when one is configured.
    pub fn media(&self) -> Option<&Arc<dyn MediaStorage>> {
        self.inner.media.get()
    }

    /// Sets the media storage (once, before serving).
    pub fn set_media(&self, storage: Arc<dyn MediaStorage>) -> Result<(), Arc<dyn MediaStorage>> {
        self.inner.media.set(storage)
    }

    /// Removes files that were stored for a write that did not happen.
    pub async fn discard_media(&self, ids: &[ObjectId]) {
        let Some(storage) = self.media() else { return };
        for id in ids {
            if let Err(e) = storage.delete(id).await {
                // The orphan collector removes it later.
                tracing::warn!(error = %e, file = %id, "an unused media file could not be removed");
            }
        }
    }

    /// After a write of `res`: removes the files `old` referenced that
    /// `new` (`None`: the document was deleted) does not. A versioned
    /// resource keeps the files of an edited document: its older
    /// versions still name them.
    pub(crate) async fn release_media(
        &self,
        res: &Resource,
        old: &Document,
        new: Option<&Document>,
    ) {
        if self.media().is_none() || (res.versioning && new.is_some()) {
            return;
        }
        let kept = new.map(|d| media_ids(res, d)).unwrap_or_default();
        let gone: Vec<ObjectId> = media_ids(res, old)
            .into_iter()
            .filter(|id| !kept.contains(id))
            .collect();
        self.discard_media(&gone).await;
    }

    /// Removes the files stored more than `grace` ago that no document of
    /// a resource with media fields references (nor a version of one, nor
    /// a soft-deleted one). Returns how many were removed. Run at start-up
    /// and when the operator asks; `grace` must exceed the longest upload.
    pub async fn collect_media_orphans(&self, grace: Duration) -> ApiResult<usize> {
        let Some(storage) = self.media() else {
            return Ok(0);
        };
        let before = bson::DateTime::from_millis(
            bson::DateTime::now()
                .timestamp_millis()
                .saturating_sub(i64::try_from(grace.as_millis()).unwrap_or(i64::MAX)),
        );
        let candidates = storage.list_before(before).await.map_err(media_error)?;
        let mut removed = 0;
        for id in candidates {
            if !self.media_referenced(&id).await? {
                storage.delete(&id).await.map_err(media_error)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether any stored document (or version) names the file `id`.
    async fn media_referenced(&self, id: &ObjectId) -> ApiResult<bool> {
        let domain = self.domain();
        for res in domain.resources.values() {
            let mut collections = vec![res.datasource.source.clone()];
            collections.extend(res.versions_collection(&domain.settings));
            for field in res.media_fields() {
                let filter = eve_query::Filter::parse(&doc! { field.name.clone(): *id })
                    .map_err(ApiError::InvalidQuery)?;
                for collection in &collections {
                    if self.store().count(collection, &filter).await? > 0 {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }
}
