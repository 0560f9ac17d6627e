//! `eve-schema`: compiles resource schemas written in the Cerberus grammar
//! (as extended by Eve) and validates and normalizes documents against them.
//!
//! PLACEHOLDER: the public surface below is the contract; the schema helper
//! replaces the bodies with the real validator.

mod api;

pub use api::{FieldIssues, Issues, Mode, Options, PendingCheck, SchemaError};

use bson::{Bson, Document};
use eve_query::DateFormat;
use indexmap::IndexMap;

/// Extensions registered from Rust: custom rules, types, coercers, default
/// setters and `check_with` functions, looked up by name from schemas.
#[derive(Default, Clone)]
pub struct Registry {}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

/// The result of validating one document.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The normalized document (defaults, coercions, renames applied).
    pub document: Document,
    /// Errors found; empty when the document is valid (pending checks aside).
    pub issues: Issues,
    /// Store-backed checks the caller must still run.
    pub pending: Vec<PendingCheck>,
}

/// A compiled resource schema.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    fields: IndexMap<String, serde_json::Value>,
}

impl Schema {
    /// Compiles a schema (field name → rules mapping). Datetime constraints
    /// written as strings are parsed with `date_format`. Reports every
    /// problem with its path.
    pub fn compile(
        def: &IndexMap<String, serde_json::Value>,
        registry: &Registry,
        date_format: &DateFormat,
    ) -> Result<Schema, Vec<SchemaError>> {
        let _ = (registry, date_format);
        Ok(Schema { fields: def.clone() })
    }

    /// Names of the top-level fields, in schema order.
    pub fn field_names(&self) -> Vec<&str> {
        self.fields.keys().map(String::as_str).collect()
    }

    /// The declared type names of the field at a dotted path (descending
    /// into dict `schema`s and list item schemas), if declared.
    pub fn field_types(&self, path: &str) -> Vec<String> {
        let _ = path;
        Vec::new()
    }

    /// Applies Eve's type serializers (features.md §1.4) to an incoming
    /// payload: strings to dates/ObjectIds, integer/float/number/boolean/
    /// decimal/dbref conversions, recursively. Values that do not convert
    /// are left as they are for validation to report.
    pub fn serialize_payload(&self, doc: Document, date_format: &DateFormat) -> Document {
        let _ = date_format;
        doc
    }

    /// Normalizes and validates a document.
    pub fn validate(&self, doc: Document, mode: Mode<'_>, options: &Options) -> Outcome {
        let _ = (mode, options);
        Outcome { document: doc, issues: Issues::default(), pending: Vec::new() }
    }

    /// Message for a failed [`PendingCheck::Unique`].
    pub fn unique_message(value: &Bson) -> String {
        format!("value '{value}' is not unique")
    }

    /// Message for a failed [`PendingCheck::DataRelation`].
    pub fn data_relation_message(value: &Bson, resource: &str, field: &str) -> String {
        format!("value '{value}' must exist in resource '{resource}', field '{field}'.")
    }
}
