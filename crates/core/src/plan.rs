//! Planning: one pure function, [`plan`], turns a typed request, the
//! requester's access and the checked settings into what the data layer
//! and the executor run, for every endpoint kind. Nothing here does I/O,
//! so every rule (filter merging, paging clamps, projections, default sort)
//! is tested without a server (`crates/core/tests/plan.rs`).
//!
//! Every filter a request carries is merged at one point,
//! [`scope_filter_with`]: sub-resource URL variables, the datasource filter
//! (compiled at start-up), the owner filter of the [`Access`] and the
//! soft-delete filter ([`crate::soft_delete`]): collection reads hide
//! soft-deleted documents unless `?show_deleted` or a `where` naming the
//! `DELETED` field asks for them; item reads, edits and item deletes find
//! them (the handlers answer `404` with the document, restore, or do
//! nothing); everything else ([`scope_filter`]) hides them.

use bson::{Bson, Document};
use eve_query::{DateFormat, Filter, QueryError, SortSpec};
use eve_store::FindQuery;

use crate::access::Access;
use crate::convert::convert_query_with;
pub use crate::convert::{convert_query, convert_value, is_object_id, lookup_value};
use crate::domain::{Domain, Resource};
use crate::error::{ApiError, ApiResult};
pub use crate::request::parse_client_projection;
use crate::request::{split_projection, ApiRequest, EndpointKind, IfMatch, QueryArgs};
use crate::soft_delete::{not_deleted, query_mentions, Deleted};

/// What a request will do, by endpoint kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// `GET /`: the home links.
    Home,
    /// `GET /<SCHEMA_ENDPOINT>[/<resource>]`: `Some(name)` for one schema.
    Schema(Option<String>),
    /// A collection read (a page of documents).
    Page(ReadPlan),
    /// An item read.
    Item(ItemPlan),
    /// A version query on an item of a versioned resource (`?version=`,
    /// `?as_of=`, features.md §22.3).
    Version(VersionPlan),
    /// A read of an aggregation endpoint (features.md §41).
    Aggregate(AggregatePlan),
    /// `POST` to a collection.
    Insert(InsertPlan),
    /// `PUT` (replace) or `PATCH` (update) of an item.
    Edit(EditPlan),
    /// `DELETE` of an item.
    DeleteItem(DeleteItemPlan),
    /// `DELETE` of a collection (every document of the endpoint).
    DeleteCollection(DeleteCollectionPlan),
}

/// A planned collection read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    /// The collection read.
    pub collection: String,
    /// What the data layer runs, projection included.
    pub query: FindQuery,
    /// Page number served (1 when pagination is off).
    pub page: u64,
    /// Page size served (`None` with pagination off and no explicit limit).
    pub max_results: Option<u64>,
    /// Whether pagination applies (`_meta`, links).
    pub paginate: bool,
    /// Whether the total is counted: always, unless
    /// `OPTIMIZE_PAGINATION_FOR_SPEED` (Eve counts with pagination off too).
    pub count: bool,
}

/// A planned item read.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPlan {
    /// The collection read.
    pub collection: String,
    /// At most one document: the item filter and the projection.
    pub query: FindQuery,
    /// The page the item's links carry (Eve builds an item's collection
    /// links with the collection's paging rules).
    pub page: u64,
    /// The page size the item's links carry.
    pub max_results: Option<u64>,
}

/// The query argument of the product addition that reads an item as it
/// was at an instant (`?as_of=<RFC 1123 date>`, docs/versioning.md).
pub const AS_OF_PARAM: &str = "as_of";

/// A planned version query on an item of a versioned resource. The
/// arguments stay raw: as in Eve, the latest document is looked up first
/// (`404` when missing) and only then is the version argument checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionPlan {
    /// The read of the latest document (its filter, projection, paging).
    pub item: ItemPlan,
    /// The `VERSION_PARAM` argument as sent (`N`, `all`, `diffs`).
    pub version: Option<String>,
    /// The [`AS_OF_PARAM`] argument as sent.
    pub as_of: Option<String>,
    /// The client sort for `?version=all` (`None`: by version number);
    /// `?version=diffs` ignores it, as do resources with sorting off.
    pub sort: Option<SortSpec>,
}

