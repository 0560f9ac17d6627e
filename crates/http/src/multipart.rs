//! `multipart/form-data` bodies (features.md §35.1): parsed as they arrive
//! (`multer`), each file part streamed into the media storage, the other
//! parts read as form fields, then merged into one document as Eve does
//! (form fields first, then files; repeated keys become lists only with
//! `AUTO_COLLAPSE_MULTI_KEYS`; `MULTIPART_FORM_FIELDS_AS_JSON` parses
//! values as JSON).
//!
//! Limits (docs/media.md): `MEDIA_MAX_REQUEST_SIZE` for the whole body,
//! `MEDIA_MAX_FILE_SIZE` per file, `MEDIA_MAX_FILES` file parts, and
//! `MAX_REQUEST_BODY` for the form fields together; beyond them `413`. Each
//! chunk must arrive within `CLIENT_TIMEOUT` (`408`). On any error the
//! files already stored are removed before the answer.

use std::sync::Mutex;

use axum::body::Body;
use bson::oid::ObjectId;
use bson::{Bson, Document};
use eve_core::request::HttpMethod;
use eve_core::{ApiError, ApiResult, Resource};
use eve_media::{ByteStream, MediaError, NewFile};
use futures_util::StreamExt;
use serde_json::Value;

use crate::context::{Ctx, Limits};

/// A parsed multipart body: the document and the files stored for it.
pub(crate) struct Upload {
    /// Form fields and file ids, as one payload.
    pub doc: Document,
    /// The files stored: removed by the caller when the write fails.
    pub stored: Vec<ObjectId>,
}

/// Takes the request body of a POST, PATCH or PUT: a multipart body is
/// left unread in `ctx.upload` (streamed by the write handler into the
/// media storage, after authentication) once its declared length passes;
/// any other body is read whole within the request limits into `ctx.body`.
pub(crate) async fn accept_body(
    ctx: &mut Ctx,
    method: &HttpMethod,
    body: Body,
    limits: &Limits,
) -> ApiResult<()> {
    if !matches!(
        method,
        HttpMethod::Post | HttpMethod::Patch | HttpMethod::Put
    ) {
        return Ok(());
    }
    if is_multipart(ctx) {
        check_declared_length(ctx)?;
        ctx.upload = Mutex::new(Some(body));
    } else {
        ctx.body = crate::limits::read_body(body, &ctx.headers, limits).await?;
    }
    Ok(())
}

/// Whether the request body is `multipart/form-data`.
pub(crate) fn is_multipart(ctx: &Ctx) -> bool {
    ctx.header("content-type").is_some_and(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("multipart/form-data")
    })
}

/// Refuses a declared `Content-Length` over `MEDIA_MAX_REQUEST_SIZE`
/// before a byte of the body is read (`413`).
fn check_declared_length(ctx: &Ctx) -> ApiResult<()> {
    let declared = ctx
        .header("content-length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > ctx.domain().settings.media.max_request_size) {
        return Err(ApiError::BodyTooLarge);
    }
    Ok(())
}

/// Reads the multipart body of the request into a document for `res`,
/// storing its files; on error, nothing stays stored.
pub(crate) async fn parse_multipart(ctx: &Ctx, res: &Resource) -> ApiResult<Upload> {
    let body = ctx
        .upload
        .lock()
        .map_err(|_| ApiError::EmptyMultipart)?
        .take()
        .ok_or(ApiError::EmptyMultipart)?;
    let content_type = ctx.header("content-type").unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| ApiError::MalformedMultipart(e.to_string()))?;
    let media = &ctx.domain().settings.media;
    let text_limit = ctx.domain().settings.limits.max_request_body;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(media.max_request_size)
            .per_field(media.max_file_size.max(text_limit)),
    );
    let mut parts =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut stored = Vec::new();
    match read_parts(ctx, res, &mut parts, &mut stored).await {
        Ok(doc) => Ok(Upload { doc, stored }),
        Err(e) => {
            ctx.exec().discard_media(&stored).await;
            Err(e)
        }
    }
}

/// What a `multer` error means for the client.
fn multipart_error(e: multer::Error, file_limit: u64) -> ApiError {
    match e {
        multer::Error::StreamSizeExceeded { .. } => ApiError::BodyTooLarge,
        multer::Error::FieldSizeExceeded { .. } => ApiError::FileTooLarge { limit: file_limit },
        multer::Error::StreamReadFailed(source) => crate::limits::body_error(source.as_ref()),
        other => ApiError::MalformedMultipart(other.to_string()),
    }
}

async fn next_chunk(
    ctx: &Ctx,
    field: &mut multer::Field<'static>,
) -> ApiResult<Option<axum::body::Bytes>> {
    let file_limit = ctx.domain().settings.media.max_file_size;
    match tokio::time::timeout(ctx.state.limits.client_timeout, field.chunk()).await {
        Err(_) => Err(ApiError::RequestTimeout),
        Ok(r) => r.map_err(|e| multipart_error(e, file_limit)),
    }
}

