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

use std::cell::Cell;
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use eve_store::{StoreError, StoreResult};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::atrest::{State, StateFile};
use crate::error::{replicate, sql_err};

/// Most requests committed together.
pub(crate) const MAX_BATCH: usize = 512;

/// Answers the caller once the batch's fate is known: `None` when the
/// batch committed, `Some(error)` when it did not.
type Finish = Box<dyn FnOnce(Option<StoreError>) + Send>;

/// One queued write: runs on the writer's connection, says whether it
/// succeeded (so its savepoint is kept; else a copy of its error) and how
/// to answer the caller.
pub(crate) type Job = Box<dyn FnOnce(&Connection) -> (Result<(), StoreError>, Finish) + Send>;

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
        let outcome = match &result {
            Ok(_) => Ok(()),
            Err(e) => Err(replicate(e)),
        };
        let finish: Finish = Box::new(move |failure: Option<StoreError>| {
            let answer = match failure {
                Some(e) => Err(e),
                None => result,
            };
            // The caller may have gone away (cancelled request): nothing to do.
            let _ = tx.send(answer);
        });
        (outcome, finish)
    });
    (job, rx)
}

/// Counters of the writer's work (see [`crate::WriteStats`]).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub batches: AtomicU64,
    pub writes: AtomicU64,
}

/// WAL frames after which the writer checkpoints (SQLite's default for
/// its automatic checkpoint, which the WAL hook below replaces).
const CHECKPOINT_FRAMES: u32 = 1000;

thread_local! {
    /// Frames in the WAL after the last commit on this thread, as SQLite's
    /// WAL hook reports them; -1 when nothing was committed since read.
    static WAL_FRAMES: Cell<c_int> = const { Cell::new(-1) };
}

fn on_wal_commit(_: &rusqlite::hooks::Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.with(|f| f.set(frames));
    Ok(())
}

/// Keeps the state file in step with the WAL (see [`crate::atrest`]).
pub(crate) struct Tracker {
    /// The state file.
    pub state: StateFile,
    /// The WAL file.
    pub wal: PathBuf,
    /// The database file.
    pub db: PathBuf,
}

/// The salts in the WAL's header (zero when it has none).
fn wal_salt(wal: &std::path::Path) -> (u32, u32) {
    use std::io::Read;
    let mut header = [0u8; 24];
    let read = std::fs::File::open(wal).and_then(|mut f| f.read_exact(&mut header));
    match read {
        Ok(()) => (
            u32::from_be_bytes([header[16], header[17], header[18], header[19]]),
            u32::from_be_bytes([header[20], header[21], header[22], header[23]]),
        ),
        Err(_) => (0, 0),
    }
}

/// Runs a checkpoint: (whether it was blocked, frames in the WAL, frames
/// copied into the main file).
fn checkpoint(conn: &Connection, mode: &str) -> StoreResult<(bool, u32, u32)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok((
            r.get::<_, i64>(0)? != 0,
            u32::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            u32::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        ))
    })
    .map_err(sql_err)
}

impl Tracker {
    /// After a commit, before its callers are answered (so a crash after
    /// an answer finds the commit recorded): records what the WAL holds.
    fn after_commit(&mut self) {
        let frames = WAL_FRAMES.with(|f| f.replace(-1));
        let Ok(frames) = u32::try_from(frames) else {
            return;
        };
        let mut state = self.state.current;
        let salt = wal_salt(&self.wal);
        if salt != state.salt {
            state.salt = salt;
            state.backfilled = 0;
        }
        state.frames = frames;
        state.clean = false;
        self.state.write(state, false);
    }

    /// After a batch was answered: checkpoints the WAL when it has grown
    /// past [`CHECKPOINT_FRAMES`], and records how much of it the main
    /// file now holds.
    fn after_batch(&mut self, conn: &Connection) {
        let mut state = self.state.current;
        if state.frames < CHECKPOINT_FRAMES || state.backfilled >= state.frames {
            return;
        }
        match checkpoint(conn, "PASSIVE") {
            Ok((_, _, done)) => {
                state.backfilled = done;
                self.state.write(state, false);
            }
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
    }

    /// At a graceful stop: copies the WAL into the main file and empties
    /// it, so the main file alone holds every write.
    fn close(&mut self, conn: &Connection) {
        let mut state = self.state.current;
        match checkpoint(conn, "TRUNCATE") {
            Ok((false, _, _)) => {
                state = State {
                    size: std::fs::metadata(&self.db).map_or(state.size, |m| m.len()),
                    clean: true,
                    ..State::default()
                };
            }
            Ok((true, _, done)) => {
                tracing::warn!("the final checkpoint was blocked by a reader; the WAL is kept");
                if wal_salt(&self.wal) == state.salt {
                    state.backfilled = done;
                }
            }
            Err(e) => tracing::error!(error = %e, "the final checkpoint failed; the WAL is kept"),
        }
        self.state.write(state, true);
    }
}

/// The writer loop; returns when every sender is gone, after a final
/// checkpoint.
pub(crate) fn run(
    conn: Connection,
    rx: Receiver<Job>,
    counters: Arc<Counters>,
    mut tracker: Tracker,
) {
    conn.wal_hook(Some(on_wal_commit));
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
        run_batch(&conn, batch, &mut tracker);
        tracker.after_batch(&conn);
    }
    tracker.close(&conn);
}

/// Runs one batch in one transaction (see the module documentation).
fn run_batch(conn: &Connection, batch: Vec<Job>, tracker: &mut Tracker) {
    tracing::trace!(size = batch.len(), "write batch");
    if let Err(e) = run_cached(conn, "BEGIN IMMEDIATE") {
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
        if let Err(e) = run_cached(conn, "SAVEPOINT op") {
            broken = Some(sql_err(e));
            drop(job);
            break;
        }
        let (outcome, finish) = job(conn);
        finishers.push(finish);
        let outcome_ok = outcome.is_ok();
        if let Err(e) = outcome {
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back (a full disk, an
                // I/O error): every write of the batch is undone, and every
                // caller is told why.
                broken = Some(e);
                break;
            }
        }
        let end = if outcome_ok {
            run_cached(conn, "RELEASE op")
        } else {
            crate::catalog::forget_write_cache();
            conn.execute_batch("ROLLBACK TO op; RELEASE op")
        };
        if let Err(e) = end {
            broken = Some(sql_err(e));
            break;
        }
    }
    let outcome = match broken {
        Some(e) => Err(e),
        None => run_cached(conn, "COMMIT").map_err(sql_err),
    };
    match outcome {
        Ok(()) => {
            tracker.after_commit();
            finishers.into_iter().for_each(|f| f(None));
        }
        Err(e) => {
            tracing::error!(error = %e, "write batch failed; rolled back");
            // Leaves no transaction open whatever state SQLite is in.
            let _ = conn.execute_batch("ROLLBACK");
            crate::catalog::forget_write_cache();
            for f in finishers {
                f(Some(replicate(&e)));
            }
            // Jobs never run are dropped: their callers see `Unavailable`.
            drop(jobs);
        }
    }
}

/// Runs one statement without rows from the connection's statement cache
/// (the writer runs the same four for every batch: parsing them each time
/// was a measurable part of a write).
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
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
