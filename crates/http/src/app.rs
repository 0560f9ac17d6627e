//! The application: a checked [`Domain`], a data layer and hooks, served
//! as an axum [`Router`]. A routing layer runs first (method override →
//! routing, stored in the request's extensions); then one handler runs the
//! rest of the pipeline: OPTIONS → method check → body → identify →
//! (rate limits) → decide (401/403) → dispatch (parse into an `ApiRequest`, `plan`, execute) → render →
//! headers.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use eve_core::access::Via;
use eve_core::plan::{EditKind, Plan};
use eve_core::request::{ApiRequest, Conditions, HttpMethod};
use eve_core::{Access, ApiError, Domain, EndpointKind, Method, Resource};
use eve_exec::{Executor, HookError, Hooks};
use eve_store::DataLayer;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::context::{AppState, Ctx, Limits, Reply};
use crate::negotiate::{self, Format};
use crate::routing::{Route, RouteTable, Routed};
use crate::{read, versions, write};

/// Why an [`App`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The settings file is invalid.
    #[error("{0}")]
    Settings(#[from] eve_core::settings::SettingsError),
    /// The data layer failed to open or prepare collections (shown as the
    /// store's own message, once, also in an error chain).
    #[error(transparent)]
    Store(#[from] eve_store::StoreError),
    /// A URL rule could not be compiled.
    #[error("invalid URL rule: {0}")]
    Route(#[from] regex::Error),
    /// A hook names a resource the settings do not declare.
    #[error(transparent)]
    Hooks(#[from] HookError),
    /// An authentication provider the settings name is neither built in
    /// nor registered, or cannot be set up.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Auth(Vec<eve_auth::ProviderError>),
    /// `RATE_LIMIT_STORE` names a Redis URL the client refuses.
    #[error("{0}")]
    RateLimitStore(String),
    /// The builder was given no data layer ([`AppBuilder::store`]; the
    /// `eve-backends` crate opens the one the settings name).
    #[error(
        "no data layer given: open one with eve-backends (the embedded store, or the \
         layer DATA_LAYER names) and pass it to AppBuilder::store"
    )]
    NoDataLayer,
    /// A resource has `media` fields but no media storage was given
    /// ([`AppBuilder::media`]; `eve-backends` opens the one beside the data
    /// layer).
    #[error("{0}: media fields need a media storage (AppBuilder::media; eve-backends opens the one beside the data layer)")]
    NoMediaStorage(String),
}

/// An Eve-compatible API: settings, data layer and hooks, ready to serve
/// over a socket ([`App::serve`]) or in-process ([`App::router`]).
#[derive(Clone)]
pub struct App {
    state: Arc<AppState>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.state.exec.store().name())
            .field("routes", &self.state.routes)
            .finish()
    }
}

/// Builds an [`App`]: settings (from a file, a string or a checked
/// [`Domain`]), validator extensions, hooks, limits and the data layer.
/// The data layer is required: this crate never opens a store itself
/// (`eve-backends` opens the one the settings name).
///
/// ```no_run
/// # async fn demo(store: std::sync::Arc<dyn eve_store::DataLayer>) -> Result<(), eve_http::AppError> {
/// let registry = eve_http::Registry::new();
/// let app = eve_http::App::builder()
///     .registry(registry)
///     .store(store)
///     .settings_file("settings.yaml")
///     .await?;
/// # Ok(()) }
/// ```
pub struct AppBuilder {
    registry: eve_schema::Registry,
    hooks: Hooks,
    limits: Option<Limits>,
    store: Option<Arc<dyn DataLayer>>,
    media: Option<Arc<dyn eve_media::MediaStorage>>,
    providers: eve_auth::Providers,
}

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("hooks", &self.hooks)
            .field("limits", &self.limits)
            .field("store", &self.store.as_ref().map(|s| s.name()))
            .field("providers", &self.providers)
            .finish()
    }
}

impl Default for AppBuilder {
    fn default() -> Self {
        AppBuilder {
            registry: eve_schema::Registry::default(),
            hooks: Hooks::new(),
            limits: None,
            store: None,
            media: None,
            providers: eve_auth::Providers::new(),
        }
    }
}

