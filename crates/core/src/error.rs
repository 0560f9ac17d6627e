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
    /// A POST body is JSON but neither an object nor a list of objects
    /// (Eve accepts scalars; eve-rs refuses them).
    #[error("The request body must be a JSON object or a list of objects")]
    BodyNotDocument,
    /// A form-urlencoded body holds no field.
    #[error("No form-urlencoded data supplied")]
    EmptyForm,
    /// A `multipart/form-data` body holds neither fields nor files.
    #[error("No multipart/form-data supplied")]
    EmptyMultipart,
    /// A `multipart/form-data` body is not well formed (no boundary, a
    /// broken part, a body cut short).
    #[error("malformed multipart/form-data body: {0}")]
    MalformedMultipart(String),
    /// An uploaded file is larger than `MEDIA_MAX_FILE_SIZE`: `413`.
    #[error("an uploaded file exceeds the limit of {limit} bytes")]
    FileTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A request holds more file parts than `MEDIA_MAX_FILES`: `413`.
    #[error("a request may upload at most {limit} files")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// A `Range` on a media file that no byte of it satisfies: `416`.
    #[error("Requested Range Not Satisfiable")]
    RangeNotSatisfiable,
    /// A media field's file cannot be stored or read (the media storage
    /// failed): `503`, details logged.
    #[error("media storage: {0}")]
    MediaStorage(String),
    /// A JSON body holds an integer literal outside the signed 64-bit range.
    #[error(
        "the integer {literal} is out of range: documents hold 64-bit integers \
         (-9223372036854775808 to 9223372036854775807)"
    )]
    IntegerOutOfRange {
        /// The literal as the client wrote it.
        literal: String,
    },
    /// A JSON body nests arrays and objects deeper than `MAX_JSON_DEPTH`.
    #[error("the request body is nested deeper than {max} levels (MAX_JSON_DEPTH)")]
    BodyTooDeep {
        /// The configured `MAX_JSON_DEPTH`.
        max: usize,
    },
    /// The body stream broke off: invalid chunked encoding, or fewer bytes
    /// than `Content-Length` announced.
    #[error("the request body is malformed: invalid chunked encoding or cut short")]
    BodyCutShort,
    /// A bulk POST holds an empty list.
    #[error("Empty bulk insert")]
    EmptyBulkInsert,
    /// A bulk POST on a resource with `bulk_enabled: false`.
    #[error("Bulk insert not allowed")]
    BulkInsertDisabled,
    /// A bulk POST holds more documents than `MAX_BULK_ITEMS`.
    #[error("a bulk insert may hold at most {limit} documents (MAX_BULK_ITEMS)")]
    BulkTooLarge {
        /// The configured `MAX_BULK_ITEMS`.
        limit: usize,
    },
    /// A `where` argument longer than `MAX_WHERE_LENGTH` bytes.
    #[error("the where clause is longer than {limit} bytes (MAX_WHERE_LENGTH)")]
    WhereTooLong {
        /// The configured `MAX_WHERE_LENGTH`.
        limit: usize,
    },
    /// A parsed `where` with more keys and list elements than
    /// `MAX_WHERE_TERMS`.
    #[error("the where clause has more than {limit} terms (MAX_WHERE_TERMS)")]
    WhereTooManyTerms {
        /// The configured `MAX_WHERE_TERMS`.
        limit: usize,
    },
    /// With `VALIDATE_FILTERS`, a `where` value the field's schema refuses.
    #[error("filter on '{field}' is invalid")]
    InvalidFilterValue {
        /// The (dotted) field the filter names.
        field: String,
    },
    /// A client `projection` mixes inclusions and exclusions.
    #[error("projection cannot mix inclusion and exclusion")]
    ProjectionMixesInclusionAndExclusion,
    /// `?version=` is neither a positive integer, `all` nor `diffs`
    /// (Eve's text, shown with `DEBUG`).
    #[error("Document version number should be an int greater than 0")]
    InvalidVersion,
    /// A shadow entry read by a version query lacks the document id (one
    /// written outside the API; Eve's text, shown with `DEBUG`).
    #[error("You must include {field} in any projection with a version query.")]
    VersionProjectionWithoutId {
        /// `id_field` + `VERSION_ID_SUFFIX` (`_id_document`).
        field: String,
    },
    /// `?as_of=` (eve-rs addition) is not an RFC 1123 date, or comes with
    /// `?version=`.
    #[error("{0}")]
    InvalidAsOf(String),
    /// A client `where`, `sort` or `projection` names a field the caller
    /// may not read (its `allowed_read_roles`, features.md §23.7).
    #[error("the field '{field}' may not be used in {param}")]
    HiddenField {
        /// The field named.
        field: String,
        /// The query argument naming it (`where`, `sort`, `projection`).
        param: String,
    },
    /// The `aggregate` argument is not a JSON object (features.md §41).
    #[error("Aggregation query could not be parsed.")]
    AggregationUnparsable,
    /// An aggregation pipeline is refused: over an `AGGREGATION_*` limit,
    /// or invalid once the client's variables are substituted.
    #[error("{0}")]
    AggregationRefused(String),
    /// The `embedded` argument is not a JSON object (features.md §30).
    #[error("Unable to parse `embedded` clause")]
    EmbeddedUnparsable,
    /// A response would embed more documents than
    /// `EMBEDDED_MAX_DOCUMENTS` (an eve-rs limit, docs/embedding.md).
    #[error("a response may embed at most {limit} documents (EMBEDDED_MAX_DOCUMENTS)")]
    TooManyEmbeddedDocuments {
        /// The configured `EMBEDDED_MAX_DOCUMENTS`.
        limit: usize,
    },
    /// PATCH/PUT tried to change the id field.
    #[error("Attempt to update an immutable field. Usually happens when PATCH or PUT include a '_id' field, which is immutable (PUT can include it as long as it is unchanged).")]
    ImmutableField,
    /// `If-Match` is required but missing.
    #[error("To edit a document its etag must be provided using the If-Match header")]
    EtagRequired,
    /// `If-Match` does not match, or the document changed meanwhile.
    #[error("Client and server etags don't match")]
    EtagMismatch,
    /// A unique key already exists. Eve answers 409 on an insert and 400 on
    /// an edit (PATCH/PUT); the text is shown only with `DEBUG`.
    #[error("{message}")]
    DuplicateKey {
        /// The write that hit the unique index.
        op: WriteKind,
        /// The text shown with `DEBUG`.
        message: String,
    },
    /// A client `where` filters the `auth_field` of a user-restricted
    /// resource on another value than the request's auth value
    /// (features.md §23.6): `401`, without `WWW-Authenticate`.
    #[error("Incompatible User-Restricted Resource request.")]
    OwnerFilterConflict,
    /// A PUT names a document another user owns (features.md §23.6):
    /// `403`.
    #[error("the document belongs to another user")]
    NotOwner,
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
    /// The client's rate limit (`RATE_LIMIT_<METHOD>`, §33) is spent for
    /// this window: `429` in Eve's shape, with no rate-limit headers.
    #[error("Rate limit exceeded")]
    RateLimitExceeded,
    /// The client already has `MAX_CONCURRENT_REQUESTS_PER_CLIENT` requests
    /// in flight (an eve-rs limit, docs/rate-limiting.md): `429`.
    #[error("Too many concurrent requests from this client")]
    TooManyConcurrentRequests,
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

/// Which kind of write a [`ApiError::DuplicateKey`] comes from: Eve's
/// status for a duplicate key depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// POST (one document or a bulk list).
    Insert,
    /// PATCH or PUT of an existing document.
    Edit,
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::InvalidQuery(e)
    }
}

/// Result alias for the pipeline.
pub type ApiResult<T> = Result<T, ApiError>;