/// A planned aggregation endpoint read (features.md §41).
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatePlan {
    /// The collection aggregated (the datasource `source`).
    pub collection: String,
    /// The pipeline with the client's `aggregate` variables substituted
    /// and the limits checked ([`crate::aggregation::request_pipeline`]),
    /// before `before_aggregation` and paging.
    pub pipeline: Vec<bson::Document>,
    /// MongoDB's aggregate options (`datasource.aggregation.options`).
    pub options: bson::Document,
    /// Page number served (1 when pagination is off).
    pub page: u64,
    /// Page size (`None` with pagination off and no `max_results`).
    pub max_results: Option<u64>,
    /// Whether pagination applies (`_meta`, paging links).
    pub paginate: bool,
}

/// A planned insert.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertPlan {
    /// The collection written.
    pub collection: String,
    /// Sub-resource variables written into each document (schema fields
    /// other than the id field), raw: the schema's serializers convert them
    /// with the payload.
    pub url_fields: Vec<(String, String)>,
}

/// Whether an edit replaces the document or updates some fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKind {
    /// `PUT`.
    Replace,
    /// `PATCH`.
    Update,
}

/// A planned edit of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct EditPlan {
    /// `PUT` or `PATCH`.
    pub kind: EditKind,
    /// The collection written.
    pub collection: String,
    /// The filter naming the item, scoped like a read of it.
    pub filter: Filter,
    /// The client's `If-Match`.
    pub if_match: IfMatch,
    /// Whether a missing item is created (`PUT` with `UPSERT_ON_PUT`).
    pub upsert: bool,
    /// Sub-resource variables written into an upserted document.
    pub url_fields: Vec<(String, String)>,
    /// For a `PUT` restricted to the user's documents: the filter naming
    /// the item whoever owns it. When `filter` finds nothing and this
    /// finds a document, it is another user's: `403`, never an upsert
    /// (features.md §23.6).
    pub any_owner: Option<Filter>,
}

/// A planned delete of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteItemPlan {
    /// The collection written.
    pub collection: String,
    /// The filter naming the item, scoped like a read of it.
    pub filter: Filter,
    /// The client's `If-Match`.
    pub if_match: IfMatch,
}

/// A planned delete of a whole endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteCollectionPlan {
    /// The collection written.
    pub collection: String,
    /// The documents deleted: the endpoint's scope (the client `where`
    /// does not apply, as in Eve).
    pub filter: Filter,
}

/// Plans a parsed request for `access`. The method was checked against the
/// route before; a method no endpoint kind serves is
/// [`ApiError::MethodNotAllowed`].
pub fn plan(req: &ApiRequest, access: &Access, domain: &Domain) -> ApiResult<Plan> {
    // Field-level read roles (features.md §23.7): no client argument may
    // name a hidden field, no read's projection shows one.
    let res = req.route.resource.as_deref();
    if let (Some(res), true) = (res, req.method.is_read()) {
        crate::field_roles::check_query(access, res, &req.query)?;
    }
    let mut planned = plan_unguarded(req, access, domain)?;
    if let Some(res) = res {
        crate::field_roles::hide_in_plan(&mut planned, access, res);
    }
    Ok(planned)
}

