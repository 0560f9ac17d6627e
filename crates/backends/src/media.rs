//! Media storages (features.md §35, docs/media.md): the one beside each
//! data layer. The embedded store keeps files in `<data dir>/media`
//! (`eve_media::EmbeddedStorage`); MongoDB keeps them in GridFS (bucket
//! `fs` of the layer's database, as Python Eve does), PostgreSQL in tables
//! of the store's schema (`eve_store_postgres::PgMediaStorage`).
//! `MEDIA_STORAGE: {type: s3, ...}` puts them in an S3-compatible bucket
//! instead, whatever the layer (`eve_media::S3Storage`).

use std::sync::Arc;

use eve_media::MediaStorage;

use crate::{BackendError, LayerUrl, OpenOptions};

/// Opens the media storage that goes with the layer `url` names.
pub async fn open_media(
    url: &LayerUrl,
    options: &OpenOptions,
) -> Result<Arc<dyn MediaStorage>, BackendError> {
    if let eve_core::settings::MediaStorageSetting::S3(s3) = &options.media {
        let config = eve_media::S3Config {
            bucket: s3.bucket.clone(),
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            prefix: s3.prefix.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.clone(),
            allow_http: s3.allow_http,
        };
        return Ok(Arc::new(eve_media::S3Storage::new(&config)?));
    }
    match url {
        LayerUrl::Embedded => {
            let storage = eve_media::EmbeddedStorage::open(options.data_dir.join("media")).await?;
            Ok(Arc::new(storage))
        }
        LayerUrl::Mongo { uri } => {
            let store = crate::open_mongo(uri.as_deref(), options).await?;
            Ok(Arc::new(store.media_storage()))
        }
        LayerUrl::Postgres { uri } if uri.is_empty() => {
            Err(BackendError::MissingHost("postgres://".into()))
        }
        LayerUrl::Postgres { uri } => {
            let store =
                eve_store_postgres::PostgresStore::connect(uri, crate::postgres_options(options))
                    .await?;
            Ok(Arc::new(store.media_storage()))
        }
    }
}
