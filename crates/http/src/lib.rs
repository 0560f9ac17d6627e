//! `eve-http`: the HTTP face of eve-rs. It builds the URL space from the
//! checked [`eve_core::Domain`], runs every request through one pipeline
//! (method override → routing → OPTIONS → method check → parse → plan →
//! data layer → render) and maps every error to Eve's status and body in
//! one table ([`error`]).
//!
//! ```no_run
//! # async fn demo(
//! #     store: std::sync::Arc<dyn eve_store::DataLayer>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! // The data layer comes from outside: `eve_backends::Backends::open`
//! // opens the one the settings name (the binary does so), and the app
//! // takes it as an `Arc<dyn DataLayer>`.
//! let domain = eve_core::settings::load("settings.yaml".as_ref(), &eve_http::Registry::default())?;
//! let app = eve_http::App::new(domain, store).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//! app.serve(listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod aggregate;
mod app;
mod auth;
mod body_json;
mod context;
mod document;
pub mod error;
mod filters;
mod in_flight;
mod limits;
mod media;
mod multipart;
pub mod negotiate;
mod payload;
mod rate_limit;
mod read;
pub mod render;
pub mod routing;
mod transport;
mod versions;
mod write;

pub use app::{App, AppBuilder, AppError};
pub use context::Limits;
pub use error::ErrorResponse;
pub use eve_auth::{
    check_names as check_provider_names, AuthProvider, AuthRequest, Identity, Providers, Verdict,
};
pub use eve_exec::{
    data, hooks, Access, BoxFuture, DataError, Event, HookContext, HookError, Hooks, ResourceData,
    Scope,
};
pub use eve_schema::Registry;
