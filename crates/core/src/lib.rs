//! `eve-core`: settings (raw → checked [`Domain`]), the typed request, the
//! plan, and the error type of the request pipeline.

pub mod domain;

pub use domain::*;
