//! Server-level global settings: request limits, renderers, the data
//! layer and CORS (settings.md §1), split from [`super::globals`].

use regex::Regex;
use serde_json::Value;

use super::read::{kind_of, str_list, Ctx, Scope};
use crate::domain::{Cors, DataLayerKind, RendererName, RequestLimits};

/// The request limits (eve-rs extensions): positive integers.
pub(super) fn check_limits(ctx: &mut Ctx, g: &Scope<'_>) -> RequestLimits {
    let d = RequestLimits::default();
    let mut positive = |key: &str, default: u64| -> u64 {
        let v = g.u64(ctx, key, default);
        if v == 0 {
            ctx.problem(key, "expected a positive integer, found 0");
            return default;
        }
        v
    };
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let limits = RequestLimits {
        max_request_body: positive("MAX_REQUEST_BODY", d.max_request_body),
        max_json_depth: size(positive("MAX_JSON_DEPTH", d.max_json_depth as u64)),
        max_bulk_items: size(positive("MAX_BULK_ITEMS", d.max_bulk_items as u64)),
        max_where_length: size(positive("MAX_WHERE_LENGTH", d.max_where_length as u64)),
        max_where_terms: size(positive("MAX_WHERE_TERMS", d.max_where_terms as u64)),
        max_header_size: size(positive("MAX_HEADER_SIZE", d.max_header_size as u64)).max(8192),
        client_timeout: positive("CLIENT_TIMEOUT", d.client_timeout),
        write_timeout: positive("WRITE_TIMEOUT", d.write_timeout),
        shutdown_timeout: positive("SHUTDOWN_TIMEOUT", d.shutdown_timeout),
        sort_memory_limit: positive("SORT_MEMORY_LIMIT", d.sort_memory_limit),
        max_validation_issues: size(positive(
            "MAX_VALIDATION_ISSUES",
            d.max_validation_issues as u64,
        )),
        aggregation_max_stages: size(positive(
            "AGGREGATION_MAX_STAGES",
            d.aggregation_max_stages as u64,
        )),
        aggregation_max_depth: size(positive(
            "AGGREGATION_MAX_DEPTH",
            d.aggregation_max_depth as u64,
        )),
        aggregation_memory_limit: positive("AGGREGATION_MEMORY_LIMIT", d.aggregation_memory_limit),
        aggregation_max_lookup: size(positive(
            "AGGREGATION_MAX_LOOKUP",
            d.aggregation_max_lookup as u64,
        )),
    };
    let ceiling = crate::domain::JSON_DEPTH_CEILING;
    if limits.aggregation_max_depth > ceiling {
        ctx.problem(
            "AGGREGATION_MAX_DEPTH",
            format!(
                "at most {ceiling} (the deepest document eve-rs parses), found {}",
                limits.aggregation_max_depth
            ),
        );
    }
    if limits.max_json_depth > ceiling {
        ctx.problem(
            "MAX_JSON_DEPTH",
            format!(
                "at most {ceiling} (the deepest document eve-rs parses and stores), found {}",
                limits.max_json_depth
            ),
        );
    }
    limits
}

fn renderer(name: &str) -> Option<RendererName> {
    match name {
        "json" | "eve.render.JSONRenderer" => Some(RendererName::Json),
        "xml" | "eve.render.XMLRenderer" => Some(RendererName::Xml),
        _ => None,
    }
}

pub(super) fn check_renderers(ctx: &mut Ctx, g: &Scope<'_>) -> Vec<RendererName> {
    let default = vec![RendererName::Json, RendererName::Xml];
    let mut out = Vec::new();
    // Eve's deprecated JSON / XML switches rebuild RENDERERS from the default.
    if g.get("JSON").is_some() || g.get("XML").is_some() {
        ctx.warn("JSON and XML are deprecated; use RENDERERS");
        let json = g.bool(ctx, "JSON", true);
        let xml = g.bool(ctx, "XML", true);
        out.extend(json.then_some(RendererName::Json));
        out.extend(xml.then_some(RendererName::Xml));
    } else {
        let Some(v) = g.get("RENDERERS") else {
            return default;
        };
        let Some(names) = str_list(ctx, "RENDERERS", v) else {
            return default;
        };
        for name in names {
            match renderer(&name) {
                Some(r) => {
                    if !out.contains(&r) {
                        out.push(r)
                    }
                }
                None => ctx.problem(
                    "RENDERERS",
                    format!("unknown renderer '{name}' (known: json, xml, eve.render.JSONRenderer, eve.render.XMLRenderer)"),
                ),
            }
        }
    }
    if out.is_empty() {
        ctx.problem("RENDERERS", "at least one renderer must be enabled");
        return default;
    }
    out
}

