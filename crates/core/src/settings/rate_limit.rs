//! Rate-limit settings (features.md §33, docs/rate-limiting.md):
//! `RATE_LIMIT_<METHOD>` as `[requests, seconds]` for any method name,
//! `RATE_LIMIT_STORE` (`memory` or a `redis://` / `rediss://` URL, an
//! eve-rs extension) and `MAX_CONCURRENT_REQUESTS_PER_CLIENT` (an eve-rs
//! extension: requests one client IP may have in flight at once).

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde_json::Value;

use super::read::{kind_of, Ctx};

/// The setting naming the counter store (not a method's limit).
pub(crate) const STORE_KEY: &str = "RATE_LIMIT_STORE";
/// The setting capping the requests in flight per client IP.
pub(crate) const IN_FLIGHT_KEY: &str = "MAX_CONCURRENT_REQUESTS_PER_CLIENT";
/// Default of [`IN_FLIGHT_KEY`].
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// One method's limit: at most `requests` per `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in one window.
    pub requests: u64,
    /// Length of the window, in seconds.
    pub seconds: u64,
}

/// Where the rate-limit counters live.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RateLimitStore {
    /// In this process (`memory`, the default): each server counts alone.
    #[default]
    Memory,
    /// A Redis server (`redis://` or `rediss://` URL) shared by every
    /// eve-rs process that names it.
    Redis(String),
}

/// The rate-limit settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// `RATE_LIMIT_<METHOD>` by upper-case method name (`GET`, `PUT`,
    /// `HEAD`, ...); methods set to `null` are absent.
    pub limits: BTreeMap<String, RateLimit>,
    /// `RATE_LIMIT_STORE`, default `memory`.
    pub store: RateLimitStore,
    /// `MAX_CONCURRENT_REQUESTS_PER_CLIENT` (default 64; `null` turns the
    /// cap off): requests one client IP may have in flight at once; more
    /// get `429`.
    pub max_in_flight_per_client: Option<usize>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            limits: BTreeMap::new(),
            store: RateLimitStore::Memory,
            max_in_flight_per_client: Some(DEFAULT_MAX_IN_FLIGHT),
        }
    }
}

impl RateLimitSettings {
    /// The limit for a request method (as sent, after the method
    /// override), if one is set.
    pub fn limit_for(&self, method: &str) -> Option<RateLimit> {
        self.limits.get(method).copied()
    }
}

/// Whether `key` is read here (not an unknown setting).
pub(crate) fn owns(key: &str) -> bool {
    key == IN_FLIGHT_KEY || key.starts_with("RATE_LIMIT_")
}

/// Reads and checks the rate-limit settings; every problem is recorded with
/// its key path.
pub(crate) fn read(ctx: &mut Ctx, raw: &IndexMap<String, Value>) -> RateLimitSettings {
    let mut out = RateLimitSettings::default();
    for (key, value) in raw {
        if key == STORE_KEY {
            out.store = store(ctx, value);
        } else if key == IN_FLIGHT_KEY {
            out.max_in_flight_per_client = in_flight(ctx, value);
        } else if let Some(method) = key.strip_prefix("RATE_LIMIT_") {
            if let Some(limit) = method_limit(ctx, key, method, value) {
                out.limits.insert(method.to_string(), limit);
            }
        }
    }
    out
}

fn method_limit(ctx: &mut Ctx, key: &str, method: &str, value: &Value) -> Option<RateLimit> {
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
        ctx.warn(format!(
            "unknown setting '{key}' is ignored (expected RATE_LIMIT_<METHOD>, an upper-case method name)"
        ));
        return None;
    }
    let pair = match value {
        Value::Null => return None,
        Value::Array(pair) if pair.len() == 2 => pair,
        other => {
            let found = match other {
                Value::Array(a) => format!("a list of {} items", a.len()),
                v => kind_of(v).to_string(),
            };
            ctx.problem(
                key,
                format!("expected null or [requests, seconds], found {found}"),
            );
            return None;
        }
    };
    let mut numbers = [0u64; 2];
    let mut ok = true;
    for (i, (n, what)) in pair.iter().zip(["requests", "seconds"]).enumerate() {
        match n.as_u64().filter(|n| *n > 0) {
            Some(n) => numbers[i] = n,
            None => {
                ctx.problem(
                    format!("{key}.{i}"),
                    format!("{what}: expected a positive integer, found {n}"),
                );
                ok = false;
            }
        }
    }
    // A window longer than a year is a typo (and would overflow clocks).
    if ok && numbers[1] > 366 * 24 * 3600 {
        ctx.problem(
            format!("{key}.1"),
            format!("seconds: at most one year (31622400), found {}", numbers[1]),
        );
        ok = false;
    }
    ok.then_some(RateLimit {
        requests: numbers[0],
        seconds: numbers[1],
    })
}

