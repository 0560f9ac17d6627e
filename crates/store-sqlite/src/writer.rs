//! The writer thread: the only connection that writes, fed by a channel.
//!
//! **Group commit.** The thread blocks for one request, then drains every
//! request already queued (up to [`MAX_BATCH`]), and runs them all in one
//! `BEGIN IMMEDIATE … COMMIT` transaction, each inside its own `SAVEPOINT`:
//! a failing operation is rolled back to its savepoint alone, the others
//! stay. With `synchronous = FULL` the commit syncs the WAL once for the
//! whole batch; only then is each caller answered, so every `Ok` a caller
//! sees is on disk. Should the commit itself fail, every caller of the
//! batch gets the error.
//!
//! Conditional writes (`replace_one` with `{_id, _etag}`) evaluate their
//! filter here, inside the transaction, so no other write can come between
//! the check and the write.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use eve_store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{replicate, sql_err};

/// Most requests committed together.
pub(crate) const MAX_BATCH: usize = 512;

/// Answers the caller once the batch's fate is known: `None` when the
/// batch committed, `Some(error)` when it did not.
type Finish = Box<dyn FnOnce(Option<StoreError>) + Send>;

/// One queued write: runs on the writer's connection, says whether it
/// succeeded (so its savepoint is kept) and how to answer the caller.
pub(crate) type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

/// Packs an operation into a [`Job`] and the receiver of its answer.
pub(crate) fn job<T, F>(op: F) -> (Job, oneshot::Receiver<StoreResult<T>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |conn: &Connection| {
        let result = catch_unwind(AssertUnwindSafe(|| op(conn)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a write operation panicked".into())));
        let ok = result.is_ok();
        let finish: Finish = Box::new(move |failure: Option<StoreError>| {
            let answer = match failure {
                Some(e) => Err(e),
                None => result,
            };
            // The caller may have gone away (cancelled request): nothing to do.
            let _ = tx.send(answer);
        });
        (ok, finish)
    });
    (job, rx)
}

/// Counters of the writer's work (see [`crate::WriteStats`]).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
}

/// The writer loop; returns when every sender is gone.
pub(crate) fn run(conn: Connection, rx: Receiver<Job>, counters: Arc<Counters>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        run_batch(&conn, batch);
    }
}

/// Runs one batch in one transaction (see the module documentation).
fn run_batch(conn: &Connection, batch: Vec<Job>) {
    tracing::trace!(size = batch.len(), "write batch");
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %sql_err(e), "cannot begin a write transaction");
        // Dropping a job drops its answer channel: its caller is told the
        // store is unavailable.
        drop(batch);
        return;
    }
    let mut finishers: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut broken: Option<StoreError> = None;
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        if let Err(e) = conn.execute_batch("SAVEPOINT op") {
            broken = Some(sql_err(e));
            drop(job);
            break;
        }
        let (ok, finish) = job(conn);
        finishers.push(finish);
        let end = if ok {
            "RELEASE op"
        } else {
            "ROLLBACK TO op; RELEASE op"
        };
        if let Err(e) = conn.execute_batch(end) {
            broken = Some(sql_err(e));
            break;
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => conn.execute_batch("COMMIT").map_err(sql_err),
    };
    match outcome {
        Ok(()) => finishers.into_iter().for_each(|f| f(None)),
        Err(e) => {
            tracing::error!(error = %e, "write batch failed; rolled back");
            // Leaves no transaction open whatever state SQLite is in.
            let _ = conn.execute_batch("ROLLBACK");
            for f in finishers {
                f(Some(replicate(&e)));
            }
            // Jobs never run are dropped: their callers see `Unavailable`.
            drop(jobs);
        }
    }
}

/// Sends a job to the writer.
pub(crate) fn submit(sender: Option<&Sender<Job>>, job: Job) -> StoreResult<()> {
    let Some(sender) = sender else {
        return Err(StoreError::Unavailable("the store is closed".into()));
    };
    sender
        .send(job)
        .map_err(|_| StoreError::Unavailable("the writer thread has stopped".into()))
}
