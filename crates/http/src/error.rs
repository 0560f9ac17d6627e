//! The one table that maps every [`ApiError`] to an HTTP status and the
//! message Eve shows ([`status_and_message`]), and Eve's error body built
//! from it ([`ErrorResponse`]). Internal errors are logged and answered with
//! a generic body; their details never reach the client.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use eve_core::{ApiError, Domain, WriteKind};
use eve_query::QueryError;
use eve_store::StoreError;
use serde_json::Value;

/// Eve's generic message for a status code (features.md §1.3).
pub fn generic_message(status: u16) -> &'static str {
    match status {
        400 => "The browser (or proxy) sent a request that this server could not understand.",
        401 => "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required.",
        403 => "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
        404 => "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
        405 => "The method is not allowed for the requested URL.",
        406 => "The resource identified by the request is only capable of generating response entities which have content characteristics not acceptable according to the accept headers sent in the request.",
        409 => "A conflict happened while processing the request. The resource might have been modified while the request was being processed.",
        410 => "The requested URL is no longer available on this server and there is no forwarding address. If you followed a link from a foreign page, please contact the author of this page.",
        412 => "The precondition on the request for the URL failed positive evaluation.",
        408 => "The server closed the network connection because the browser didn't finish the request within the specified time.",
        413 => "The data value transmitted exceeds the capacity limit.",
        422 => "The request was well-formed but was unable to be followed due to semantic errors.",
        428 => "This request is required to be conditional; try using \"If-Match\" or \"If-Unmodified-Since\".",
        429 => "This user has exceeded an allotted request count. Try again later.",
        503 => "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.",
        507 => "The server is unable to store the representation needed to complete the request.",
        _ => "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
    }
}

/// Status and `_error.message` for an error. `debug` shows the debug-only
/// texts (`DEBUG: true`).
pub fn status_and_message(err: &ApiError, debug: bool) -> (u16, String) {
    let shown = |status: u16, text: String| (status, text);
    let debug_only = |status: u16, text: String| {
        if debug {
            (status, text)
        } else {
            (status, generic_message(status).to_string())
        }
    };
    match err {
        ApiError::UrlNotFound | ApiError::DocumentNotFound => {
            debug_only(404, generic_message(404).into())
        }
        ApiError::MethodNotAllowed => debug_only(405, generic_message(405).into()),
        ApiError::InvalidQuery(
            q @ (QueryError::FilterNotAllowed(_) | QueryError::ExpectsList(_)),
        ) => shown(400, q.to_string()),
        ApiError::InvalidQuery(q) => debug_only(400, q.to_string()),
        ApiError::UnsupportedContentType => shown(400, err.to_string()),
        ApiError::MalformedBody(detail) => debug_only(400, detail.clone()),
        ApiError::BodyNotDocument
        | ApiError::EmptyForm
        | ApiError::EmptyMultipart
        | ApiError::MalformedMultipart(_)
        | ApiError::IntegerOutOfRange { .. }
        | ApiError::BodyTooDeep { .. }
        | ApiError::BodyCutShort
        | ApiError::BulkTooLarge { .. }
        | ApiError::WhereTooLong { .. }
        | ApiError::WhereTooManyTerms { .. }
        | ApiError::InvalidFilterValue { .. }
        | ApiError::ProjectionMixesInclusionAndExclusion
        | ApiError::HiddenField { .. }
        | ApiError::EmbeddedUnparsable
        | ApiError::AggregationUnparsable
        | ApiError::AggregationRefused(_)
        | ApiError::TooManyEmbeddedDocuments { .. } => shown(400, err.to_string()),
        // Eve raises these with `abort(400, description=...)`: the text is
        // shown only with `DEBUG`.
        ApiError::EmptyBulkInsert | ApiError::BulkInsertDisabled => {
            debug_only(400, err.to_string())
        }
        ApiError::InvalidVersion | ApiError::VersionProjectionWithoutId { .. } => {
            debug_only(400, err.to_string())
        }
        ApiError::InvalidAsOf(_) => shown(400, err.to_string()),
        ApiError::ImmutableField => shown(400, err.to_string()),
        ApiError::EtagRequired => shown(428, err.to_string()),
        ApiError::EtagMismatch => shown(412, err.to_string()),
        // eve/io/mongo/mongo.py: a duplicate key is a 409 on insert but a
        // 400 on replace/update.
        ApiError::DuplicateKey {
            op: WriteKind::Insert,
            message,
        } => debug_only(409, message.clone()),
        ApiError::DuplicateKey {
            op: WriteKind::Edit,
            message,
        } => debug_only(400, message.clone()),
        ApiError::InvalidCallback => shown(400, err.to_string()),
        // Eve's `abort(401, description)`: the text always shown.
        ApiError::OwnerFilterConflict => shown(401, err.to_string()),
        // Eve's bare `abort(403)`: the generic text, never which document.
        ApiError::NotOwner => shown(403, generic_message(403).into()),
        ApiError::BodyTooLarge => debug_only(413, generic_message(413).into()),
        ApiError::FileTooLarge { .. } | ApiError::TooManyFiles { .. } => {
            shown(413, err.to_string())
        }
        ApiError::RangeNotSatisfiable => shown(416, err.to_string()),
        ApiError::MediaStorage(_) => (503, generic_message(503).to_string()),
        ApiError::RequestTimeout => shown(408, generic_message(408).into()),
        ApiError::TransferCodingNotSupported(_) => shown(501, err.to_string()),
        ApiError::RateLimitExceeded | ApiError::TooManyConcurrentRequests => {
            shown(429, err.to_string())
        }
        ApiError::Abort { status, message } => match message {
            Some(m) => shown(*status, m.clone()),
            None => shown(*status, generic_message(*status).to_string()),
        },
        ApiError::Store(StoreError::InvalidQuery(text)) => shown(400, text.clone()),
        ApiError::Store(StoreError::DuplicateKey { message, .. }) => {
            debug_only(409, message.clone())
        }
        ApiError::Store(StoreError::Unavailable(_)) => (
            503,
            "The server is temporarily unable to service your request.".into(),
        ),
        // Storage failures say what happened, never the details: a full
        // disk (or store) 507, an I/O failure 503 (writes may work again).
        ApiError::Store(StoreError::Full(_)) => (507, generic_message(507).to_string()),
        ApiError::Store(StoreError::Io(_)) => (503, generic_message(503).to_string()),
        // A write batch's "must match" found the document changed or gone:
        // as a failed If-Match.
        ApiError::Store(StoreError::Conflict { .. }) => {
            shown(412, ApiError::EtagMismatch.to_string())
        }
        // The data layer cannot do what the request asks (geo, text search,
        // …): the client's request, not the server, is at fault.
        ApiError::Store(e @ StoreError::Unsupported(_)) => shown(400, e.to_string()),
        ApiError::Store(
            StoreError::InvalidIndex { .. } | StoreError::Internal(_) | StoreError::Corrupt(_),
        )
        | ApiError::Internal(_) => (500, generic_message(500).to_string()),
    }
}