/// [`plan`] before field-level read roles apply.
fn plan_unguarded(req: &ApiRequest, access: &Access, domain: &Domain) -> ApiResult<Plan> {
    let route = &req.route;
    let read = req.method.is_read();
    match route.kind {
        EndpointKind::Home if read => return Ok(Plan::Home),
        EndpointKind::Schema if read => {
            return Ok(Plan::Schema(route.lookup.as_ref().map(|(_, n)| n.clone())))
        }
        _ => {}
    }
    let Some(res) = route.resource.as_deref() else {
        return Err(ApiError::MethodNotAllowed);
    };
    let collection = res.datasource.source.clone();
    let scope = |deleted| scope_filter_with(domain, res, &route.url_vars, access, deleted);
    // Item reads, edits and item deletes find soft-deleted documents: a
    // read answers 404 with the document, PUT and PATCH restore it, and
    // DELETE leaves it as it is (features.md §31).
    let item = || -> ApiResult<Filter> {
        let (field, raw) = route.lookup.as_ref().ok_or(ApiError::UrlNotFound)?;
        Ok(item_scope_filter_with(
            domain,
            res,
            (field, raw),
            &route.url_vars,
            access,
            Deleted::Show,
        ))
    };
    use crate::request::HttpMethod as M;
    use EndpointKind as K;
    Ok(match (route.kind, &req.method) {
        (K::Collection, _) if read && res.datasource.aggregation.is_some() => {
            let agg = res.datasource.aggregation.as_ref();
            let stages = agg.map(|a| a.pipeline.as_slice()).unwrap_or_default();
            let pipeline = crate::aggregation::request_pipeline(
                domain,
                res,
                stages,
                req.query.aggregate.as_deref(),
            )?;
            let (page, max_results) = page_window(domain, res, &req.query);
            Plan::Aggregate(AggregatePlan {
                collection,
                pipeline,
                options: agg.and_then(|a| a.options.clone()).unwrap_or_default(),
                page,
                max_results,
                paginate: res.pagination,
            })
        }
        (K::Collection, _) if read => {
            check_owner_query(domain, res, &req.query, access)?;
            let deleted = page_deleted(domain, &req.query);
            Plan::Page(plan_page(domain, res, &req.query, scope(deleted)))
        }
        (K::Item | K::AdditionalItem, _) if read => {
            let (page, max_results) = page_window(domain, res, &req.query);
            let mut query = FindQuery::new(item()?);
            query.limit = Some(1);
            query.projection = projection_for(domain, res, req.query.projection.as_ref());
            let item = ItemPlan {
                collection,
                query,
                page,
                max_results,
            };
            let as_of = req.arg(AS_OF_PARAM);
            if res.versioning && (req.query.version.is_some() || as_of.is_some()) {
                Plan::Version(VersionPlan {
                    item,
                    version: req.query.version.clone(),
                    as_of: as_of.map(str::to_string),
                    sort: version_sort(domain, res, req)?,
                })
            } else {
                Plan::Item(item)
            }
        }
        (K::Collection, M::Post) => Plan::Insert(InsertPlan {
            collection,
            url_fields: url_fields(res, &route.url_vars),
        }),
        // A collection DELETE marks the live documents of a soft-delete
        // resource (features.md §19.2); the client `where` does not apply.
        (K::Collection, M::Delete) => Plan::DeleteCollection(DeleteCollectionPlan {
            collection,
            filter: scope(Deleted::Hide),
        }),
        (K::Item, M::Patch | M::Put) => {
            let kind = if req.method == M::Put {
                EditKind::Replace
            } else {
                EditKind::Update
            };
            let any_owner = match access.owner_field_for(res) {
                Some(_) if kind == EditKind::Replace => {
                    let (field, raw) = route.lookup.as_ref().ok_or(ApiError::UrlNotFound)?;
                    let anyone = Access {
                        owner_value: None,
                        ..access.clone()
                    };
                    Some(item_scope_filter_with(
                        domain,
                        res,
                        (field, raw),
                        &route.url_vars,
                        &anyone,
                        Deleted::Show,
                    ))
                }
                _ => None,
            };
            Plan::Edit(EditPlan {
                kind,
                collection,
                filter: item()?,
                if_match: req.conditions.if_match.clone(),
                upsert: kind == EditKind::Replace && domain.settings.upsert_on_put,
                url_fields: url_fields(res, &route.url_vars),
                any_owner,
            })
        }
        (K::Item, M::Delete) => Plan::DeleteItem(DeleteItemPlan {
            collection,
            filter: item()?,
            if_match: req.conditions.if_match.clone(),
        }),
        _ => return Err(ApiError::MethodNotAllowed),
    })
}

/// Whether a collection read shows soft-deleted documents (Eve's
/// `show_deleted`): `SHOW_DELETED_PARAM` in the query string, or a client
/// `where` that names the `DELETED` field (features.md §6.7 and §31.1).
fn page_deleted(domain: &Domain, args: &QueryArgs) -> Deleted {
    let deleted_field = &domain.settings.meta.deleted;
    let named = args
        .where_
        .as_ref()
        .is_some_and(|w| query_mentions(&w.document, deleted_field));
    if args.show_deleted || named {
        Deleted::Show
    } else {
        Deleted::Hide
    }
}

