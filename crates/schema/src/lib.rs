//! `eve-schema`: compiles resource schemas written in the Cerberus 1.3
//! grammar (as extended by Eve) and validates and normalizes documents
//! against them, producing Eve's exact `_issues`.
//!
//! Design:
//!
//! * [`Schema::compile`] turns the JSON definition into typed rule sets
//!   (`compile`), rejecting unknown rules/types, constraints of the wrong
//!   shape, bad field names and unresolvable extension names, each error
//!   with its path (`location.schema.city.type`).
//! * [`Schema::serialize_payload`] applies Eve's type serializers
//!   (`serialize`).
//! * [`Schema::validate`] reproduces Cerberus' processing model
//!   (`validate`): normalization (rename, purge, readonly, defaults,
//!   default setters, coercion, containers), then per-field rules in
//!   Cerberus' order, with child validators for sub-documents, list items,
//!   mapping keys/values and logical alternatives. Errors keep Cerberus'
//!   document and schema paths and are ordered the way Cerberus orders
//!   them (`errors`), so [`Issues::to_json`] prints what Eve prints.
//! * Store-backed rules (`unique*`, `data_relation`) do not query anything:
//!   they come back as [`PendingCheck`]s for the caller to run, adding
//!   [`Schema::unique_message`] / [`Schema::data_relation_message`] with
//!   [`Issues::add`] when they fail.
//! * Values are printed inside messages the way Python prints them
//!   (`pyfmt`); regular expressions get Python's `re.match` + `$`
//!   semantics (`pyregex`).
//! * Applications extend the grammar through the [`Registry`].

mod api;
mod coerce;
mod compile;
mod errors;
mod geo;
mod issues;
mod pyfmt;
mod pyregex;
mod registry;
mod serialize;
mod validate;

pub use api::{FieldIssues, Issues, Mode, Options, PendingCheck, SchemaError};
pub use pyfmt::str_repr as python_str_repr;
pub use registry::{
    parse_uuid, CheckWithFn, CoerceFn, ConstraintKind, DefaultSetterError, DefaultSetterFn,
    Registry, RuleContext, RuleFn, TypeFn, TypeSerializerFn,
};

use std::collections::BTreeMap;

use bson::{Bson, Document};
use eve_query::DateFormat;
use indexmap::IndexMap;

use crate::compile::{Check, Compiler, FieldMap, Relation, Rules, SubSchema, Unknown};

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
#[derive(Debug, Clone)]
pub struct Schema {
    fields: FieldMap,
    /// Rules of `id_field` when the schema does not declare it.
    id_rules: Rules,
    registry: Registry,
    date_format: DateFormat,
    /// `data_relation` targets without a `field`: resource → its id field.
    relation_id_fields: BTreeMap<String, String>,
    /// See [`Schema::has_store_checks`].
    store_checks: bool,
}

/// Whether any rules set reachable from `fields` has a store-backed check.
fn fields_have_store_checks(fields: &FieldMap) -> bool {
    fields.values().any(rules_have_store_checks)
}

fn rules_have_store_checks(rules: &Rules) -> bool {
    rules.checks.iter().any(|c| match c {
        Check::Unique(_) | Check::DataRelation(_) => true,
        Check::Logic { defs, .. } => defs.iter().any(|d| rules_have_store_checks(d)),
        _ => false,
    }) || match &rules.schema {
        Some(SubSchema::Dict(f)) => fields_have_store_checks(f),
        Some(SubSchema::List(item)) => rules_have_store_checks(item),
        None => false,
    } || rules
        .items
        .iter()
        .flatten()
        .any(|r| rules_have_store_checks(r))
        || rules
            .keysrules
            .as_deref()
            .is_some_and(rules_have_store_checks)
        || rules
            .valuesrules
            .as_deref()
            .is_some_and(rules_have_store_checks)
        || matches!(&rules.allow_unknown, Some(Unknown::Rules(r)) if rules_have_store_checks(r))
}

impl Default for Schema {
    fn default() -> Self {
        Schema {
            fields: FieldMap::new(),
            id_rules: objectid_rules(),
            registry: Registry::default(),
            date_format: DateFormat::rfc1123(),
            relation_id_fields: BTreeMap::new(),
            store_checks: false,
        }
    }
}

