//! Applying a [`WriteBatch`]: every write of the batch runs in order inside
//! the one savepoint the writer thread gives a job (see [`crate::writer`]),
//! so the first failure (a "must match" that matched nothing, a unique
//! violation, a bad path) rolls the whole batch back, across collections.

use eve_store::{BatchResult, OpResult, StoreError, StoreResult, WriteBatch, WriteOp};
use rusqlite::Connection;

use crate::write::{self, Counts};

/// Applies `batch` on the writer's connection; the caller's savepoint
/// undoes everything when this returns an error.
pub(crate) fn apply(conn: &Connection, batch: WriteBatch) -> StoreResult<BatchResult> {
    let mut ops = Vec::with_capacity(batch.steps.len());
    for (position, step) in batch.steps.into_iter().enumerate() {
        let must_match = step.requires_match();
        let described = eve_store_keys::catalog::describe_op(&step.op);
        let result = run(conn, step.op).map_err(|e| name_op(e, position))?;
        if must_match && result.matched == 0 {
            return Err(StoreError::Conflict {
                op: position,
                message: described,
            });
        }
        ops.push(result);
    }
    Ok(BatchResult { ops })
}

/// Runs one write.
fn run(conn: &Connection, op: WriteOp) -> StoreResult<OpResult> {
    let counted = |c: Counts| OpResult {
        inserted_ids: Vec::new(),
        matched: c.matched,
        modified: c.modified,
    };
    Ok(match op {
        WriteOp::Insert { collection, docs } => OpResult {
            inserted_ids: if docs.is_empty() {
                Vec::new()
            } else {
                write::insert(conn, &collection, docs)?
            },
            ..OpResult::default()
        },
        WriteOp::Replace {
            collection,
            filter,
            doc,
        } => counted(write::replace_one(conn, &collection, &filter, doc)?),
        WriteOp::Update {
            collection,
            filter,
            set,
            unset,
            many,
        } => counted(write::update(
            conn,
            &collection,
            &filter,
            (&set, &unset),
            many,
        )?),
        WriteOp::Delete {
            collection,
            filter,
            many,
        } => {
            let n = write::delete(conn, &collection, &filter, many)?;
            counted(Counts {
                matched: n,
                modified: n,
            })
        }
        WriteOp::Check { collection, filter } => {
            let found = write::exists(conn, &collection, &filter)?;
            counted(Counts {
                matched: u64::from(found),
                modified: 0,
            })
        }
    })
}

/// Puts the write's position into the errors that name one.
fn name_op(e: StoreError, position: usize) -> StoreError {
    match e {
        StoreError::DuplicateKey {
            index,
            message,
            index_name,
            ..
        } => StoreError::DuplicateKey {
            index,
            message,
            op: position,
            index_name,
        },
        other => other,
    }
}
