//! Media storage for eve-rs (features.md §35): where the files of `media`
//! fields live.
//!
//! [`MediaStorage`] is the transport-free, object-safe interface every
//! storage implements (`Arc<dyn MediaStorage>`): `put` streams a file in
//! and returns what was stored ([`MediaInfo`], with the `ObjectId` the
//! document keeps, as Eve's GridFS does), `info` and `read` (a byte range,
//! streamed) serve it, `delete` removes it, `list_before` lists files for
//! the orphan collector. [`EmbeddedStorage`] keeps files in a directory
//! beside the embedded store, content-addressed; GridFS (MongoDB) and the
//! PostgreSQL storage live with their data layers.
//!
//! [`sniff`] names a file's content type from its first bytes: what eve-rs
//! serves, never the type a client declared.

use std::fmt::Debug;
use std::ops::Range;
use std::pin::Pin;

use async_trait::async_trait;
use bson::oid::ObjectId;
pub use bytes::Bytes;
use futures_core::Stream;

mod attributes;
mod chunker;
mod embedded;
#[cfg(feature = "s3")]
mod s3;
mod sniff;

pub use chunker::{Chunked, Chunker};
pub use embedded::EmbeddedStorage;
#[cfg(feature = "s3")]
pub use s3::{S3Config, S3Storage};
pub use sniff::{is_image, sniff};

/// A stream of file bytes, in chunks.
pub type ByteStream<'a> = Pin<Box<dyn Stream<Item = Result<Bytes, MediaError>> + Send + 'a>>;

/// Errors of a media storage.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The bytes being stored stopped with an error of their source (the
    /// client went away, a limit of the caller was reached): nothing is
    /// kept.
    #[error("upload aborted: {0}")]
    Aborted(String),
    /// The storage's medium failed (file system, database, object store).
    #[error("media storage unavailable: {0}")]
    Unavailable(String),
    /// The storage holds something it cannot read back.
    #[error("media storage corrupt: {0}")]
    Corrupt(String),
}

/// Result of media storage operations.
pub type MediaResult<T> = Result<T, MediaError>;

/// What a client sent with a file (both optional, both only reported
/// back: the served content type is sniffed).
#[derive(Debug, Clone, Default)]
pub struct NewFile {
    /// The part's file name.
    pub filename: Option<String>,
    /// The part's declared `Content-Type`.
    pub content_type: Option<String>,
    /// The resource whose document will reference the file.
    pub resource: Option<String>,
}

/// A stored file's attributes (GridFS's names, for `EXTENDED_MEDIA_INFO`).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// The id the document keeps.
    pub id: ObjectId,
    /// The file name the client sent.
    pub filename: Option<String>,
    /// The content type the client declared.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub length: u64,
    /// When it was stored.
    pub upload_date: bson::DateTime,
    /// GridFS chunk size, where there is one.
    pub chunk_size: Option<i64>,
    /// GridFS md5, where one was recorded.
    pub md5: Option<String>,
    /// The resource the file was uploaded for, when known (files written
    /// by Python Eve do not say).
    pub resource: Option<String>,
    /// A strong validator of the content (its SHA-256, or the storage's
    /// own), for `ETag`.
    pub digest: String,
}

impl MediaInfo {
    /// The attribute `name` as Eve's `EXTENDED_MEDIA_INFO` reads it from a
    /// GridFS file (`None` when the name is not a file attribute; a known
    /// attribute the storage lacks is `Some(Null)`).
    pub fn attribute(&self, name: &str) -> Option<bson::Bson> {
        use bson::Bson;
        let opt = |v: &Option<String>| v.clone().map_or(Bson::Null, Bson::String);
        Some(match name {
            "_id" => Bson::ObjectId(self.id),
            "filename" | "name" => opt(&self.filename),
            "content_type" => opt(&self.content_type),
            "length" => i64::try_from(self.length).map_or(Bson::Null, Bson::Int64),
            "upload_date" | "uploadDate" => Bson::DateTime(self.upload_date),
            "chunk_size" | "chunkSize" => self.chunk_size.map_or(Bson::Null, Bson::Int64),
            "md5" => opt(&self.md5),
            _ => return None,
        })
    }
}

/// Where the files of `media` fields are kept. Object safe: hold it as
/// `Arc<dyn MediaStorage>`.
#[async_trait]
pub trait MediaStorage: Send + Sync + Debug + 'static {
    /// A short name for logs (`embedded`, `gridfs`, `postgres`, `s3`).
    fn name(&self) -> &'static str;

    /// Stores the bytes of `data` and returns what was stored. The file is
    /// durable when this returns. If `data` yields an error, nothing is
    /// kept and the error is returned.
    async fn put(&self, file: NewFile, data: ByteStream<'_>) -> MediaResult<MediaInfo>;

    /// The attributes of a stored file, `None` when there is none.
    async fn info(&self, id: &ObjectId) -> MediaResult<Option<MediaInfo>>;

    /// The bytes `range` of a stored file (the caller clamps it to the
    /// length), streamed; `None` when there is no such file.
    async fn read(
        &self,
        id: &ObjectId,
        range: Range<u64>,
    ) -> MediaResult<Option<ByteStream<'static>>>;

    /// Removes a file; removing a missing file is not an error.
    async fn delete(&self, id: &ObjectId) -> MediaResult<()>;

    /// The ids of files stored before `before`, for the orphan collector.
    async fn list_before(&self, before: bson::DateTime) -> MediaResult<Vec<ObjectId>>;

    /// The whole content of a file, `None` when there is none or when it is
    /// longer than `max` bytes (the caller renders such a file as missing
    /// rather than hold it in memory).
    async fn read_all(&self, id: &ObjectId, max: u64) -> MediaResult<Option<(MediaInfo, Vec<u8>)>> {
        use futures_util::StreamExt;
        let Some(info) = self.info(id).await? else {
            return Ok(None);
        };
        if info.length > max {
            return Ok(None);
        }
        let Some(mut stream) = self.read(id, 0..info.length).await? else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(usize::try_from(info.length).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(Some((info, out)))
    }
}
