//! GridFS media storage (features.md §35.4): files in the `fs.files` and
//! `fs.chunks` collections of the layer's database, as Python Eve's
//! `GridFSMediaStorage` (pymongo's `gridfs`) keeps them, so documents
//! Eve wrote render the same here and the other way round.
//!
//! A file is its chunks (`{files_id, n, data}`, 255 KiB each) and then its
//! `fs.files` document (`_id`, `length`, `chunkSize`, `uploadDate`,
//! `filename`, `contentType`, and eve-rs's `metadata.sha256` and
//! `metadata.resource`): written in that order, so a file without its
//! `fs.files` document does not exist; a failed upload removes its
//! chunks. Reads fetch only the chunks a range covers.

use std::ops::Range;

use async_trait::async_trait;
use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use eve_media::{ByteStream, Chunker, MediaError, MediaInfo, MediaResult, MediaStorage, NewFile};
use futures_util::StreamExt;
use mongodb::options::FindOptions;
use mongodb::{Collection, Database};

/// pymongo's default chunk size.
const CHUNK_SIZE: usize = 255 * 1024;

/// Media files in GridFS (bucket `fs`) of a MongoDB database.
#[derive(Debug, Clone)]
pub struct GridFsStorage {
    files: Collection<Document>,
    chunks: Collection<Document>,
}

fn unavailable(e: mongodb::error::Error) -> MediaError {
    MediaError::Unavailable(format!("GridFS: {e}"))
}

impl GridFsStorage {
    /// The bucket `fs` of `db`.
    pub fn new(db: &Database) -> GridFsStorage {
        GridFsStorage {
            files: db.collection("fs.files"),
            chunks: db.collection("fs.chunks"),
        }
    }

    async fn write_chunks(
        &self,
        id: ObjectId,
        mut data: ByteStream<'_>,
    ) -> MediaResult<(u64, String)> {
        let chunk = |n: i32, bytes: Vec<u8>| {
            doc! {
                "files_id": id,
                "n": n,
                "data": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes },
            }
        };
        let mut chunker = Chunker::new(CHUNK_SIZE);
        while let Some(piece) = data.next().await {
            for (n, bytes) in chunker.push(&piece?) {
                self.chunks
                    .insert_one(chunk(n, bytes))
                    .await
                    .map_err(unavailable)?;
            }
        }
        let end = chunker.finish();
        if let Some((n, bytes)) = end.last {
            self.chunks
                .insert_one(chunk(n, bytes))
                .await
                .map_err(unavailable)?;
        }
        Ok((end.length, end.sha256))
    }
}

/// A `fs.files` document as a [`MediaInfo`].
fn info_of(d: &Document) -> Option<MediaInfo> {
    let id = d.get_object_id("_id").ok()?;
    let length = match d.get("length") {
        Some(Bson::Int64(n)) => u64::try_from(*n).ok()?,
        Some(Bson::Int32(n)) => u64::try_from(*n).ok()?,
        Some(Bson::Double(f)) if *f >= 0.0 => *f as u64,
        _ => return None,
    };
    let chunk_size = match d.get("chunkSize") {
        Some(Bson::Int32(n)) => Some(i64::from(*n)),
        Some(Bson::Int64(n)) => Some(*n),
        _ => None,
    };
    let upload_date = d
        .get_datetime("uploadDate")
        .copied()
        .unwrap_or(bson::DateTime::from_millis(0));
    let text = |k: &str| d.get_str(k).ok().map(str::to_string);
    let meta = d.get_document("metadata").ok();
    let md5 = text("md5");
    let digest = meta
        .and_then(|m| m.get_str("sha256").ok())
        .map(str::to_string)
        .or_else(|| md5.clone())
        .unwrap_or_else(|| {
            format!(
                "{}-{length}-{}",
                id.to_hex(),
                upload_date.timestamp_millis()
            )
        });
    Some(MediaInfo {
        id,
        filename: text("filename"),
        content_type: text("contentType"),
        length,
        upload_date,
        chunk_size,
        md5,
        resource: meta
            .and_then(|m| m.get_str("resource").ok())
            .map(str::to_string),
        digest,
    })
}

