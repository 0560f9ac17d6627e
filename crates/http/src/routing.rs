//! Routing, the first stage of every request: the URL space built from the
//! Domain. Resource URLs may contain sub-resource variables and item URLs
//! follow `item_url` rules, so routes are regexes compiled once at
//! start-up, not a static router. The result ([`Routed`]) is stored in the
//! request's extensions before the other stages run.

use std::sync::Arc;

use eve_core::request::HttpMethod;
use eve_core::{Domain, Resource, UrlPart, UrlRule};
use regex::Regex;

pub use eve_core::request::{EndpointKind, Route};

/// What the routing step found, stored in the request's extensions before
/// any other stage runs, so a tower layer between routing and the handler
/// (rate limits, authentication) can read the method and the resource:
/// `req.extensions().get::<Routed>()`.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The method after `X-HTTP-Method-Override`.
    pub method: HttpMethod,
    /// The matched route; `None` for a URL no endpoint serves (404).
    pub route: Option<Route>,
}

struct ResourceRoutes {
    resource: Arc<Resource>,
    /// Collection path; capture groups are the URL variables, in order.
    collection: Regex,
    /// Collection path + `/` + item rule (last group is the lookup value).
    item: Option<Regex>,
    /// Collection path + `/` + additional lookup rule.
    additional: Option<Regex>,
    /// Variable field names, in capture order.
    var_fields: Vec<String>,
}

/// All routes of an API.
pub struct RouteTable {
    prefix: String,
    schema_endpoint: Option<String>,
    /// `MEDIA_ENDPOINT/<MEDIA_URL>` when `RETURN_MEDIA_AS_URL` is on; the
    /// group is the file id.
    media: Option<(String, Regex)>,
    resources: Vec<ResourceRoutes>,
}

impl std::fmt::Debug for RouteTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTable")
            .field("prefix", &self.prefix)
            .field("resources", &self.resources.len())
            .finish()
    }
}