pub(super) fn check_data_layer(ctx: &mut Ctx, g: &Scope<'_>) -> DataLayerKind {
    let postgres_uri = g.opt_string(ctx, "POSTGRES_URI", None);
    let kind = match g.get("DATA_LAYER") {
        None | Some(Value::Null) => {
            if g.get("MONGO_URI").is_some() || g.get("MONGO_HOST").is_some() {
                DataLayerKind::Mongo
            } else {
                DataLayerKind::Embedded
            }
        }
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "embedded" => DataLayerKind::Embedded,
            "mongo" | "mongodb" => DataLayerKind::Mongo,
            "postgres" | "postgresql" => match &postgres_uri {
                Some(uri) => DataLayerKind::Postgres { uri: uri.clone() },
                None => {
                    ctx.problem("POSTGRES_URI", "required when DATA_LAYER is postgres");
                    DataLayerKind::Embedded
                }
            },
            _ => {
                ctx.problem(
                    "DATA_LAYER",
                    format!("unknown data layer '{s}' (expected embedded, mongo or postgres)"),
                );
                DataLayerKind::Embedded
            }
        },
        Some(v) => {
            ctx.problem(
                "DATA_LAYER",
                format!("expected a string, found {}", kind_of(v)),
            );
            DataLayerKind::Embedded
        }
    };
    if postgres_uri.is_some() && !matches!(kind, DataLayerKind::Postgres { .. }) {
        ctx.warn("POSTGRES_URI is ignored: DATA_LAYER is not postgres");
    }
    kind
}

pub(super) fn check_cors(ctx: &mut Ctx, g: &Scope<'_>) -> Cors {
    let domains = g.str_or_list(ctx, "X_DOMAINS");
    let mut domains_re = Vec::new();
    let patterns = g.str_or_list(ctx, "X_DOMAINS_RE").unwrap_or_default();
    // Python truthiness: `''` and `[]` leave CORS off.
    let domains_re_set = match g.get("X_DOMAINS_RE") {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        _ => false,
    };
    for pattern in patterns {
        // Python's re.match: anchored at the start only.
        match Regex::new(&format!("^(?:{pattern})")) {
            Ok(re) => domains_re.push(re),
            // Valid for Python, so Eve would honour it: refuse to start.
            Err(_) if python_only_regex(&pattern) => ctx.problem(
                g.path("X_DOMAINS_RE"),
                format!("regex '{pattern}' uses look-around or a backreference, which eve-rs does not support"),
            ),
            // Invalid for Python too: Eve ignores it.
            Err(_) => ctx.warn(format!(
                "X_DOMAINS_RE: invalid regex '{pattern}' is ignored"
            )),
        }
    }
    let allow_credentials = matches!(g.get("X_ALLOW_CREDENTIALS"), Some(Value::Bool(true)));
    if allow_credentials && domains.as_ref().is_some_and(|d| d.iter().any(|o| o == "*")) {
        ctx.warn(
            "X_DOMAINS '*' with X_ALLOW_CREDENTIALS true lets any web site make authenticated requests; \
             list the allowed origins instead",
        );
    }
    Cors {
        domains,
        domains_re,
        domains_re_set,
        headers: g.str_or_list(ctx, "X_HEADERS").unwrap_or_default(),
        expose_headers: g.str_or_list(ctx, "X_EXPOSE_HEADERS").unwrap_or_default(),
        allow_credentials,
        max_age: g.i64(ctx, "X_MAX_AGE", 21600),
    }
}

/// Whether a pattern the `regex` crate refuses is refused only for a
/// feature Python's `re` has (look-around, backreferences).
fn python_only_regex(pattern: &str) -> bool {
    use regex_syntax::ast::{parse::Parser, ErrorKind};
    matches!(
        Parser::new().parse(pattern).map_err(|e| e.kind().clone()),
        Err(ErrorKind::UnsupportedLookAround | ErrorKind::UnsupportedBackreference)
    )
}
