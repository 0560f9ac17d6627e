//! The compiled form of a schema definition: field rules, types and the
//! checks validation runs, as built by the compiler (the parent module).

use std::sync::Arc;

use bson::Bson;
use indexmap::IndexMap;
use serde_json::Value;

use crate::geo::GeoKind;
use crate::registry::Registry;

/// A compiled schema level: field name → rules.
pub(crate) type FieldMap = IndexMap<String, Rules>;

/// A type name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    String,
    Integer,
    Float,
    Number,
    Boolean,
    Datetime,
    Date,
    Dict,
    List,
    Set,
    Binary,
    Container,
    ObjectId,
    DbRef,
    Decimal,
    Media,
    Geo(GeoKind),
    Custom(String),
}

impl Ty {
    pub(super) fn parse(name: &str, registry: &Registry) -> Option<Ty> {
        Some(match name {
            "string" => Ty::String,
            "integer" => Ty::Integer,
            "float" => Ty::Float,
            "number" => Ty::Number,
            "boolean" => Ty::Boolean,
            "datetime" => Ty::Datetime,
            "date" => Ty::Date,
            "dict" => Ty::Dict,
            "list" => Ty::List,
            "set" => Ty::Set,
            "binary" => Ty::Binary,
            "container" => Ty::Container,
            "objectid" => Ty::ObjectId,
            "dbref" => Ty::DbRef,
            "decimal" => Ty::Decimal,
            "media" => Ty::Media,
            other => match GeoKind::from_type_name(other) {
                Some(g) => Ty::Geo(g),
                None if registry.types.contains_key(other) => Ty::Custom(other.to_string()),
                None => return None,
            },
        })
    }
}

/// `allow_unknown` of a (sub-)document.
#[derive(Debug, Clone)]
pub(crate) enum Unknown {
    /// Unknown fields accepted (`true`) or rejected (`false`).
    Flag(bool),
    /// Unknown fields validated against these rules.
    Rules(Arc<Rules>),
}

/// The `schema` rule: a sub-document schema or a rules set for list items.
#[derive(Debug, Clone)]
pub(crate) enum SubSchema {
    Dict(Arc<FieldMap>),
    List(Arc<Rules>),
}

/// The logical operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum LogicOp {
    AnyOf,
    AllOf,
    NoneOf,
    OneOf,
}

impl LogicOp {
    pub(super) fn parse(s: &str) -> Option<LogicOp> {
        Some(match s {
            "anyof" => LogicOp::AnyOf,
            "allof" => LogicOp::AllOf,
            "noneof" => LogicOp::NoneOf,
            "oneof" => LogicOp::OneOf,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            LogicOp::AnyOf => "anyof",
            LogicOp::AllOf => "allof",
            LogicOp::NoneOf => "noneof",
            LogicOp::OneOf => "oneof",
        }
    }
}

/// `dependencies`.
#[derive(Debug, Clone)]
pub(crate) enum Deps {
    Names(Vec<String>),
    Values {
        map: Vec<(String, Vec<Bson>)>,
        repr: String,
    },
}

/// Which flavour of Eve's uniqueness rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UniqueKind {
    Plain,
    WithinResource,
    ToUser,
}

/// `data_relation`.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub resource: String,
    pub field: Option<String>,
    pub version: bool,
}

/// A validation rule evaluated after the priority rules, in definition
/// order.
#[derive(Debug, Clone)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Check {
    MinLength(i64),
    MaxLength(i64),
    Min(Bson),
    Max(Bson),
    Allowed(Vec<Bson>),
    Forbidden(Vec<Bson>),
    Contains(Vec<Bson>),
    Regex { pattern: String, re: regex::Regex },
    Schema,
    Items,
    KeysRules,
    ValuesRules,
    Dependencies(Deps),
    Excludes(Vec<String>),
    Logic { op: LogicOp, defs: Vec<Arc<Rules>> },
    CheckWith(Vec<String>),
    Unique(UniqueKind),
    DataRelation(Relation),
    Custom { name: String, constraint: Value },
}

impl Check {
    /// The rule name as it appears in Cerberus' schema paths.
    pub(crate) fn rule_name(&self) -> &str {
        match self {
            Check::MinLength(_) => "minlength",
            Check::MaxLength(_) => "maxlength",
            Check::Min(_) => "min",
            Check::Max(_) => "max",
            Check::Allowed(_) => "allowed",
            Check::Forbidden(_) => "forbidden",
            Check::Contains(_) => "contains",
            Check::Regex { .. } => "regex",
            Check::Schema => "schema",
            Check::Items => "items",
            Check::KeysRules => "keysrules",
            Check::ValuesRules => "valuesrules",
            Check::Dependencies(_) => "dependencies",
            Check::Excludes(_) => "excludes",
            Check::Logic { op, .. } => op.name(),
            Check::CheckWith(_) => "check_with",
            Check::Unique(UniqueKind::Plain) => "unique",
            Check::Unique(UniqueKind::WithinResource) => "unique_within_resource",
            Check::Unique(UniqueKind::ToUser) => "unique_to_user",
            Check::DataRelation(_) => "data_relation",
            Check::Custom { name, .. } => name,
        }
    }

    /// Rules a `null` value skips (validation.md §4, nullable).
    pub(crate) fn skipped_for_null(&self) -> bool {
        matches!(
            self,
            Check::Logic { .. }
                | Check::Allowed(_)
                | Check::Forbidden(_)
                | Check::Items
                | Check::KeysRules
                | Check::Min(_)
                | Check::Max(_)
                | Check::MinLength(_)
                | Check::MaxLength(_)
                | Check::Regex { .. }
                | Check::Schema
                | Check::ValuesRules
        )
    }

    /// Rules a declared `empty` skips for empty values.
    pub(crate) fn skipped_for_empty(&self) -> bool {
        matches!(
            self,
            Check::Allowed(_)
                | Check::Forbidden(_)
                | Check::Items
                | Check::MinLength(_)
                | Check::MaxLength(_)
                | Check::Regex { .. }
                | Check::CheckWith(_)
        )
    }
}

/// The compiled rules of one field.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    /// Declared type names, as written (for messages and `field_types`).
    pub type_names: Vec<String>,
    /// `type` was written as a list.
    pub type_is_list: bool,
    pub types: Option<Vec<Ty>>,
    pub nullable: bool,
    pub readonly: bool,
    /// `readonly` is written in the definition (whatever its value): the
    /// field's rule queue then has a `readonly` step.
    pub readonly_declared: bool,
    pub required: Option<bool>,
    pub empty: Option<bool>,
    pub default: Option<Bson>,
    pub default_setter: Option<String>,
    pub coerce: Option<Vec<String>>,
    pub rename: Option<String>,
    pub rename_handler: Option<Vec<String>>,
    pub allow_unknown: Option<Unknown>,
    pub purge_unknown: Option<bool>,
    pub require_all: Option<bool>,
    pub schema: Option<SubSchema>,
    pub items: Option<Vec<Arc<Rules>>>,
    pub keysrules: Option<Arc<Rules>>,
    pub valuesrules: Option<Arc<Rules>>,
    /// `valuesrules` was written with its legacy name `valueschema`.
    pub valueschema_legacy: bool,
    /// Non-priority validation rules, in definition order.
    pub checks: Vec<Check>,
    /// The definition as written.
    pub raw: Value,
}

impl Rules {
    pub(crate) fn has_type(&self, t: &Ty) -> bool {
        self.types.as_ref().is_some_and(|ts| ts.contains(t))
    }
}
