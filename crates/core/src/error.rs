//! The one error type of the request pipeline. Variants name the condition;
//! `eve-http` maps each to a status and Eve's message in one table.

use eve_query::QueryError;
use eve_store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No endpoint at this URL.
    #[error("no endpoint at this URL")]
    UrlNotFound,
    /// The endpoint exists but the document does not (or is filtered out).
    #[error("document not found")]
    DocumentNotFound,
    /// The method is not enabled on this endpoint.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A `where`, `sort` or `projection` the client sent is invalid.
    #[error("invalid query: {0}")]
    InvalidQuery(QueryError),
    /// `Content-Type` missing or not one the API reads.
    #[error("Unknown or no Content-Type header supplied")]
    UnsupportedContentType,
    /// The body does not parse (invalid JSON, bad encoding).
    #[error("malformed body: {0}")]
    MalformedBody(String),
    /// A client error whose text Eve always shows.
    #[error("{0}")]
    BadRequest(String),
    /// A client error whose text Eve shows only with `DEBUG`.
    #[error("{0}")]
    BadRequestDebug(String),
    /// PATCH/PUT tried to change the id field.
    #[error("Attempt to update an immutable field. Usually happens when PATCH or PUT include a '_id' field, which is immutable (PUT can include it as long as it is unchanged).")]
    ImmutableField,
    /// `If-Match` is required but missing.
    #[error("To edit a document its etag must be provided using the If-Match header")]
    EtagRequired,
    /// `If-Match` does not match, or the document changed meanwhile.
    #[error("Client and server etags don't match")]
    EtagMismatch,
    /// A unique key already exists (insert). Text shown only with `DEBUG`.
    #[error("{0}")]
    DuplicateKey(String),
    /// The JSONP callback name is not a valid identifier.
    #[error("Invalid JSONP callback name")]
    InvalidCallback,
    /// The request body exceeds the configured limit.
    #[error("request body too large")]
    BodyTooLarge,
    /// The client took longer than `CLIENT_TIMEOUT` to send the body.
    #[error("request body not received in time")]
    RequestTimeout,
    /// `Transfer-Encoding` names a coding other than `chunked` (the one
    /// named here); RFC 9112 asks for `501`.
    #[error("Transfer-Encoding '{0}' is not supported (only chunked is)")]
    TransferCodingNotSupported(String),
    /// A hook or provider aborted the request.
    #[error("aborted with {status}")]
    Abort {
        /// HTTP status to answer.
        status: u16,
        /// Message for `_error.message`; the generic text when `None`.
        message: Option<String>,
    },
    /// The data layer failed.
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    /// A bug or an unexpected condition; details are logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::InvalidQuery(e)
    }
}

/// Result alias for the pipeline.
pub type ApiResult<T> = Result<T, ApiError>;