fn store(ctx: &mut Ctx, value: &Value) -> RateLimitStore {
    match value {
        Value::Null => RateLimitStore::Memory,
        Value::String(s) if s == "memory" => RateLimitStore::Memory,
        Value::String(s) if s.starts_with("redis://") || s.starts_with("rediss://") => {
            if s.len() <= "rediss://".len() || s.contains(char::is_whitespace) {
                // The URL may carry a password: it is not echoed.
                ctx.problem(STORE_KEY, "not a Redis URL (redis://host:port/db)");
            }
            RateLimitStore::Redis(s.clone())
        }
        Value::String(s) => {
            // A value with credentials (`user:password@`) is not echoed.
            let found = if s.contains('@') {
                "a URL of another scheme".to_string()
            } else {
                format!("'{}'", s.chars().take(60).collect::<String>())
            };
            ctx.problem(
                STORE_KEY,
                format!("expected 'memory' or a redis:// or rediss:// URL, found {found}"),
            );
            RateLimitStore::Memory
        }
        v => {
            ctx.problem(
                STORE_KEY,
                format!(
                    "expected 'memory' or a redis:// or rediss:// URL, found {}",
                    kind_of(v)
                ),
            );
            RateLimitStore::Memory
        }
    }
}

fn in_flight(ctx: &mut Ctx, value: &Value) -> Option<usize> {
    match value {
        Value::Null => None,
        v => match v.as_u64().filter(|n| *n > 0) {
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => {
                ctx.problem(
                    IN_FLIGHT_KEY,
                    format!(
                        "expected a positive integer or null (no cap), found {}",
                        match v {
                            Value::Number(n) => n.to_string(),
                            other => kind_of(other).to_string(),
                        }
                    ),
                );
                Some(DEFAULT_MAX_IN_FLIGHT)
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_yaml(text: &str) -> (RateLimitSettings, Ctx) {
        let raw: IndexMap<String, Value> = serde_norway::from_str(text).unwrap();
        let mut ctx = Ctx::default();
        let out = read(&mut ctx, &raw);
        (out, ctx)
    }

    #[test]
    fn limits_for_any_method_and_the_store() {
        let (s, ctx) = read_yaml(
            "RATE_LIMIT_GET: [300, 900]\nRATE_LIMIT_PUT: [1, 60]\nRATE_LIMIT_POST: null\nRATE_LIMIT_STORE: redis://127.0.0.1:6379/0\nMAX_CONCURRENT_REQUESTS_PER_CLIENT: 8",
        );
        assert!(ctx.problems.is_empty(), "{:?}", ctx.problems);
        assert_eq!(
            s.limit_for("GET"),
            Some(RateLimit {
                requests: 300,
                seconds: 900
            })
        );
        assert_eq!(s.limit_for("PUT").map(|l| l.requests), Some(1));
        assert_eq!(s.limit_for("POST"), None);
        assert_eq!(
            s.store,
            RateLimitStore::Redis("redis://127.0.0.1:6379/0".into())
        );
        assert_eq!(s.max_in_flight_per_client, Some(8));
        let (d, _) = read_yaml("{}");
        assert_eq!(d, RateLimitSettings::default());
    }

    #[test]
    fn problems_carry_the_key_path() {
        let (_, ctx) = read_yaml(
            "RATE_LIMIT_GET: [0, 900]\nRATE_LIMIT_POST: [1]\nRATE_LIMIT_PATCH: [1, x]\nRATE_LIMIT_STORE: memcached://x\nMAX_CONCURRENT_REQUESTS_PER_CLIENT: 0\nRATE_LIMIT_DELETE: [1, 99999999999]",
        );
        let got: Vec<String> = ctx.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            got,
            [
                "RATE_LIMIT_GET.0: requests: expected a positive integer, found 0",
                "RATE_LIMIT_POST: expected null or [requests, seconds], found a list of 1 items",
                "RATE_LIMIT_PATCH.1: seconds: expected a positive integer, found \"x\"",
                "RATE_LIMIT_STORE: expected 'memory' or a redis:// or rediss:// URL, found 'memcached://x'",
                "MAX_CONCURRENT_REQUESTS_PER_CLIENT: expected a positive integer or null (no cap), found 0",
                "RATE_LIMIT_DELETE.1: seconds: at most one year (31622400), found 99999999999",
            ]
        );
    }
}
