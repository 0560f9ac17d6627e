//! Mapping of PostgreSQL and pool errors onto [`StoreError`] kinds.
//!
//! The server being down, the pool having no connection free in time, a
//! statement running past `statement_timeout`, the server shutting down or
//! running out of resources: [`StoreError::Unavailable`], which the HTTP
//! layer answers with 503. The text given to the error is generic; the
//! driver's own message (which may name hosts, tables or values) goes to
//! the log only. Unique violations are recognised where an index table is
//! written ([`is_unique_violation`]), because only there is the index known.

use deadpool_postgres::PoolError;
use eve_store::StoreError;
use tokio_postgres::error::SqlState;

/// What the client is told when the database cannot serve the request.
const UNAVAILABLE: &str = "the PostgreSQL server is unavailable";

/// Maps a driver error (see the module documentation).
pub(crate) fn pg_err(e: tokio_postgres::Error) -> StoreError {
    match e.code() {
        None => {
            // No SQLSTATE: the connection failed or was closed.
            tracing::warn!(error = %e, "postgres: connection error");
            StoreError::Unavailable(UNAVAILABLE.into())
        }
        Some(code) if is_unavailable_state(code) => {
            tracing::warn!(error = %e, code = code.code(), "postgres: server unavailable");
            StoreError::Unavailable(UNAVAILABLE.into())
        }
        Some(code) if code == &SqlState::DISK_FULL => {
            tracing::error!(error = %e, "postgres: disk full");
            StoreError::Full("the PostgreSQL server's disk is full".into())
        }
        Some(code) if code == &SqlState::PROGRAM_LIMIT_EXCEEDED => {
            StoreError::InvalidQuery(format!("the database refused the value: {}", db_text(&e)))
        }
        Some(code) => {
            tracing::error!(error = %e, code = code.code(), "postgres: unexpected error");
            StoreError::Internal(format!("postgres: {}", db_text(&e)))
        }
    }
}

/// The server's message of a database error, else the driver's text.
fn db_text(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

/// SQLSTATEs that mean "try again later", not "your request is wrong".
fn is_unavailable_state(code: &SqlState) -> bool {
    let text = code.code();
    // 08: connection exception; 53: insufficient resources; 57: operator
    // intervention (statement timeout, shutdown); 58: system error.
    text.starts_with("08")
        || text.starts_with("53")
        || text.starts_with("57")
        || text.starts_with("58")
        || code == &SqlState::LOCK_NOT_AVAILABLE
}

/// Maps a pool error: every one of them means no connection to work on.
pub(crate) fn pool_err(e: PoolError) -> StoreError {
    match e {
        PoolError::Backend(e) => pg_err(e),
        other => {
            tracing::warn!(error = %other, "postgres: no connection from the pool");
            StoreError::Unavailable(UNAVAILABLE.into())
        }
    }
}

/// Whether a transaction failed only because of a concurrent one and may
/// be retried as a whole (serialization failure, deadlock).
pub(crate) fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if c == &SqlState::T_R_SERIALIZATION_FAILURE || c == &SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// Whether `e` is a unique violation.
pub(crate) fn is_unique_violation(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// An error of a write batch: either already mapped, or a driver error
/// kept as is so that the retry loop can look at its SQLSTATE.
#[derive(Debug)]
pub(crate) enum TxError {
    /// A driver error.
    Pg(tokio_postgres::Error),
    /// A mapped error (conflict, duplicate key, invalid document, ...).
    Store(StoreError),
    /// The fast path of a bulk insert failed: the batch must run again
    /// document by document, which names the failing document exactly.
    NeedsExactPath,
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        TxError::Pg(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl TxError {
    /// Whether the whole transaction may run again.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, TxError::Pg(e) if is_retryable(e))
    }

    /// The error as the caller sees it.
    pub(crate) fn into_store(self) -> StoreError {
        match self {
            TxError::Pg(e) => pg_err(e),
            TxError::Store(e) => e,
            TxError::NeedsExactPath => {
                StoreError::Internal("a bulk insert was not run again".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_side_unavailability_states_are_recognised() {
        for code in [
            SqlState::QUERY_CANCELED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::CONNECTION_FAILURE,
            SqlState::CANNOT_CONNECT_NOW,
        ] {
            assert!(is_unavailable_state(&code), "{}", code.code());
        }
        for code in [
            SqlState::UNIQUE_VIOLATION,
            SqlState::SYNTAX_ERROR,
            SqlState::T_R_SERIALIZATION_FAILURE,
        ] {
            assert!(!is_unavailable_state(&code), "{}", code.code());
        }
    }
}
