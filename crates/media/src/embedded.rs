//! The embedded media storage: files in a directory beside the embedded
//! store, content-addressed.
//!
//! ```text
//! <dir>/blobs/<sha256>      the content, once per distinct content
//! <dir>/files/<oid>         a hard link to its blob (what reads open)
//! <dir>/files/<oid>.json    the attributes (name, type, length, date, digest)
//! <dir>/tmp/                uploads in progress
//! ```
//!
//! `put` streams into `tmp/`, hashing as it goes, `fsync`s the file, moves
//! it to `blobs/` (or drops it when that content is already there), links
//! it as `files/<oid>`, writes the attributes (temporary file, `fsync`,
//! rename) and `fsync`s the directories: a returned id is on disk before
//! the document naming it is written. A blob's link count is its reference
//! count plus one, so `delete` removes the blob with its last file. Opening
//! the storage finishes what a crash interrupted: temporary files,
//! blobs no file links and links without attributes are removed.

use std::io::ErrorKind;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bson::oid::ObjectId;
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Mutex;

use crate::attributes::Attributes;
use crate::{ByteStream, MediaError, MediaInfo, MediaResult, MediaStorage, NewFile};

/// Size of the chunks files are read in.
const READ_CHUNK: usize = 64 * 1024;

/// Files in a directory, content-addressed (see the module docs).
#[derive(Debug)]
pub struct EmbeddedStorage {
    dir: PathBuf,
    /// Serialises linking and unlinking, so that a blob is never removed
    /// while a `put` of the same content links it.
    links: Mutex<()>,
}

fn io(context: &str) -> impl Fn(std::io::Error) -> MediaError + '_ {
    move |e| MediaError::Unavailable(format!("{context}: {e}"))
}

impl EmbeddedStorage {
    /// Opens (creating it if needed) the storage in `dir`, and cleans up
    /// after an interrupted `put` or `delete`.
    pub async fn open(dir: impl Into<PathBuf>) -> MediaResult<EmbeddedStorage> {
        let dir = dir.into();
        for sub in ["blobs", "files", "tmp"] {
            tokio::fs::create_dir_all(dir.join(sub))
                .await
                .map_err(io("creating the media directory"))?;
        }
        let storage = EmbeddedStorage {
            dir,
            links: Mutex::new(()),
        };
        storage.recover().await?;
        Ok(storage)
    }

