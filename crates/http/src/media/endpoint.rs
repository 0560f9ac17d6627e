//! `GET`/`HEAD /<MEDIA_ENDPOINT>/<id>` (features.md §35.3): a stored file,
//! streamed from the media storage, with `ETag` (its digest),
//! `Last-Modified` (its upload date), `304` for `If-None-Match` /
//! `If-Modified-Since`, RFC 9110 ranges (`206`, `multipart/byteranges`
//! for several, `416`). The content type is sniffed from the file's first
//! bytes, never the one the uploader declared; `X-Content-Type-Options:
//! nosniff` and, for anything but an image, `Content-Disposition:
//! attachment`.
//!
//! Access: the pipeline applied the global authentication (as in Eve).
//! When a resource with media fields is user-restricted (`auth_field`),
//! the file is served only if a document the caller may read (its owner
//! filter applied, soft-deleted ones hidden) references it — the
//! resource recorded with the file, or else any resource with media
//! fields; a caller without an auth value gets `404` (fail closed).

use axum::body::Body;
use axum::http::header;
use bson::oid::ObjectId;
use eve_core::access::Via;
use eve_core::plan::scope_filter_with;
use eve_core::request::{parse_http_date, Route};
use eve_core::soft_delete::Deleted;
use eve_core::{ApiError, ApiResult};
use eve_media::{MediaError, MediaInfo, MediaStorage};
use futures_util::StreamExt;

use super::range::{parse_range, Ranged};
use crate::context::{Ctx, Reply};
use crate::negotiate::http_date;

/// Bytes read to sniff the content type.
const SNIFF_BYTES: u64 = 8192;

/// Serves a stored file.
pub(crate) async fn get_media(ctx: &Ctx, route: &Route) -> ApiResult<Reply> {
    let raw = route.lookup.as_ref().map(|(_, v)| v.as_str()).unwrap_or("");
    let id = ObjectId::parse_str(raw).map_err(|_| ApiError::DocumentNotFound)?;
    let storage = ctx
        .exec()
        .media()
        .ok_or(ApiError::DocumentNotFound)?
        .clone();
    let info = storage
        .info(&id)
        .await
        .map_err(eve_exec::media::media_error)?
        .ok_or(ApiError::DocumentNotFound)?;
    if !readable(ctx, &info).await? {
        return Err(ApiError::DocumentNotFound);
    }
    let etag = format!("\"{}\"", info.digest);
    let modified = http_date(info.upload_date.to_chrono());
    let content_type = sniff(storage.as_ref(), &info).await?;
    let mut reply = Reply::empty(200)
        .header(header::ETAG, etag.clone())
        .header(header::LAST_MODIFIED, modified)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if !eve_media::is_image(&content_type) {
        reply = reply.header(
            header::CONTENT_DISPOSITION,
            disposition(info.filename.as_deref()),
        );
    }
    if not_modified(ctx, &etag, &info) {
        reply.status = 304;
        return Ok(reply);
    }
    // `If-Range`: the ranges apply only to the representation the client
    // has (its strong ETag); else the whole file.
    let range_header = match ctx.header("if-range") {
        Some(tag) if tag.trim() != etag => None,
        _ => ctx.header("range"),
    };
    let len = info.length;
    match parse_range(range_header, len) {
        Ranged::Whole => {
            let body = open(storage.as_ref(), &id, 0..len).await?;
            reply.raw = Some((content_type, len, body));
        }
        Ranged::Unsatisfiable => {
            let mut refused = crate::app::error_reply(ctx.domain(), &ApiError::RangeNotSatisfiable);
            // An eve-rs answer: Eve's JSON error shape whatever
            // `STANDARD_ERRORS` lists.
            refused.document = true;
            refused.headers.extend(reply.headers);
            return Ok(refused.header(header::CONTENT_RANGE, format!("bytes */{len}")));
        }
        Ranged::Parts(parts) if parts.len() == 1 => {
            let r = parts[0].clone();
            let body = open(storage.as_ref(), &id, r.clone()).await?;
            reply.status = 206;
            reply = reply.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{len}", r.start, r.end - 1),
            );
            reply.raw = Some((content_type, r.end - r.start, body));
        }
        Ranged::Parts(parts) => {
            let boundary = ObjectId::new().to_hex();
            let mut pieces = Vec::new();
            let mut total = 0u64;
            for r in &parts {
                let head = format!(
                    "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {}-{}/{len}\r\n\r\n",
                    r.start,
                    r.end - 1
                );
                total += head.len() as u64 + (r.end - r.start);
                pieces.push(
                    futures_util::stream::once(async move { Ok(axum::body::Bytes::from(head)) })
                        .boxed(),
                );
                pieces.push(read(storage.as_ref(), &id, r.clone()).await?);
            }
            let tail = format!("\r\n--{boundary}--\r\n");
            total += tail.len() as u64;
            pieces.push(
                futures_util::stream::once(async move { Ok(axum::body::Bytes::from(tail)) })
                    .boxed(),
            );
            let stream = futures_util::stream::iter(pieces)
                .flatten()
                .map(|r| r.map_err(std::io::Error::other));
            reply.status = 206;
            reply.raw = Some((
                format!("multipart/byteranges; boundary={boundary}"),
                total,
                Body::from_stream(stream),
            ));
        }
    }
    Ok(reply)
}

