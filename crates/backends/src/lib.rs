//! `eve-backends`: the registry of data layers. It opens the layer that
//! the settings' `DATA_LAYER` names, or that the command line names instead
//! ([`LayerUrl`]), and keeps the open layers by database prefix (Eve's
//! `MONGO` by default; each resource's `mongo_prefix` adds one). A
//! resource on another prefix, or with its own `mongo_write_concern`, is
//! served through one routing layer ([`Backends::data_layer`]) that sends
//! each collection to its layer. The binary and the test suites open their
//! stores here, so the HTTP crate only ever sees an `Arc<dyn DataLayer>`.
//!
//! The embedded store, MongoDB (`eve-store-mongo`, from a
//! `mongodb://`/`mongodb+srv://` URL or the settings' `MONGO_*` keys) and
//! PostgreSQL (`eve-store-postgres`, from a `postgres://`/`postgresql://`
//! URL or the settings' `POSTGRES_URI`) are built.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let domain = eve_core::settings::load(
//!     "settings.yaml".as_ref(),
//!     &eve_schema::Registry::default(),
//! )?;
//! let layers = eve_backends::Backends::open(&domain, None, "data".as_ref()).await?;
//! let store = layers.data_layer().clone(); // an Arc<dyn DataLayer> for the App
//! # let _ = store; Ok(()) }
//! ```

mod media;
mod routed;
mod url;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use eve_core::Domain;
use eve_store::{DataLayer, StoreError};

pub use media::open_media;
pub use url::{LayerUrl, ACCEPTED};

/// The database prefix of the settings' own connection (Eve's
/// `mongo_prefix` default).
pub const DEFAULT_PREFIX: &str = "MONGO";

/// The environment variable naming the layer the HTTP integration tests
/// run on ([`LayerUrl::for_tests`]).
pub const TEST_BACKEND_VAR: &str = "EVE_TEST_BACKEND";

/// The environment variable naming the MongoDB server of the test suites
/// (`scripts/mongo-test-server.sh start` prints one).
pub const TEST_MONGO_URI_VAR: &str = "EVE_TEST_MONGO_URI";

/// The environment variable naming the PostgreSQL server of the test
/// suites, used when [`TEST_BACKEND_VAR`] says just `postgres`.
pub const TEST_POSTGRES_VAR: &str = "EVE_TEST_POSTGRES_URI";

