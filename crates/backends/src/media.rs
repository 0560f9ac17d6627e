//! Media storages (features.md §35, docs/media.md): the one beside each
//! data layer. The embedded store keeps files in `<data dir>/media`
//! (`eve_media::EmbeddedStorage`).

use std::sync::Arc;

use eve_media::MediaStorage;

use crate::{BackendError, LayerUrl, OpenOptions};

/// Opens the media storage that goes with the layer `url` names.
pub async fn open_media(
    url: &LayerUrl,
    options: &OpenOptions,
) -> Result<Arc<dyn MediaStorage>, BackendError> {
    match url {
        LayerUrl::Embedded => {
            let storage = eve_media::EmbeddedStorage::open(options.data_dir.join("media")).await?;
            Ok(Arc::new(storage))
        }
        other => Err(BackendError::NoMediaStorage(other.to_string())),
    }
}