fn objectid_rules() -> Rules {
    let registry = Registry::default();
    let df = DateFormat::rfc1123();
    let mut c = Compiler {
        registry: &registry,
        date_format: &df,
        errors: Vec::new(),
    };
    c.compile_rules(&serde_json::json!({"type": "objectid"}), "", false)
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
        let mut c = Compiler {
            registry,
            date_format,
            errors: Vec::new(),
        };
        let fields = c.compile_fields(def, "", true);
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        Ok(Schema {
            store_checks: fields_have_store_checks(&fields),
            fields,
            id_rules: objectid_rules(),
            registry: registry.clone(),
            date_format: date_format.clone(),
            relation_id_fields: BTreeMap::new(),
        })
    }

    /// Names of the top-level fields, in schema order.
    pub fn field_names(&self) -> Vec<&str> {
        self.fields.keys().map(String::as_str).collect()
    }

    /// The declared type names of the field at a dotted path (descending
    /// into dict `schema`s and list item schemas), if declared.
    pub fn field_types(&self, path: &str) -> Vec<String> {
        let mut parts = path.split('.');
        let Some(first) = parts.next() else {
            return Vec::new();
        };
        let Some(mut rules) = self.fields.get(first) else {
            return Vec::new();
        };
        for part in parts {
            // List item schemas are transparent.
            while let Some(SubSchema::List(item)) = &rules.schema {
                rules = item;
            }
            match &rules.schema {
                Some(SubSchema::Dict(fields)) => match fields.get(part) {
                    Some(r) => rules = r,
                    None => return Vec::new(),
                },
                _ => return Vec::new(),
            }
        }
        rules.type_names.clone()
    }

    /// Every `data_relation` of the schema, as (dotted field path, target
    /// resource, target field if given). List item schemas do not add a
    /// path segment.
    pub fn data_relations(&self) -> Vec<(String, String, Option<String>)> {
        fn walk(fields: &FieldMap, prefix: &str, out: &mut Vec<(String, String, Option<String>)>) {
            for (name, rules) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                rules_walk(rules, &path, out);
            }
        }
        fn rules_walk(rules: &Rules, path: &str, out: &mut Vec<(String, String, Option<String>)>) {
            for c in &rules.checks {
                if let Check::DataRelation(r) = c {
                    out.push((path.to_string(), r.resource.clone(), r.field.clone()));
                }
            }
            match &rules.schema {
                Some(SubSchema::Dict(f)) => walk(f, path, out),
                Some(SubSchema::List(item)) => rules_walk(item, path, out),
                None => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.fields, "", &mut out);
        out
    }

    /// Whether validating can produce a [`PendingCheck`]: the schema has a
    /// `unique*` or `data_relation` rule somewhere (sub-documents, list
    /// items, mapping keys/values, `allow_unknown` rules and logical
    /// alternatives included). When false, [`Schema::validate`] never
    /// returns pending checks, so callers need not keep the input for a
    /// second pass.
    pub fn has_store_checks(&self) -> bool {
        self.store_checks
    }

    /// Sets the field used by `data_relation`s that name no `field`: the
    /// target resource's `id_field` (default `_id`).
    pub fn set_relation_id_field(&mut self, resource: &str, id_field: &str) {
        self.relation_id_fields
            .insert(resource.to_string(), id_field.to_string());
    }

    fn relation_field(&self, rel: &Relation) -> String {
        rel.field.clone().unwrap_or_else(|| {
            self.relation_id_fields
                .get(&rel.resource)
                .cloned()
                .unwrap_or_else(|| "_id".into())
        })
    }

    /// Applies Eve's type serializers (features.md §1.4) to an incoming
    /// payload: strings to dates/ObjectIds, integer/float/number/boolean/
    /// decimal/dbref conversions, recursively. Values that do not convert
    /// are left as they are for validation to report. The integer
    /// serializer only converts integral numbers, booleans and digit
    /// strings (Eve would truncate `5.5`).
    pub fn serialize_payload(&self, doc: Document, date_format: &DateFormat) -> Document {
        let mut doc = doc;
        let s = serialize::Serializer {
            registry: &self.registry,
            date_format,
        };
        s.fields(&mut doc, &self.fields);
        doc
    }

    /// Normalizes and validates a document.
    pub fn validate(&self, doc: Document, mode: Mode<'_>, options: &Options) -> Outcome {
        validate::run(self, doc, mode, options, None)
    }

    /// Like [`Schema::validate`], with the answers of the store checks
    /// known: `failed` tells, for each [`PendingCheck`] the validation
    /// produces, whether it failed (the caller ran the checks listed by a
    /// first [`Schema::validate`]). Their messages are then added where
    /// Eve adds them, so the order of several messages on one field is
    /// exactly Eve's; [`Issues::add`] is the simpler alternative.
    pub fn validate_with_checks(
        &self,
        doc: Document,
        mode: Mode<'_>,
        options: &Options,
        failed: &dyn Fn(&PendingCheck) -> bool,
    ) -> Outcome {
        validate::run(self, doc, mode, options, Some(failed))
    }

    /// Message for a failed [`PendingCheck::Unique`].
    pub fn unique_message(value: &Bson) -> String {
        format!("value '{}' is not unique", pyfmt::py_str(value))
    }

    /// Message for a failed [`PendingCheck::DataRelation`].
    pub fn data_relation_message(value: &Bson, resource: &str, field: &str) -> String {
        format!(
            "value '{}' must exist in resource '{resource}', field '{field}'.",
            pyfmt::py_str(value)
        )
    }

    /// Message for a failed versioned [`PendingCheck::DataRelation`] (its
    /// value is the `{<field>: id, _version: n}` mapping) whose version is
    /// missing.
    pub fn data_relation_version_message(
        id: &Bson,
        resource: &str,
        field: &str,
        version: &Bson,
    ) -> String {
        format!(
            "value '{}' must exist in resource '{resource}', field '{field}' at version '{}'.",
            pyfmt::py_str(id),
            pyfmt::py_str(version)
        )
    }

    /// Message for a versioned [`PendingCheck::DataRelation`] whose target
    /// resource is not versioned.
    pub fn data_relation_unversioned_message(resource: &str) -> String {
        format!("can't save a version with data_relation if '{resource}' isn't versioned")
    }
}
