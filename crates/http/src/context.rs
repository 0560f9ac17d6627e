//! The request context shared by the handlers: the application state,
//! the request limits, the request as a handler sees it ([`Ctx`]) and what a
//! handler produces before rendering ([`Reply`]). A leaf module: the
//! handlers import it, never the application module.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName};
use eve_core::request::HttpMethod;
use eve_core::{Access, Domain};
use eve_exec::Executor;
use serde_json::Value;

use crate::routing::RouteTable;

/// Limits applied to every request by the HTTP layer. By default they
/// come from the settings (`MAX_REQUEST_BODY`, `MAX_HEADER_SIZE`,
/// `CLIENT_TIMEOUT`, `WRITE_TIMEOUT`, `SHUTDOWN_TIMEOUT`;
/// docs/robustness.md); [`AppBuilder::limits`](crate::AppBuilder::limits) overrides
/// them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted request body, in bytes (default 16 MiB); larger
    /// bodies get `413`.
    pub max_body_bytes: usize,
    /// Largest request head (request line and headers), in bytes (default
    /// 64 KiB, at least 8 KiB); larger heads get `431` ([`App::serve`](crate::App::serve)).
    pub max_header_bytes: usize,
    /// Time a client has to send the request head, counted from the
    /// accept or from the previous answer, and then its body (default
    /// 30 s): a slow head closes the connection ([`App::serve`](crate::App::serve)), a slow
    /// body gets `408`. A connection with no request in progress for this
    /// long is closed ([`App::serve`](crate::App::serve)).
    pub client_timeout: std::time::Duration,
    /// Time a write to the client may make no progress, and an HTTP/2 ping
    /// may go unanswered, before the connection is closed (default 30 s;
    /// [`App::serve`](crate::App::serve)).
    pub write_timeout: std::time::Duration,
    /// Longest wait for the requests in flight on a graceful shutdown
    /// (default 30 s); then the connections still busy are closed
    /// ([`App::serve`](crate::App::serve)).
    pub shutdown_timeout: std::time::Duration,
}

impl Limits {
    /// The limits the settings ask for.
    pub fn from_settings(limits: &eve_core::RequestLimits) -> Limits {
        Limits {
            max_body_bytes: usize::try_from(limits.max_request_body).unwrap_or(usize::MAX),
            max_header_bytes: limits.max_header_size.max(8192),
            client_timeout: std::time::Duration::from_secs(limits.client_timeout),
            write_timeout: std::time::Duration::from_secs(limits.write_timeout),
            shutdown_timeout: std::time::Duration::from_secs(limits.shutdown_timeout),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from_settings(&eve_core::RequestLimits::default())
    }
}

/// What every request shares: the checked domain, the executor (data layer
/// and hooks), the URL table and the limits.
pub(crate) struct AppState {
    pub domain: Arc<Domain>,
    pub exec: Executor,
    pub routes: RouteTable,
    pub limits: Limits,
    /// The authentication providers the settings name, resolved.
    pub providers: eve_auth::Providers,
    /// The rate-limit counters (`RATE_LIMIT_*`, [`crate::rate_limit`]).
    pub limiter: crate::rate_limit::Limiter,
    /// Requests in flight per client IP ([`crate::in_flight`]).
    pub in_flight: crate::in_flight::InFlight,
}

/// What a request handler produces before rendering.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(HeaderName, String)>,
    /// A body that is not a document (a media file), with its content type
    /// and length: sent as is instead of `body`.
    pub raw: Option<(String, u64, axum::body::Body)>,
    /// An error status answered with a document, as an ordinary response
    /// (the 404 of a soft-deleted item): rendered as negotiated whatever
    /// `STANDARD_ERRORS` says, with the resource's cache headers.
    pub document: bool,
}

impl Reply {
    pub fn new(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
            raw: None,
            document: false,
        }
    }
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
            raw: None,
            document: false,
        }
    }
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// Everything a handler needs about the request.
pub(crate) struct Ctx {
    pub state: Arc<AppState>,
    /// Effective method (after override).
    pub method: HttpMethod,
    /// Decoded query arguments, in order.
    pub args: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// The request body (read only for POST, PATCH and PUT).
    pub body: Bytes,
    /// A `multipart/form-data` body, not read yet: the write handler
    /// streams its files into the media storage (`multipart.rs`).
    pub upload: std::sync::Mutex<Option<axum::body::Body>>,
    /// `scheme://host` for absolute URLs.
    pub origin: String,
    /// Who is asking: built once per request (anonymous until
    /// authentication is built) and passed to the plan and the executor.
    pub access: Access,
    /// The client's rate-limit budget, when the request was counted: its
    /// `X-RateLimit-*` headers go on the answer, errors included.
    pub rate: Option<crate::rate_limit::RateInfo>,
}

impl Ctx {
    pub fn domain(&self) -> &Domain {
        &self.state.domain
    }
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn exec(&self) -> &Executor {
        &self.state.exec
    }
    /// Who is asking (anonymous until authentication is built).
    pub fn access(&self) -> &Access {
        &self.access
    }
}