impl AppBuilder {
    /// Custom validation rules, types, coercers, default setters and
    /// `check_with` functions, usable by name in schemas.
    pub fn registry(mut self, registry: eve_schema::Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Event hooks ([`Hooks`]); building fails when one names a resource
    /// the settings do not declare.
    pub fn hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Registers an authentication provider under `name`, for the
    /// settings to name (`AUTH: {type: name}` or a resource's
    /// `authentication: name`); it overrides a built-in of that name.
    pub fn auth_provider(
        mut self,
        name: impl Into<String>,
        provider: impl eve_auth::AuthProvider,
    ) -> Self {
        self.providers = self.providers.register(name, provider);
        self
    }

    /// Request limits (instead of those the settings give).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The data layer serving the API (required).
    pub fn store(mut self, store: Arc<dyn DataLayer>) -> Self {
        self.store = Some(store);
        self
    }

    /// The storage of `media` fields (required when a resource has one;
    /// docs/media.md).
    pub fn media(mut self, media: Arc<dyn eve_media::MediaStorage>) -> Self {
        self.media = Some(media);
        self
    }

    /// Loads and checks a settings file (YAML or JSON), then builds.
    pub async fn settings_file(self, path: impl AsRef<Path>) -> Result<App, AppError> {
        let domain = eve_core::settings::load(path.as_ref(), &self.registry)?;
        self.domain(domain).await
    }

    /// Checks settings given as text, then builds.
    pub async fn settings_str(
        self,
        text: &str,
        format: eve_core::settings::Format,
    ) -> Result<App, AppError> {
        let raw = eve_core::settings::parse_str(text, format)?;
        let domain = eve_core::settings::check(raw, &self.registry)?;
        self.domain(domain).await
    }

    /// Builds from checked settings over the given data layer, creating
    /// collections and indexes.
    pub async fn domain(self, domain: Domain) -> Result<App, AppError> {
        let store = self.store.ok_or(AppError::NoDataLayer)?;
        // Unknown provider names and hooks are refused before anything is
        // created in the store.
        let providers = self.providers.resolve(&domain).map_err(AppError::Auth)?;
        if self.media.is_none() {
            if let Some(res) = domain
                .resources
                .values()
                .find(|r| !r.media_fields().is_empty())
            {
                return Err(AppError::NoMediaStorage(format!("DOMAIN.{}", res.name)));
            }
        }
        self.hooks.check(&domain)?;
        // The accounts' passwords and tokens are hashed on every write.
        let hooks = eve_auth::account_hooks(self.hooks, &domain);
        // One call per collection with the union of the indexes of every
        // resource stored in it: preparing per resource would drop the
        // indexes of the others sharing the collection.
        for (collection, indexes) in &domain.collections {
            store.prepare_collection(collection, indexes).await?;
        }
        let routes = RouteTable::new(&domain)?;
        let limits = self
            .limits
            .unwrap_or_else(|| Limits::from_settings(&domain.settings.limits));
        let limiter = crate::rate_limit::Limiter::from_settings(&domain.settings.rate_limit)
            .map_err(AppError::RateLimitStore)?;
        let domain = Arc::new(domain);
        let exec = Executor::new(domain.clone(), store, hooks)?;
        if let Some(media) = self.media {
            let _ = exec.set_media(media);
        }
        Ok(App {
            state: Arc::new(AppState {
                domain,
                exec,
                routes,
                limits,
                providers,
                limiter,
                in_flight: Default::default(),
            }),
        })
    }
}

impl App {
    /// A builder, for registries, hooks, limits or a custom data layer.
    pub fn builder() -> AppBuilder {
        AppBuilder::default()
    }

    /// Builds an app over `store`, creating collections and indexes.
    pub async fn new(domain: Domain, store: Arc<dyn DataLayer>) -> Result<App, AppError> {
        App::builder().store(store).domain(domain).await
    }

    /// Data access to a resource (internal resources included) for hooks,
    /// custom routes and embedding code; `None` for an unknown name.
    pub fn resource(&self, name: &str) -> Option<eve_exec::ResourceData> {
        self.state.exec.resource(name)
    }

    /// The executor every request and the data API go through.
    pub fn executor(&self) -> &Executor {
        &self.state.exec
    }

    /// The checked settings.
    pub fn domain(&self) -> &Domain {
        &self.state.domain
    }

    /// The data layer.
    pub fn store(&self) -> &Arc<dyn DataLayer> {
        self.state.exec.store()
    }

