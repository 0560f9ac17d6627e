//! Media settings (features.md §35, settings.md §1.11, docs/media.md):
//! Eve's `EXTENDED_MEDIA_INFO`, `RETURN_MEDIA_AS_*`, `MEDIA_*`,
//! `MULTIPART_FORM_FIELDS_AS_JSON`, and eve-rs's upload limits.

use super::read::{Ctx, Scope};
use crate::domain::UrlRule;

/// The `EXTENDED_MEDIA_INFO` attributes a stored file has (GridFS's).
pub const MEDIA_ATTRIBUTES: &[&str] = &[
    "content_type",
    "name",
    "filename",
    "length",
    "upload_date",
    "uploadDate",
    "chunk_size",
    "chunkSize",
    "md5",
    "_id",
];

/// Where media files go (`MEDIA_STORAGE`, an eve-rs setting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MediaStorageSetting {
    /// Beside the data layer (absent, or `{type: default}`): a directory
    /// beside the embedded store, GridFS on MongoDB, tables on PostgreSQL.
    #[default]
    Layer,
    /// An S3-compatible object store (`{type: s3, bucket, ...}`).
    S3(S3Settings),
}

/// `MEDIA_STORAGE: {type: s3, ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// `bucket` (required).
    pub bucket: String,
    /// `endpoint`: the service URL (MinIO, moto, another region's AWS URL).
    pub endpoint: Option<String>,
    /// `region` (default `us-east-1`).
    pub region: Option<String>,
    /// `prefix` of the object names (default none).
    pub prefix: String,
    /// `access_key_id` (default: `AWS_ACCESS_KEY_ID`).
    pub access_key_id: Option<String>,
    /// `secret_access_key` (default: `AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: Option<String>,
    /// `allow_http`: allow an `http://` endpoint (default false).
    pub allow_http: bool,
}

/// The keys of `MEDIA_STORAGE` with `type: s3`.
const S3_KEYS: &[&str] = &[
    "type",
    "bucket",
    "endpoint",
    "region",
    "prefix",
    "access_key_id",
    "secret_access_key",
    "allow_http",
];

fn read_storage(ctx: &mut Ctx, g: &Scope<'_>) -> MediaStorageSetting {
    use serde_json::Value;
    let map = match g.get("MEDIA_STORAGE") {
        None | Some(Value::Null) => return MediaStorageSetting::Layer,
        Some(Value::Object(map)) => map,
        Some(other) => {
            ctx.problem(
                "MEDIA_STORAGE",
                format!("expected a mapping, found {}", super::read::kind_of(other)),
            );
            return MediaStorageSetting::Layer;
        }
    };
    match map.get("type").and_then(Value::as_str) {
        Some("default") if map.len() == 1 => return MediaStorageSetting::Layer,
        Some("s3") => {}
        _ => {
            ctx.problem(
                "MEDIA_STORAGE.type",
                "expected s3 or default (default: the storage beside the data layer, and no other key)",
            );
            return MediaStorageSetting::Layer;
        }
    }
    for key in map.keys() {
        if !S3_KEYS.contains(&key.as_str()) {
            ctx.problem(
                format!("MEDIA_STORAGE.{key}"),
                format!("unknown key (known: {})", S3_KEYS.join(", ")),
            );
        }
    }
    let mut text = |key: &str| match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            ctx.problem(
                format!("MEDIA_STORAGE.{key}"),
                format!("expected a string, found {}", super::read::kind_of(other)),
            );
            None
        }
    };
    let bucket = text("bucket").unwrap_or_default();
    let endpoint = text("endpoint");
    let region = text("region");
    let prefix = text("prefix").unwrap_or_default();
    let access_key_id = text("access_key_id");
    let secret_access_key = text("secret_access_key");
    if bucket.is_empty() {
        ctx.problem(
            "MEDIA_STORAGE.bucket",
            "required: the bucket the files go to",
        );
    }
    let allow_http = match map.get("allow_http") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            ctx.problem(
                "MEDIA_STORAGE.allow_http",
                format!("expected a boolean, found {}", super::read::kind_of(other)),
            );
            false
        }
    };
    if access_key_id.is_some() != secret_access_key.is_some() {
        ctx.problem(
            "MEDIA_STORAGE.access_key_id",
            "access_key_id and secret_access_key go together",
        );
    }
    MediaStorageSetting::S3(S3Settings {
        bucket,
        endpoint,
        region,
        prefix,
        access_key_id,
        secret_access_key,
        allow_http,
    })
}

