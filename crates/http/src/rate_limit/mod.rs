//! Rate limiting (features.md §33, docs/rate-limiting.md).
//!
//! One counter per client, shared by every method and endpoint; the limit
//! compared is the current method's `RATE_LIMIT_<METHOD>`. The client is
//! the verified identity (`Access::user`, set by authentication once the
//! credentials were checked), else the client IP. Windows are fixed: the
//! first counted request opens one for its method's period; the counter
//! starts again when it ends (the spec's deliberate deviation: Eve pushes
//! the expiry back on every request).
//!
//! [`check`] is the one entry point of the pipeline. The counters live in
//! this process ([`memory`]) or in Redis ([`redis_store`]); a Redis that
//! cannot be reached lets requests through (fail open) with a warning.

mod memory;
mod redis_store;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue};
use eve_core::request::{EndpointKind, HttpMethod, Route};
use eve_core::settings::{RateLimitSettings, RateLimitStore};
use eve_core::{Access, ApiError};

pub(crate) use memory::MemoryStore;
pub(crate) use redis_store::RedisStore;

use crate::context::AppState;

/// The counters of one window: how many requests were counted and when
/// the window ends (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    /// Requests counted in the window, this one included.
    pub count: u64,
    /// Unix time (seconds) at which the window ends.
    pub reset: u64,
}

/// What an answer tells the client about its budget (the `X-RateLimit-*`
/// headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateInfo {
    /// Requests left in the window.
    pub remaining: u64,
    /// The method's limit.
    pub limit: u64,
    /// Unix time (seconds) at which the window ends.
    pub reset: u64,
}

impl RateInfo {
    /// Adds `X-RateLimit-Remaining`, `-Limit` and `-Reset`.
    pub fn add_headers(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("x-ratelimit-remaining", self.remaining),
            ("x-ratelimit-limit", self.limit),
            ("x-ratelimit-reset", self.reset),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }
}

/// Where the counters live.
pub(crate) enum Limiter {
    /// No `RATE_LIMIT_<METHOD>` is set: nothing is counted.
    Off,
    /// In this process.
    Memory(MemoryStore),
    /// In Redis, shared by every process naming it.
    Redis(RedisStore),
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limiter::Off => "Limiter::Off",
            Limiter::Memory(_) => "Limiter::Memory",
            Limiter::Redis(_) => "Limiter::Redis",
        })
    }
}

impl Limiter {
    /// The limiter the settings ask for. Fails only on a Redis URL the
    /// client library refuses; an unreachable Redis is not an error (the
    /// limiter fails open until it answers).
    pub fn from_settings(settings: &RateLimitSettings) -> Result<Limiter, String> {
        if settings.limits.is_empty() {
            return Ok(Limiter::Off);
        }
        Ok(match &settings.store {
            RateLimitStore::Memory => Limiter::Memory(MemoryStore::new(memory::MAX_KEYS)),
            RateLimitStore::Redis(url) => Limiter::Redis(RedisStore::new(url)?),
        })
    }

    /// Counts one request of `key` in a window of `period`; `None` when the
    /// store cannot be reached (the request is then not limited).
    async fn hit(&self, key: &str, period: Duration) -> Option<Hit> {
        match self {
            Limiter::Off => None,
            Limiter::Memory(m) => Some(m.hit(key, period, unix_now())),
            Limiter::Redis(r) => r.hit(key, period).await,
        }
    }
}

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether requests of `method` on `route` are rate limited (§33): home,
/// collection GET/HEAD/POST, item (and additional lookup) requests; never
/// OPTIONS, collection DELETE, the schema endpoint, an unknown URL or a
/// method the endpoint does not allow (those get 404/405 uncounted, as in
/// Eve, where Flask answers them before the endpoint).
pub(crate) fn applies(method: &HttpMethod, route: Option<&Route>) -> bool {
    let Some(route) = route else {
        return false;
    };
    if *method == HttpMethod::Options || !route.allows(method.as_str()) {
        return false;
    }
    match route.kind {
        EndpointKind::Home
        | EndpointKind::Item
        | EndpointKind::AdditionalItem
        | EndpointKind::Media => true,
        EndpointKind::Collection => *method != HttpMethod::Delete,
        EndpointKind::Schema => false,
    }
}

/// The counter key of a client: the verified identity when authentication
/// set one, else the client IP (`-` when unknown, as for in-process
/// requests).
fn client_key(access: &Access) -> String {
    match (&access.user, &access.client_ip) {
        (Some(user), _) => format!("rate-limit/user/{user}"),
        (None, Some(ip)) => format!("rate-limit/ip/{ip}"),
        (None, None) => "rate-limit/ip/-".into(),
    }
}

/// Counts the request against its client's budget. `Ok(None)`: not
/// limited (no limit for the method, an exempt endpoint, or the store
/// unreachable); `Ok(Some(info))`: within the limit, `info` goes into the
/// answer's headers; `Err(RateLimitExceeded)`: `429`.
pub(crate) async fn check(
    state: &AppState,
    access: &Access,
    method: &HttpMethod,
    route: Option<&Route>,
) -> Result<Option<RateInfo>, ApiError> {
    if matches!(state.limiter, Limiter::Off) || !applies(method, route) {
        return Ok(None);
    }
    let Some(limit) = state.domain.settings.rate_limit.limit_for(method.as_str()) else {
        return Ok(None);
    };
    let key = client_key(access);
    let Some(hit) = state
        .limiter
        .hit(&key, Duration::from_secs(limit.seconds))
        .await
    else {
        return Ok(None);
    };
    if hit.count > limit.requests {
        return Err(ApiError::RateLimitExceeded);
    }
    Ok(Some(RateInfo {
        remaining: limit.requests - hit.count,
        limit: limit.requests,
        reset: hit.reset,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verified_identity_wins_over_the_address() {
        let mut access = Access {
            client_ip: Some("10.0.0.1".into()),
            ..Access::anonymous()
        };
        assert_eq!(client_key(&access), "rate-limit/ip/10.0.0.1");
        access.user = Some("ann".into());
        assert_eq!(client_key(&access), "rate-limit/user/ann");
        assert_eq!(client_key(&Access::anonymous()), "rate-limit/ip/-");
    }

    #[test]
    fn headers_are_eves() {
        let mut h = HeaderMap::new();
        RateInfo {
            remaining: 299,
            limit: 300,
            reset: 1370940300,
        }
        .add_headers(&mut h);
        assert_eq!(h["x-ratelimit-remaining"], "299");
        assert_eq!(h["x-ratelimit-limit"], "300");
        assert_eq!(h["x-ratelimit-reset"], "1370940300");
    }
}
