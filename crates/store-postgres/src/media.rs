//! The media storage of the PostgreSQL layer (features.md §35.4): files in
//! two tables of the store's schema, `eve_media_files` (one row a file:
//! name, declared type, length, upload date, SHA-256, resource) and
//! `eve_media_chunks` (`bytea` chunks of 256 KiB).
//!
//! A file's chunks are written first, its `eve_media_files` row last (in
//! one transaction with the last chunk), so a file exists only complete;
//! a failed upload removes its chunks. Reads fetch the chunks a range
//! covers, 16 at a time, so a download holds at most 4 MiB. Files are not
//! written in the document's transaction (the storage interface is apart
//! from the data layer's); they are committed (durably, with the server's
//! `synchronous_commit`) before the document is written, and the orphan
//! collector finds those whose document never was.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bson::oid::ObjectId;
use deadpool_postgres::Pool;
use eve_media::{
    ByteStream, Bytes, Chunked, Chunker, MediaError, MediaInfo, MediaResult, MediaStorage, NewFile,
};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

/// Size of the stored chunks.
const CHUNK_SIZE: usize = 256 * 1024;
/// Chunks read per query.
const READ_BATCH: i64 = 16;

/// Media files in PostgreSQL tables beside the documents.
#[derive(Clone)]
pub struct PgMediaStorage {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// The quoted schema.
    schema: String,
    ready: OnceCell<()>,
}

impl std::fmt::Debug for PgMediaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgMediaStorage")
            .field("schema", &self.inner.schema)
            .finish()
    }
}

fn unavailable(e: impl std::fmt::Display) -> MediaError {
    MediaError::Unavailable(format!("postgres: {e}"))
}

impl PgMediaStorage {
    pub(crate) fn new(pool: Pool, schema: &str) -> PgMediaStorage {
        PgMediaStorage {
            inner: Arc::new(Inner {
                pool,
                schema: schema.to_string(),
                ready: OnceCell::new(),
            }),
        }
    }

    fn files(&self) -> String {
        format!("{}.eve_media_files", self.inner.schema)
    }

    fn chunks(&self) -> String {
        format!("{}.eve_media_chunks", self.inner.schema)
    }

    async fn client(&self) -> MediaResult<deadpool_postgres::Client> {
        let client = self.inner.pool.get().await.map_err(unavailable)?;
        self.inner
            .ready
            .get_or_try_init(|| async {
                let ddl = format!(
                    "CREATE SCHEMA IF NOT EXISTS {schema};
                     CREATE TABLE IF NOT EXISTS {files} (
                         id text PRIMARY KEY, filename text, content_type text,
                         length bigint NOT NULL, upload_date bigint NOT NULL,
                         sha256 text NOT NULL, resource text);
                     CREATE TABLE IF NOT EXISTS {chunks} (
                         file_id text NOT NULL, n integer NOT NULL, data bytea NOT NULL,
                         PRIMARY KEY (file_id, n));",
                    schema = self.inner.schema,
                    files = self.files(),
                    chunks = self.chunks(),
                );
                client.batch_execute(&ddl).await.map_err(unavailable)
            })
            .await?;
        Ok(client)
    }

    async fn write(
        &self,
        id: &str,
        file: &NewFile,
        mut data: ByteStream<'_>,
    ) -> MediaResult<(u64, String, i64)> {
        let mut client = self.client().await?;
        let insert_chunk = format!(
            "INSERT INTO {} (file_id, n, data) VALUES ($1, $2, $3)",
            self.chunks()
        );
        let mut chunker = Chunker::new(CHUNK_SIZE);
        while let Some(piece) = data.next().await {
            for (n, bytes) in chunker.push(&piece?) {
                client
                    .execute(&insert_chunk, &[&id, &n, &bytes])
                    .await
                    .map_err(unavailable)?;
            }
        }
        let Chunked {
            last,
            length,
            sha256,
        } = chunker.finish();
        let upload_date = bson::DateTime::now().timestamp_millis();
        let tx = client.transaction().await.map_err(unavailable)?;
        if let Some((n, bytes)) = last {
            tx.execute(&insert_chunk, &[&id, &n, &bytes])
                .await
                .map_err(unavailable)?;
        }
        let insert_file = format!(
            "INSERT INTO {} (id, filename, content_type, length, upload_date, sha256, resource)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            self.files()
        );
        let len = i64::try_from(length).unwrap_or(i64::MAX);
        tx.execute(
            &insert_file,
            &[
                &id,
                &file.filename,
                &file.content_type,
                &len,
                &upload_date,
                &sha256,
                &file.resource,
            ],
        )
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok((length, sha256, upload_date))
    }

    async fn remove_chunks(&self, id: &str) {
        if let Ok(client) = self.client().await {
            let sql = format!("DELETE FROM {} WHERE file_id = $1", self.chunks());
            let _ = client.execute(&sql, &[&id]).await;
        }
    }