async fn read_parts(
    ctx: &Ctx,
    res: &Resource,
    parts: &mut multer::Multipart<'static>,
    stored: &mut Vec<ObjectId>,
) -> ApiResult<Document> {
    let settings = &ctx.domain().settings;
    let media = &settings.media;
    let media_fields = res.media_fields();
    let mut form: Vec<(String, Value)> = Vec::new();
    let mut files: Vec<(String, Bson)> = Vec::new();
    let mut text_bytes = 0u64;
    let mut file_count = 0usize;
    loop {
        let next = tokio::time::timeout(ctx.state.limits.client_timeout, parts.next_field())
            .await
            .map_err(|_| ApiError::RequestTimeout)?
            .map_err(|e| multipart_error(e, media.max_file_size))?;
        let Some(mut field) = next else { break };
        let name = field.name().unwrap_or_default().to_string();
        if let Some(filename) = field.file_name().map(str::to_string) {
            file_count += 1;
            if file_count > media.max_files {
                return Err(ApiError::TooManyFiles {
                    limit: media.max_files,
                });
            }
            let wanted =
                settings.auto_collapse_multi_keys || !files.iter().any(|(n, _)| *n == name);
            let storage = ctx.exec().media();
            match (
                media_fields.iter().any(|f| f.name == name) && wanted,
                storage,
            ) {
                (true, Some(storage)) => {
                    let new = NewFile {
                        filename: Some(filename),
                        content_type: field.content_type().map(ToString::to_string),
                        resource: Some(res.name.clone()),
                    };
                    let failure: Mutex<Option<ApiError>> = Mutex::new(None);
                    let result = storage
                        .put(new, file_stream(ctx, &mut field, &failure))
                        .await;
                    match result {
                        Ok(info) => {
                            stored.push(info.id);
                            files.push((name, Bson::ObjectId(info.id)));
                        }
                        Err(e) => {
                            let cause = failure.lock().ok().and_then(|mut f| f.take());
                            return Err(cause.unwrap_or_else(|| eve_exec::media::media_error(e)));
                        }
                    }
                }
                _ => {
                    // A file for a field that holds no files (or a repeated
                    // one): not stored; the validator sees a value that
                    // is not the field's type.
                    while next_chunk(ctx, &mut field).await?.is_some() {}
                    if wanted {
                        files.push((
                            name,
                            Bson::Binary(bson::Binary {
                                subtype: bson::spec::BinarySubtype::Generic,
                                bytes: Vec::new(),
                            }),
                        ));
                    }
                }
            }
        } else {
            let mut bytes = Vec::new();
            while let Some(chunk) = next_chunk(ctx, &mut field).await? {
                text_bytes += chunk.len() as u64;
                if text_bytes > settings.limits.max_request_body {
                    return Err(ApiError::BodyTooLarge);
                }
                bytes.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(bytes).map_err(|_| {
                ApiError::MalformedMultipart(format!("the form field {name:?} is not UTF-8 text"))
            })?;
            let value = if media.form_fields_as_json {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            } else {
                Value::String(text)
            };
            crate::limits::check_json_depth(
                &value,
                settings.limits.max_json_depth,
                res.normalize_dotted_fields,
            )?;
            form.push((name, value));
        }
    }
    if form.is_empty() && files.is_empty() {
        return Err(ApiError::EmptyMultipart);
    }
    Ok(merge(form, files, settings.auto_collapse_multi_keys))
}

/// Eve's `multidict_to_dict(CombinedMultiDict([form, files]))`: form
/// values before files; a repeated key keeps its first value, or all of
/// them as a list with `collapse`.
fn merge(form: Vec<(String, Value)>, files: Vec<(String, Bson)>, collapse: bool) -> Document {
    let mut values: Vec<(String, Vec<Bson>)> = Vec::new();
    let all = form
        .into_iter()
        .map(|(k, v)| (k, eve_query::json_to_bson(&v)))
        .chain(files);
    for (key, value) in all {
        match values.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(value),
            None => values.push((key, vec![value])),
        }
    }
    values
        .into_iter()
        .map(|(k, mut list)| {
            let value = if collapse && list.len() > 1 {
                Bson::Array(list)
            } else {
                list.swap_remove(0)
            };
            (k, value)
        })
        .collect()
}

/// The chunks of a file part for the media storage, within
/// `MEDIA_MAX_FILE_SIZE` and `CLIENT_TIMEOUT`; why it stopped early goes to
/// `failure`.
fn file_stream<'a>(
    ctx: &'a Ctx,
    field: &'a mut multer::Field<'static>,
    failure: &'a Mutex<Option<ApiError>>,
) -> ByteStream<'a> {
    let limit = ctx.domain().settings.media.max_file_size;
    let stream = futures_util::stream::unfold(
        (field, 0u64, false),
        move |(field, seen, done)| async move {
            if done {
                return None;
            }
            let fail = |e: ApiError| {
                let text = e.to_string();
                if let Ok(mut f) = failure.lock() {
                    *f = Some(e);
                }
                Err(MediaError::Aborted(text))
            };
            match next_chunk(ctx, field).await {
                Ok(Some(chunk)) => {
                    let seen = seen + chunk.len() as u64;
                    if seen > limit {
                        Some((fail(ApiError::FileTooLarge { limit }), (field, seen, true)))
                    } else {
                        Some((Ok(chunk), (field, seen, false)))
                    }
                }
                Ok(None) => None,
                Err(e) => Some((fail(e), (field, seen, true))),
            }
        },
    );
    stream.boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_come_before_files_and_repeats_collapse_only_when_asked() {
        let oid = ObjectId::new();
        let form = vec![
            ("a".to_string(), Value::String("1".into())),
            ("a".to_string(), Value::String("2".into())),
        ];
        let files = vec![
            ("pic".to_string(), Bson::ObjectId(oid)),
            ("a".to_string(), Bson::ObjectId(oid)),
        ];
        let doc = merge(form.clone(), files.clone(), false);
        assert_eq!(doc, bson::doc! {"a": "1", "pic": oid});
        let doc = merge(form, files, true);
        assert_eq!(doc, bson::doc! {"a": ["1", "2", oid], "pic": oid});
    }
}
