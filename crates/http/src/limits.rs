//! Request limits checked by the pipeline (docs/robustness.md): the body's
//! framing, size and arrival time, JSON body depth (dotted keys included)
//! and bulk size (`body_json.rs` checks these two while parsing). Head
//! size and the connection timeouts are enforced in `serve.rs`.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use eve_core::{ApiError, ApiResult};
use serde_json::Value;

use crate::context::Limits;

/// Refuses a `Transfer-Encoding` other than `chunked` (`501`, RFC 9112
/// §6.1): the HTTP layer only removes the chunked framing, so any other
/// coding would reach the parser still encoded.
pub(crate) fn check_transfer_coding(headers: &HeaderMap) -> ApiResult<()> {
    for value in headers.get_all(header::TRANSFER_ENCODING) {
        let text = String::from_utf8_lossy(value.as_bytes());
        for coding in text.split(',').map(str::trim) {
            if !coding.is_empty() && !coding.eq_ignore_ascii_case("chunked") {
                let shown: String = coding.chars().take(64).collect();
                return Err(ApiError::TransferCodingNotSupported(shown));
            }
        }
    }
    Ok(())
}

/// Reads a request body within `limits`: a declared `Content-Length` over
/// `max_body_bytes` is refused before a byte of the body is read, and so
/// is a body that grows beyond it (`413`); a body that does not arrive
/// within `client_timeout` gets `408`; a body whose framing is broken
/// (malformed chunks) or that ends early gets `400`.
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limits: &Limits,
) -> ApiResult<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let max = u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX);
    if declared.is_some_and(|len| len > max) {
        return Err(ApiError::BodyTooLarge);
    }
    let read = axum::body::to_bytes(body, limits.max_body_bytes);
    match tokio::time::timeout(limits.client_timeout, read).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(body_error(&e)),
        Err(_) => Err(ApiError::RequestTimeout),
    }
}

/// What a failed body read means for the client.
pub(crate) fn body_error(err: &(dyn std::error::Error + 'static)) -> ApiError {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<http_body_util::LengthLimitError>() {
            return ApiError::BodyTooLarge;
        }
        if e.downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_timeout)
        {
            return ApiError::RequestTimeout;
        }
        cause = e.source();
    }
    ApiError::BodyCutShort
}

/// Refuses a JSON body nested deeper than `max` arrays and objects (`400`).
/// With `dotted`, a key of `n` dot-separated segments counts `n` levels, as
/// it will once expanded (`"a.b": 1` is `{"a": {"b": 1}}`), so that the
/// expansion never builds a document deeper than the limit.
pub(crate) fn check_json_depth(value: &Value, max: usize, dotted: bool) -> ApiResult<()> {
    // Iterative, so that the check itself never recurses.
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        match v {
            Value::Array(items) => {
                if depth > max {
                    return Err(depth_error(max));
                }
                stack.extend(items.iter().map(|c| (c, depth + 1)));
            }
            Value::Object(map) => {
                if depth > max {
                    return Err(depth_error(max));
                }
                for (key, child) in map {
                    let levels = if dotted { key_levels(key) } else { 1 };
                    // A dotted key holding a scalar still nests its segments.
                    if depth + levels - 1 > max {
                        return Err(depth_error(max));
                    }
                    stack.push((child, depth + levels));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Levels a key adds once its dots are expanded (an upper bound: empty
/// segments are not expanded).
fn key_levels(key: &str) -> usize {
    key.bytes().filter(|b| *b == b'.').count() + 1
}

/// The answer to a body nested deeper than `max` levels.
pub(crate) fn depth_error(max: usize) -> ApiError {
    ApiError::BodyTooDeep { max }
}

/// The answer to a bulk POST of more than `max` documents.
pub(crate) fn bulk_error(max: usize) -> ApiError {
    ApiError::BulkTooLarge { limit: max }
}

/// Refuses a bulk POST of more than `max` documents (`400`).
pub(crate) fn check_bulk_items(count: usize, max: usize) -> ApiResult<()> {
    if count > max {
        return Err(bulk_error(max));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_arrays_and_objects() {
        for dotted in [false, true] {
            assert!(check_json_depth(&json!(1), 1, dotted).is_ok());
            assert!(check_json_depth(&json!({"a": 1}), 1, dotted).is_ok());
            assert!(check_json_depth(&json!({"a": [1]}), 1, dotted).is_err());
            assert!(check_json_depth(&json!({"a": [1]}), 2, dotted).is_ok());
            assert!(check_json_depth(&json!([[], {"a": {"b": {}}}]), 3, dotted).is_err());
            assert!(check_json_depth(&json!([[], {"a": {"b": {}}}]), 4, dotted).is_ok());
        }
    }

    #[test]
    fn dotted_keys_count_one_level_per_segment() {
        let v = json!({"a.b.c": 1});
        assert!(check_json_depth(&v, 2, false).is_ok());
        assert!(check_json_depth(&v, 2, true).is_err());
        assert!(check_json_depth(&v, 3, true).is_ok());
        let v = json!({"x": {"a.b": [1]}});
        assert!(check_json_depth(&v, 3, true).is_err());
        assert!(check_json_depth(&v, 4, true).is_ok());
        let deep = json!({ "a.".repeat(3000) + "a": 1 });
        assert!(check_json_depth(&deep, 64, true).is_err());
    }
}
