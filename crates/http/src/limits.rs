//! Request limits checked by the pipeline (docs/robustness.md): the body's
//! framing, size and arrival time, JSON body depth and bulk size. Head
//! size and the connection timeouts are enforced in `serve.rs`.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use eve_core::{ApiError, ApiResult};
use serde_json::Value;

use crate::Limits;

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
fn body_error(err: &(dyn std::error::Error + 'static)) -> ApiError {
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
    ApiError::BadRequest(
        "the request body is malformed: invalid chunked encoding or cut short".into(),
    )
}

/// Refuses a JSON body nested deeper than `max` arrays and objects (`400`).
pub(crate) fn check_json_depth(value: &Value, max: usize) -> ApiResult<()> {
    // Iterative, so that the check itself never recurses.
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth > max {
            return Err(ApiError::BadRequest(format!(
                "the request body is nested deeper than {max} levels (MAX_JSON_DEPTH)"
            )));
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Refuses a bulk POST of more than `max` documents (`400`).
pub(crate) fn check_bulk_items(count: usize, max: usize) -> ApiResult<()> {
    if count > max {
        return Err(ApiError::BadRequest(format!(
            "a bulk insert may hold at most {max} documents (MAX_BULK_ITEMS)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert!(check_json_depth(&json!(1), 1).is_ok());
        assert!(check_json_depth(&json!({"a": 1}), 1).is_ok());
        assert!(check_json_depth(&json!({"a": [1]}), 1).is_err());
        assert!(check_json_depth(&json!({"a": [1]}), 2).is_ok());
        assert!(check_json_depth(&json!([[], {"a": {"b": {}}}]), 3).is_err());
        assert!(check_json_depth(&json!([[], {"a": {"b": {}}}]), 4).is_ok());
    }
}
