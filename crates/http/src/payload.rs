//! Request payloads: decoding the body by `Content-Type` (JSON under the
//! request limits, or form fields). The depth check of [`parse_body`]
//! counts the levels dotted keys expand to, so the expansion the executor
//! runs (`NORMALIZE_DOTTED_FIELDS`) stays within `MAX_JSON_DEPTH` levels.

use eve_core::{ApiError, ApiResult, Resource};
use serde_json::{Map, Value};

use crate::context::Ctx;

/// Decodes the request body by `Content-Type` (features.md §1.4), under the
/// request limits: nesting depth (counting the levels dotted keys expand to
/// when `res` expands them) and, for a bulk POST (`bulk`), the number of
/// documents.
pub(crate) fn parse_body(ctx: &Ctx, res: &Resource, bulk: bool) -> ApiResult<Value> {
    let s = &ctx.domain().settings;
    let content_type = ctx
        .header("content-type")
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if s.json_request_content_types.contains(&content_type) {
        let limits = crate::body_json::BodyLimits {
            max_depth: s.limits.max_json_depth,
            max_items: bulk.then_some(s.limits.max_bulk_items),
        };
        let value = crate::body_json::parse_json_body(&ctx.body, limits)?;
        if res.normalize_dotted_fields {
            crate::limits::check_json_depth(&value, s.limits.max_json_depth, true)?;
        }
        return Ok(value);
    }
    if content_type == "application/x-www-form-urlencoded" {
        let mut map = Map::new();
        for (k, v) in form_urlencoded::parse(&ctx.body) {
            let k = k.into_owned();
            let v = Value::String(v.into_owned());
            match map.get_mut(&k) {
                None => {
                    map.insert(k, v);
                }
                Some(existing) if s.auto_collapse_multi_keys => match existing {
                    Value::Array(items) => items.push(v),
                    other => *other = Value::Array(vec![other.take(), v]),
                },
                Some(_) => {}
            }
        }
        if map.is_empty() {
            return Err(ApiError::EmptyForm);
        }
        let value = Value::Object(map);
        if res.normalize_dotted_fields {
            crate::limits::check_json_depth(&value, s.limits.max_json_depth, true)?;
        }
        return Ok(value);
    }
    Err(ApiError::UnsupportedContentType)
}