/// `attachment`, with the file name when it is plain ASCII.
fn disposition(filename: Option<&str>) -> String {
    match filename {
        Some(name)
            if !name.is_empty()
                && name.len() <= 200
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._- ".contains(&b)) =>
        {
            format!("attachment; filename=\"{name}\"")
        }
        _ => "attachment".into(),
    }
}

/// `If-None-Match` (a matching ETag or `*`), else `If-Modified-Since` (Eve:
/// the date plus one second later than the upload).
fn not_modified(ctx: &Ctx, etag: &str, info: &MediaInfo) -> bool {
    if let Some(inm) = ctx.header("if-none-match") {
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag);
    }
    if ctx.header("range").is_some() {
        return false;
    }
    match ctx.header("if-modified-since").and_then(parse_http_date) {
        Some(since) => since.timestamp() + 1 > info.upload_date.timestamp_millis() / 1000,
        None => false,
    }
}

async fn read(
    storage: &dyn MediaStorage,
    id: &ObjectId,
    range: std::ops::Range<u64>,
) -> ApiResult<eve_media::ByteStream<'static>> {
    storage
        .read(id, range)
        .await
        .map_err(eve_exec::media::media_error)?
        .ok_or(ApiError::DocumentNotFound)
}

async fn open(
    storage: &dyn MediaStorage,
    id: &ObjectId,
    range: std::ops::Range<u64>,
) -> ApiResult<Body> {
    let stream = read(storage, id, range).await?;
    Ok(Body::from_stream(stream.map(|r| {
        r.map_err(|e: MediaError| {
            tracing::error!(error = %e, "a media file could not be read to the end");
            std::io::Error::other(e)
        })
    })))
}

/// The served content type: sniffed from the first bytes.
async fn sniff(storage: &dyn MediaStorage, info: &MediaInfo) -> ApiResult<String> {
    let mut head = Vec::new();
    let mut stream = read(storage, &info.id, 0..info.length.min(SNIFF_BYTES)).await?;
    while let Some(chunk) = stream.next().await {
        head.extend_from_slice(&chunk.map_err(eve_exec::media::media_error)?);
    }
    Ok(eve_media::sniff(&head))
}

/// Whether the caller may read the file (see the module docs).
async fn readable(ctx: &Ctx, info: &MediaInfo) -> ApiResult<bool> {
    let domain = ctx.domain();
    let mut candidates: Vec<_> = domain
        .resources
        .values()
        .filter(|r| !r.media_fields().is_empty())
        .collect();
    if let Some(owner) = info.resource.as_deref() {
        if candidates.iter().any(|r| r.name == owner) {
            candidates.retain(|r| r.name == owner);
        }
    }
    if candidates.iter().all(|r| r.auth_field.is_none()) {
        return Ok(true);
    }
    for res in candidates {
        let via = Via {
            method: "GET".into(),
            item: true,
        };
        let access = ctx.access.clone().restricted_to(res, via);
        if res.auth_field.is_some() && access.owner_value.is_none() {
            continue;
        }
        let scope = scope_filter_with(domain, res, &[], &access, Deleted::Hide);
        for field in res.media_fields() {
            let filter = scope
                .clone()
                .and(eve_query::Filter::eq(field.name.clone(), info.id));
            if ctx
                .exec()
                .store()
                .count(&res.datasource.source, &filter)
                .await?
                > 0
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
