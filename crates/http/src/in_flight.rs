//! The cap on requests in flight per client IP
//! (`MAX_CONCURRENT_REQUESTS_PER_CLIENT`, default 64; docs/rate-limiting.md):
//! one client cannot take every worker and connection of the server. A
//! request beyond the cap gets `429` in Eve's error shape with
//! `Retry-After: 1`, before anything else is done for it.
//!
//! The client IP is the one the rest of the pipeline uses
//! ([`client_ip`]): the connection's peer, or the `X-Forwarded-For` client
//! when the peer is a trusted proxy. Requests without a known peer
//! (in-process calls) are not capped.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use eve_core::ApiError;

use crate::context::AppState;
use crate::error::ErrorResponse;

/// The client IP [`cap`] found, kept in the request's extensions so the
/// pipeline does not work it out a second time.
#[derive(Debug, Clone, Copy)]
struct ClientIp(IpAddr);

/// The client of a request: the peer, or the `X-Forwarded-For` client when
/// the peer is one of `TRUSTED_PROXIES` (`eve_core::proxy::client_ip`).
pub(crate) fn client_ip(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Option<IpAddr> {
    if let Some(ClientIp(ip)) = extensions.get::<ClientIp>() {
        return Some(*ip);
    }
    eve_core::proxy::client_ip(
        peer(extensions),
        headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()),
        &state.domain.settings.trusted_proxies,
    )
}

/// The connection's peer address, when served over a socket.
pub(crate) fn peer(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Requests in flight per client IP; an entry goes when its count drops
/// to zero, so the map holds only clients with requests in progress.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One request counted in [`InFlight`] until dropped.
struct Slot<'a> {
    map: &'a InFlight,
    ip: IpAddr,
}

impl InFlight {
    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a request of `ip`, unless it already has `max` in flight.
    fn enter(&self, ip: IpAddr, max: usize) -> Option<Slot<'_>> {
        let mut counts = self.counts();
        let n = counts.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot { map: self, ip })
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut counts = self.map.counts();
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// The middleware: counts the request for its client while it runs, or
/// answers `429` when the client is at the cap.
pub(crate) async fn cap(
    State(state): State<Arc<AppState>>,
    mut req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let Some(max) = state.domain.settings.rate_limit.max_in_flight_per_client else {
        return next.run(req).await;
    };
    let Some(ip) = client_ip(&state, req.headers(), req.extensions()) else {
        return next.run(req).await;
    };
    let Some(_slot) = state.in_flight.enter(ip, max) else {
        tracing::warn!(client_ip = %ip, max, "too many concurrent requests from one client");
        let mut resp =
            ErrorResponse::new(ApiError::TooManyConcurrentRequests, state.domain.clone())
                .into_response();
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return resp;
    };
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_at_the_cap_waits_for_its_own_requests() {
        let f = InFlight::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let one = f.enter(a, 2).unwrap();
        let two = f.enter(a, 2).unwrap();
        assert!(f.enter(a, 2).is_none());
        // another client is not affected
        let other = f.enter(b, 2).unwrap();
        drop(one);
        let three = f.enter(a, 2).unwrap();
        drop((two, three, other));
        assert!(f.counts().is_empty());
    }
}