#[async_trait]
impl MediaStorage for GridFsStorage {
    fn name(&self) -> &'static str {
        "gridfs"
    }

    async fn put(&self, file: NewFile, data: ByteStream<'_>) -> MediaResult<MediaInfo> {
        let id = ObjectId::new();
        let (length, sha256) = match self.write_chunks(id, data).await {
            Ok(done) => done,
            Err(e) => {
                let _ = self.chunks.delete_many(doc! {"files_id": id}).await;
                return Err(e);
            }
        };
        // Millisecond precision, as stored.
        let upload_date = bson::DateTime::now();
        let mut files_doc = doc! {
            "_id": id,
            "length": i64::try_from(length).unwrap_or(i64::MAX),
            "chunkSize": CHUNK_SIZE as i32,
            "uploadDate": upload_date,
        };
        if let Some(name) = &file.filename {
            files_doc.insert("filename", name.clone());
        }
        if let Some(ct) = &file.content_type {
            files_doc.insert("contentType", ct.clone());
        }
        let mut metadata = doc! {"sha256": sha256.clone()};
        if let Some(r) = &file.resource {
            metadata.insert("resource", r.clone());
        }
        files_doc.insert("metadata", metadata);
        if let Err(e) = self.files.insert_one(files_doc).await {
            let _ = self.chunks.delete_many(doc! {"files_id": id}).await;
            return Err(unavailable(e));
        }
        Ok(MediaInfo {
            id,
            filename: file.filename,
            content_type: file.content_type,
            length,
            upload_date,
            chunk_size: Some(CHUNK_SIZE as i64),
            md5: None,
            resource: file.resource,
            digest: sha256,
        })
    }

    async fn info(&self, id: &ObjectId) -> MediaResult<Option<MediaInfo>> {
        let found = self
            .files
            .find_one(doc! {"_id": id})
            .await
            .map_err(unavailable)?;
        match found {
            None => Ok(None),
            Some(d) => info_of(&d)
                .map(Some)
                .ok_or_else(|| MediaError::Corrupt(format!("fs.files {id} is not a GridFS file"))),
        }
    }

    async fn read(
        &self,
        id: &ObjectId,
        range: Range<u64>,
    ) -> MediaResult<Option<ByteStream<'static>>> {
        let Some(info) = self.info(id).await? else {
            return Ok(None);
        };
        let size = info
            .chunk_size
            .and_then(|c| u64::try_from(c).ok())
            .filter(|c| *c > 0)
            .unwrap_or(CHUNK_SIZE as u64);
        let end = range.end.min(info.length);
        if range.start >= end {
            return Ok(Some(Box::pin(futures_util::stream::empty())));
        }
        let (first, last) = (range.start / size, (end - 1) / size);
        let filter = doc! {
            "files_id": id,
            "n": {"$gte": i64::try_from(first).unwrap_or(i64::MAX), "$lte": i64::try_from(last).unwrap_or(i64::MAX)},
        };
        let options = FindOptions::builder().sort(doc! {"n": 1}).build();
        let cursor = self
            .chunks
            .find(filter)
            .with_options(options)
            .await
            .map_err(unavailable)?;
        let start = range.start;
        let mut expected = first;
        let stream = cursor.map(move |chunk| {
            let chunk = chunk.map_err(unavailable)?;
            let n = match chunk.get("n") {
                Some(Bson::Int32(n)) => u64::try_from(*n).ok(),
                Some(Bson::Int64(n)) => u64::try_from(*n).ok(),
                _ => None,
            };
            if n != Some(expected) {
                return Err(MediaError::Corrupt("GridFS chunk missing".into()));
            }
            expected += 1;
            let data = match chunk.get("data") {
                Some(Bson::Binary(b)) => &b.bytes,
                _ => return Err(MediaError::Corrupt("GridFS chunk without data".into())),
            };
            let at = n.unwrap_or(0) * size;
            let from = usize::try_from(start.saturating_sub(at))
                .unwrap_or(usize::MAX)
                .min(data.len());
            let to = usize::try_from(end.saturating_sub(at))
                .unwrap_or(usize::MAX)
                .min(data.len());
            Ok(bytes_of(&data[from..to]))
        });
        Ok(Some(Box::pin(stream)))
    }

    async fn delete(&self, id: &ObjectId) -> MediaResult<()> {
        self.files
            .delete_one(doc! {"_id": id})
            .await
            .map_err(unavailable)?;
        self.chunks
            .delete_many(doc! {"files_id": id})
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn list_before(&self, before: bson::DateTime) -> MediaResult<Vec<ObjectId>> {
        let options = FindOptions::builder().projection(doc! {"_id": 1}).build();
        let mut cursor = self
            .files
            .find(doc! {"uploadDate": {"$lt": before}})
            .with_options(options)
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        while let Some(d) = cursor.next().await {
            if let Ok(id) = d.map_err(unavailable)?.get_object_id("_id") {
                out.push(id);
            }
        }
        Ok(out)
    }
}

fn bytes_of(data: &[u8]) -> eve_media::Bytes {
    eve_media::Bytes::copy_from_slice(data)
}