/// Refuses a client `where` that filters the resource's `auth_field` (at
/// the top or in the top-level `$and`, where Eve looks) on another value
/// than the request's auth value: `401` (features.md §23.6). Any other
/// `where` is ANDed with the owner filter, so it can only narrow.
fn check_owner_query(
    domain: &Domain,
    res: &Resource,
    args: &QueryArgs,
    access: &Access,
) -> ApiResult<()> {
    let (Some(field), Some(owner), Some(w)) = (
        access.owner_field_for(res),
        access.owner_value.as_ref(),
        args.where_.as_ref(),
    ) else {
        return Ok(());
    };
    let named = w
        .document
        .get(field)
        .or_else(|| match w.document.get("$and") {
            Some(bson::Bson::Array(conditions)) => conditions.iter().find_map(|c| match c {
                bson::Bson::Document(d) => d.get(field),
                _ => None,
            }),
            _ => None,
        });
    match named {
        Some(value) if !same_owner(&convert_value(domain, res, field, value.clone()), owner) => {
            Err(ApiError::OwnerFilterConflict)
        }
        _ => Ok(()),
    }
}

/// Whether a `where` value names the owner `owner`: equal once converted
/// as a query value is (an ObjectId's hex string names the ObjectId).
fn same_owner(value: &bson::Bson, owner: &bson::Bson) -> bool {
    use bson::Bson;
    match (value, owner) {
        (Bson::String(s), Bson::ObjectId(id)) | (Bson::ObjectId(id), Bson::String(s)) => {
            *s == id.to_hex()
        }
        _ => value == owner,
    }
}

/// The client sort of `?version=all` (item endpoints parse no sort
/// otherwise): `None` when absent, blank, for other version queries or on
/// a resource with sorting off.
fn version_sort(domain: &Domain, res: &Resource, req: &ApiRequest) -> ApiResult<Option<SortSpec>> {
    let p = &domain.settings.params;
    if !res.sorting || req.query.version.as_deref() != Some("all") {
        return Ok(None);
    }
    match req.arg(&p.sort).filter(|s| !s.trim().is_empty()) {
        Some(raw) => Ok(Some(eve_query::parse_sort(raw)?)),
        None => Ok(None),
    }
}

/// Plans a collection read: the client `where` ANDed with the endpoint's
/// scope, with its geo or text search; the client sort or the default
/// one; paging; the projection.
fn plan_page(domain: &Domain, res: &Resource, args: &QueryArgs, scope: Filter) -> ReadPlan {
    let filter = match &args.where_ {
        Some(w) => w.filter.clone().and(scope),
        None => scope,
    };
    let (near, text) = match &args.where_ {
        Some(w) => (w.near.clone(), w.text.clone()),
        None => (None, None),
    };
    let sort: SortSpec = if !res.sorting {
        Vec::new()
    } else if let Some(client) = &args.sort {
        client.clone()
    } else {
        res.datasource.default_sort.clone().unwrap_or_default()
    };
    let (page, max_results) = page_window(domain, res, args);
    let paginate = res.pagination;
    let skip = match max_results {
        Some(max) if paginate => (page - 1).saturating_mul(max),
        _ => 0,
    };
    ReadPlan {
        collection: res.datasource.source.clone(),
        query: FindQuery {
            filter,
            sort,
            skip,
            limit: max_results,
            projection: projection_for(domain, res, args.projection.as_ref()),
            near,
            text,
        },
        page,
        max_results,
        paginate,
        count: !res.optimize_pagination_for_speed,
    }
}

/// The sub-resource variables an insert writes into its documents: schema
/// fields other than the id field.
fn url_fields(res: &Resource, url_vars: &[(String, String)]) -> Vec<(String, String)> {
    let schema_fields = res.schema.field_names();
    url_vars
        .iter()
        .filter(|(field, _)| field != &res.id_field && schema_fields.contains(&field.as_str()))
        .cloned()
        .collect()
}

/// The page and page size of a read, as Eve's request parser computes
/// them: with pagination on, the client's page and its `max_results`
/// (default `PAGINATION_DEFAULT`) clamped to `[1, pagination_limit]`; with
/// pagination off, page 1 and the client's `max_results` (`None` without
/// one).
pub fn page_window(domain: &Domain, res: &Resource, args: &QueryArgs) -> (u64, Option<u64>) {
    if res.pagination {
        let max = args
            .max_results
            .unwrap_or(domain.settings.pagination_default)
            .min(res.pagination_limit)
            .max(1);
        (args.page.max(1), Some(max))
    } else {
        (1, args.max_results)
    }
}

/// [`scope_filter_with`] hiding soft-deleted documents: the scope of every
/// read that does not ask for them (the data API, `data_relation` and
/// `unique` look-ups, collection DELETE).
pub fn scope_filter(
    domain: &Domain,
    res: &Resource,
    url_vars: &[(String, String)],
    access: &Access,
) -> Filter {
    scope_filter_with(domain, res, url_vars, access, Deleted::Hide)
}