    /// The axum router serving the whole API (use `oneshot` in tests).
    pub fn router(&self) -> Router {
        let domain = self.state.domain.clone();
        // Routing runs first, as a layer, so that layers added between it
        // and the handler (rate limits, authentication) see the route.
        Router::new()
            .fallback(handle)
            .with_state(self.state.clone())
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                route_request,
            ))
            // Outside routing: a client at its cap is refused first.
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                crate::in_flight::cap,
            ))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(
                move |_panic: Box<dyn std::any::Any + Send>| {
                    tracing::error!("panic while handling a request");
                    let reply = error_reply(&domain, &ApiError::Internal("panic".into()));
                    let body = crate::render::write_json(
                        reply.body.as_ref().unwrap_or(&Value::Null),
                        false,
                    );
                    let mut resp = Response::new(Body::from(body));
                    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    resp.headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/json"));
                    resp
                },
            ))
    }

    /// Serves on `listener` until `shutdown` resolves, then stops
    /// accepting, finishes in-flight requests (for at most
    /// `Limits::shutdown_timeout`, then drops the connections still busy)
    /// and returns. HTTP/1.1 and HTTP/2 (h2c). Request heads larger than
    /// `Limits::max_header_bytes` get `431`; a connection with no request in
    /// progress for `Limits::client_timeout` (counted from the accept) is
    /// closed, and so is one whose writes make no progress (or whose HTTP/2
    /// pings go unanswered) for `Limits::write_timeout`.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = self.state.limits.clone();
        crate::transport::serve(self.router(), limits, listener, shutdown).await
    }
}

async fn handle(State(state): State<Arc<AppState>>, req: Request<Body>) -> Response {
    let started = Instant::now();
    // The client (behind a trusted proxy, the X-Forwarded-For one).
    let client_ip = crate::in_flight::client_ip(&state, req.headers(), req.extensions())
        .map_or_else(|| "-".into(), |ip| ip.to_string());
    let url = req.uri().to_string();
    let original_method = req.method().as_str().to_string();
    let response = run(state, req).await;
    tracing::info!(
        method = %original_method,
        url = %url,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        client_ip = %client_ip,
        "request"
    );
    response
}

/// The routing stage: the method after `X-HTTP-Method-Override` and the
/// matched route, stored in the request's extensions ([`Routed`]).
async fn route_request(
    State(state): State<Arc<AppState>>,
    mut req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let routed = route_of(&state, &req);
    req.extensions_mut().insert(routed);
    next.run(req).await
}

/// Routes a request (see [`route_request`]).
fn route_of(state: &AppState, req: &Request<Body>) -> Routed {
    let mut method = HttpMethod::parse(req.method().as_str());
    // As Eve: the override replaces the method of any request (a GET
    // carrying `X-HTTP-Method-Override: POST` creates), before routing and
    // the method check, so a method that is not enabled is still 405.
    if state.domain.settings.allow_override_http_method {
        if let Some(o) = req
            .headers()
            .get("x-http-method-override")
            .and_then(|v| v.to_str().ok())
        {
            // An empty override is an empty method (405), as in Eve.
            method = HttpMethod::parse(o);
        }
    }
    let path = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy();
    Routed {
        method,
        route: state.routes.route(&path),
    }
}

