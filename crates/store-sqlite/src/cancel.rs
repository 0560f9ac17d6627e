//! Cancellation of abandoned reads.
//!
//! A read runs on a blocking thread while the request's future waits for
//! it. When the client goes away the HTTP server drops that future; a
//! [`CancelOnDrop`] guard inside it then raises the read's flag, and the
//! read, which checks the flag before each document it loads or scans
//! ([`check`]), stops and hands its reader connection back to the pool.
//! So abandoned slow reads cannot keep every reader busy.
//!
//! The flag of the read running on this thread is kept in a thread-local
//! (set by [`Scope`]) so the query code checks it without being passed it;
//! the writer thread never sets one, so its checks always pass.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use eve_store::{StoreError, StoreResult};

thread_local! {
    static CURRENT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// A read's cancellation flag.
pub(crate) type Flag = Arc<AtomicBool>;

/// Raises its flag when dropped: held by the future awaiting a read.
pub(crate) struct CancelOnDrop(pub(crate) Flag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Whether `flag` is raised.
pub(crate) fn is_raised(flag: &Flag) -> bool {
    flag.load(Ordering::Relaxed)
}

/// The error a cancelled read ends with (nobody is waiting for it).
pub(crate) fn cancelled() -> StoreError {
    StoreError::Unavailable("the read was cancelled: its client went away".into())
}

/// Makes `flag` the current thread's read flag until dropped.
pub(crate) struct Scope;

impl Scope {
    pub(crate) fn enter(flag: &Flag) -> Scope {
        CURRENT.with(|c| *c.borrow_mut() = Some(Arc::clone(flag)));
        Scope
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// `Err` when the read running on this thread was cancelled.
pub(crate) fn check() -> StoreResult<()> {
    CURRENT.with(|c| match &*c.borrow() {
        Some(flag) if is_raised(flag) => Err(cancelled()),
        _ => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fails_only_inside_a_scope_whose_flag_is_raised() {
        let flag: Flag = Arc::new(AtomicBool::new(false));
        assert!(check().is_ok());
        {
            let _scope = Scope::enter(&flag);
            assert!(check().is_ok());
            drop(CancelOnDrop(Arc::clone(&flag)));
            assert!(check().is_err());
        }
        assert!(check().is_ok(), "the scope ended");
    }
}