/// Eve's error body for `err`: `{STATUS: STATUS_ERR, ERROR: {code,
/// message}}` with the names the settings give, and its status. A server
/// error is logged here, with its details, which the body never carries.
pub(crate) fn error_body(domain: &Domain, err: &ApiError) -> (u16, Value) {
    let (status, message) = status_and_message(err, domain.settings.debug);
    if status >= 500 && !matches!(err, ApiError::TransferCodingNotSupported(_)) {
        tracing::error!(error = %err, "request failed");
    }
    let meta = &domain.settings.meta;
    let mut body = serde_json::Map::new();
    body.insert(meta.status.clone(), Value::String(meta.status_err.clone()));
    let mut e = serde_json::Map::new();
    e.insert("code".into(), Value::from(status));
    e.insert("message".into(), Value::String(message));
    body.insert(meta.error.clone(), Value::Object(e));
    (status, Value::Object(body))
}

/// An [`ApiError`] with the settings it is rendered by: what a tower layer
/// (rate limit, auth) or an axum handler returns to answer with Eve's JSON
/// error body and status, as the request pipeline does.
///
/// The pipeline itself renders errors with content negotiation (XML,
/// JSONP, `STANDARD_ERRORS`) and CORS headers; this response is always
/// JSON, which is what Eve's own layers answer before negotiation.
#[derive(Debug)]
pub struct ErrorResponse {
    error: ApiError,
    domain: Arc<Domain>,
}

impl ErrorResponse {
    /// The response to `error` under the settings of `domain`.
    pub fn new(error: ApiError, domain: Arc<Domain>) -> Self {
        ErrorResponse { error, domain }
    }

