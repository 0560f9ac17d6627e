//! The hook registry (features.md §32): async hooks registered at start-up
//! by event and resource, with Eve's event names. For each occurrence the
//! general hooks (`on_insert`) run first, then the resource's own
//! (`on_insert_<resource>`), each in registration order. A hook aborts the
//! request by returning an error (`ApiError::Abort { status, message }`);
//! an abort in a "before" hook prevents the write, one in an "after" hook
//! is answered but cannot undo it.
//!
//! Only the executor (database events) and the request pipeline
//! (`on_pre_<METHOD>`, `on_post_<METHOD>`) call hooks, never the store or
//! the renderer. A hook gets a [`HookContext`]: the resource, the
//! [`Access`] of the request and the data API, so it can read or write
//! another resource.
//!
//! ```
//! use eve_exec::{Hooks, Scope};
//!
//! let hooks = Hooks::new()
//!     // on_insert: every resource, before the documents are written.
//!     .on_insert(Scope::All, |_cx, docs| {
//!         Box::pin(async move {
//!             for doc in docs.iter_mut() {
//!                 doc.insert("source", "api");
//!             }
//!             Ok(())
//!         })
//!     })
//!     // on_inserted_people: after people were written.
//!     .on_inserted("people", |cx, docs| {
//!         Box::pin(async move {
//!             let audit = cx.data("audit").expect("declared in the settings");
//!             for _ in docs {
//!                 audit.insert(bson::doc! {"event": "person added"}).await.ok();
//!             }
//!             Ok(())
//!         })
//!     });
//! assert_eq!(hooks.registered(), ["on_insert", "on_inserted_people"]);
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bson::Document;
use eve_core::{ApiResult, Domain, Method, Resource};

use crate::access::Access;
use crate::data::ResourceData;
use crate::Executor;

/// A boxed future, as hooks return them (`Box::pin(async move { … })`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The events hooks are registered for, named as in Eve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `on_pre_<METHOD>`: before a request is processed (HEAD fires GET).
    PreRequest(Method),
    /// `on_post_<METHOD>`: after the response is built (not for HEAD).
    PostRequest(Method),
    /// `on_insert`: validated documents about to be inserted (mutable).
    Insert,
    /// `on_inserted`: documents just inserted.
    Inserted,
    /// `on_update`: PATCH updates about to be applied (mutable).
    Update,
    /// `on_updated`: PATCH updates applied (with the new ETag).
    Updated,
    /// `on_replace`: a PUT replacement about to be stored (mutable).
    Replace,
    /// `on_replaced`: a PUT replacement stored.
    Replaced,
    /// `on_delete_item`: a document about to be deleted.
    DeleteItem,
    /// `on_deleted_item`: a document deleted.
    DeletedItem,
    /// `on_delete_resource`: a collection DELETE about to run.
    DeleteResource,
    /// `on_deleted_resource`: a collection DELETE ran.
    DeletedResource,
    /// `on_fetched_resource`: a page of documents about to be rendered
    /// (mutable).
    FetchedResource,
    /// `on_fetched_item`: a document about to be rendered (mutable).
    FetchedItem,
    /// `on_fetched_diffs`: the partial documents of `?version=diffs`
    /// about to be rendered (mutable).
    FetchedDiffs,
    /// `on_oplog_push`: the oplog entries of a write, before they are
    /// written with it (mutable: handlers may add an `extra` field).
    OplogPush,
    /// `before_aggregation`: the pipeline of an aggregation endpoint read,
    /// before paging is appended (mutable).
    BeforeAggregation,
    /// `after_aggregation`: the page of results of an aggregation
    /// endpoint read (mutable).
    AfterAggregation,
}