/// Why a data layer could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The name is neither `embedded` nor a URL of a known scheme.
    #[error("unknown data layer '{0}' (expected {ACCEPTED})", ACCEPTED = url::ACCEPTED)]
    UnknownLayer(String),
    /// A connection URL with nothing after its scheme.
    #[error("data layer URL '{0}' names no server")]
    MissingHost(String),
    /// The layer is known but not part of this build.
    #[error("{layer}: {reason}")]
    NotBuilt {
        /// The layer as given, without credentials.
        layer: String,
        /// What is missing, with its issue.
        reason: &'static str,
    },
    /// The store refused to open (unreadable or damaged files, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The MongoDB connection settings cannot be used.
    #[error("MongoDB settings: {0}")]
    Mongo(#[from] eve_store_mongo::ConfigError),
    /// `postgres` was named for the tests without a server
    /// ([`TEST_POSTGRES_VAR`] unset).
    #[error("no PostgreSQL server: set {TEST_POSTGRES_VAR} (e.g. postgres://postgres@127.0.0.1:5432/test)")]
    NoTestServer,
    /// The resources' `mongo_prefix` / `mongo_write_concern` cannot be
    /// served as written (another layer than MongoDB, or two resources on
    /// one collection with different routes).
    #[error("{path}: {message}")]
    Route {
        /// The settings key path.
        path: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The media storage could not be opened.
    #[error("media storage: {0}")]
    Media(#[from] eve_media::MediaError),
    /// The blocking task opening the store panicked or was cancelled.
    #[error("opening the data layer did not finish: {0}")]
    Interrupted(String),
}

/// How to open a layer, besides its [`LayerUrl`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Directory of the embedded store.
    pub data_dir: PathBuf,
    /// Memory one in-memory sort may use, in bytes (`SORT_MEMORY_LIMIT`).
    pub sort_memory_limit: usize,
    /// The settings' `MONGO_*` keys, for a MongoDB layer named without a
    /// URL (a URL, from the command line, replaces `MONGO_URI`).
    pub mongo: eve_core::MongoSettings,
    /// Another database than the settings name (test suites give each
    /// test its own).
    pub mongo_dbname: Option<String>,
    /// Where media files go (`MEDIA_STORAGE`; default beside the layer).
    pub media: eve_core::settings::MediaStorageSetting,
}

impl OpenOptions {
    /// Options for the embedded store in `data_dir`, with the limits the
    /// checked settings give.
    pub fn from_domain(domain: &Domain, data_dir: &Path) -> OpenOptions {
        OpenOptions {
            data_dir: data_dir.to_path_buf(),
            sort_memory_limit: usize::try_from(domain.settings.limits.sort_memory_limit)
                .unwrap_or(usize::MAX),
            mongo: domain.settings.mongo.clone(),
            mongo_dbname: None,
            media: domain.settings.media.storage.clone(),
        }
    }

    /// Options for the embedded store in `data_dir`, with default limits.
    pub fn new(data_dir: &Path) -> OpenOptions {
        OpenOptions {
            data_dir: data_dir.to_path_buf(),
            sort_memory_limit: usize::try_from(
                eve_core::RequestLimits::default().sort_memory_limit,
            )
            .unwrap_or(usize::MAX),
            mongo: eve_core::MongoSettings::default(),
            mongo_dbname: None,
            media: eve_core::settings::MediaStorageSetting::default(),
        }
    }
}

/// Opens one data layer. The embedded store is opened off the async
/// runtime (SQLite calls block).
pub async fn open_layer(
    url: &LayerUrl,
    options: &OpenOptions,
) -> Result<Arc<dyn DataLayer>, BackendError> {
    match url {
        LayerUrl::Embedded => {
            let dir = options.data_dir.clone();
            let store =
                tokio::task::spawn_blocking(move || eve_store_sqlite::SqliteStore::open(&dir))
                    .await
                    .map_err(|e| BackendError::Interrupted(e.to_string()))??
                    .with_sort_memory_limit(options.sort_memory_limit);
            Ok(Arc::new(store))
        }
        LayerUrl::Mongo { uri } => Ok(Arc::new(open_mongo(uri.as_deref(), options).await?)),
        LayerUrl::Postgres { uri } if uri.is_empty() => {
            Err(BackendError::MissingHost("postgres://".into()))
        }
        LayerUrl::Postgres { uri } => {
            let store =
                eve_store_postgres::PostgresStore::connect(uri, postgres_options(options)).await?;
            Ok(Arc::new(store))
        }
    }
}

/// Opens the MongoDB layer of the settings' `MONGO_*` keys (`uri`, from
/// the command line, replaces `MONGO_URI`).
async fn open_mongo(
    uri: Option<&str>,
    options: &OpenOptions,
) -> Result<eve_store_mongo::MongoStore, BackendError> {
    let mut config = mongo_config(&options.mongo);
    if let Some(uri) = uri {
        config.uri = Some(uri.to_string());
    }
    let store = eve_store_mongo::MongoStore::open(&config).await?;
    Ok(match &options.mongo_dbname {
        Some(name) => store.with_database(name),
        None => store,
    })
}

/// The MongoDB layer's view of a write concern as written.
fn write_concern_config(
    w: Option<&eve_core::MongoWriteAck>,
    journal: Option<bool>,
    wtimeout_ms: Option<u64>,
) -> Option<eve_store_mongo::WriteConcernConfig> {
    use eve_store_mongo::{WriteAck, WriteConcernConfig};
    (w.is_some() || journal.is_some() || wtimeout_ms.is_some()).then(|| WriteConcernConfig {
        w: w.map(|w| match w {
            eve_core::MongoWriteAck::Nodes(n) => WriteAck::Nodes(*n),
            eve_core::MongoWriteAck::Named(m) => WriteAck::Named(m.clone()),
        }),
        journal,
        wtimeout_ms,
    })
}

/// The MongoDB layer's view of the settings' `MONGO_*` keys.
fn mongo_config(s: &eve_core::MongoSettings) -> eve_store_mongo::MongoConfig {
    use eve_store_mongo::MongoConfig;
    let write_concern =
        write_concern_config(s.write_w.as_ref(), s.write_journal, s.write_timeout_ms);
    MongoConfig {
        uri: s.uri.clone(),
        host: s.host.clone(),
        port: s.port,
        dbname: s.dbname.clone(),
        username: s.username.clone(),
        password: s.password.clone(),
        auth_source: s.auth_source.clone(),
        auth_mechanism: s.auth_mechanism.clone(),
        replica_set: s.replica_set.clone(),
        app_name: s.app_name.clone(),
        write_concern,
    }
}

fn postgres_options(options: &OpenOptions) -> eve_store_postgres::PgOptions {
    eve_store_postgres::PgOptions {
        sort_memory_limit: options.sort_memory_limit,
        ..eve_store_postgres::PgOptions::default()
    }
}

/// Opens the layer a test names ([`LayerUrl::for_tests`]) for `domain`,
/// as [`Backends::open`] does, except that a PostgreSQL layer gets a fresh
/// schema of its own, dropped when the store is dropped, so tests never
/// see each other's documents; a bare `postgres` takes its server from
/// [`TEST_POSTGRES_VAR`].
pub async fn open_for_tests(
    domain: &Domain,
    url: &LayerUrl,
    data_dir: &Path,
) -> Result<Arc<dyn DataLayer>, BackendError> {
    let LayerUrl::Postgres { uri } = url else {
        return Ok(Backends::open(domain, Some(url), data_dir)
            .await?
            .primary()
            .clone());
    };
    let uri = if uri.is_empty() {
        match std::env::var(TEST_POSTGRES_VAR) {
            Ok(uri) if !uri.trim().is_empty() => uri,
            _ => return Err(BackendError::NoTestServer),
        }
    } else {
        uri.clone()
    };
    let options = postgres_options(&OpenOptions::from_domain(domain, data_dir));
    let store = eve_store_postgres::PostgresStore::connect_temporary(&uri, options).await?;
    Ok(Arc::new(store))
}

/// [`open_for_tests`], with the media storage in the same place when it
/// must be opened with the layer (the temporary schema of a PostgreSQL
/// test store); `None` when [`open_media`] finds it.
pub async fn open_for_tests_with_media(
    domain: &Domain,
    url: &LayerUrl,
    data_dir: &Path,
) -> Result<(Arc<dyn DataLayer>, Option<Arc<dyn eve_media::MediaStorage>>), BackendError> {
    let s3 = domain.settings.media.storage != eve_core::settings::MediaStorageSetting::Layer;
    let (LayerUrl::Postgres { uri }, false) = (url, s3) else {
        return Ok((open_for_tests(domain, url, data_dir).await?, None));
    };
    let uri = if uri.is_empty() {
        match std::env::var(TEST_POSTGRES_VAR) {
            Ok(uri) if !uri.trim().is_empty() => uri,
            _ => return Err(BackendError::NoTestServer),
        }
    } else {
        uri.clone()
    };
    let options = postgres_options(&OpenOptions::from_domain(domain, data_dir));
    let store = eve_store_postgres::PostgresStore::connect_temporary(&uri, options).await?;
    let media: Arc<dyn eve_media::MediaStorage> = Arc::new(store.media_storage());
    Ok((Arc::new(store), Some(media)))
}

/// The open data layers of one API, by database prefix.
#[derive(Clone)]
pub struct Backends {
    layers: BTreeMap<String, Arc<dyn DataLayer>>,
    /// The one layer the API is given: each resource's collection goes to
    /// its prefix's layer (with its write concern).
    routed: Arc<dyn DataLayer>,
    /// The storage of media fields, when a resource has one.
    media: Option<Arc<dyn eve_media::MediaStorage>>,
}

impl std::fmt::Debug for Backends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.layers.iter().map(|(k, v)| (k, v.name())))
            .finish()
    }
}

