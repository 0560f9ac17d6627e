//! Planning: pure functions that turn a typed request and the checked
//! settings into what the data layer runs. Nothing here does I/O, so every
//! rule (filter merging, value conversion, paging clamps, projections) is
//! tested without a server.

use bson::{Bson, Document};
use eve_query::{
    check_allowed_filters, check_operators, parse_projection, parse_sort, parse_where, DateFormat,
    Filter, QueryError,
};
use eve_store::FindQuery;

use crate::domain::{Domain, Resource};
use crate::error::{ApiError, ApiResult};
use crate::request::ReadArgs;

/// A planned collection read.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPlan {
    /// What the data layer runs.
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
    /// The final projection (field → 1/0), `None` for whole documents.
    pub projection: Option<Document>,
}

/// Plans a collection GET: client `where` (parsed, checked, converted),
/// sub-resource variables and the datasource filter ANDed; sort; paging;
/// projection.
pub fn plan_read(
    domain: &Domain,
    res: &Resource,
    args: &ReadArgs,
    url_vars: &[(String, String)],
) -> ApiResult<ReadPlan> {
    let settings = &domain.settings;
    let mut filter = Filter::All;
    if let Some(raw) = args
        .where_
        .as_deref()
        .filter(|_| !res.allowed_filters.is_empty())
    {
        let limits = &settings.limits;
        if raw.len() > limits.max_where_length {
            return Err(ApiError::WhereTooLong {
                limit: limits.max_where_length,
            });
        }
        let mut query = parse_where(raw)?;
        if count_terms(&query, limits.max_where_terms) > limits.max_where_terms {
            return Err(ApiError::WhereTooManyTerms {
                limit: limits.max_where_terms,
            });
        }
        check_operators(
            &query,
            &res.mongo_query_whitelist,
            &settings.mongo_query_blacklist,
        )?;
        check_allowed_filters(&query, &res.allowed_filters)?;
        convert_query(domain, res, &mut query);
        filter = Filter::parse(&query)?;
    }
    filter = filter.and(base_filter(domain, res, url_vars)?);

    let sort = if !res.sorting {
        Vec::new()
    } else if let Some(raw) = args.sort.as_deref().filter(|s| !s.trim().is_empty()) {
        parse_sort(raw)?
    } else {
        res.datasource.default_sort.clone().unwrap_or_default()
    };

    let client_projection = match args.projection.as_deref() {
        Some(raw) if res.projection => Some(parse_client_projection(raw)?),
        _ => None,
    };
    let projection = projection_for(domain, res, client_projection.as_ref());

    let (page, max_results) = page_window(domain, res, args);
    let paginate = res.pagination;
    let skip = match max_results {
        Some(max) if paginate => (page - 1).saturating_mul(max),
        _ => 0,
    };
    Ok(ReadPlan {
        query: FindQuery {
            filter,
            sort,
            skip,
            limit: max_results,
            projection: None,
        },
        page,
        max_results,
        paginate,
        count: !res.optimize_pagination_for_speed,
        projection,
    })
}