impl Event {
    /// Eve's name of the general hook (`on_insert`, `on_pre_GET`).
    pub fn name(self) -> String {
        let fixed = match self {
            Event::PreRequest(m) => return format!("on_pre_{}", m.as_str()),
            Event::PostRequest(m) => return format!("on_post_{}", m.as_str()),
            Event::Insert => "on_insert",
            Event::Inserted => "on_inserted",
            Event::Update => "on_update",
            Event::Updated => "on_updated",
            Event::Replace => "on_replace",
            Event::Replaced => "on_replaced",
            Event::DeleteItem => "on_delete_item",
            Event::DeletedItem => "on_deleted_item",
            Event::DeleteResource => "on_delete_resource",
            Event::DeletedResource => "on_deleted_resource",
            Event::FetchedResource => "on_fetched_resource",
            Event::FetchedItem => "on_fetched_item",
            Event::FetchedDiffs => "on_fetched_diffs",
            Event::OplogPush => "on_oplog_push",
            Event::BeforeAggregation => "before_aggregation",
            Event::AfterAggregation => "after_aggregation",
        };
        fixed.to_string()
    }

    /// Eve's name of the hook for `scope` (`on_insert_people`).
    pub fn name_for(self, scope: &Scope) -> String {
        match scope {
            Scope::All => self.name(),
            Scope::Resource(r) => format!("{}_{r}", self.name()),
        }
    }
}

/// Which resources a hook is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every resource: the general hook, which runs first.
    All,
    /// One resource, by name: the specific hook (`<event>_<resource>`).
    Resource(String),
}

impl From<&str> for Scope {
    fn from(name: &str) -> Scope {
        Scope::Resource(name.to_string())
    }
}

impl From<String> for Scope {
    fn from(name: String) -> Scope {
        Scope::Resource(name)
    }
}

/// Why hooks cannot be installed on an application.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// A hook was registered for a resource the settings do not declare.
    #[error("hook {hook} names an unknown resource '{resource}' (not in DOMAIN)")]
    UnknownResource {
        /// Eve's name of the hook (`on_insert_peple`).
        hook: String,
        /// The resource it names.
        resource: String,
    },
}

/// What every hook gets: the resource, the request's [`Access`] and the
/// data API.
#[derive(Clone)]
pub struct HookContext {
    pub(crate) exec: Executor,
    pub(crate) resource: Option<Arc<Resource>>,
    pub(crate) method: Option<Method>,
    pub(crate) access: Access,
}

impl std::fmt::Debug for HookContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookContext")
            .field("resource", &self.resource_name())
            .field("method", &self.method)
            .field("access", &self.access)
            .finish()
    }
}

impl HookContext {
    /// The resource of the event (none for request hooks of the home
    /// endpoint).
    pub fn resource(&self) -> Option<&Resource> {
        self.resource.as_deref()
    }

    /// The resource's name.
    pub fn resource_name(&self) -> Option<&str> {
        self.resource.as_deref().map(|r| r.name.as_str())
    }

    /// The request method, for request hooks.
    pub fn method(&self) -> Option<Method> {
        self.method
    }

    /// Who is asking.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The checked settings.
    pub fn domain(&self) -> &Domain {
        self.exec.domain()
    }

    /// The data API of a resource (internal ones included), acting with
    /// this request's access; `None` for an unknown name. Writes through it
    /// run their own hooks.
    pub fn data(&self, name: &str) -> Option<ResourceData> {
        Some(self.exec.resource(name)?.with_access(self.access.clone()))
    }
}

type CtxFn = Box<dyn for<'a> Fn(&'a HookContext) -> BoxFuture<'a, ApiResult<()>> + Send + Sync>;
type StatusFn = Box<dyn for<'a> Fn(&'a HookContext, u16) -> BoxFuture<'a, ()> + Send + Sync>;
type DocsMutFn = Box<
    dyn for<'a> Fn(&'a HookContext, &'a mut [Document]) -> BoxFuture<'a, ApiResult<()>>
        + Send
        + Sync,
>;
type DocsFn = Box<
    dyn for<'a> Fn(&'a HookContext, &'a [Document]) -> BoxFuture<'a, ApiResult<()>> + Send + Sync,
>;
type EditMutFn = Box<
    dyn for<'a> Fn(&'a HookContext, &'a mut Document, &'a Document) -> BoxFuture<'a, ApiResult<()>>
        + Send
        + Sync,
