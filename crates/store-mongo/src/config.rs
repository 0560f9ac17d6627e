//! How to reach a MongoDB deployment: Eve's `MONGO_*` settings (or one
//! connection URI) turned into the driver's client options.
//!
//! Precedence follows Eve (features.md §42.1): a URI wins; the user,
//! password, database and `authSource` it names are used. Without a URI,
//! host, port, database, credentials, authentication source and
//! mechanism and replica set come from their own settings.

use std::time::Duration;

use mongodb::options::{
    Acknowledgment, AuthMechanism, ClientOptions, Credential, ServerAddress, WriteConcern,
};

/// Eve's default database name (the application name).
pub const DEFAULT_DBNAME: &str = "eve";

/// How long a request waits for a usable server before it fails with
/// "unavailable", unless the URI sets `serverSelectionTimeoutMS`.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection settings of one database prefix (`MONGO` by default).
/// Every field is optional: [`MongoConfig::from_uri`] is the short form.
#[derive(Clone, Default)]
pub struct MongoConfig {
    /// `MONGO_URI`: takes precedence over host and port.
    pub uri: Option<String>,
    /// `MONGO_HOST`, default `localhost`.
    pub host: Option<String>,
    /// `MONGO_PORT`, default 27017.
    pub port: Option<u16>,
    /// `MONGO_DBNAME`, default `eve` (used when the URI names none).
    pub dbname: Option<String>,
    /// `MONGO_USERNAME` (with `password`).
    pub username: Option<String>,
    /// `MONGO_PASSWORD`.
    pub password: Option<String>,
    /// `MONGO_AUTH_SOURCE`, default the database.
    pub auth_source: Option<String>,
    /// `MONGO_AUTH_MECHANISM` (`SCRAM-SHA-256`, …).
    pub auth_mechanism: Option<String>,
    /// `MONGO_REPLICA_SET`.
    pub replica_set: Option<String>,
    /// `MONGO_OPTIONS.appname`, default `eve-rs`.
    pub app_name: Option<String>,
    /// `MONGO_WRITE_CONCERN`, default the server's (`w: 1`).
    pub write_concern: Option<WriteConcernConfig>,
}

/// `MONGO_WRITE_CONCERN`: `{w, j, wtimeout}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteConcernConfig {
    /// `w`: a number of nodes, `majority` or a tag set name.
    pub w: Option<WriteAck>,
    /// `j`: wait for the journal.
    pub journal: Option<bool>,
    /// `wtimeout` in milliseconds.
    pub wtimeout_ms: Option<u64>,
}

/// The `w` of a write concern.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteAck {
    /// A number of nodes (0 is refused: unacknowledged writes would be
    /// reported as stored).
    Nodes(u32),
    /// A named mode (`majority` or a custom tag set).
    Named(String),
}

/// Credentials never reach logs: only whether a URI/user was given.
impl std::fmt::Debug for MongoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoConfig")
            .field("uri", &self.uri.as_ref().map(|_| "…"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("username", &self.username.as_ref().map(|_| "…"))
            .field("replica_set", &self.replica_set)
            .field("write_concern", &self.write_concern)
            .finish()
    }
}

/// Why connection settings cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// The URI (or the host and port) is not a MongoDB connection string.
    #[error("invalid MongoDB connection string: {0}")]
    InvalidUri(String),
    /// A setting has a value the driver refuses.
    #[error("{key}: {message}")]
    Invalid {
        /// The setting (without prefix, e.g. `AUTH_MECHANISM`).
        key: &'static str,
        /// Why.
        message: String,
    },
}

impl MongoConfig {
    /// Settings that are one connection URI.
    pub fn from_uri(uri: impl Into<String>) -> MongoConfig {
        MongoConfig {
            uri: Some(uri.into()),
            ..MongoConfig::default()
        }
    }