    /// The error answered.
    pub fn error(&self) -> &ApiError {
        &self.error
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let (status, body) = error_body(&self.domain, &self.error);
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = Response::new(Body::from(bytes));
        *resp.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G400: &str =
        "The browser (or proxy) sent a request that this server could not understand.";

    /// Every client-input variant: its status and the message shown
    /// without and with `DEBUG`, as Eve (and the oracle replays) expect.
    #[test]
    fn each_condition_has_its_status_and_unchanged_message() {
        let cases: Vec<(ApiError, u16, &str, &str)> = vec![
            (
                ApiError::BodyNotDocument,
                400,
                "The request body must be a JSON object or a list of objects",
                "The request body must be a JSON object or a list of objects",
            ),
            (
                ApiError::EmptyForm,
                400,
                "No form-urlencoded data supplied",
                "No form-urlencoded data supplied",
            ),
            (
                ApiError::IntegerOutOfRange {
                    literal: "9223372036854775808".into(),
                },
                400,
                "the integer 9223372036854775808 is out of range: documents hold 64-bit \
                 integers (-9223372036854775808 to 9223372036854775807)",
                "the integer 9223372036854775808 is out of range: documents hold 64-bit \
                 integers (-9223372036854775808 to 9223372036854775807)",
            ),
            (
                ApiError::BodyTooDeep { max: 64 },
                400,
                "the request body is nested deeper than 64 levels (MAX_JSON_DEPTH)",
                "the request body is nested deeper than 64 levels (MAX_JSON_DEPTH)",
            ),
            (
                ApiError::BodyCutShort,
                400,
                "the request body is malformed: invalid chunked encoding or cut short",
                "the request body is malformed: invalid chunked encoding or cut short",
            ),
            (ApiError::EmptyBulkInsert, 400, G400, "Empty bulk insert"),
            (
                ApiError::BulkInsertDisabled,
                400,
                G400,
                "Bulk insert not allowed",
            ),
            (
                ApiError::BulkTooLarge { limit: 3 },
                400,
                "a bulk insert may hold at most 3 documents (MAX_BULK_ITEMS)",
                "a bulk insert may hold at most 3 documents (MAX_BULK_ITEMS)",
            ),
            (
                ApiError::WhereTooLong { limit: 10 },
                400,
                "the where clause is longer than 10 bytes (MAX_WHERE_LENGTH)",
                "the where clause is longer than 10 bytes (MAX_WHERE_LENGTH)",
            ),
            (
                ApiError::WhereTooManyTerms { limit: 5 },
                400,
                "the where clause has more than 5 terms (MAX_WHERE_TERMS)",
                "the where clause has more than 5 terms (MAX_WHERE_TERMS)",
            ),
            (
                ApiError::InvalidFilterValue {
                    field: "a.b".into(),
                },
                400,
                "filter on 'a.b' is invalid",
                "filter on 'a.b' is invalid",
            ),
            (
                ApiError::ProjectionMixesInclusionAndExclusion,
                400,
                "projection cannot mix inclusion and exclusion",
                "projection cannot mix inclusion and exclusion",
            ),
            (
                ApiError::HiddenField {
                    field: "salary".into(),
                    param: "sort".into(),
                },
                400,
                "the field 'salary' may not be used in sort",
                "the field 'salary' may not be used in sort",
            ),
            (
                ApiError::EmbeddedUnparsable,
                400,
                "Unable to parse `embedded` clause",
                "Unable to parse `embedded` clause",
            ),
            (
                ApiError::TooManyEmbeddedDocuments { limit: 2 },
                400,
                "a response may embed at most 2 documents (EMBEDDED_MAX_DOCUMENTS)",
                "a response may embed at most 2 documents (EMBEDDED_MAX_DOCUMENTS)",
            ),
            (
                ApiError::MalformedBody("expected value at line 1 column 1".into()),
                400,
                G400,
                "expected value at line 1 column 1",
            ),
            (
                ApiError::UnsupportedContentType,
                400,
                "Unknown or no Content-Type header supplied",
                "Unknown or no Content-Type header supplied",
            ),
            (
                ApiError::EtagRequired,
                428,
                "To edit a document its etag must be provided using the If-Match header",
                "To edit a document its etag must be provided using the If-Match header",
            ),
            (
                ApiError::EtagMismatch,
                412,
                "Client and server etags don't match",
                "Client and server etags don't match",
            ),
            (
                ApiError::InvalidVersion,
                400,
                G400,
                "Document version number should be an int greater than 0",
            ),
            (
                ApiError::VersionProjectionWithoutId {
                    field: "_id_document".into(),
                },
                400,
                G400,
                "You must include _id_document in any projection with a version query.",
            ),
            (
                ApiError::InvalidCallback,
                400,
                "Invalid JSONP callback name",
                "Invalid JSONP callback name",
            ),
            (
                ApiError::BodyTooLarge,
                413,
                "The data value transmitted exceeds the capacity limit.",
                "The data value transmitted exceeds the capacity limit.",
            ),
            (
                ApiError::RateLimitExceeded,
                429,
                "Rate limit exceeded",
                "Rate limit exceeded",
            ),
        ];
        for (err, status, plain, debug) in cases {
            assert_eq!(
                status_and_message(&err, false),
                (status, plain.to_string()),
                "{err:?} without DEBUG"
            );
            assert_eq!(
                status_and_message(&err, true),
                (status, debug.to_string()),
                "{err:?} with DEBUG"
            );
        }
    }

    #[test]
    fn a_duplicate_key_is_409_on_insert_and_400_on_edit() {
        let insert = ApiError::DuplicateKey {
            op: WriteKind::Insert,
            message: "Duplicate key error at index: 0, message: email".into(),
        };
        assert_eq!(
            status_and_message(&insert, true),
            (
                409,
                "Duplicate key error at index: 0, message: email".to_string()
            )
        );
        assert_eq!(status_and_message(&insert, false).0, 409);
        let edit = ApiError::DuplicateKey {
            op: WriteKind::Edit,
            message: "DuplicateKeyError: email".into(),
        };
        assert_eq!(
            status_and_message(&edit, true),
            (400, "DuplicateKeyError: email".to_string())
        );
        assert_eq!(
            status_and_message(&edit, false),
            (400, G400.to_string()),
            "the store's text is shown only with DEBUG"
        );
    }

    #[tokio::test]
    async fn an_error_response_renders_eves_body_with_the_configured_names() {
        let raw = eve_core::settings::parse_str(
            "STATUS: st\nERROR: err\nSTATUS_ERR: KO\nDOMAIN: {a: {}}",
            eve_core::settings::Format::Yaml,
        )
        .unwrap();
        let domain = eve_core::settings::check(raw, &eve_schema::Registry::default()).unwrap();
        let resp = ErrorResponse::new(ApiError::BulkTooLarge { limit: 2 }, Arc::new(domain))
            .into_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"st": "KO", "err": {"code": 400, "message":
                "a bulk insert may hold at most 2 documents (MAX_BULK_ITEMS)"}})
        );
    }

    #[test]
    fn filter_errors_are_shown_even_without_debug() {
        let (status, msg) = status_and_message(
            &ApiError::InvalidQuery(QueryError::FilterNotAllowed("x".into())),
            false,
        );
        assert_eq!((status, msg.as_str()), (400, "filter on 'x' not allowed"));
    }

    #[test]
    fn debug_only_texts_are_generic_without_debug() {
        let err = ApiError::InvalidQuery(QueryError::WhereSyntax);
        assert_eq!(status_and_message(&err, false).1, generic_message(400));
        assert_eq!(
            status_and_message(&err, true).1,
            "Unable to parse `where` clause"
        );
    }

    #[test]
    fn storage_failures_say_what_happened_without_details() {
        let full = ApiError::Store(StoreError::Full("sqlite: disk full at /srv".into()));
        let (status, msg) = status_and_message(&full, true);
        assert_eq!(status, 507);
        assert_eq!(
            msg,
            "The server is unable to store the representation needed to complete the request."
        );
        let io = ApiError::Store(StoreError::Io("sqlite: disk I/O error /srv".into()));
        let (status, msg) = status_and_message(&io, true);
        assert_eq!(status, 503);
        assert!(msg.starts_with("The server is temporarily unable") && !msg.contains("srv"));
        let corrupt = ApiError::Store(StoreError::Corrupt("page 7 /srv".into()));
        let (status, msg) = status_and_message(&corrupt, true);
        assert_eq!((status, msg.contains("srv")), (500, false));
    }

    #[test]
    fn conflicts_and_unsupported_requests_are_client_errors() {
        let conflict = ApiError::Store(StoreError::Conflict {
            op: 2,
            message: "replace on people".into(),
        });
        let (status, msg) = status_and_message(&conflict, false);
        assert_eq!(status, 412);
        assert_eq!(
            msg, "Client and server etags don't match",
            "a lost compare-and-set reads as a failed If-Match"
        );
        let unsupported = ApiError::Store(StoreError::Unsupported("geo queries ($near)".into()));
        assert_eq!(
            status_and_message(&unsupported, false),
            (
                400,
                "not supported by this data layer: geo queries ($near)".to_string()
            )
        );
    }

    #[test]
    fn internal_details_never_leak() {
        let (status, msg) = status_and_message(&ApiError::Internal("disk on fire".into()), true);
        assert_eq!(status, 500);
        assert!(!msg.contains("disk"));
    }
}