impl Backends {
    /// Opens the layers `domain` needs: the one `url` names when given
    /// (the command line overrides the settings), else the settings'
    /// `DATA_LAYER`, under [`DEFAULT_PREFIX`]. The embedded store lives in
    /// `data_dir`.
    pub async fn open(
        domain: &Domain,
        url: Option<&LayerUrl>,
        data_dir: &Path,
    ) -> Result<Backends, BackendError> {
        let url = url
            .cloned()
            .unwrap_or_else(|| LayerUrl::from_settings(&domain.settings.data_layer));
        let options = OpenOptions::from_domain(domain, data_dir);
        let mut backends = Backends::open_layers(domain, &url, &options).await?;
        if domain
            .resources
            .values()
            .any(|r| !r.media_fields().is_empty())
        {
            backends.media = Some(open_media(&url, &options).await?);
        }
        Ok(backends)
    }

    async fn open_layers(
        domain: &Domain,
        url: &LayerUrl,
        options: &OpenOptions,
    ) -> Result<Backends, BackendError> {
        let url = url.clone();
        let options = options.clone();
        let routes = &domain.settings.mongo_routes;
        let LayerUrl::Mongo { uri } = &url else {
            // A mongo_prefix would silently share this one store.
            if let Some((name, r)) = routes
                .resources
                .iter()
                .find(|(_, r)| r.prefix != DEFAULT_PREFIX)
            {
                return Err(BackendError::Route {
                    path: format!("DOMAIN.{name}.mongo_prefix"),
                    message: format!(
                        "names the MongoDB database prefix {}, but the data layer is {url}: \
                         every resource would share that one store; serve the API on MongoDB, \
                         or remove the setting",
                        r.prefix
                    ),
                });
            }
            let layer = open_layer(&url, &options).await?;
            return Ok(Backends::single(layer));
        };
        let primary = open_mongo(uri.as_deref(), &options).await?;
        let mut stores = BTreeMap::new();
        stores.insert(DEFAULT_PREFIX.to_string(), primary);
        for (prefix, settings) in &routes.prefixes {
            let store = eve_store_mongo::MongoStore::open(&mongo_config(settings)).await?;
            stores.insert(prefix.clone(), store);
        }
        routed::build(domain, stores)
    }