    /// The driver's options and the database name. Parsing a
    /// `mongodb+srv://` URI resolves DNS records: a failure there is
    /// [`ConfigError::InvalidUri`] too.
    pub async fn client_options(&self) -> Result<(ClientOptions, String), ConfigError> {
        let uri = match &self.uri {
            Some(uri) => uri.clone(),
            None => {
                let host = self.host.as_deref().unwrap_or("localhost");
                let port = self.port.unwrap_or(27017);
                let address = if host.contains(':') && !host.starts_with('[') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                format!("mongodb://{address}/")
            }
        };
        // The driver's message may quote the URI, password included.
        let mut options = ClientOptions::parse(&uri).await.map_err(|e| {
            tracing::warn!(error = %e, "invalid MongoDB connection string");
            ConfigError::InvalidUri(
                "not a mongodb:// or mongodb+srv:// URI the driver accepts (details in the log)"
                    .into(),
            )
        })?;
        let dbname = options
            .default_database
            .clone()
            .or_else(|| self.dbname.clone())
            .unwrap_or_else(|| DEFAULT_DBNAME.to_string());
        if self.uri.is_none() {
            self.apply_settings(&mut options, &dbname)?;
        }
        if options.server_selection_timeout.is_none() {
            options.server_selection_timeout = Some(DEFAULT_SERVER_SELECTION_TIMEOUT);
        }
        if options.app_name.is_none() {
            options.app_name = Some(self.app_name.clone().unwrap_or_else(|| "eve-rs".into()));
        }
        if let Some(wc) = &self.write_concern {
            options.write_concern = Some(wc.to_driver()?);
        }
        Ok((options, dbname))
    }

    /// Host-and-port settings: credentials, auth source and mechanism,
    /// replica set.
    fn apply_settings(&self, options: &mut ClientOptions, dbname: &str) -> Result<(), ConfigError> {
        match (&self.username, &self.password) {
            (Some(user), Some(password)) => {
                let mechanism = match &self.auth_mechanism {
                    Some(m) => {
                        Some(
                            m.parse::<AuthMechanism>()
                                .map_err(|e| ConfigError::Invalid {
                                    key: "AUTH_MECHANISM",
                                    message: e.to_string(),
                                })?,
                        )
                    }
                    None => None,
                };
                let mut credential = Credential::default();
                credential.username = Some(user.clone());
                credential.password = Some(password.clone());
                credential.source = Some(self.auth_source.clone().unwrap_or(dbname.to_string()));
                credential.mechanism = mechanism;
                options.credential = Some(credential);
            }
            (None, None) => {}
            _ => {
                return Err(ConfigError::Invalid {
                    key: "USERNAME",
                    message: "USERNAME and PASSWORD go together".into(),
                })
            }
        }
        if let Some(set) = &self.replica_set {
            options.repl_set_name = Some(set.clone());
        }
        if let [ServerAddress::Tcp { .. }] = options.hosts.as_slice() {
            if self.replica_set.is_none() {
                // One host without a replica set: talk to it directly, as
                // pymongo does with a single seed.
                options.direct_connection = Some(true);
            }
        }
        Ok(())
    }
}

impl WriteConcernConfig {
    pub(crate) fn to_driver(&self) -> Result<WriteConcern, ConfigError> {
        let mut wc = WriteConcern::default();
        wc.w = match &self.w {
            None => None,
            Some(WriteAck::Nodes(0)) => {
                return Err(ConfigError::Invalid {
                    key: "WRITE_CONCERN",
                    message: "w: 0 (unacknowledged writes) is not supported: \
                              eve-rs reports a write as stored only once MongoDB acknowledged it"
                        .into(),
                })
            }
            Some(WriteAck::Nodes(n)) => Some(Acknowledgment::Nodes(*n)),
            Some(WriteAck::Named(s)) if s == "majority" => Some(Acknowledgment::Majority),
            Some(WriteAck::Named(s)) => Some(Acknowledgment::Custom(s.clone())),
        };
        wc.journal = self.journal;
        wc.w_timeout = self.wtimeout_ms.map(Duration::from_millis);
        Ok(wc)
    }
}
