//! `eve-core`: settings (raw → checked [`Domain`]), the typed request, the
//! requester's access, the plan, and the error type of the request
//! pipeline.
//!
//! * [`settings`] reads a YAML/JSON settings file and checks it into a
//!   [`Domain`] (every default applied, every problem reported with its key
//!   path).
//! * [`domain`] is the checked model the rest of eve-rs reads.
//! * [`request`] is the typed request ([`ApiRequest`]): method, route,
//!   query arguments parsed once, conditional headers.
//! * [`access`] is who is asking ([`Access`], anonymous until auth).
//! * [`plan`](mod@plan) turns the three into a [`Plan`] for every endpoint kind.
//! * [`aggregation`] builds the pipeline of an aggregation endpoint.
//! * [`soft_delete`] says which reads hide soft-deleted documents, and how.

pub mod access;
pub mod aggregation;
pub mod auth;
pub mod convert;
pub mod domain;
pub mod embed;
pub mod field_roles;
pub mod settings;

pub use domain::*;
pub mod error;
pub mod plan;
pub mod proxy;
pub mod request;
pub mod soft_delete;
mod text_query;

pub use access::Access;
pub use error::{ApiError, ApiResult, WriteKind};
pub use plan::{plan, Plan};
pub use request::{ApiRequest, Conditions, EndpointKind, HttpMethod, IfMatch, QueryArgs, Route};
