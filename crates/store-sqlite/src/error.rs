//! Mapping of SQLite errors onto [`StoreError`] kinds.

use eve_store::StoreError;
use rusqlite::ErrorCode;

/// Maps a SQLite error: busy/locked → `Unavailable`, a full disk (or the
/// size limit reached) → `Full`, an I/O failure → `Io`, a damaged file →
/// `Corrupt`, anything else → `Internal`. Unique violations are recognised
/// where the side table is written (see [`is_constraint`]), because only
/// there is the index known.
pub(crate) fn sql_err(e: rusqlite::Error) -> StoreError {
    let rusqlite::Error::SqliteFailure(f, _) = &e else {
        return StoreError::Internal(format!("sqlite: {e}"));
    };
    match f.code {
        ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
            StoreError::Unavailable(e.to_string())
        }
        ErrorCode::DiskFull => StoreError::Full(format!("sqlite: {e}")),
        ErrorCode::SystemIoFailure => StoreError::Io(format!("sqlite: {e}")),
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
            StoreError::Corrupt(format!("sqlite: {e}"))
        }
        _ => StoreError::Internal(format!("sqlite: {e}")),
    }
}

/// Whether `e` is a constraint violation (a unique key already present).
pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

/// A copy of an error, for answering every caller of a failed batch.
pub(crate) fn replicate(e: &StoreError) -> StoreError {
    match e {
        StoreError::DuplicateKey {
            index,
            message,
            op,
            index_name,
        } => StoreError::DuplicateKey {
            index: *index,
            message: message.clone(),
            op: *op,
            index_name: index_name.clone(),
        },
        StoreError::Conflict { op, message } => StoreError::Conflict {
            op: *op,
            message: message.clone(),
        },
        StoreError::Unsupported(m) => StoreError::Unsupported(m.clone()),
        StoreError::InvalidQuery(m) => StoreError::InvalidQuery(m.clone()),
        StoreError::InvalidIndex { name, message } => StoreError::InvalidIndex {
            name: name.clone(),
            message: message.clone(),
        },
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Internal(m) => StoreError::Internal(m.clone()),
        StoreError::Full(m) => StoreError::Full(m.clone()),
        StoreError::Io(m) => StoreError::Io(m.clone()),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_map_to_store_error_kinds() {
        use rusqlite::ffi;
        assert!(matches!(
            sql_err(failure(ffi::SQLITE_FULL)),
            StoreError::Full(_)
        ));
        assert!(matches!(
            sql_err(failure(ffi::SQLITE_IOERR_WRITE)),
            StoreError::Io(_)
        ));
        assert!(matches!(
            sql_err(failure(ffi::SQLITE_CORRUPT)),
            StoreError::Corrupt(_)
        ));
        assert!(matches!(
            sql_err(failure(ffi::SQLITE_NOTADB)),
            StoreError::Corrupt(_)
        ));
        assert!(matches!(
            sql_err(failure(ffi::SQLITE_BUSY)),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            sql_err(failure(ffi::SQLITE_MISMATCH)),
            StoreError::Internal(_)
        ));
    }
}