/// The regex source of a URL rule, without anchors.
pub fn rule_pattern(rule: &UrlRule) -> String {
    match rule {
        UrlRule::Regex(re) => {
            let s = re.as_str();
            let s = s.strip_prefix('^').unwrap_or(s);
            let s = s.strip_suffix('$').unwrap_or(s);
            match s.strip_prefix("(?:").and_then(|x| x.strip_suffix(')')) {
                Some(inner) if balanced(inner) => inner.to_string(),
                _ => s.to_string(),
            }
        }
        UrlRule::Int => r"\d+".into(),
        UrlRule::Float => r"\d+\.\d+".into(),
        UrlRule::Path => r"[^/].*?".into(),
        UrlRule::String => r"[^/]+".into(),
    }
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut escaped = false;
    for c in s.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

impl RouteTable {
    /// Builds the routes of every public (non-internal) resource.
    pub fn new(domain: &Domain) -> Result<RouteTable, regex::Error> {
        let s = &domain.settings;
        let prefix: String = [s.url_prefix.as_str(), s.api_version.as_str()]
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| format!("/{p}"))
            .collect();
        let mut resources = Vec::new();
        for res in domain.resources.values().filter(|r| !r.internal_resource) {
            let mut collection = String::new();
            let mut var_fields = Vec::new();
            for (i, part) in res.url_parts.iter().enumerate() {
                if i > 0 {
                    collection.push('/');
                }
                match part {
                    UrlPart::Literal(l) => collection.push_str(&regex::escape(l)),
                    UrlPart::Var { rule, field } => {
                        collection.push_str(&format!("((?:{}))", rule_pattern(rule)));
                        var_fields.push(field.clone());
                    }
                }
            }
            let item = res
                .item_lookup
                .then(|| {
                    Regex::new(&format!(
                        "^{collection}/((?:{}))$",
                        rule_pattern(&res.item_url)
                    ))
                })
                .transpose()?;
            let additional = res
                .additional_lookup
                .as_ref()
                .map(|a| Regex::new(&format!("^{collection}/((?:{}))$", rule_pattern(&a.rule))))
                .transpose()?;
            resources.push(ResourceRoutes {
                resource: res.clone(),
                collection: Regex::new(&format!("^{collection}$"))?,
                item,
                additional,
                var_fields,
            });
        }
        let schema_endpoint = s
            .schema_endpoint
            .as_ref()
            .map(|e| e.trim_matches('/').to_string());
        let media = s
            .media
            .as_url
            .then(|| -> Result<(String, Regex), regex::Error> {
                let endpoint = s.media.endpoint.clone();
                let re = Regex::new(&format!(
                    "^{}/((?:{}))$",
                    regex::escape(&endpoint),
                    rule_pattern(&s.media.url)
                ))?;
                Ok((endpoint, re))
            })
            .transpose()?;
        Ok(RouteTable {
            prefix,
            schema_endpoint,
            media,
            resources,
        })
    }

    /// The API root path (`/<URL_PREFIX>/<API_VERSION>`, empty by default).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Matches a request path (percent-decoded). Trailing slashes are
    /// optional everywhere.
    pub fn route(&self, path: &str) -> Option<Route> {
        let rest = if self.prefix.is_empty() {
            path
        } else {
            let rest = path.strip_prefix(&self.prefix)?;
            if !(rest.is_empty() || rest.starts_with('/')) {
                return None;
            }
            rest
        };
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Some(Route {
                kind: EndpointKind::Home,
                resource: None,
                url_vars: Vec::new(),
                lookup: None,
                resource_path: String::new(),
            });
        }
        if let Some(endpoint) = &self.schema_endpoint {
            let schema_route = |lookup| Route {
                kind: EndpointKind::Schema,
                resource: None,
                url_vars: Vec::new(),
                lookup,
                resource_path: endpoint.clone(),
            };
            if rest == endpoint {
                return Some(schema_route(None));
            }
            if let Some(name) = rest
                .strip_prefix(endpoint.as_str())
                .and_then(|r| r.strip_prefix('/'))
            {
                if !name.is_empty() && !name.contains('/') {
                    return Some(schema_route(Some(("resource".into(), name.to_string()))));
                }
            }
        }
        if let Some((endpoint, re)) = &self.media {
            if let Some(id) = re.captures(rest).and_then(|c| c.get(1)) {
                return Some(Route {
                    kind: EndpointKind::Media,
                    resource: None,
                    url_vars: Vec::new(),
                    lookup: Some(("_id".into(), id.as_str().to_string())),
                    resource_path: endpoint.clone(),
                });
            }
        }
        for r in &self.resources {
            if let Some(caps) = r.collection.captures(rest) {
                return Some(Route {
                    kind: EndpointKind::Collection,
                    resource: Some(r.resource.clone()),
                    url_vars: vars(&caps, &r.var_fields),
                    lookup: None,
                    resource_path: rest.to_string(),
                });
            }
        }
        for (kind, pick) in [
            (
                EndpointKind::Item,
                (|r: &ResourceRoutes| r.item.as_ref()) as fn(&ResourceRoutes) -> Option<&Regex>,
            ),
            (EndpointKind::AdditionalItem, |r: &ResourceRoutes| {
                r.additional.as_ref()
            }),
        ] {
            for r in &self.resources {
                let Some(re) = pick(r) else { continue };
                if let Some(caps) = re.captures(rest) {
                    let Some(value) = caps.get(caps.len() - 1) else {
                        continue;
                    };
                    let field = match kind {
                        EndpointKind::AdditionalItem => r
                            .resource
                            .additional_lookup
                            .as_ref()
                            .map(|a| a.field.clone()),
                        _ => Some(r.resource.item_lookup_field.clone()),
                    }
                    .unwrap_or_default();
                    let resource_path = rest[..value.start().saturating_sub(1)].to_string();
                    return Some(Route {
                        kind,
                        resource: Some(r.resource.clone()),
                        url_vars: vars(&caps, &r.var_fields),
                        lookup: Some((field, value.as_str().to_string())),
                        resource_path,
                    });
                }
            }
        }
        None
    }
}

fn vars(caps: &regex::Captures<'_>, fields: &[String]) -> Vec<(String, String)> {
    fields
        .iter()
        .enumerate()
        .filter_map(|(i, f)| caps.get(i + 1).map(|m| (f.clone(), m.as_str().to_string())))
        .collect()
}
