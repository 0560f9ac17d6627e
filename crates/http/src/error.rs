//! The one table that maps every [`ApiError`] to an HTTP status and the
//! message Eve shows. Internal errors are logged and answered with a
//! generic body; their details never reach the client.

use eve_core::ApiError;
use eve_query::QueryError;
use eve_store::StoreError;

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
        ApiError::BadRequest(text) => shown(400, text.clone()),
        ApiError::BadRequestDebug(text) => debug_only(400, text.clone()),
        ApiError::ImmutableField => shown(400, err.to_string()),
        ApiError::EtagRequired => shown(428, err.to_string()),
        ApiError::EtagMismatch => shown(412, err.to_string()),
        ApiError::DuplicateKey(text) => debug_only(409, text.clone()),
        ApiError::InvalidCallback => shown(400, err.to_string()),
        ApiError::BodyTooLarge => debug_only(413, generic_message(413).into()),
        ApiError::RequestTimeout => shown(408, generic_message(408).into()),
        ApiError::TransferCodingNotSupported(_) => shown(501, err.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