/// The one point where the filters every access to an endpoint carries are
/// merged, in this order: sub-resource URL variables (converted by the
/// field's type), the datasource filter (compiled at start-up,
/// [`Datasource::compiled_filter`](crate::domain::Datasource::compiled_filter)),
/// the owner filter of `access` for `res` ([`Access::owner_filter_for`])
/// and, with
/// [`Deleted::Hide`] on a soft-delete resource, the filter hiding
/// soft-deleted documents ([`not_deleted`]).
pub fn scope_filter_with(
    domain: &Domain,
    res: &Resource,
    url_vars: &[(String, String)],
    access: &Access,
    deleted: Deleted,
) -> Filter {
    let mut filter = Filter::All;
    for (field, raw) in url_vars {
        let value = lookup_value(domain, res, field, raw);
        filter = filter.and(Filter::eq(field.clone(), value));
    }
    // Parsed and converted once, when the Domain was built.
    if let Some(ds) = &res.datasource.compiled_filter {
        filter = filter.and(ds.clone());
    }
    filter = filter.and(access.owner_filter_for(res));
    match deleted {
        Deleted::Hide => filter.and(not_deleted(domain, res)),
        Deleted::Show => filter,
    }
}

/// [`scope_filter`] for an anonymous requester, for the callers that do not
/// have the request's [`Access`] yet (the data API). It does not fail; the
/// `Result` keeps the callers' `?` valid while issue #9 reshapes them into
/// the executor.
pub fn base_filter(
    domain: &Domain,
    res: &Resource,
    url_vars: &[(String, String)],
) -> ApiResult<Filter> {
    Ok(scope_filter(domain, res, url_vars, &Access::anonymous()))
}

/// Compiles a resource's `datasource.filter` as every request applies it:
/// its values converted as a client `where` is ([`convert_query`]: dates in
/// `date_format`, ObjectIds), then parsed. Run once at start-up, by the
/// settings check, which reports an error with the filter's key path.
pub(crate) fn compile_datasource_filter(
    date_format: &DateFormat,
    res: &Resource,
    filter: &Document,
) -> Result<Filter, QueryError> {
    let mut query = filter.clone();
    convert_query_with(date_format, res, &mut query);
    Filter::parse(&query)
}

/// The filter naming one item: `field == value` (the raw URL value
/// converted by the field's schema type) ANDed with [`scope_filter`]
/// (soft-deleted documents hidden).
pub fn item_scope_filter(
    domain: &Domain,
    res: &Resource,
    (field, raw_value): (&str, &str),
    url_vars: &[(String, String)],
    access: &Access,
) -> Filter {
    item_scope_filter_with(
        domain,
        res,
        (field, raw_value),
        url_vars,
        access,
        Deleted::Hide,
    )
}

/// [`item_scope_filter`] with the soft-deleted documents shown or hidden
/// as `deleted` says ([`scope_filter_with`]).
pub fn item_scope_filter_with(
    domain: &Domain,
    res: &Resource,
    (field, raw_value): (&str, &str),
    url_vars: &[(String, String)],
    access: &Access,
    deleted: Deleted,
) -> Filter {
    let value = lookup_value(domain, res, field, raw_value);
    Filter::eq(field, value).and(scope_filter_with(domain, res, url_vars, access, deleted))
}

/// [`item_scope_filter`] for an anonymous requester.
pub fn item_filter(
    domain: &Domain,
    res: &Resource,
    field: &str,
    raw_value: &str,
    url_vars: &[(String, String)],
) -> ApiResult<Filter> {
    Ok(item_scope_filter(
        domain,
        res,
        (field, raw_value),
        url_vars,
        &Access::anonymous(),
    ))
}

/// The automatic fields every read returns whatever the projection.
pub fn automatic_fields(domain: &Domain, res: &Resource) -> Vec<String> {
    let meta = &domain.settings.meta;
    let mut fields = vec![
        res.id_field.clone(),
        meta.last_updated.clone(),
        meta.date_created.clone(),
        meta.etag.clone(),
    ];
    // Every stored document has an `_id` (an ObjectId when `id_field` is
    // another field), which MongoDB returns unless told not to: Eve serves
    // it whatever the projection.
    if res.id_field != "_id" {
        fields.push("_id".to_string());
    }
    if res.versioning {
        fields.push(meta.version.clone());
        fields.push(format!("{}{}", res.id_field, meta.version_id_suffix));
    }
    if res.soft_delete {
        fields.push(meta.deleted.clone());
    }
    fields
}