/// The media settings, checked.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// `EXTENDED_MEDIA_INFO`: attributes returned with each media value
    /// (checked against [`MEDIA_ATTRIBUTES`] at start-up).
    pub extended_info: Vec<String>,
    /// `RETURN_MEDIA_AS_BASE64_STRING` (default true).
    pub as_base64: bool,
    /// `RETURN_MEDIA_AS_URL` (default false): the media endpoint is served.
    pub as_url: bool,
    /// `MEDIA_ENDPOINT` (default `media`), without slashes.
    pub endpoint: String,
    /// `MEDIA_URL`: the rule media ids match.
    pub url: UrlRule,
    /// `MEDIA_BASE_URL` (default none: the API prefix).
    pub base_url: Option<String>,
    /// `MULTIPART_FORM_FIELDS_AS_JSON` (default false).
    pub form_fields_as_json: bool,
    /// `MEDIA_MAX_FILE_SIZE`: largest uploaded file in bytes (default 64
    /// MiB); larger gets `413`.
    pub max_file_size: u64,
    /// `MEDIA_MAX_REQUEST_SIZE`: largest `multipart/form-data` body in
    /// bytes, files included (default 256 MiB); larger gets `413`.
    pub max_request_size: u64,
    /// `MEDIA_MAX_FILES`: most file parts in one request (default 100).
    pub max_files: usize,
    /// `MEDIA_STORAGE`: where files go (default: beside the data layer).
    pub storage: MediaStorageSetting,
    /// `MEDIA_MAX_INLINE_SIZE`: largest file rendered as base64 inside a
    /// document (default 16 MiB); a larger one renders as `null` (fetch
    /// it from the media endpoint).
    pub max_inline_size: u64,
}

/// Reads the media settings.
pub(super) fn read(ctx: &mut Ctx, g: &Scope<'_>) -> MediaSettings {
    let extended_info = g.str_list(ctx, "EXTENDED_MEDIA_INFO", &[], true);
    for (i, name) in extended_info.iter().enumerate() {
        if !MEDIA_ATTRIBUTES.contains(&name.as_str()) {
            ctx.problem(
                format!("EXTENDED_MEDIA_INFO.{i}"),
                format!(
                    "unknown media attribute {name:?} (known: {})",
                    MEDIA_ATTRIBUTES.join(", ")
                ),
            );
        }
    }
    let url = match g.get("MEDIA_URL") {
        // A bad rule is reported by the type check of `MEDIA_URL`.
        Some(serde_json::Value::String(s)) => {
            super::url::parse_url_rule(s).unwrap_or(UrlRule::String)
        }
        _ => {
            super::url::parse_url_rule(super::globals::DEFAULT_ITEM_URL).expect("default MEDIA_URL")
        }
    };
    let endpoint = g
        .string(ctx, "MEDIA_ENDPOINT", "media")
        .trim_matches('/')
        .to_string();
    if endpoint.is_empty() {
        ctx.problem("MEDIA_ENDPOINT", "expected a non-empty path segment");
    }
    let mut positive = |key: &str, default: u64| {
        let v = g.u64(ctx, key, default);
        if v == 0 {
            ctx.problem(key, "expected a positive integer, found 0");
            return default;
        }
        v
    };
    let max_file_size = positive("MEDIA_MAX_FILE_SIZE", 64 * 1024 * 1024);
    let max_request_size = positive("MEDIA_MAX_REQUEST_SIZE", 256 * 1024 * 1024);
    let max_files = usize::try_from(positive("MEDIA_MAX_FILES", 100)).unwrap_or(usize::MAX);
    let max_inline_size = positive("MEDIA_MAX_INLINE_SIZE", 16 * 1024 * 1024);
    MediaSettings {
        storage: read_storage(ctx, g),
        extended_info,
        as_base64: g.bool(ctx, "RETURN_MEDIA_AS_BASE64_STRING", true),
        as_url: g.bool(ctx, "RETURN_MEDIA_AS_URL", false),
        endpoint,
        url,
        base_url: g.opt_string(ctx, "MEDIA_BASE_URL", None),
        form_fields_as_json: g.bool(ctx, "MULTIPART_FORM_FIELDS_AS_JSON", false),
        max_file_size,
        max_request_size,
        max_files,
        max_inline_size,
    }
}
