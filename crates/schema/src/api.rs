//! Public types of the validator. (Contract shared with `eve-core` and
//! `eve-http`; see `lib.rs` for the overview.)

use std::collections::BTreeMap;

use bson::{Bson, Document};

/// A problem in a schema definition, found when compiling it at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Dotted path inside the schema, e.g. `location.schema.city.type`.
    pub path: String,
    /// What is wrong, e.g. `unknown rule 'maxlenght'`.
    pub message: String,
}

/// How a document is being validated (validation.md §1).
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// POST, PUT upsert: full normalization, `required` enforced.
    Insert,
    /// PUT on an existing document.
    Replace {
        /// The stored document being replaced.
        original: &'a Document,
    },
    /// PATCH: `required` not enforced; normalization only when asked.
    Update {
        /// The stored document being updated.
        original: &'a Document,
        /// `normalize_on_patch`.
        normalize: bool,
    },
}

/// Per-call options that come from the resource's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Resource name (for custom rules and messages).
    pub resource: String,
    /// `allow_unknown` of the resource (global `ALLOW_UNKNOWN` resolved).
    pub allow_unknown: bool,
    /// The resource's `id_field`.
    pub id_field: String,
}

/// A check that needs the data layer (uniqueness, referential integrity).
/// The validator reports it; the caller runs it against the store and then
/// either validates again with the answers
/// ([`crate::Schema::validate_with_checks`], exact Eve message order) or adds
/// [`crate::Schema::unique_message`] / [`crate::Schema::data_relation_message`]
/// at the check's `path` with [`Issues::add`].
///
/// `DataRelation` values that are ObjectId-like strings are already
/// converted to ObjectIds (Eve's lookup does the same). For a versioned
/// relation the value is the whole `{<field>: id, _version: n}` mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingCheck {
    /// `unique` / `unique_within_resource` / `unique_to_user`: no other
    /// document (other than the one being replaced/updated) has `value`
    /// at `field`.
    Unique {
        /// Where the error goes in `_issues`.
        path: Vec<String>,
        /// Dotted field path to query.
        field: String,
        /// The value that must be unique.
        value: Bson,
        /// Restrict the check to the resource's datasource filter.
        within_resource: bool,
        /// `unique_to_user`: restrict to the current user's documents.
        to_user: bool,
    },
    /// `data_relation`: a document with `value` at `field` exists in
    /// `resource`.
    DataRelation {
        /// Where the error goes in `_issues`.
        path: Vec<String>,
        /// Referenced resource name.
        resource: String,
        /// Referenced field (default: the target's `id_field`).
        field: String,
        /// The referenced value.
        value: Bson,
    },
}

/// A tree of validation errors, shaped like Eve's `_issues`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Issues {
    /// Field name (or list index as a string) → errors of that field.
    pub fields: BTreeMap<String, FieldIssues>,
    /// Field names in the order their first error was added (Eve's order).
    pub order: Vec<String>,
}

/// Errors of one field: its own messages and those of its children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldIssues {
    /// Messages about the field itself.
    pub messages: Vec<String>,
    /// Errors of sub-fields or list items.
    pub children: Issues,
}
