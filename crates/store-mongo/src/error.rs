//! Mapping the driver's errors onto [`StoreError`]: duplicate keys keep
//! the write's position and the index name, everything that means "the
//! server cannot be used right now" becomes [`StoreError::Unavailable`]
//! with a generic text (the details go to the log only), and the rest is
//! internal.

use eve_store::StoreError;
use mongodb::error::{Error, ErrorKind, WriteFailure};

/// MongoDB's duplicate key error.
pub(crate) const DUPLICATE_KEY: i32 = 11000;
/// The same, as some older servers report it on updates.
const DUPLICATE_KEY_UPDATE: i32 = 11001;

/// Codes that mean the query itself is wrong (a bad regex, an operator
/// the server refuses, an invalid projection): the client's fault.
const QUERY_ERRORS: &[i32] = &[
    2,     // BadValue
    9,     // FailedToParse
    14,    // TypeMismatch
    17,    // (legacy) bad projection
    31253, // Cannot do inclusion on field in exclusion projection
    31254, // Cannot do exclusion on field in inclusion projection
    51091, // Regular expression is invalid
    51108, // invalid flag in regex options
];

/// Codes of a document the server refuses to store (too large, too deep,
/// invalid field names): the client's fault too.
const DOCUMENT_ERRORS: &[i32] = &[
    10334, // BSONObjectTooLarge
    15,    // Overflow (nesting depth)
    52,    // DollarPrefixedFieldName
    56,    // EmptyFieldName
    57,    // DottedFieldName
    66,    // ImmutableField
    40,    // ConflictingUpdateOperators
];

/// The text shown for an unreachable server; the cause is logged.
pub(crate) const UNAVAILABLE: &str = "the MongoDB server cannot be reached";

/// The text shown for a write the server could not confirm at the write
/// concern asked for; the cause is logged.
pub(crate) const WRITE_CONCERN_FAILED: &str =
    "MongoDB did not confirm the write at the write concern asked for \
     (MONGO_WRITE_CONCERN or the resource's mongo_write_concern); it may be stored or not";

/// Whether the only failure is the write concern's (the write itself
/// may have been applied): one write, several inserts, or a commit.
fn is_write_concern_failure(e: &Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
        ErrorKind::InsertMany(m) => m.write_concern_error.is_some() && m.write_errors.is_none(),
        ErrorKind::Command(c) => matches!(c.code, 64 | 79 | 100),
        _ => false,
    }
}

/// The server code of an error, when the server sent one.
pub(crate) fn code(e: &Error) -> Option<i32> {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .and_then(|v| v.first())
            .map(|w| w.code),
        _ => None,
    }
}

/// Whether the error says the server (or the network to it) is not
/// usable: no server selected, I/O, authentication, shutdown.
pub(crate) fn is_unavailable(e: &Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::Authentication { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Shutdown
            | ErrorKind::InvalidTlsConfig { .. }
    ) || matches!(
        code(e),
        // NotWritablePrimary, InterruptedAtShutdown, ShutdownInProgress,
        // NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary, HostUnreachable,
        // HostNotFound, NetworkTimeout, ExceededTimeLimit, MaxTimeMSExpired
        Some(10107 | 11600 | 91 | 13435 | 13436 | 6 | 7 | 89 | 262 | 50)
    ) || matches!(
        e.kind.as_ref(),
        ErrorKind::Write(WriteFailure::WriteConcernError(_))
    )
}

/// Maps a driver error. `op` is the write's position in its batch (0 for
/// reads and one-write calls).
pub(crate) fn map(e: Error, op: usize) -> StoreError {
    if let Some(dup) = duplicate(&e, op) {
        return dup;
    }
    if is_write_concern_failure(&e) {
        tracing::warn!(error = %e, "MongoDB did not satisfy the write concern");
        return StoreError::Unavailable(WRITE_CONCERN_FAILED.into());
    }
    if is_unavailable(&e) {
        tracing::warn!(error = %e, "MongoDB unavailable");
        return StoreError::Unavailable(UNAVAILABLE.into());
    }
    match code(&e) {
        Some(c) if QUERY_ERRORS.contains(&c) => StoreError::InvalidQuery(message(&e)),
        Some(c) if DOCUMENT_ERRORS.contains(&c) => StoreError::InvalidQuery(message(&e)),
        _ => {
            tracing::error!(error = %e, "MongoDB error");
            StoreError::Internal(format!("MongoDB: {e}"))
        }
    }
}

/// The server's own message, without the driver's decoration.
fn message(e: &Error) -> String {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => c.message.clone(),
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.message.clone(),
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .and_then(|v| v.first())
            .map(|w| w.message.clone())
            .unwrap_or_else(|| e.to_string()),
        _ => e.to_string(),
    }
}

/// A duplicate key error as [`StoreError::DuplicateKey`], with the
/// position of the colliding document for `insert_many`.
fn duplicate(e: &Error, op: usize) -> Option<StoreError> {
    let (index, message) = match e.kind.as_ref() {
        ErrorKind::InsertMany(m) => {
            let w = m.write_errors.as_ref()?.first()?;
            if !is_duplicate_code(w.code) {
                return None;
            }
            (w.index, w.message.clone())
        }
        ErrorKind::Write(WriteFailure::WriteError(w)) if is_duplicate_code(w.code) => {
            (0, w.message.clone())
        }
        ErrorKind::Command(c) if is_duplicate_code(c.code) => (0, c.message.clone()),
        _ => return None,
    };
    // Servers wrap it ("Plan executor error during update :: caused by ::
    // E11000 …"): the E11000 sentence is the message.
    let message = match message.find("E11000") {
        Some(at) => message[at..].to_string(),
        None => message,
    };
    Some(StoreError::DuplicateKey {
        index,
        index_name: index_name(&message),
        message,
        op,
    })
}

fn is_duplicate_code(code: i32) -> bool {
    code == DUPLICATE_KEY || code == DUPLICATE_KEY_UPDATE
}

/// The index name of an `E11000 duplicate key error collection: db.c
/// index: NAME dup key: {…}` message (`_id_` when absent, which is what
/// old servers mean).
pub(crate) fn index_name(message: &str) -> String {
    message
        .split_once("index: ")
        .map(|(_, rest)| rest.split_whitespace().next().unwrap_or("_id_"))
        .unwrap_or("_id_")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_name_is_read_from_the_server_message() {
        let m = "E11000 duplicate key error collection: t.u index: x_1 dup key: { x: 1 }";
        assert_eq!(index_name(m), "x_1");
        assert_eq!(
            index_name(
                "E11000 duplicate key error collection: t.u index: _id_ dup key: { _id: 1 }"
            ),
            "_id_"
        );
        assert_eq!(index_name("E11000 duplicate key error"), "_id_");
    }
}