/// The projection a read applies (features.md §29): the resource's base
/// projection (schema fields, or the datasource projection) narrowed or
/// widened by the client's, plus the automatic fields. `None` means whole
/// documents.
pub fn projection_for(
    domain: &Domain,
    res: &Resource,
    client: Option<&Document>,
) -> Option<Document> {
    match client {
        None => res
            .default_projection
            .get_or_init(|| build_projection(domain, res, None))
            .clone(),
        Some(_) => build_projection(domain, res, client),
    }
}

/// [`projection_for`], computed: the resource's write-only fields
/// (`Resource::secret_fields`) are left out whatever was asked.
fn build_projection(
    domain: &Domain,
    res: &Resource,
    client: Option<&Document>,
) -> Option<Document> {
    hide_secrets(asked_projection(domain, res, client), &res.secret_fields)
}

/// Removes `secrets` (top-level fields) from a projection: dropped from an
/// inclusive one, excluded from an exclusive one (or from whole documents).
pub fn hide_secrets(projection: Option<Document>, secrets: &[String]) -> Option<Document> {
    if secrets.is_empty() {
        return projection;
    }
    let secret = |k: &str| {
        secrets
            .iter()
            .any(|s| k.split('.').next() == Some(s.as_str()))
    };
    let mut p = projection.unwrap_or_default();
    let inclusive = p.iter().any(|(_, v)| matches!(v, Bson::Int32(1)));
    if inclusive {
        p = p.into_iter().filter(|(k, _)| !secret(k)).collect();
    } else {
        for s in secrets {
            p.insert(s.clone(), 0);
        }
    }
    Some(p)
}

/// The projection as settings and client ask for it (before
/// [`hide_secrets`]).
fn asked_projection(
    domain: &Domain,
    res: &Resource,
    client: Option<&Document>,
) -> Option<Document> {
    /// What a resource exposes before the client's projection.
    enum Base {
        /// Whole stored documents.
        All,
        /// Whole documents minus these fields (clients may re-include them).
        AllExcept(Vec<String>),
        /// Only these fields; `extra` may be re-included by clients.
        Only {
            fields: Vec<String>,
            extra: Vec<String>,
        },
    }
    let auto = automatic_fields(domain, res);
    let schema_fields: Vec<String> = res
        .schema
        .field_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let base = match &res.datasource.projection {
        Some(ds) => {
            let (inc, exc) = split_projection(ds);
            if !inc.is_empty() {
                Base::Only {
                    fields: inc,
                    extra: Vec::new(),
                }
            } else if res.allow_unknown {
                Base::AllExcept(exc)
            } else {
                Base::Only {
                    fields: schema_fields
                        .iter()
                        .filter(|f| !exc.contains(f))
                        .cloned()
                        .collect(),
                    extra: exc,
                }
            }
        }
        None if res.allow_unknown => Base::All,
        None => Base::Only {
            fields: schema_fields,
            extra: Vec::new(),
        },
    };
    let (inc, exc) = client.map(split_projection).unwrap_or_default();
    let mut result = Document::new();
    let include = |result: &mut Document, fields: Vec<&String>| {
        for f in fields.into_iter().chain(auto.iter()) {
            result.insert(f.clone(), 1);
        }
    };
    match base {
        Base::All | Base::AllExcept(_) if !inc.is_empty() => {
            include(&mut result, inc.iter().collect())
        }
        Base::All | Base::AllExcept(_) => {
            let mut excluded: Vec<&String> = exc.iter().collect();
            if let Base::AllExcept(base_exc) = &base {
                excluded.extend(base_exc.iter());
            }
            for f in excluded.into_iter().filter(|f| !auto.contains(f)) {
                result.insert(f.clone(), 0);
            }
            if result.is_empty() {
                return None;
            }
        }
        Base::Only { fields, extra } if !inc.is_empty() => {
            let visible = |f: &&String| {
                let top = f.split('.').next().unwrap_or(f);
                fields
                    .iter()
                    .chain(extra.iter())
                    .any(|b| b == top || b == *f)
            };
            include(&mut result, inc.iter().filter(visible).collect());
        }
        Base::Only { fields, .. } => include(
            &mut result,
            fields.iter().filter(|f| !exc.contains(f)).collect(),
        ),
    }
    Some(result)
}
