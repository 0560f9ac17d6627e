//! `eve-store-keys`: what the data layers of eve-rs that keep documents as
//! BSON bytes in a relational engine (the embedded SQLite store, the
//! PostgreSQL layer) share, free of any engine:
//!
//! * [`catalog`]: the implicit `_id` index, index definitions as bytes,
//!   and the checks an index set passes;
//! * [`keys`]: the order-preserving byte encoding of BSON values (byte
//!   order is MongoDB's order across types, numbers by exact value) and
//!   the index entries of a document (multikey arrays included);
//! * [`plan`]: the pure query planner, from a filter and a sort to key
//!   ranges of an index, an index walk in order, or a scan;
//! * [`storable`]: the limits a stored document keeps (depth, size, field
//!   names) and the checked encoding and decoding of BSON bytes;
//! * [`update`]: MongoDB's `$set`/`$unset` on dotted paths, and `_id`
//!   first in a stored document.

pub mod catalog;
pub mod keys;
pub mod plan;
pub mod storable;
pub mod text;
pub mod update;