    /// Chunks `from..=to` of file `id`, in order.
    async fn chunk_batch(&self, id: &str, from: i64, to: i64) -> MediaResult<Vec<(i64, Vec<u8>)>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT n::bigint, data FROM {} WHERE file_id = $1 AND n >= $2 AND n <= $3 ORDER BY n",
            self.chunks()
        );
        let (from, to) = (
            i32::try_from(from).unwrap_or(i32::MAX),
            i32::try_from(to).unwrap_or(i32::MAX),
        );
        let rows = client
            .query(&sql, &[&id, &from, &to])
            .await
            .map_err(unavailable)?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i64>(0), r.get::<_, Vec<u8>>(1)))
            .collect())
    }
}

#[async_trait]
impl MediaStorage for PgMediaStorage {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn put(&self, file: NewFile, data: ByteStream<'_>) -> MediaResult<MediaInfo> {
        let oid = ObjectId::new();
        let id = oid.to_hex();
        match self.write(&id, &file, data).await {
            Ok((length, sha256, upload_date)) => Ok(MediaInfo {
                id: oid,
                filename: file.filename,
                content_type: file.content_type,
                length,
                upload_date: bson::DateTime::from_millis(upload_date),
                chunk_size: Some(CHUNK_SIZE as i64),
                md5: None,
                resource: file.resource,
                digest: sha256,
            }),
            Err(e) => {
                self.remove_chunks(&id).await;
                Err(e)
            }
        }
    }

    async fn info(&self, id: &ObjectId) -> MediaResult<Option<MediaInfo>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT filename, content_type, length, upload_date, sha256, resource FROM {} WHERE id = $1",
            self.files()
        );
        let row = client
            .query_opt(&sql, &[&id.to_hex()])
            .await
            .map_err(unavailable)?;
        Ok(row.map(|r| MediaInfo {
            id: *id,
            filename: r.get(0),
            content_type: r.get(1),
            length: u64::try_from(r.get::<_, i64>(2)).unwrap_or(0),
            upload_date: bson::DateTime::from_millis(r.get(3)),
            chunk_size: Some(CHUNK_SIZE as i64),
            md5: None,
            resource: r.get(5),
            digest: r.get(4),
        }))
    }

    async fn read(
        &self,
        id: &ObjectId,
        range: Range<u64>,
    ) -> MediaResult<Option<ByteStream<'static>>> {
        let Some(info) = self.info(id).await? else {
            return Ok(None);
        };
        let end = range.end.min(info.length);
        let size = CHUNK_SIZE as u64;
        if range.start >= end {
            return Ok(Some(Box::pin(futures_util::stream::empty())));
        }
        let first = i64::try_from(range.start / size).unwrap_or(i64::MAX);
        let last = i64::try_from((end - 1) / size).unwrap_or(i64::MAX);
        let start = range.start;
        let storage = self.clone();
        let key = id.to_hex();
        let stream = futures_util::stream::unfold(Some(first), move |next| {
            let storage = storage.clone();
            let key = key.clone();
            async move {
                let from = next?;
                let to = (from + READ_BATCH - 1).min(last);
                let batch = match storage.chunk_batch(&key, from, to).await {
                    Ok(b) => b,
                    Err(e) => return Some((vec![Err(e)], None)),
                };
                let mut out = Vec::with_capacity(batch.len());
                let mut expected = from;
                for (n, data) in batch {
                    if n != expected {
                        out.push(Err(MediaError::Corrupt("media chunk missing".into())));
                        return Some((out, None));
                    }
                    expected += 1;
                    let at = u64::try_from(n).unwrap_or(0) * size;
                    let a = usize::try_from(start.saturating_sub(at))
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    let b = usize::try_from(end.saturating_sub(at))
                        .unwrap_or(usize::MAX)
                        .min(data.len());
                    out.push(Ok(Bytes::copy_from_slice(&data[a..b])));
                }
                if expected != to + 1 {
                    out.push(Err(MediaError::Corrupt("media chunk missing".into())));
                    return Some((out, None));
                }
                Some((out, (to < last).then_some(to + 1)))
            }
        })
        .flat_map(futures_util::stream::iter);
        Ok(Some(Box::pin(stream)))
    }

    async fn delete(&self, id: &ObjectId) -> MediaResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(unavailable)?;
        let key = id.to_hex();
        tx.execute(
            &format!("DELETE FROM {} WHERE id = $1", self.files()),
            &[&key],
        )
        .await
        .map_err(unavailable)?;
        tx.execute(
            &format!("DELETE FROM {} WHERE file_id = $1", self.chunks()),
            &[&key],
        )
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn list_before(&self, before: bson::DateTime) -> MediaResult<Vec<ObjectId>> {
        let client = self.client().await?;
        let sql = format!("SELECT id FROM {} WHERE upload_date < $1", self.files());
        let rows = client
            .query(&sql, &[&before.timestamp_millis()])
            .await
            .map_err(unavailable)?;
        Ok(rows
            .iter()
            .filter_map(|r| ObjectId::parse_str(r.get::<_, String>(0)).ok())
            .collect())
    }
}
