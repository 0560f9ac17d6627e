//! The in-process counter store (`RATE_LIMIT_STORE: memory`, the
//! default): one fixed window per client key, in a map bounded in size.
//!
//! Ended windows are swept when the map is full (at most once a second);
//! when it is still full, clients without a window of their own share one
//! overflow window, so a flood of distinct addresses is limited together
//! instead of growing memory without bound.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Hit;

/// The most client windows kept (about 100 bytes each).
pub(crate) const MAX_KEYS: usize = 100_000;

/// The key of the window shared by clients that found the map full.
const OVERFLOW: &str = "\u{0}overflow";

#[derive(Debug, Clone, Copy)]
struct Window {
    count: u64,
    ends: Instant,
    reset: u64,
}

#[derive(Debug)]
struct Inner {
    windows: HashMap<String, Window>,
    last_sweep: Option<Instant>,
}

/// Counters of fixed windows, in this process.
#[derive(Debug)]
pub(crate) struct MemoryStore {
    inner: Mutex<Inner>,
    max_keys: usize,
}

impl MemoryStore {
    /// A store keeping at most `max_keys` client windows (plus the shared
    /// overflow window).
    pub fn new(max_keys: usize) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Inner {
                windows: HashMap::new(),
                last_sweep: None,
            }),
            max_keys: max_keys.max(1),
        }
    }

    /// Counts one request of `key`: in its window when one is open, else
    /// in a new one of `period` starting now (`unix_now` is the current
    /// Unix time, for the window's reset time).
    pub fn hit(&self, key: &str, period: Duration, unix_now: u64) -> Hit {
        self.hit_at(key, period, unix_now, Instant::now())
    }

    fn hit_at(&self, key: &str, period: Duration, unix_now: u64, now: Instant) -> Hit {
        // A poisoned lock only means another request panicked mid-update of
        // a counter: the counts are still usable.
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let new_window = || Window {
            count: 0,
            ends: now + period,
            reset: unix_now.saturating_add(period.as_secs()),
        };
        let key = if inner.windows.contains_key(key) || inner.windows.len() < self.max_keys {
            key
        } else {
            let sweep_due = inner
                .last_sweep
                .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1));
            if sweep_due {
                inner.windows.retain(|_, w| w.ends > now);
                inner.last_sweep = Some(now);
            }
            if inner.windows.len() < self.max_keys {
                key
            } else {
                OVERFLOW
            }
        };
        let window = inner
            .windows
            .entry(key.to_string())
            .or_insert_with(new_window);
        if window.ends <= now {
            *window = new_window();
        }
        window.count = window.count.saturating_add(1);
        Hit {
            count: window.count,
            reset: window.reset,
        }
    }

    /// How many windows are kept (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.windows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn a_fixed_window_from_the_first_request() {
        let store = MemoryStore::new(10);
        let t0 = Instant::now();
        let a = store.hit_at("a", MIN, 1000, t0);
        assert_eq!(
            a,
            Hit {
                count: 1,
                reset: 1060
            }
        );
        // later requests do not push the window back
        let b = store.hit_at("a", MIN, 1030, t0 + Duration::from_secs(30));
        assert_eq!(
            b,
            Hit {
                count: 2,
                reset: 1060
            }
        );
        // another client has its own window
        assert_eq!(store.hit_at("b", MIN, 1030, t0).count, 1);
        // once it ends, counting starts again
        let c = store.hit_at("a", MIN, 1060, t0 + MIN);
        assert_eq!(
            c,
            Hit {
                count: 1,
                reset: 1120
            }
        );
    }

    #[test]
    fn a_flood_of_clients_is_bounded_and_shares_one_window() {
        let store = MemoryStore::new(3);
        let t0 = Instant::now();
        for k in ["a", "b", "c"] {
            store.hit_at(k, MIN, 0, t0);
        }
        // full of live windows: newcomers share the overflow window
        assert_eq!(store.hit_at("d", MIN, 0, t0).count, 1);
        assert_eq!(store.hit_at("e", MIN, 0, t0).count, 2);
        assert_eq!(store.len(), 4);
        // known clients keep their own
        assert_eq!(store.hit_at("a", MIN, 0, t0).count, 2);
        // once the windows ended, a sweep makes room again
        let later = t0 + MIN + Duration::from_secs(1);
        assert_eq!(store.hit_at("f", MIN, 61, later).count, 1);
        assert!(store.len() <= 2, "{}", store.len());
        for i in 0..1000 {
            store.hit_at(&format!("x{i}"), MIN, 61, later);
        }
        assert!(store.len() <= 4, "{}", store.len());
    }
}
