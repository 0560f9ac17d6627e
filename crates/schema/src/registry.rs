//! Extensions registered from Rust and looked up by name from schemas:
//! custom rules, custom types, coercers, default setters, rename handlers
//! and `check_with` functions. Names are resolved when a schema is
//! compiled, so a schema naming an unknown extension fails at start-up.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bson::{Bson, Document};

/// What a custom rule, `check_with` function or custom type sees of the
/// validation in progress.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext<'a> {
    /// Name of the resource being written.
    pub resource: &'a str,
    /// The stored document (replace and update modes).
    pub original: Option<&'a Document>,
    /// The (sub-)document holding the field being checked.
    pub document: &'a Document,
    /// The whole document being validated.
    pub root: &'a Document,
    /// True in update (PATCH) mode.
    pub is_update: bool,
}

/// The shape a custom rule's constraint must have in schemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// Anything.
    Any,
    /// `true` / `false`.
    Boolean,
    /// An integer.
    Integer,
    /// Any number.
    Number,
    /// A string.
    String,
    /// A list.
    List,
    /// A mapping.
    Dict,
}

impl ConstraintKind {
    pub(crate) fn accepts(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match self {
            ConstraintKind::Any => true,
            ConstraintKind::Boolean => v.is_boolean(),
            ConstraintKind::Integer => v.is_i64() || v.is_u64(),
            ConstraintKind::Number => v.is_number(),
            ConstraintKind::String => v.is_string(),
            ConstraintKind::List => matches!(v, V::Array(_)),
            ConstraintKind::Dict => matches!(v, V::Object(_)),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ConstraintKind::Any => "any",
            ConstraintKind::Boolean => "boolean",
            ConstraintKind::Integer => "integer",
            ConstraintKind::Number => "number",
            ConstraintKind::String => "string",
            ConstraintKind::List => "list",
            ConstraintKind::Dict => "dict",
        }
    }
}

/// A custom rule: `(constraint, field, value, context)`; returns the error
/// message when the value breaks the rule.
pub type RuleFn =
    Arc<dyn Fn(&serde_json::Value, &str, &Bson, &RuleContext<'_>) -> Option<String> + Send + Sync>;
/// A custom type's predicate.
pub type TypeFn = Arc<dyn Fn(&Bson) -> bool + Send + Sync>;
/// A custom type's payload serializer (`None`: leave the value as it is).
pub type TypeSerializerFn = Arc<dyn Fn(&Bson) -> Option<Bson> + Send + Sync>;
/// A named coercer: the new value, or the error text shown after
/// `field '<f>' cannot be coerced: `. Also used for rename handlers (the
/// field name is passed as a string value and a string is expected back).
pub type CoerceFn = Arc<dyn Fn(&Bson) -> Result<Bson, String> + Send + Sync>;
/// A named default setter: computes a default from the (sub-)document.
pub type DefaultSetterFn = Arc<dyn Fn(&Document) -> Result<Bson, DefaultSetterError> + Send + Sync>;
/// A named `check_with` function: `(field, value, context)`; returns the
/// error messages (empty when the value is fine).
pub type CheckWithFn = Arc<dyn Fn(&str, &Bson, &RuleContext<'_>) -> Vec<String> + Send + Sync>;

/// Why a default setter produced no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultSetterError {
    /// It needs a field that is not (yet) in the document; the setter is
    /// retried after the other setters ran (Cerberus' `KeyError`).
    MissingField(String),
    /// It failed; the text follows `default value for '<f>' cannot be set: `.
    Failed(String),
}

#[derive(Clone)]
pub(crate) struct CustomRule {
    pub kind: ConstraintKind,
    pub check: RuleFn,
}

#[derive(Clone)]
pub(crate) struct CustomType {
    pub check: TypeFn,
    pub serializer: Option<TypeSerializerFn>,
}

/// Extensions registered from Rust: custom rules, types, coercers, default
/// setters and `check_with` functions, looked up by name from schemas.
///
/// ```
/// use std::sync::Arc;
/// use eve_schema::{ConstraintKind, Registry};
///
/// let registry = Registry::default().register_rule(
///     "isodd",
///     ConstraintKind::Boolean,
///     Arc::new(|constraint, _field, value, _ctx| {
///         let odd = value.as_i64().or(value.as_i32().map(i64::from)).is_some_and(|n| n % 2 != 0);
///         (constraint.as_bool() == Some(true) && !odd).then(|| "Value must be an odd number".to_string())
///     }),
/// );
/// # let _ = registry;
/// ```
#[derive(Clone)]
pub struct Registry {
    pub(crate) rules: HashMap<String, CustomRule>,
    pub(crate) types: HashMap<String, CustomType>,
    pub(crate) coercers: HashMap<String, CoerceFn>,
    pub(crate) default_setters: HashMap<String, DefaultSetterFn>,
    pub(crate) check_with: HashMap<String, CheckWithFn>,
    pub(crate) geojson_custom_fields: bool,
}

impl Default for Registry {
    /// A registry with the built-in optional types: `uuid` (a canonical
    /// UUID string in payloads, stored as BSON binary subtype 4 as MongoDB's
    /// `uuidRepresentation: standard` does). Registering a type of the same
    /// name replaces it.
    fn default() -> Self {
        let registry = Registry {
            rules: HashMap::new(),
            types: HashMap::new(),
            coercers: HashMap::new(),
            default_setters: HashMap::new(),
            check_with: HashMap::new(),
            geojson_custom_fields: false,
        };
        registry.register_type_with_serializer(
            "uuid",
            Arc::new(|v| matches!(v, Bson::Binary(b) if b.subtype == bson::spec::BinarySubtype::Uuid && b.bytes.len() == 16)),
            Arc::new(|v| match v {
                Bson::String(s) => parse_uuid(s).map(|bytes| {
                    Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes })
                }),
                _ => None,
            }),
        )
    }
}