async fn run(state: Arc<AppState>, mut req: Request<Body>) -> Response {
    let Routed { method, route } = match req.extensions_mut().remove::<Routed>() {
        Some(routed) => routed,
        None => route_of(&state, &req),
    };
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let args: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let client_ip = crate::in_flight::client_ip(&state, &parts.headers, &parts.extensions);
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    // Scheme and host of absolute URLs: X-Forwarded-Proto/-Host only from
    // a trusted proxy.
    let origin = eve_core::proxy::origin(
        crate::in_flight::peer(&parts.extensions),
        header("host"),
        header("x-forwarded-proto"),
        header("x-forwarded-host"),
        &state.domain.settings.trusted_proxies,
    );
    let mut ctx = Ctx {
        state: state.clone(),
        method: method.clone(),
        args,
        headers: parts.headers,
        body: Bytes::new(),
        upload: std::sync::Mutex::new(None),
        origin,
        // Anonymous until `auth::identify` verifies credentials.
        access: Access {
            client_ip: client_ip.map(|ip| ip.to_string()),
            ..Access::anonymous()
        },
        rate: None,
    };

    let format = negotiate::choose_format(&state.domain, ctx.header("accept"));
    if let Err(e) = crate::limits::check_transfer_coding(&ctx.headers) {
        return finish(&ctx, route.as_ref(), Err(e), format);
    }
    let Some(route) = route else {
        return finish(&ctx, None, Err(ApiError::UrlNotFound), format);
    };
    if method == HttpMethod::Options {
        let mut resp = Response::new(Body::empty());
        let h = resp.headers_mut();
        h.insert(
            "content-type",
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Ok(v) = HeaderValue::from_str(&route.allowed_methods().join(", ")) {
            h.insert("allow", v);
        }
        negotiate::add_cors(&ctx, Some(&route), resp.headers_mut());
        return resp;
    }
    if !route.allows(method.as_str()) {
        return finish(&ctx, Some(&route), Err(ApiError::MethodNotAllowed), format);
    }
    if let Err(e) = crate::multipart::accept_body(&mut ctx, &method, body, &state.limits).await {
        return finish(&ctx, Some(&route), Err(e), format);
    }
    // IDENTIFY, then (rate limits, keyed on `ctx.access.user`, else the
    // client IP), then DECIDE: 401/403 before any hook runs.
    let requirement = eve_core::auth::requirement(&state.domain, &route, &method);
    let resource_name = route.resource.as_ref().map(|r| r.name.clone());
    let identified =
        crate::auth::identify(&mut ctx, requirement, resource_name.as_deref(), &path).await;
    // Rate limiting (§33): after the identity is known, before the
    // authorization decision; its headers go on every answer from here on.
    match crate::rate_limit::check(&state, &ctx.access, &method, Some(&route)).await {
        Ok(rate) => ctx.rate = rate,
        Err(e) => return finish(&ctx, Some(&route), Err(e), format),
    }
    if let Err(crate::auth::Denied { error, challenge }) = crate::auth::decide(&identified) {
        let mut resp = finish(&ctx, Some(&route), Err(error), format);
        crate::auth::add_challenge(&mut resp, challenge.as_deref());
        return resp;
    }
    // User-restricted access (features.md §23.6): the owner field of the
    // resource the request names, decided once the auth value is known.
    if let Some(res) = &route.resource {
        let via = Via {
            method: method.as_str().to_string(),
            item: matches!(
                route.kind,
                EndpointKind::Item | EndpointKind::AdditionalItem
            ),
        };
        ctx.access = std::mem::take(&mut ctx.access).restricted_to(res, via);
    }
    // HEAD fires the GET request hooks (and no post hooks), as in Eve.
    let hook_method = hook_method(&method);
    let pre = match hook_method {
        Some(m) => {
            state
                .exec
                .pre_request(&ctx.access, m, route.resource.as_ref())
                .await
        }
        None => Ok(()),
    };
    let result = match pre {
        Ok(()) => dispatch(&ctx, &route).await,
        Err(e) => Err(e),
    };
    // An error answer (an abort, a missing document, a failed condition)
    // fires only the general post hooks, with no resource, as Eve's error
    // handler does (features.md §32.1); a 422 is an ordinary answer.
    let hook_resource = if result.is_ok() {
        route.resource.as_ref()
    } else {
        None
    };
    let response = finish(&ctx, Some(&route), result, format);
    if let (Some(m), false) = (hook_method, method == HttpMethod::Head) {
        let status = response.status().as_u16();
        state
            .exec
            .post_request(&ctx.access, m, hook_resource, status)
            .await;
    }
    response
}

/// The method of the request hooks (`on_pre_<METHOD>`): those settings
/// can enable. HEAD fires the GET hooks.
fn hook_method(method: &HttpMethod) -> Option<Method> {
    Some(match method {
        HttpMethod::Get | HttpMethod::Head => Method::Get,
        HttpMethod::Post => Method::Post,
        HttpMethod::Patch => Method::Patch,
        HttpMethod::Put => Method::Put,
        HttpMethod::Delete => Method::Delete,
        _ => return None,
    })
}

/// Parse → plan → execute: the typed request is built here, once, from the
/// routed request; [`eve_core::plan`] decides what runs for every endpoint
/// kind.
async fn dispatch(ctx: &Ctx, route: &Route) -> Result<Reply, ApiError> {
    if route.kind == EndpointKind::Media {
        return crate::media::get_media(ctx, route).await;
    }
    let domain = ctx.domain();
    let conditions = Conditions::from_headers(
        ctx.headers.get("if-match").map(|v| v.as_bytes()),
        ctx.header("if-none-match"),
        ctx.header("if-modified-since"),
    );
    let req = ApiRequest::parse(
        domain,
        ctx.method.clone(),
        route.clone(),
        ctx.args.clone(),
        conditions,
    )?;
    let plan = eve_core::plan(&req, &ctx.access, domain)?;
    let resource = || route.resource.as_ref().ok_or(ApiError::MethodNotAllowed);
    match plan {
        Plan::Home => Ok(read::get_home(ctx)),
        Plan::Schema(name) => read::get_schema(ctx, name.as_deref()),
        Plan::Page(plan) => read::get_collection(ctx, &req, resource()?, plan).await,
        Plan::Item(plan) => read::get_item(ctx, &req, resource()?, plan).await,
        Plan::Version(plan) => versions::get_version(ctx, &req, resource()?, plan).await,
        Plan::Aggregate(plan) => {
            crate::aggregate::get_aggregate(ctx, &req, resource()?, plan).await
        }
        Plan::Insert(plan) => write::post(ctx, route, resource()?, &plan, &req.query.embed).await,
        Plan::Edit(plan) => match plan.kind {
            EditKind::Update => {
                write::patch(ctx, route, resource()?, &plan, &req.query.embed).await
            }
            EditKind::Replace => write::put(ctx, route, resource()?, &plan, &req.query.embed).await,
        },
        Plan::DeleteItem(plan) => write::delete_item(ctx, resource()?, &plan).await,
        Plan::DeleteCollection(plan) => write::delete_collection(ctx, resource()?, &plan).await,
    }
}

/// Renders a reply or an error, then adds cache, CORS and length headers.
fn finish(
    ctx: &Ctx,
    route: Option<&Route>,
    result: Result<Reply, ApiError>,
    format: Format,
) -> Response {
    let domain = ctx.domain();
    let resource: Option<&Resource> = route.and_then(|r| r.resource.as_deref());
    // The limits are eve-rs's own: their errors always use Eve's JSON shape.
    let limit_error = matches!(
        result,
        Err(ApiError::BodyTooLarge
            | ApiError::FileTooLarge { .. }
            | ApiError::TooManyFiles { .. }
            | ApiError::RangeNotSatisfiable
            | ApiError::RequestTimeout
            | ApiError::TransferCodingNotSupported(_))
    );
    let mut reply = match result {
        Ok(reply) => reply,
        Err(err) => error_reply(domain, &err),
    };
    let mut format = format;
    let jsonp = match (&domain.settings.jsonp_argument, format) {
        (Some(arg), Format::Json) => match ctx.arg(arg) {
            Some(cb) if negotiate::valid_callback(cb) => Some(cb.to_string()),
            Some(_) => {
                reply = error_reply(domain, &ApiError::InvalidCallback);
                None
            }
            None => None,
        },
        _ => None,
    };
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let standard = domain.settings.standard_errors.contains(&reply.status)
        || reply.status >= 500
        || limit_error;
    let raw = reply.raw.take();
    let (content_type, bytes): (String, Bytes) = match &reply.body {
        Some(_) if reply.status >= 400 && !standard && !reply.document => {
            format = Format::Html;
            (
                "text/html; charset=utf-8".into(),
                Bytes::from(html_error(reply.status)),
            )
        }
        Some(body) => negotiate::render_body(ctx, body, format, jsonp.as_deref()),
        None => (String::new(), Bytes::new()),
    };
    let _ = format;
    let is_head = ctx.method == HttpMethod::Head;
    let mut len = bytes.len() as u64;
    let mut content_type = content_type;
    let mut resp = Response::new(match raw {
        Some((raw_type, raw_len, body)) => {
            content_type = raw_type;
            len = raw_len;
            if is_head {
                Body::empty()
            } else {
                body
            }
        }
        None if is_head => Body::empty(),
        None => Body::from(bytes),
    });
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    if !content_type.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            headers.insert("content-type", v);
        }
    }
    if (reply.body.is_some() || !content_type.is_empty()) && status != StatusCode::NOT_MODIFIED {
        headers.insert("content-length", HeaderValue::from(len));
    }
    for (name, value) in &reply.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.append(name.clone(), v);
        }
    }
    if ctx.method.is_read() {
        // Errors carry the global cache settings, as in Eve (§1.3).
        let cache_from = if reply.status >= 400 && !reply.document {
            None
        } else {
            resource
        };
        negotiate::add_cache_headers(domain, cache_from, headers);
    }
    if reply.status == 204 {
        headers.insert("content-type", HeaderValue::from_static("application/json"));
    }
    negotiate::add_cors(ctx, route, headers);
    if let Some(rate) = &ctx.rate {
        rate.add_headers(headers);
    }
    resp
}

