//! Media in an S3-compatible object store (`MEDIA_STORAGE: {type: s3}`,
//! docs/media.md), through the `object_store` crate.
//!
//! A file is two objects: `<prefix><oid>` (the content, uploaded in 5 MiB
//! parts, at most four in flight, so an upload holds about 20 MiB) and
//! then `<prefix><oid>.json` (the attributes): a file exists once its
//! attributes do. A failed upload is aborted. Reads ask the store for the
//! byte range and stream its answer.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bson::oid::ObjectId;
use futures_util::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::attributes::Attributes;
use crate::{ByteStream, MediaError, MediaInfo, MediaResult, MediaStorage, NewFile};

/// Where the files go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket (required).
    pub bucket: String,
    /// The service endpoint (`https://s3.eu-west-1.amazonaws.com`, a MinIO
    /// or moto URL); `None`: AWS for `region`.
    pub endpoint: Option<String>,
    /// The region (default `us-east-1`).
    pub region: Option<String>,
    /// Prefix of every object name (e.g. `media/`).
    pub prefix: String,
    /// Credentials; `None`: the `AWS_*` environment variables.
    pub access_key_id: Option<String>,
    /// Credentials; `None`: the `AWS_*` environment variables.
    pub secret_access_key: Option<String>,
    /// Allow an `http://` endpoint (default false).
    pub allow_http: bool,
}

/// Files in an S3-compatible bucket.
#[derive(Debug, Clone)]
pub struct S3Storage {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

fn unavailable(e: object_store::Error) -> MediaError {
    MediaError::Unavailable(format!("object store: {e}"))
}

/// Part size of uploads (S3's minimum for all parts but the last).
const PART: usize = 5 * 1024 * 1024;

impl S3Storage {
    /// A storage for `config` (nothing is contacted yet).
    pub fn new(config: &S3Config) -> MediaResult<S3Storage> {
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(config.region.clone().unwrap_or_else(|| "us-east-1".into()))
            .with_allow_http(config.allow_http);
        if let Some(e) = &config.endpoint {
            b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
        }
        if let Some(k) = &config.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(s) = &config.secret_access_key {
            b = b.with_secret_access_key(s);
        }
        let store = b.build().map_err(unavailable)?;
        Ok(S3Storage::with_store(Arc::new(store), &config.prefix))
    }

    /// A storage over any `object_store` store (local files, memory, other
    /// clouds), object names under `prefix`.
    pub fn with_store(store: Arc<dyn ObjectStore>, prefix: &str) -> S3Storage {
        S3Storage {
            store,
            prefix: prefix.to_string(),
        }
    }

    fn content(&self, id: &ObjectId) -> Path {
        Path::from(format!("{}{}", self.prefix, id.to_hex()))
    }

    fn attributes(&self, id: &ObjectId) -> Path {
        Path::from(format!("{}{}.json", self.prefix, id.to_hex()))
    }

    async fn read_attributes(&self, id: &ObjectId) -> MediaResult<Option<Attributes>> {
        match self.store.get(&self.attributes(id)).await {
            Ok(found) => {
                let bytes = found.bytes().await.map_err(unavailable)?;
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| MediaError::Corrupt(format!("attributes of {id}: {e}")))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl MediaStorage for S3Storage {
    fn name(&self) -> &'static str {
        "s3"
    }

    async fn put(&self, file: NewFile, mut data: ByteStream<'_>) -> MediaResult<MediaInfo> {
        let id = ObjectId::new();
        let upload = self
            .store
            .put_multipart(&self.content(&id))
            .await
            .map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut hasher = Sha256::new();
        let mut length = 0u64;
        let written: MediaResult<()> = async {
            while let Some(piece) = data.next().await {
                let piece = piece?;
                writer.wait_for_capacity(4).await.map_err(unavailable)?;
                hasher.update(&piece);
                length += piece.len() as u64;
                writer.write(&piece);
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.finish().await.map_err(unavailable)?;
        let sha256 = hex::encode(hasher.finalize());
        let upload_date = bson::DateTime::now();
        let attributes = Attributes::new(&file, length, sha256.clone(), upload_date);
        let json =
            serde_json::to_vec(&attributes).map_err(|e| MediaError::Corrupt(e.to_string()))?;
        if let Err(e) = self
            .store
            .put(&self.attributes(&id), PutPayload::from(json))
            .await
        {
            let _ = self.store.delete(&self.content(&id)).await;
            return Err(unavailable(e));
        }
        Ok(attributes.into_info(id))
    }

    async fn info(&self, id: &ObjectId) -> MediaResult<Option<MediaInfo>> {
        Ok(self.read_attributes(id).await?.map(|a| a.into_info(*id)))
    }

    async fn read(
        &self,
        id: &ObjectId,
        range: Range<u64>,
    ) -> MediaResult<Option<ByteStream<'static>>> {
        if range.start >= range.end {
            return Ok(Some(Box::pin(futures_util::stream::empty())));
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        match self.store.get_opts(&self.content(id), options).await {
            Ok(found) => Ok(Some(Box::pin(
                found.into_stream().map(|r| r.map_err(unavailable)),
            ))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete(&self, id: &ObjectId) -> MediaResult<()> {
        for path in [self.attributes(id), self.content(id)] {
            match self.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(unavailable(e)),
            }
        }
        Ok(())
    }

    async fn list_before(&self, before: bson::DateTime) -> MediaResult<Vec<ObjectId>> {
        let prefix =
            (!self.prefix.is_empty()).then(|| Path::from(self.prefix.trim_end_matches('/')));
        let mut listing = self.store.list(prefix.as_ref());
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(unavailable)?;
            let Some(hex) = meta
                .location
                .filename()
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if let Ok(id) = ObjectId::parse_str(hex) {
                if meta.last_modified.timestamp_millis() < before.timestamp_millis() {
                    out.push(id);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn files_round_trip_through_an_object_store() {
        let s = S3Storage::with_store(Arc::new(object_store::memory::InMemory::new()), "media/");
        let data: ByteStream<'static> = Box::pin(futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ]));
        let info = s.put(NewFile::default(), data).await.expect("put");
        assert_eq!(info.length, 11);
        let mut stream = s.read(&info.id, 6..11).await.expect("read").expect("found");
        let mut out = Vec::new();
        while let Some(c) = stream.next().await {
            out.extend_from_slice(&c.expect("chunk"));
        }
        assert_eq!(out, b"world");
        assert_eq!(
            s.info(&info.id).await.expect("info").expect("found").digest,
            info.digest
        );
        let later = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() + 60_000);
        assert_eq!(s.list_before(later).await.expect("list"), vec![info.id]);
        s.delete(&info.id).await.expect("delete");
        assert!(s.info(&info.id).await.expect("info").is_none());
        assert!(s.list_before(later).await.expect("list").is_empty());
    }
}
