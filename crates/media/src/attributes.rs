//! The attributes record of the storages that keep one beside the content
//! (embedded, S3): what `MediaInfo` needs, as JSON.

use bson::oid::ObjectId;
use serde::{Deserialize, Serialize};

use crate::{MediaInfo, NewFile};

/// A stored file's attributes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Attributes {
    filename: Option<String>,
    content_type: Option<String>,
    length: u64,
    upload_date: i64,
    pub(crate) sha256: String,
    resource: Option<String>,
}

impl Attributes {
    /// The attributes of a file just stored.
    pub(crate) fn new(
        file: &NewFile,
        length: u64,
        sha256: String,
        upload_date: bson::DateTime,
    ) -> Attributes {
        Attributes {
            filename: file.filename.clone(),
            content_type: file.content_type.clone(),
            length,
            upload_date: upload_date.timestamp_millis(),
            sha256,
            resource: file.resource.clone(),
        }
    }

    /// When the file was stored, in milliseconds.
    pub(crate) fn upload_millis(&self) -> i64 {
        self.upload_date
    }

    /// What a storage reports about file `id`.
    pub(crate) fn into_info(self, id: ObjectId) -> MediaInfo {
        MediaInfo {
            id,
            filename: self.filename,
            content_type: self.content_type,
            length: self.length,
            upload_date: bson::DateTime::from_millis(self.upload_date),
            chunk_size: None,
            md5: None,
            resource: self.resource,
            digest: self.sha256,
        }
    }
}
