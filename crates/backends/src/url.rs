//! Naming a data layer: `embedded`, or a connection URL whose scheme picks
//! the layer (`mongodb://`, `mongodb+srv://`, `postgres://`,
//! `postgresql://`), as the command line's `--data-layer`, the
//! `EVE_DATA_LAYER` and `EVE_TEST_BACKEND` variables and the settings'
//! `DATA_LAYER` give it.

use std::fmt;
use std::str::FromStr;

use eve_core::DataLayerKind;

use crate::BackendError;

/// What [`LayerUrl::parse`] accepts, for error messages and `--help`.
pub const ACCEPTED: &str = "embedded, mongodb://…, mongodb+srv://…, postgres://… or postgresql://…";

/// A data layer and where it lives.
///
/// ```
/// use eve_backends::LayerUrl;
/// assert_eq!(LayerUrl::parse("embedded").unwrap(), LayerUrl::Embedded);
/// let mongo = LayerUrl::parse("mongodb://db.example:27017/api").unwrap();
/// assert_eq!(mongo.name(), "mongo");
/// assert!(LayerUrl::parse("mysql://db.example").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum LayerUrl {
    /// The embedded durable store, in a directory given apart
    /// ([`crate::OpenOptions::data_dir`]).
    Embedded,
    /// A MongoDB server.
    Mongo {
        /// Connection URL; `None` when the settings' `MONGO_*` keys give it.
        uri: Option<String>,
    },
    /// A PostgreSQL server.
    Postgres {
        /// Connection URL.
        uri: String,
    },
}

impl LayerUrl {
    /// Parses `embedded` (any ASCII case) or a connection URL; anything
    /// else is [`BackendError::UnknownLayer`].
    pub fn parse(text: &str) -> Result<LayerUrl, BackendError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("embedded") {
            return Ok(LayerUrl::Embedded);
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(BackendError::UnknownLayer(text.to_string()));
        };
        let scheme = scheme.to_ascii_lowercase();
        let make: fn(String) -> LayerUrl = match scheme.as_str() {
            "mongodb" | "mongodb+srv" => |uri: String| LayerUrl::Mongo { uri: Some(uri) },
            "postgres" | "postgresql" => |uri: String| LayerUrl::Postgres { uri },
            // Only the scheme is echoed: the rest may hold a password.
            _ => return Err(BackendError::UnknownLayer(format!("{scheme}://…"))),
        };
        if rest.is_empty() {
            return Err(BackendError::MissingHost(format!("{scheme}://")));
        }
        Ok(make(text.to_string()))
    }

    /// The layer the checked settings select (`DATA_LAYER`).
    pub fn from_settings(kind: &DataLayerKind) -> LayerUrl {
        match kind {
            DataLayerKind::Embedded => LayerUrl::Embedded,
            DataLayerKind::Mongo => LayerUrl::Mongo { uri: None },
            DataLayerKind::Postgres { uri } => LayerUrl::Postgres { uri: uri.clone() },
        }
    }

    /// The layer's name, as `DATA_LAYER` spells it: `embedded`, `mongo` or
    /// `postgres`.
    pub fn name(&self) -> &'static str {
        match self {
            LayerUrl::Embedded => "embedded",
            LayerUrl::Mongo { .. } => "mongo",
            LayerUrl::Postgres { .. } => "postgres",
        }
    }

    /// `Ok` when this build can open the layer; otherwise
    /// [`BackendError::NotBuilt`] with the sentence the settings check uses
    /// for the same layer.
    pub fn ensure_built(&self) -> Result<(), BackendError> {
        match self.not_built_reason() {
            None => Ok(()),
            Some(reason) => Err(BackendError::NotBuilt {
                layer: self.to_string(),
                reason,
            }),
        }
    }

    /// Why this build cannot open the layer; `None` when it can.
    pub(crate) fn not_built_reason(&self) -> Option<&'static str> {
        match self {
            LayerUrl::Embedded | LayerUrl::Mongo { .. } | LayerUrl::Postgres { .. } => None,
        }
    }

    /// The layer the HTTP test suite runs on, from the value of
    /// [`crate::TEST_BACKEND_VAR`]: `embedded` when unset or empty; else a
    /// value [`LayerUrl::parse`] accepts, or a bare `mongo`/`postgres`
    /// (their servers then come from the suite's own variables:
    /// [`crate::TEST_MONGO_URI_VAR`] for MongoDB). An unknown value is an
    /// error, never a silent fallback to the embedded store.
    pub fn for_tests(value: Option<&str>) -> Result<LayerUrl, BackendError> {
        let value = value.map(str::trim).unwrap_or("");
        match value.to_ascii_lowercase().as_str() {
            "" => Ok(LayerUrl::Embedded),
            "mongo" | "mongodb" => Ok(LayerUrl::Mongo { uri: None }),
            "postgres" | "postgresql" => Ok(LayerUrl::Postgres { uri: String::new() }),
            _ => LayerUrl::parse(value),
        }
    }
}

impl FromStr for LayerUrl {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LayerUrl::parse(s)
    }
}

/// Shows the layer without credentials: `embedded`, or the URL's scheme
/// (`mongodb://…`), or the layer's name when no URL was given.
impl fmt::Display for LayerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uri = match self {
            LayerUrl::Embedded => return f.write_str("embedded"),
            LayerUrl::Mongo { uri } => uri.as_deref().unwrap_or(""),
            LayerUrl::Postgres { uri } => uri.as_str(),
        };
        match uri.split_once("://") {
            Some((scheme, _)) => write!(f, "{}://…", scheme.to_ascii_lowercase()),
            None => f.write_str(self.name()),
        }
    }
}

/// Like [`fmt::Display`]: a connection URL may carry a password, so debug
/// output (logs, panics) never shows more than its scheme.
impl fmt::Debug for LayerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LayerUrl({self})")
    }
}