/// The page and page size of a read, as Eve's request parser computes
/// them: with pagination on, the client's page and its `max_results`
/// (default `PAGINATION_DEFAULT`) clamped to `[1, pagination_limit]`; with
/// pagination off, page 1 and the client's `max_results` (`None` without
/// one).
pub fn page_window(domain: &Domain, res: &Resource, args: &ReadArgs) -> (u64, Option<u64>) {
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

/// Counts the keys and list elements of a query, stopping early once the
/// count passes `limit`.
fn count_terms(query: &Document, limit: usize) -> usize {
    fn value(v: &Bson, n: &mut usize, limit: usize) {
        match v {
            Bson::Document(d) => doc(d, n, limit),
            Bson::Array(items) => {
                for item in items {
                    if *n > limit {
                        return;
                    }
                    *n += 1;
                    value(item, n, limit);
                }
            }
            _ => {}
        }
    }
    fn doc(d: &Document, n: &mut usize, limit: usize) {
        for (_, v) in d {
            if *n > limit {
                return;
            }
            *n += 1;
            value(v, n, limit);
        }
    }
    let mut n = 0;
    doc(query, &mut n, limit);
    n
}

/// The filter every access to an endpoint carries: sub-resource URL
/// variables and the datasource filter (compiled at start-up,
/// [`Datasource::compiled_filter`](crate::domain::Datasource::compiled_filter)).
/// It does not fail (the datasource filter was checked and compiled at
/// start-up); the `Result` keeps the callers' `?` valid while issue #9
/// reshapes them into the executor.
pub fn base_filter(
    domain: &Domain,
    res: &Resource,
    url_vars: &[(String, String)],
) -> ApiResult<Filter> {
    let mut filter = Filter::All;
    for (field, raw) in url_vars {
        let value = lookup_value(domain, res, field, raw);
        filter = filter.and(Filter::eq(field.clone(), value));
    }
    // Parsed and converted once, when the Domain was built.
    if let Some(ds) = &res.datasource.compiled_filter {
        filter = filter.and(ds.clone());
    }
    Ok(filter)
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

/// The filter of an item endpoint: `field == value` (value converted by the
/// field's schema type) plus [`base_filter`].
pub fn item_filter(
    domain: &Domain,
    res: &Resource,
    field: &str,
    raw_value: &str,
    url_vars: &[(String, String)],
) -> ApiResult<Filter> {
    let value = lookup_value(domain, res, field, raw_value);
    Ok(Filter::eq(field, value).and(base_filter(domain, res, url_vars)?))
}

/// Converts a value taken from the URL (item lookup, sub-resource
/// variable) to the type of `field`: the schema's type serializers run first
/// (integers, ObjectIds, UUIDs, custom types); a value they leave as a
/// string is converted as query strings are (dates, 24-hex ids), unless the
/// field is declared a string.
pub fn lookup_value(domain: &Domain, res: &Resource, field: &str, raw: &str) -> Bson {
    let types = res.schema.field_types(field);
    if types.iter().any(|t| t == "string") {
        return Bson::String(raw.to_string());
    }
    let mut probe = Document::new();
    probe.insert(field, raw);
    let probe = res
        .schema
        .serialize_payload(probe, &domain.settings.date_format);
    match probe.get(field) {
        Some(Bson::String(_)) | None => {
            convert_value(domain, res, field, Bson::String(raw.to_string()))
        }
        Some(converted) => converted.clone(),
    }
}

/// Converts client values in a query document: strings in `DATE_FORMAT`
/// become dates (any field); 24-hex strings become ObjectIds for the id
/// field, `objectid` fields, and any field unless `query_objectid_as_string`.
pub fn convert_query(domain: &Domain, res: &Resource, query: &mut Document) {
    convert_query_with(&domain.settings.date_format, res, query);
}

/// [`convert_query`] with only the setting it reads, so that start-up can
/// run it before the [`Domain`] exists.
fn convert_query_with(date_format: &DateFormat, res: &Resource, query: &mut Document) {
    for (key, value) in query.iter_mut() {
        match key.as_str() {
            "$and" | "$or" | "$nor" => {
                if let Bson::Array(items) = value {
                    for item in items {
                        if let Bson::Document(d) = item {
                            convert_query_with(date_format, res, d);
                        }
                    }
                }
            }
            _ => convert_in_place(date_format, res, key, value),
        }
    }
}

fn convert_in_place(date_format: &DateFormat, res: &Resource, path: &str, value: &mut Bson) {
    match value {
        Bson::String(_) => {
            let v = std::mem::replace(value, Bson::Null);
            *value = convert_value_with(date_format, res, path, v);
        }
        Bson::Array(items) => {
            for item in items {
                convert_in_place(date_format, res, path, item);
            }
        }
        Bson::Document(d) => {
            let is_operator_doc = d.keys().next().is_some_and(|k| k.starts_with('$'));
            for (k, v) in d.iter_mut() {
                if k == "$elemMatch" {
                    if let Bson::Document(inner) = v {
                        if inner.keys().next().is_some_and(|k| k.starts_with('$')) {
                            for (_, iv) in inner.iter_mut() {
                                convert_in_place(date_format, res, path, iv);
                            }
                        } else {
                            for (ik, iv) in inner.iter_mut() {
                                convert_in_place(date_format, res, &format!("{path}.{ik}"), iv);
                            }
                        }
                    }
                } else if matches!(
                    k.as_str(),
                    "$regex" | "$options" | "$type" | "$exists" | "$size" | "$mod"
                ) {
                    // operands that are never dates or ids
                } else if is_operator_doc {
                    convert_in_place(date_format, res, path, v);
                } else {
                    convert_in_place(date_format, res, &format!("{path}.{k}"), v);
                }
            }
        }
        _ => {}
    }
}

/// Converts one string value for `path` (see [`convert_query`]).
pub fn convert_value(domain: &Domain, res: &Resource, path: &str, value: Bson) -> Bson {
    convert_value_with(&domain.settings.date_format, res, path, value)
}

fn convert_value_with(date_format: &DateFormat, res: &Resource, path: &str, value: Bson) -> Bson {
    let Bson::String(s) = &value else {
        return value;
    };
    if let Some(date) = date_format.parse(s) {
        return Bson::DateTime(date);
    }
    if is_object_id(s) {
        let objectid_field =
            path == res.id_field || res.schema.field_types(path).iter().any(|t| t == "objectid");
        if objectid_field || !res.query_objectid_as_string {
            if let Ok(oid) = bson::oid::ObjectId::parse_str(s) {
                return Bson::ObjectId(oid);
            }
        }
    }
    value
}

/// A 24-character hexadecimal string.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
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

/// Parses a client `projection`. Mixing inclusion and exclusion is refused
/// with 400, as issue #2 asks and MongoDB does (Eve silently lets the
/// inclusions win).
pub fn parse_client_projection(raw: &str) -> ApiResult<Document> {
    let projection = parse_projection(raw)?;
    let (inc, exc) = split_projection(&projection);
    if !inc.is_empty() && !exc.is_empty() {
        return Err(ApiError::ProjectionMixesInclusionAndExclusion);
    }
    Ok(projection)
}

/// Splits a projection document into included and excluded field names.
fn split_projection(projection: &Document) -> (Vec<String>, Vec<String>) {
    let mut inc = Vec::new();
    let mut exc = Vec::new();
    for (k, v) in projection {
        let on = match v {
            Bson::Int32(i) => *i != 0,
            Bson::Int64(i) => *i != 0,
            Bson::Double(f) => *f != 0.0,
            Bson::Boolean(b) => *b,
            _ => true,
        };
        if on {
            inc.push(k.clone());
        } else {
            exc.push(k.clone());
        }
    }
    (inc, exc)
}
