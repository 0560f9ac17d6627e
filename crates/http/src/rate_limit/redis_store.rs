//! The Redis counter store (`RATE_LIMIT_STORE: redis://...`): every eve-rs
//! process naming the same Redis shares the clients' budgets.
//!
//! One Lua script counts a request and opens the window in one atomic step
//! (`INCR`, then `PEXPIRE` only when the key has no expiry yet: a fixed
//! window from the first request), and returns the count and the time
//! left. The connection is a lazy, reconnecting `ConnectionManager`.
//!
//! When Redis does not answer within [`TIMEOUT`], the request is served
//! unlimited (fail open), Redis is left alone for [`BACKOFF`], and a
//! warning is logged at most once per [`WARN_EVERY`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{unix_now, Hit};

/// Longest wait for Redis on a request (connecting included).
pub(crate) const TIMEOUT: Duration = Duration::from_millis(500);
/// How long requests skip Redis after it failed to answer.
pub(crate) const BACKOFF: Duration = Duration::from_secs(1);
/// At most one "Redis unreachable" warning per this period.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(60);

const SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
";

#[derive(Debug, Default)]
struct Health {
    /// Requests skip Redis until then.
    down_until: Option<Instant>,
    /// When the last warning was logged.
    warned_at: Option<Instant>,
    /// Whether Redis is currently failing (for the "answers again" line).
    failing: bool,
}

/// Counters in Redis.
pub(crate) struct RedisStore {
    manager: ConnectionManager,
    script: redis::Script,
    health: Mutex<Health>,
}

impl RedisStore {
    /// A store on the Redis at `url`; connects on the first request. Fails
    /// only when the URL is refused.
    pub fn new(url: &str) -> Result<RedisStore, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("RATE_LIMIT_STORE: not a usable Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("RATE_LIMIT_STORE: {e}"))?;
        Ok(RedisStore {
            manager,
            script: redis::Script::new(SCRIPT),
            health: Mutex::new(Health::default()),
        })
    }

    /// Counts one request of `key` in a window of `period`; `None` when
    /// Redis cannot be reached (or was not, less than [`BACKOFF`] ago).
    pub async fn hit(&self, key: &str, period: Duration) -> Option<Hit> {
        let now = Instant::now();
        if self.health().down_until.is_some_and(|t| now < t) {
            return None;
        }
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX);
        let mut conn = self.manager.clone();
        let answer = tokio::time::timeout(
            TIMEOUT,
            self.script
                .key(key)
                .arg(period_ms)
                .invoke_async::<(u64, i64)>(&mut conn),
        )
        .await;
        match answer {
            Ok(Ok((count, ttl_ms))) => {
                self.recovered();
                let left = u64::try_from(ttl_ms.max(0)).unwrap_or(0).div_ceil(1000);
                Some(Hit {
                    count,
                    reset: unix_now().saturating_add(left),
                })
            }
            Ok(Err(e)) => {
                self.failed(now, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(now, "no answer in time");
                None
            }
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failed(&self, now: Instant, why: &str) {
        let mut h = self.health();
        h.down_until = Some(now + BACKOFF);
        h.failing = true;
        if h.warned_at
            .is_none_or(|t| now.duration_since(t) >= WARN_EVERY)
        {
            h.warned_at = Some(now);
            tracing::warn!(
                error = %why,
                "rate limiting: the Redis of RATE_LIMIT_STORE is unreachable; \
                 requests are served without rate limits until it answers"
            );
        }
    }

    fn recovered(&self) {
        let mut h = self.health();
        if h.failing {
            h.failing = false;
            h.down_until = None;
            tracing::info!("rate limiting: the Redis of RATE_LIMIT_STORE answers again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that accepts connections and never answers.
    async fn silent_server() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        port
    }

    #[tokio::test]
    async fn a_silent_redis_fails_open_within_the_timeout_then_is_skipped() {
        // rediss:// too: its TLS set-up (the ring provider) must not panic
        for scheme in ["redis", "rediss"] {
            let port = silent_server().await;
            let store = RedisStore::new(&format!("{scheme}://127.0.0.1:{port}/0")).unwrap();
            let started = Instant::now();
            assert_eq!(store.hit("k", Duration::from_secs(60)).await, None);
            assert!(started.elapsed() < TIMEOUT * 3, "{:?}", started.elapsed());
            // in the back-off, requests do not wait for it at all
            let started = Instant::now();
            assert_eq!(store.hit("k", Duration::from_secs(60)).await, None);
            assert!(started.elapsed() < Duration::from_millis(50), "{scheme}");
        }
    }
}
