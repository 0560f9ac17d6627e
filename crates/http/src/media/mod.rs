//! Media in answers (features.md §35.2) and the media endpoint (§35.3,
//! `endpoint.rs`; ranges in `range.rs`).
//!
//! A media field stores the id of a file in the media storage. Documents
//! are answered with the file as base64 (`RETURN_MEDIA_AS_BASE64_STRING`,
//! the default), its URL (`RETURN_MEDIA_AS_URL`) or `null`, wrapped with
//! the `EXTENDED_MEDIA_INFO` attributes when that list is not empty. As in
//! Eve, this happens after the document's ETag was computed (from the
//! stored ids).

use std::collections::HashMap;

use base64::Engine;
use bson::oid::ObjectId;
use bson::{Bson, Document};
use eve_core::{ApiResult, Resource};
use serde_json::{Map, Value};

use crate::context::Ctx;

mod endpoint;
mod range;

pub(crate) use endpoint::get_media;

/// The answer value of each file the documents of a page name.
#[derive(Debug, Default)]
pub(crate) struct MediaValues {
    values: HashMap<ObjectId, Value>,
}

/// Reads what the documents' media fields must show (one storage look-up
/// per file).
pub(crate) async fn resolve(
    ctx: &Ctx,
    res: &Resource,
    docs: &[Document],
) -> ApiResult<MediaValues> {
    let mut out = MediaValues::default();
    if res.media_fields().is_empty() {
        return Ok(out);
    }
    let Some(storage) = ctx.exec().media() else {
        return Ok(out);
    };
    let s = &ctx.domain().settings;
    let media = &s.media;
    for doc in docs {
        for id in eve_exec::media::media_ids(res, doc) {
            if out.values.contains_key(&id) {
                continue;
            }
            let (info, file) = if media.as_base64 {
                match storage
                    .read_all(&id, media.max_inline_size)
                    .await
                    .map_err(eve_exec::media::media_error)?
                {
                    Some((info, bytes)) => (
                        Some(info),
                        Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
                    ),
                    // Missing, or too large to inline: `null`.
                    None => (None, Value::Null),
                }
            } else {
                let info = storage
                    .info(&id)
                    .await
                    .map_err(eve_exec::media::media_error)?;
                let file = match (&info, media.as_url) {
                    (Some(_), true) => Value::String(media_url(ctx, &id)),
                    _ => Value::Null,
                };
                (info, file)
            };
            let value = match info {
                None => Value::Null,
                Some(_) if media.extended_info.is_empty() => file,
                Some(info) => {
                    let mut map = Map::new();
                    map.insert("file".into(), file);
                    for name in &media.extended_info {
                        let v = info.attribute(name).unwrap_or(Bson::Null);
                        map.insert(
                            name.clone(),
                            crate::render::bson_to_json(&v, &s.date_format),
                        );
                    }
                    Value::Object(map)
                }
            };
            out.values.insert(id, value);
        }
    }
    Ok(out)
}

/// `<MEDIA_BASE_URL or the API prefix>/<MEDIA_ENDPOINT>/<id>`.
fn media_url(ctx: &Ctx, id: &ObjectId) -> String {
    let media = &ctx.domain().settings.media;
    let base = media
        .base_url
        .clone()
        .unwrap_or_else(|| ctx.state.routes.prefix().to_string());
    format!("{base}/{}/{}", media.endpoint, id.to_hex())
}

/// The media fields of a stored document (what [`MediaValues::apply`]
/// needs once the document was handed to the renderer).
pub(crate) fn media_part(res: &Resource, doc: &Document) -> Document {
    res.media_fields()
        .iter()
        .filter_map(|f| doc.get(&f.name).map(|v| (f.name.clone(), v.clone())))
        .collect()
}

impl MediaValues {
    /// Replaces the media fields of `map` (the answer built from `stored`)
    /// with what they show.
    pub(crate) fn apply(&self, res: &Resource, stored: &Document, map: &mut Map<String, Value>) {
        for field in res.media_fields() {
            let Some(slot) = map.get_mut(&field.name) else {
                continue;
            };
            let one = |v: &Bson| match v {
                Bson::ObjectId(id) => self.values.get(id).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
            *slot = match stored.get(&field.name) {
                Some(Bson::Array(items)) => Value::Array(items.iter().map(one).collect()),
                Some(v) => one(v),
                None => Value::Null,
            };
        }
    }
}