>;
type EditFn = Box<
    dyn for<'a> Fn(&'a HookContext, &'a Document, &'a Document) -> BoxFuture<'a, ApiResult<()>>
        + Send
        + Sync,
>;
type DocFn = Box<
    dyn for<'a> Fn(&'a HookContext, &'a Document) -> BoxFuture<'a, ApiResult<()>> + Send + Sync,
>;
type DocMutFn = Box<
    dyn for<'a> Fn(&'a HookContext, &'a mut Document) -> BoxFuture<'a, ApiResult<()>> + Send + Sync,
>;
type PageFn = Box<
    dyn for<'a> Fn(&'a HookContext, &'a mut Vec<Document>) -> BoxFuture<'a, ApiResult<()>>
        + Send
        + Sync,
>;

/// A registered hook, by the arguments it takes.
enum HookFn {
    Ctx(CtxFn),
    Status(StatusFn),
    DocsMut(DocsMutFn),
    Docs(DocsFn),
    EditMut(EditMutFn),
    Edit(EditFn),
    Doc(DocFn),
    DocMut(DocMutFn),
    Page(PageFn),
}

/// The hooks of one event: general ones, then per resource.
#[derive(Default)]
struct Slot {
    all: Vec<HookFn>,
    by_resource: HashMap<String, Vec<HookFn>>,
}

/// The hooks of an application, keyed by (event, resource). Build it with
/// the `on_*` methods and hand it to the application builder, which
/// refuses hooks naming unknown resources.
#[derive(Default)]
pub struct Hooks {
    slots: HashMap<Event, Slot>,
    /// Eve names in registration order (for messages and `Debug`).
    names: Vec<(Event, Scope)>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.registered()).finish()
    }
}