    /// The directory the files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn link_path(&self, id: &ObjectId) -> PathBuf {
        self.dir.join("files").join(id.to_hex())
    }

    fn attributes_path(&self, id: &ObjectId) -> PathBuf {
        self.dir.join("files").join(format!("{}.json", id.to_hex()))
    }

    /// Removes what an interrupted `put` or `delete` left.
    async fn recover(&self) -> MediaResult<()> {
        let _guard = self.links.lock().await;
        let mut tmp = tokio::fs::read_dir(self.dir.join("tmp"))
            .await
            .map_err(io("reading the media directory"))?;
        while let Some(entry) = tmp.next_entry().await.map_err(io("reading tmp"))? {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
        let mut files = tokio::fs::read_dir(self.dir.join("files"))
            .await
            .map_err(io("reading the media directory"))?;
        while let Some(entry) = files.next_entry().await.map_err(io("reading files"))? {
            let path = entry.path();
            if path.extension().is_none() && !path.with_extension("json").exists() {
                let _ = tokio::fs::remove_file(&path).await;
            }
        }
        let mut blobs = tokio::fs::read_dir(self.dir.join("blobs"))
            .await
            .map_err(io("reading the media directory"))?;
        while let Some(entry) = blobs.next_entry().await.map_err(io("reading blobs"))? {
            let meta = entry.metadata().await.map_err(io("reading blobs"))?;
            if meta.nlink() <= 1 {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        Ok(())
    }

    async fn read_attributes(&self, id: &ObjectId) -> MediaResult<Option<Attributes>> {
        let bytes = match tokio::fs::read(self.attributes_path(id)).await {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("reading media attributes")(e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| MediaError::Corrupt(format!("attributes of {id}: {e}")))
    }

    /// Streams `data` into a temporary file; returns its path, length and
    /// SHA-256. The temporary file is removed on any error.
    async fn receive(&self, mut data: ByteStream<'_>) -> MediaResult<(PathBuf, u64, String)> {
        let path = self.dir.join("tmp").join(ObjectId::new().to_hex());
        let mut file = tokio::fs::File::create(&path)
            .await
            .map_err(io("creating a media file"))?;
        let mut hasher = Sha256::new();
        let mut length = 0u64;
        let result: MediaResult<()> = async {
            while let Some(chunk) = data.next().await {
                let chunk = chunk?;
                hasher.update(&chunk);
                length += chunk.len() as u64;
                file.write_all(&chunk)
                    .await
                    .map_err(io("writing a media file"))?;
            }
            file.flush().await.map_err(io("writing a media file"))?;
            file.sync_all().await.map_err(io("syncing a media file"))?;
            Ok(())
        }
        .await;
        drop(file);
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e);
        }
        Ok((path, length, hex::encode(hasher.finalize())))
    }

    async fn sync_dir(&self, sub: &str) -> MediaResult<()> {
        let dir = tokio::fs::File::open(self.dir.join(sub))
            .await
            .map_err(io("opening the media directory"))?;
        dir.sync_all()
            .await
            .map_err(io("syncing the media directory"))
    }
}

#[async_trait]
impl MediaStorage for EmbeddedStorage {
    fn name(&self) -> &'static str {
        "embedded"
    }

    async fn put(&self, file: NewFile, data: ByteStream<'_>) -> MediaResult<MediaInfo> {
        let (tmp, length, sha256) = self.receive(data).await?;
        let id = ObjectId::new();
        let upload_date = bson::DateTime::now();
        let attributes = Attributes::new(&file, length, sha256.clone(), upload_date);
        let json =
            serde_json::to_vec(&attributes).map_err(|e| MediaError::Corrupt(e.to_string()))?;
        let attributes_tmp = self.dir.join("tmp").join(format!("{}.json", id.to_hex()));
        let mut out = tokio::fs::File::create(&attributes_tmp)
            .await
            .map_err(io("writing media attributes"))?;
        out.write_all(&json)
            .await
            .map_err(io("writing media attributes"))?;
        out.sync_all()
            .await
            .map_err(io("syncing media attributes"))?;
        drop(out);
        let blob = self.dir.join("blobs").join(&sha256);
        {
            let _guard = self.links.lock().await;
            let linked: MediaResult<()> = async {
                if tokio::fs::try_exists(&blob).await.unwrap_or(false) {
                    let _ = tokio::fs::remove_file(&tmp).await;
                } else {
                    tokio::fs::rename(&tmp, &blob)
                        .await
                        .map_err(io("storing a media file"))?;
                    self.sync_dir("blobs").await?;
                }
                tokio::fs::hard_link(&blob, self.link_path(&id))
                    .await
                    .map_err(io("linking a media file"))?;
                tokio::fs::rename(&attributes_tmp, self.attributes_path(&id))
                    .await
                    .map_err(io("storing media attributes"))?;
                self.sync_dir("files").await
            }
            .await;
            if let Err(e) = linked {
                let _ = tokio::fs::remove_file(&tmp).await;
                let _ = tokio::fs::remove_file(&attributes_tmp).await;
                let _ = tokio::fs::remove_file(self.link_path(&id)).await;
                let _ = tokio::fs::remove_file(self.attributes_path(&id)).await;
                return Err(e);
            }
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
        let mut file = match tokio::fs::File::open(self.link_path(id)).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("opening a media file")(e)),
        };
        file.seek(std::io::SeekFrom::Start(range.start))
            .await
            .map_err(io("reading a media file"))?;
        let remaining = range.end.saturating_sub(range.start);
        let stream =
            futures_util::stream::unfold((file, remaining), |(mut file, left)| async move {
                if left == 0 {
                    return None;
                }
                let want = usize::try_from(left).unwrap_or(READ_CHUNK).min(READ_CHUNK);
                let mut buf = vec![0u8; want];
                match file.read(&mut buf).await {
                    Ok(0) => Some((
                        Err(MediaError::Corrupt(
                            "media file shorter than recorded".into(),
                        )),
                        (file, 0),
                    )),
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), (file, left - n as u64)))
                    }
                    Err(e) => Some((Err(io("reading a media file")(e)), (file, 0))),
                }
            });
        Ok(Some(Box::pin(stream)))
    }

    async fn delete(&self, id: &ObjectId) -> MediaResult<()> {
        let Some(attributes) = self.read_attributes(id).await? else {
            return Ok(());
        };
        let _guard = self.links.lock().await;
        // Attributes first: a link without them is removed at the next
        // open, attributes without a link would read as a broken file.
        match tokio::fs::remove_file(self.attributes_path(id)).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io("removing a media file")(e)),
        }
        let _ = tokio::fs::remove_file(self.link_path(id)).await;
        let blob = self.dir.join("blobs").join(&attributes.sha256);
        if let Ok(meta) = tokio::fs::metadata(&blob).await {
            if meta.nlink() <= 1 {
                let _ = tokio::fs::remove_file(&blob).await;
            }
        }
        Ok(())
    }

    async fn list_before(&self, before: bson::DateTime) -> MediaResult<Vec<ObjectId>> {
        let mut out = Vec::new();
        let mut files = tokio::fs::read_dir(self.dir.join("files"))
            .await
            .map_err(io("reading the media directory"))?;
        while let Some(entry) = files.next_entry().await.map_err(io("reading files"))? {
            let name = entry.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let Ok(id) = ObjectId::parse_str(hex) else {
                continue;
            };
            if let Some(a) = self.read_attributes(&id).await? {
                if a.upload_millis() < before.timestamp_millis() {
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

    fn chunks(parts: Vec<&'static [u8]>) -> ByteStream<'static> {
        Box::pin(futures_util::stream::iter(
            parts.into_iter().map(|p| Ok(Bytes::from_static(p))),
        ))
    }

    async fn content(s: &EmbeddedStorage, id: &ObjectId, range: Range<u64>) -> Vec<u8> {
        let mut stream = s.read(id, range).await.unwrap().unwrap();
        let mut out = Vec::new();
        while let Some(c) = stream.next().await {
            out.extend_from_slice(&c.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn same_content_is_stored_once_and_removed_with_its_last_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStorage::open(dir.path()).await.unwrap();
        let a = s
            .put(NewFile::default(), chunks(vec![b"hello ", b"world"]))
            .await
            .unwrap();
        let b = s
            .put(NewFile::default(), chunks(vec![b"hello world"]))
            .await
            .unwrap();
        assert_eq!(a.digest, b.digest);
        assert_eq!(a.length, 11);
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
            1
        );
        assert_eq!(content(&s, &a.id, 6..11).await, b"world");
        s.delete(&a.id).await.unwrap();
        assert!(s.info(&a.id).await.unwrap().is_none());
        assert_eq!(content(&s, &b.id, 0..11).await, b"hello world");
        s.delete(&b.id).await.unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
            0
        );
    }

    #[tokio::test]
    async fn an_aborted_upload_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStorage::open(dir.path()).await.unwrap();
        let data: ByteStream<'static> = Box::pin(futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"part")),
            Err(MediaError::Aborted("client went away".into())),
        ]));
        assert!(matches!(
            s.put(NewFile::default(), data).await,
            Err(MediaError::Aborted(_))
        ));
        for sub in ["blobs", "files", "tmp"] {
            assert_eq!(
                std::fs::read_dir(dir.path().join(sub)).unwrap().count(),
                0,
                "{sub}"
            );
        }
    }

    #[tokio::test]
    async fn opening_removes_what_a_crash_left() {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStorage::open(dir.path()).await.unwrap();
        let a = s
            .put(NewFile::default(), chunks(vec![b"kept"]))
            .await
            .unwrap();
        drop(s);
        std::fs::write(dir.path().join("tmp/partial"), b"x").unwrap();
        std::fs::write(dir.path().join("blobs/deadbeef"), b"x").unwrap();
        let s = EmbeddedStorage::open(dir.path()).await.unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
            1
        );
        assert_eq!(content(&s, &a.id, 0..4).await, b"kept");
        let later = bson::DateTime::from_millis(a.upload_date.timestamp_millis() + 1);
        assert_eq!(s.list_before(later).await.unwrap(), vec![a.id]);
        assert!(s.list_before(a.upload_date).await.unwrap().is_empty());
    }
}
