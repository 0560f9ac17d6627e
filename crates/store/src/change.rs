//! The change-stream slot of [`DataLayer`](crate::DataLayer): what a
//! layer that can watch its collections delivers
//! ([`DataLayer::watch`](crate::DataLayer::watch)).
//!
//! The stream is a boxed `futures_core::Stream`, the one trait every async
//! runtime and driver agrees on (MongoDB's driver yields one, a tokio
//! channel becomes one with a two-line adapter), from a crate that has no
//! dependency and is already in the build through tokio; a
//! `tokio::sync::mpsc::Receiver` would tie the trait to tokio, which the
//! store crate only uses for its tests.

use std::pin::Pin;

use bson::{Bson, Document};

use crate::StoreResult;

/// What a write did to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOperation {
    /// A new document.
    Insert,
    /// A document replaced whole.
    Replace,
    /// Some fields of a document set or removed.
    Update,
    /// A document removed.
    Delete,
}

/// One change to one document, as a watch delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// The collection written.
    pub collection: String,
    /// What the write did.
    pub operation: ChangeOperation,
    /// The `_id` of the document.
    pub document_id: Bson,
    /// The document after the change, when the layer has it (never for a
    /// delete).
    pub full_document: Option<Document>,
}

/// The changes to a collection, in the order they were committed. An
/// error item ends the stream (the watcher must reopen it).
pub type ChangeStream = Pin<Box<dyn futures_core::Stream<Item = StoreResult<ChangeEvent>> + Send>>;
