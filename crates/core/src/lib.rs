//! `eve-core`: settings (raw → checked [`Domain`]), the typed request, the
//! plan, and the error type of the request pipeline.
//!
//! * [`settings`] reads a YAML/JSON settings file and checks it into a
//!   [`Domain`] (every default applied, every problem reported with its key
//!   path).
//! * [`domain`] is the checked model the rest of eve-rs reads.

pub mod domain;
pub mod settings;

pub use domain::*;
pub mod error;
pub mod plan;
pub mod request;

pub use error::{ApiError, ApiResult, WriteKind};
