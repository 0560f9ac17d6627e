//! `eve-exec`: the one executor of eve-rs. It runs what a request asks
//! once it is parsed and planned — writes and item/collection loads — with
//! no knowledge of HTTP: its inputs are typed values (the resource, the
//! payload as BSON, the item's lookup filter, the `If-Match` condition, the
//! [`Access`]) and its outputs are stored documents, per-document
//! validation problems or an [`ApiError`]. The HTTP handlers, the data API
//! ([`ResourceData`]) and hooks all go through it, so they behave alike.
//!
//! What it does, in Eve's order:
//! * payload preparation ([`prepare`](crate::prepare)): dotted keys,
//!   `AUTO_CREATE_LISTS`, sub-resource variables, type serializers;
//! * validation with store look-ups (`unique`, `data_relation`);
//! * meta stamping (`_created`, `_updated`, `_deleted`, `_etag`, `_id`);
//! * soft delete: DELETE marks documents `_deleted: true` on resources
//!   with `soft_delete` (`soft_delete.rs`);
//! * conditional edits: the ETag checked against `If-Match` is the one
//!   the write compares and sets, so a lost race is `412`;
//! * every write as one [`WriteBatch`](eve_store::WriteBatch), applied
//!   all-or-nothing (a bulk POST stores every document or none);
//! * the database hooks of the [`Hooks`] registry, general before specific;
//! * document versioning: shadow entries written in the same batch as the
//!   document, and version reads (`?version=`, `?as_of=`).
//!
//! ```no_run
//! # async fn demo(domain: eve_core::Domain, store: std::sync::Arc<dyn eve_store::DataLayer>)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! use eve_exec::{Executor, Hooks};
//! let exec = Executor::new(std::sync::Arc::new(domain), store, Hooks::new())?;
//! let people = exec.resource("people").expect("declared");
//! let stored = people.insert(bson::doc! {"lastname": "Doe"}).await?;
//! assert!(stored.contains_key("_etag"));
//! # Ok(()) }
//! ```

use std::sync::Arc;

use bson::{Bson, Document};
use eve_core::{ApiError, ApiResult, Domain, Method, Resource};
use eve_schema::{Mode, Outcome};
use eve_store::DataLayer;

mod access;
mod aggregate;
pub mod data;
mod embed;
mod etag;
pub mod hooks;
mod load;
pub mod media;
mod oplog;
mod prepare;
mod soft_delete;
mod stamp;
mod validate;
mod versioning;
mod versions;
mod write;

pub use access::Access;
pub use data::{DataError, ResourceData};
pub use embed::{embedded_last_updated, Replaced};
pub use etag::document_etag;
pub use hooks::{BoxFuture, Event, HookContext, HookError, Hooks, Scope};
pub use stamp::{ensure_meta, epoch, now, IfMatch};
pub use versioning::version_of;
pub use versions::{latest_version, resolve_version, VersionArg, VersionPage};
pub use write::{Edited, Inserted, Original, Refusal};

/// The executor: the checked settings, the data layer and the hooks of an
/// application. Cheap to clone (one shared allocation).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    domain: Arc<Domain>,
    store: Arc<dyn DataLayer>,
    hooks: Hooks,
    /// The storage of `media` fields ([`media`]), set once before serving.
    media: std::sync::OnceLock<Arc<dyn eve_media::MediaStorage>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("store", &self.inner.store.name())
            .field("hooks", &self.inner.hooks)
            .finish()
    }
}

impl Executor {
    /// An executor over `store`; refuses hooks that name a resource the
    /// settings do not declare.
    pub fn new(
        domain: Arc<Domain>,
        store: Arc<dyn DataLayer>,
        hooks: Hooks,
    ) -> Result<Executor, HookError> {
        hooks.check(&domain)?;
        Ok(Executor {
            inner: Arc::new(Inner {
                domain,
                store,
                hooks,
                media: std::sync::OnceLock::new(),
            }),
        })
    }

    /// The checked settings.
    pub fn domain(&self) -> &Domain {
        &self.inner.domain
    }

    /// The data layer.
    pub fn store(&self) -> &Arc<dyn DataLayer> {
        &self.inner.store
    }

    /// The hooks.
    pub fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }

    /// The data API of a resource (internal ones included), acting
    /// anonymously; `None` for an unknown name.
    pub fn resource(&self, name: &str) -> Option<ResourceData> {
        let resource = self.domain().resources.get(name)?.clone();
        Some(ResourceData::new(self.clone(), resource))
    }

    /// Validates a document against `res`'s schema, running the store
    /// look-ups it needs (`unique`, `data_relation`) as `access` sees the
    /// documents (`unique_to_user` among the user's own, references to
    /// what the user may read); `exclude_id` is the document being edited.
    pub async fn validate(
        &self,
        access: &Access,
        res: &Resource,
        doc: Document,
        mode: Mode<'_>,
        exclude_id: Option<&Bson>,
    ) -> ApiResult<Outcome> {
        let store = &**self.store();
        validate::validate(self.domain(), store, access, res, doc, mode, exclude_id).await
    }

    /// Runs the `on_pre_<METHOD>` hooks of a request (general, then the
    /// resource's); an error aborts the request. Requests without a
    /// resource (home, schema) fire none, as in Eve.
    pub async fn pre_request(
        &self,
        access: &Access,
        method: Method,
        res: Option<&Arc<Resource>>,
    ) -> ApiResult<()> {
        let event = Event::PreRequest(method);
        match (res, self.context(event, access, res, Some(method))) {
            (Some(_), Some(cx)) => self.hooks().run_ctx(event, &cx).await,
            _ => Ok(()),
        }
    }

    /// Runs the `on_post_<METHOD>` hooks of a request with the response
    /// status (general, then the resource's; general only without a
    /// resource).
    pub async fn post_request(
        &self,
        access: &Access,
        method: Method,
        res: Option<&Arc<Resource>>,
        status: u16,
    ) {
        let event = Event::PostRequest(method);
        if let Some(cx) = self.context(event, access, res, Some(method)) {
            self.hooks().run_status(event, &cx, status).await;
        }
    }

    /// A hook context when some hook of `event` would run for `res`.
    fn context(
        &self,
        event: Event,
        access: &Access,
        res: Option<&Arc<Resource>>,
        method: Option<Method>,
    ) -> Option<HookContext> {
        self.hooks()
            .has(event, res.map(|r| r.name.as_str()))
            .then(|| HookContext {
                exec: self.clone(),
                resource: res.cloned(),
                method,
                access: access.clone(),
            })
    }
}

/// The error of a unique index refusing an insert (`409`; the store's text
/// shown only with `DEBUG`).
fn duplicate_on_insert(index: usize, message: &str) -> ApiError {
    ApiError::DuplicateKey {
        op: eve_core::WriteKind::Insert,
        message: format!("Duplicate key error at index: {index}, message: {message}"),
    }
}