    /// The one data layer to give the API (`App::new`): the resources of
    /// another `mongo_prefix`, or with their own `mongo_write_concern`, are
    /// served by their own layer, every other one by [`Backends::primary`].
    pub fn data_layer(&self) -> &Arc<dyn DataLayer> {
        &self.routed
    }

    /// A registry holding `layer` under [`DEFAULT_PREFIX`] (a custom data
    /// layer, or one opened with [`open_layer`]).
    pub fn single(layer: Arc<dyn DataLayer>) -> Backends {
        let mut layers = BTreeMap::new();
        layers.insert(DEFAULT_PREFIX.to_string(), layer.clone());
        Backends {
            layers,
            routed: layer,
            media: None,
        }
    }

    /// The storage of media fields (opened when a resource has one).
    pub fn media(&self) -> Option<&Arc<dyn eve_media::MediaStorage>> {
        self.media.as_ref()
    }

    /// The layer of the settings' own connection ([`DEFAULT_PREFIX`]).
    pub fn primary(&self) -> &Arc<dyn DataLayer> {
        self.layers
            .get(DEFAULT_PREFIX)
            .expect("every constructor registers the default prefix")
    }

    /// The layer of a database prefix (`mongo_prefix`), if open.
    pub fn get(&self, prefix: &str) -> Option<&Arc<dyn DataLayer>> {
        self.layers.get(prefix)
    }

    /// The open prefixes, in order.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.layers.keys().map(String::as_str)
    }
}
