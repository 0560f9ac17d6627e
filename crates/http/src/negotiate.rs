//! Content negotiation and response headers: renderer choice by `Accept`,
//! JSON/XML/JSONP bodies, cache headers, CORS.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};
use eve_core::request::HttpMethod;
use eve_core::{Domain, RendererName, Resource};
use serde_json::Value;

use crate::context::Ctx;
use crate::render;
use crate::routing::Route;

/// The representation chosen for a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json`.
    Json,
    /// XML with the given media type.
    Xml(&'static str),
    /// Eve's HTML error page (non-standard error codes).
    Html,
}

fn media_types(renderer: &RendererName) -> &'static [&'static str] {
    match renderer {
        RendererName::Json => &["application/json"],
        RendererName::Xml => &["application/xml", "text/xml", "application/x-xml"],
    }
}

/// Picks the renderer: the server type with the highest client quality
/// (ties go to the server's order); nothing acceptable, no `Accept`, or
/// `*/*` → the first type of the first renderer.
pub fn choose_format(domain: &Domain, accept: Option<&str>) -> Format {
    let offers: Vec<&'static str> = domain
        .settings
        .renderers
        .iter()
        .flat_map(|r| media_types(r).iter().copied())
        .collect();
    let to_format = |t: &'static str| {
        if t == "application/json" {
            Format::Json
        } else {
            Format::Xml(t)
        }
    };
    let first = offers
        .first()
        .copied()
        .map(to_format)
        .unwrap_or(Format::Json);
    let Some(accept) = accept else { return first };
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let q = pieces
                .filter_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                })
                .next()
                .unwrap_or(1.0);
            Some((range, q))
        })
        .collect();
    let quality = |offer: &str| -> f32 {
        ranges
            .iter()
            .filter(|(range, _)| {
                range == offer
                    || range == "*/*"
                    || range
                        .strip_suffix("/*")
                        .is_some_and(|major| offer.split('/').next() == Some(major))
            })
            .map(|(_, q)| *q)
            .fold(0.0, f32::max)
    };
    let mut best: Option<(&'static str, f32)> = None;
    for offer in offers {
        let q = quality(offer);
        if q > 0.0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((offer, q));
        }
    }
    best.map(|(t, _)| to_format(t)).unwrap_or(first)
}

/// Serializes a body in the chosen format; `jsonp` wraps JSON.
pub(crate) fn render_body(
    ctx: &Ctx,
    body: &Value,
    format: Format,
    jsonp: Option<&str>,
) -> (String, Bytes) {
    let settings = &ctx.domain().settings;
    match format {
        Format::Xml(media) => {
            let meta = &settings.meta;
            let bytes = render::write_xml(body, &meta.links, &meta.items, &meta.meta);
            (format!("{media}; charset=utf-8"), Bytes::from(bytes))
        }
        Format::Json | Format::Html => {
            let pretty = ctx.method == HttpMethod::Get && ctx.arg("pretty").is_some();
            let mut bytes = if settings.json_sort_keys {
                let mut sorted = body.clone();
                render::sort_keys(&mut sorted);
                render::write_json(&sorted, pretty)
            } else {
                render::write_json(body, pretty)
            };
            if let Some(cb) = jsonp {
                let mut wrapped = Vec::with_capacity(bytes.len() + cb.len() + 2);
                wrapped.extend_from_slice(cb.as_bytes());
                wrapped.push(b'(');
                wrapped.extend_from_slice(&bytes);
                wrapped.push(b')');
                bytes = wrapped;
            }
            ("application/json".into(), Bytes::from(bytes))
        }
    }
}

/// JSONP callback names: `^[a-zA-Z_$][\w$.]*$`.
pub fn valid_callback(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.')
}

/// `Cache-Control` and `Expires` for GET/HEAD (features.md §20).
pub fn add_cache_headers(domain: &Domain, resource: Option<&Resource>, headers: &mut HeaderMap) {
    let (control, expires) = match resource {
        Some(r) => (r.cache_control.as_str(), r.cache_expires),
        None => (
            domain.settings.cache_control.as_str(),
            domain.settings.cache_expires,
        ),
    };
    if !control.is_empty() {
        if let Ok(v) = HeaderValue::from_str(control) {
            headers.insert("cache-control", v);
        }
    }
    if expires != 0 {
        let at = chrono::Utc::now() + chrono::Duration::seconds(expires);
        if let Ok(v) = HeaderValue::from_str(&http_date(at)) {
            headers.insert("expires", v);
        }
    }
}

/// RFC 1123 date for HTTP headers.
pub fn http_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// CORS headers (features.md §24) when enabled and the request has an
/// `Origin`.
pub(crate) fn add_cors(ctx: &Ctx, route: Option<&Route>, headers: &mut HeaderMap) {
    let cors = &ctx.domain().settings.cors;
    if !cors.is_enabled() {
        return;
    }
    let Some(origin) = ctx.header("origin") else {
        return;
    };
    let star = cors
        .domains
        .as_ref()
        .is_some_and(|d| d.iter().any(|x| x == "*"));
    let allowed = star
        || cors
            .domains
            .as_ref()
            .is_some_and(|d| d.iter().any(|x| x == origin))
        || cors.domains_re.iter().any(|re| re.is_match(origin));
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set(
        "access-control-allow-origin",
        if allowed {
            origin.to_string()
        } else {
            String::new()
        },
    );
    if star {
        set("vary", "Origin".into());
    }
    set("access-control-allow-headers", cors.headers.join(", "));
    set(
        "access-control-expose-headers",
        cors.expose_headers.join(", "),
    );
    let methods = route
        .map(|r| r.allowed_methods().join(", "))
        .unwrap_or_default();
    set("access-control-allow-methods", methods);
    set("access-control-max-age", cors.max_age.to_string());
    if cors.allow_credentials {
        set("access-control-allow-credentials", "true".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_are_identifiers() {
        assert!(valid_callback("hello"));
        assert!(valid_callback("$.cb_1"));
        assert!(!valid_callback("alert(1)//"));
        assert!(!valid_callback("1abc"));
        assert!(!valid_callback(""));
    }
}