/// Parses a UUID written as 32 hex digits, with or without the usual
/// hyphens (and optional braces or `urn:uuid:` prefix, as Python accepts).
pub fn parse_uuid(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    let t = t.strip_prefix("urn:uuid:").unwrap_or(t);
    let t = t
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(t);
    let hex: String = t.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |m: Vec<&String>| {
            let mut v: Vec<String> = m.into_iter().cloned().collect();
            v.sort();
            v
        };
        f.debug_struct("Registry")
            .field("rules", &names(self.rules.keys().collect()))
            .field("types", &names(self.types.keys().collect()))
            .field("coercers", &names(self.coercers.keys().collect()))
            .field(
                "default_setters",
                &names(self.default_setters.keys().collect()),
            )
            .field("check_with", &names(self.check_with.keys().collect()))
            .field("geojson_custom_fields", &self.geojson_custom_fields)
            .finish()
    }
}

impl Registry {
    /// An empty registry (built-in rules, types and coercers only).
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a custom rule usable in schemas as `<name>: <constraint>`.
    /// The constraint must have the given kind (checked at compile time).
    /// Custom rules also run for `null` values.
    pub fn register_rule(mut self, name: &str, kind: ConstraintKind, check: RuleFn) -> Self {
        self.rules
            .insert(name.to_string(), CustomRule { kind, check });
        self
    }

    /// Registers a custom type usable as `type: <name>`.
    pub fn register_type(mut self, name: &str, check: TypeFn) -> Self {
        self.types.insert(
            name.to_string(),
            CustomType {
                check,
                serializer: None,
            },
        );
        self
    }

    /// Registers a custom type with a payload serializer applied by
    /// [`crate::Schema::serialize_payload`] (e.g. string → stored form).
    pub fn register_type_with_serializer(
        mut self,
        name: &str,
        check: TypeFn,
        serializer: TypeSerializerFn,
    ) -> Self {
        self.types.insert(
            name.to_string(),
            CustomType {
                check,
                serializer: Some(serializer),
            },
        );
        self
    }

    /// Registers a named coercer (`coerce: <name>`) or rename handler
    /// (`rename_handler: <name>`). Registered names take precedence over the
    /// built-in ones (`int`, `float`, `str`, ...).
    pub fn register_coercer(mut self, name: &str, coerce: CoerceFn) -> Self {
        self.coercers.insert(name.to_string(), coerce);
        self
    }

    /// Registers a named default setter (`default_setter: <name>`).
    pub fn register_default_setter(mut self, name: &str, setter: DefaultSetterFn) -> Self {
        self.default_setters.insert(name.to_string(), setter);
        self
    }

    /// Registers a named `check_with` function (`check_with: <name>`).
    pub fn register_check_with(mut self, name: &str, check: CheckWithFn) -> Self {
        self.check_with.insert(name.to_string(), check);
        self
    }

    /// `ALLOW_CUSTOM_FIELDS_IN_GEOJSON` (default `false`): GeoJSON values may
    /// carry members besides `type` and `coordinates`/`geometries`/... .
    pub fn allow_custom_fields_in_geojson(mut self, allow: bool) -> Self {
        self.geojson_custom_fields = allow;
        self
    }
}