macro_rules! register {
    ($(#[$doc:meta])* $name:ident, $event:expr, $variant:ident, ($($arg:ty),*) -> $out:ty) => {
        $(#[$doc])*
        pub fn $name<F>(self, scope: impl Into<Scope>, hook: F) -> Self
        where
            F: for<'a> Fn(&'a HookContext $(, $arg)*) -> BoxFuture<'a, $out> + Send + Sync + 'static,
        {
            self.add($event, scope.into(), HookFn::$variant(Box::new(hook)))
        }
    };
}

impl Hooks {
    /// No hooks.
    pub fn new() -> Hooks {
        Hooks::default()
    }

    fn add(mut self, event: Event, scope: Scope, hook: HookFn) -> Self {
        let slot = self.slots.entry(event).or_default();
        match &scope {
            Scope::All => slot.all.push(hook),
            Scope::Resource(r) => slot.by_resource.entry(r.clone()).or_default().push(hook),
        }
        self.names.push((event, scope));
        self
    }

    /// `on_pre_<METHOD>` (`on_pre_<METHOD>_<resource>`): before the request
    /// is processed; an error aborts it. HEAD requests fire the GET hooks.
    pub fn on_pre_request<F>(self, method: Method, scope: impl Into<Scope>, hook: F) -> Self
    where
        F: for<'a> Fn(&'a HookContext) -> BoxFuture<'a, ApiResult<()>> + Send + Sync + 'static,
    {
        self.add(
            Event::PreRequest(method),
            scope.into(),
            HookFn::Ctx(Box::new(hook)),
        )
    }

    /// `on_post_<METHOD>` (`on_post_<METHOD>_<resource>`): after the
    /// response is built, with its status (not for HEAD).
    pub fn on_post_request<F>(self, method: Method, scope: impl Into<Scope>, hook: F) -> Self
    where
        F: for<'a> Fn(&'a HookContext, u16) -> BoxFuture<'a, ()> + Send + Sync + 'static,
    {
        self.add(
            Event::PostRequest(method),
            scope.into(),
            HookFn::Status(Box::new(hook)),
        )
    }

    register!(
        /// `on_insert`: validated documents, with `_created`/`_updated`,
        /// about to be inserted (POST, PUT upsert, the data API); they may
        /// be changed, and their ETag is computed afterwards.
        on_insert, Event::Insert, DocsMut, (&'a mut [Document]) -> ApiResult<()>
    );
    register!(
        /// `on_inserted`: the documents just inserted, with their ids.
        on_inserted, Event::Inserted, Docs, (&'a [Document]) -> ApiResult<()>
    );
    register!(
        /// `on_update`: PATCH updates (mutable) about to be merged into the
        /// original (second argument) and written.
        on_update, Event::Update, EditMut, (&'a mut Document, &'a Document) -> ApiResult<()>
    );
    register!(
        /// `on_updated`: the updates written (with the new ETag) and the
        /// original.
        on_updated, Event::Updated, Edit, (&'a Document, &'a Document) -> ApiResult<()>
    );
    register!(
        /// `on_replace`: a PUT replacement (mutable) about to be stored, and
        /// the original.
        on_replace, Event::Replace, EditMut, (&'a mut Document, &'a Document) -> ApiResult<()>
    );
    register!(
        /// `on_replaced`: the replacement stored, and the original.
        on_replaced, Event::Replaced, Edit, (&'a Document, &'a Document) -> ApiResult<()>
    );
    register!(
        /// `on_delete_item`: a document about to be deleted; an error keeps
        /// it.
        on_delete_item, Event::DeleteItem, Doc, (&'a Document) -> ApiResult<()>
    );
    register!(
        /// `on_deleted_item`: a document deleted.
        on_deleted_item, Event::DeletedItem, Doc, (&'a Document) -> ApiResult<()>
    );
    register!(
        /// `on_delete_resource`: before a collection DELETE (or a data-API
        /// delete); an error keeps every document.
        on_delete_resource, Event::DeleteResource, Ctx, () -> ApiResult<()>
    );
    register!(
        /// `on_deleted_resource`: after a collection DELETE.
        on_deleted_resource, Event::DeletedResource, Ctx, () -> ApiResult<()>
    );
    register!(
        /// `on_fetched_resource`: the page of documents read for a
        /// collection GET, before rendering (mutable).
        on_fetched_resource, Event::FetchedResource, Page, (&'a mut Vec<Document>) -> ApiResult<()>
    );
    register!(
        /// `on_fetched_item`: the document read for an item GET, before
        /// rendering (mutable; its ETag and dates stay those stored).
        on_fetched_item, Event::FetchedItem, DocMut, (&'a mut Document) -> ApiResult<()>
    );
    register!(
        /// `on_fetched_diffs`: the entries of a `?version=diffs` read (the
        /// first version whole, then what changed), before rendering
        /// (mutable). `on_fetched_item` does not fire for them.
        on_fetched_diffs, Event::FetchedDiffs, Page, (&'a mut Vec<Document>) -> ApiResult<()>
    );

    register!(
        /// `on_oplog_push`: the oplog entries of a write (features.md §39),
        /// mutable, before they are written in the same batch as the
        /// change; the context's resource is the written one. Handlers may
        /// add an `extra` field to each entry.
        on_oplog_push, Event::OplogPush, DocsMut, (&'a mut [Document]) -> ApiResult<()>
    );

    register!(
        /// `before_aggregation` (features.md §41): the pipeline an
        /// aggregation endpoint runs, after the client's variables are
        /// substituted and before the paging `$facet` is appended
        /// (mutable: stages may be added, changed or removed).
        before_aggregation, Event::BeforeAggregation, Page, (&'a mut Vec<Document>) -> ApiResult<()>
    );
    register!(
        /// `after_aggregation`: the page of results of an aggregation
        /// endpoint, before rendering (mutable). `on_fetched_resource` does
        /// not fire for aggregation endpoints.
        after_aggregation, Event::AfterAggregation, Page, (&'a mut Vec<Document>) -> ApiResult<()>
    );

    /// Whether no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Eve's names of the registered hooks, in registration order
    /// (`on_insert`, `on_inserted_people`, …).
    pub fn registered(&self) -> Vec<String> {
        self.names.iter().map(|(e, s)| e.name_for(s)).collect()
    }

    /// Whether a hook for `event` would run for `resource` (general or
    /// specific).
    pub fn has(&self, event: Event, resource: Option<&str>) -> bool {
        self.slots.get(&event).is_some_and(|slot| {
            !slot.all.is_empty() || resource.is_some_and(|r| slot.by_resource.contains_key(r))
        })
    }

    /// Refuses hooks naming a resource `domain` does not declare.
    pub fn check(&self, domain: &Domain) -> Result<(), HookError> {
        for (event, scope) in &self.names {
            if let Scope::Resource(name) = scope {
                if !domain.resources.contains_key(name) {
                    return Err(HookError::UnknownResource {
                        hook: event.name_for(scope),
                        resource: name.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The hooks of `event` for `resource`: general ones first.
    fn handlers<'s>(
        &'s self,
        event: Event,
        resource: Option<&str>,
    ) -> impl Iterator<Item = &'s HookFn> + Send {
        let slot = self.slots.get(&event);
        let general = slot.map(|s| s.all.as_slice()).unwrap_or_default();
        let specific = slot
            .zip(resource)
            .and_then(|(s, r)| s.by_resource.get(r))
            .map(Vec::as_slice)
            .unwrap_or_default();
        general.iter().chain(specific)
    }

    pub(crate) async fn run_ctx(&self, event: Event, cx: &HookContext) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::Ctx(f) = h {
                f(cx).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn run_status(&self, event: Event, cx: &HookContext, status: u16) {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::Status(f) = h {
                f(cx, status).await;
            }
        }
    }

    pub(crate) async fn run_docs_mut(
        &self,
        event: Event,
        cx: &HookContext,
        docs: &mut [Document],
    ) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::DocsMut(f) = h {
                f(cx, &mut *docs).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn run_docs(
        &self,
        event: Event,
        cx: &HookContext,
        docs: &[Document],
    ) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::Docs(f) = h {
                f(cx, docs).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn run_edit_mut(
        &self,
        event: Event,
        cx: &HookContext,
        doc: &mut Document,
        original: &Document,
    ) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::EditMut(f) = h {
                f(cx, &mut *doc, original).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn run_edit(
        &self,
        event: Event,
        cx: &HookContext,
        doc: &Document,
        original: &Document,
    ) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::Edit(f) = h {
                f(cx, doc, original).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn run_doc(
        &self,
        event: Event,
        cx: &HookContext,
        doc: &Document,
    ) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::Doc(f) = h {
                f(cx, doc).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn run_doc_mut(
        &self,
        event: Event,
        cx: &HookContext,
        doc: &mut Document,
    ) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::DocMut(f) = h {
                f(cx, &mut *doc).await?;
            }
        }
        Ok(())
    }

    pub(crate) async fn run_page(
        &self,
        event: Event,
        cx: &HookContext,
        docs: &mut Vec<Document>,
    ) -> ApiResult<()> {
        for h in self.handlers(event, cx.resource_name()) {
            if let HookFn::Page(f) = h {
                f(cx, &mut *docs).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_eves() {
        assert_eq!(Event::PreRequest(Method::Get).name(), "on_pre_GET");
        assert_eq!(
            Event::PostRequest(Method::Patch).name_for(&"people".into()),
            "on_post_PATCH_people"
        );
        assert_eq!(
            Event::DeletedResource.name_for(&Scope::All),
            "on_deleted_resource"
        );
        assert_eq!(
            Event::FetchedItem.name_for(&"works".into()),
            "on_fetched_item_works"
        );
    }

    #[test]
    fn has_sees_general_and_specific_hooks_only_where_registered() {
        let hooks = Hooks::new()
            .on_inserted("people", |_, _| Box::pin(async { Ok(()) }))
            .on_delete_item(Scope::All, |_, _| Box::pin(async { Ok(()) }));
        assert!(hooks.has(Event::Inserted, Some("people")));
        assert!(!hooks.has(Event::Inserted, Some("works")));
        assert!(hooks.has(Event::DeleteItem, Some("works")));
        assert!(hooks.has(Event::DeleteItem, None));
        assert!(!hooks.has(Event::Insert, Some("people")));
    }
}