pub(crate) fn error_reply(domain: &Domain, err: &ApiError) -> Reply {
    let (status, body) = crate::error::error_body(domain, err);
    Reply::new(status, body)
}

fn html_error(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!(
        "<!doctype html>\n<html lang=en>\n<title>{status} {reason}</title>\n<h1>{reason}</h1>\n<p>{}</p>\n",
        crate::error::generic_message(status)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    /// A data layer with no documents: routing never reaches it, and this
    /// crate's tests must not depend on a real backend (the integration
    /// suite, `eve-http-tests`, runs on one).
    struct Empty;

    #[async_trait::async_trait]
    impl eve_store::DataLayer for Empty {
        fn name(&self) -> &'static str {
            "empty"
        }
        async fn prepare_collection(
            &self,
            _: &str,
            _: &[eve_store::IndexSpec],
        ) -> eve_store::StoreResult<()> {
            Ok(())
        }
        async fn find(
            &self,
            _: &str,
            _: &eve_store::FindQuery,
        ) -> eve_store::StoreResult<Vec<bson::Document>> {
            Ok(Vec::new())
        }
        async fn count(&self, _: &str, _: &eve_query::Filter) -> eve_store::StoreResult<u64> {
            Ok(0)
        }
        async fn apply(
            &self,
            _: eve_store::WriteBatch,
        ) -> eve_store::StoreResult<eve_store::BatchResult> {
            Err(eve_store::StoreError::Unsupported("writes".into()))
        }
    }

    /// A handler standing where rate-limit and auth layers will: it answers
    /// with what the routing layer stored in the request's extensions.
    async fn probe(req: Request<Body>) -> String {
        match req.extensions().get::<Routed>() {
            Some(Routed {
                method,
                route: Some(route),
            }) => format!(
                "{} {:?} {}",
                method.as_str(),
                route.kind,
                route.resource.as_ref().map_or("-", |r| r.name.as_str())
            ),
            Some(Routed {
                method,
                route: None,
            }) => format!("{} unrouted", method.as_str()),
            None => "no route in the extensions".into(),
        }
    }

    async fn probe_answer(app: &App, method: &str, uri: &str, header: Option<&str>) -> String {
        let router = Router::new()
            .fallback(probe)
            .layer(axum::middleware::from_fn_with_state(
                app.state.clone(),
                route_request,
            ));
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(o) = header {
            req = req.header("x-http-method-override", o);
        }
        let resp = router
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn routing_runs_first_and_leaves_the_route_for_later_layers() {
        let yaml = "RESOURCE_METHODS: [GET, POST]\nITEM_METHODS: [GET, PATCH]\nDOMAIN: {people: {schema: {name: {type: string}}}}";
        let raw = eve_core::settings::parse_str(yaml, eve_core::settings::Format::Yaml).unwrap();
        let domain = eve_core::settings::check(raw, &eve_schema::Registry::default()).unwrap();
        let app = App::new(domain, Arc::new(Empty)).await.unwrap();
        assert_eq!(
            probe_answer(&app, "GET", "/people", None).await,
            "GET Collection people"
        );
        assert_eq!(
            probe_answer(
                &app,
                "GET",
                "/people/5f0000000000000000000001",
                Some("patch")
            )
            .await,
            "PATCH Item people"
        );
        assert_eq!(probe_answer(&app, "GET", "/", None).await, "GET Home -");
        assert_eq!(
            probe_answer(&app, "DELETE", "/nowhere", None).await,
            "DELETE unrouted"
        );
    }
}
