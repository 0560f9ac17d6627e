//! Loading and checking settings files: raw settings (as written, Eve's key
//! names) become the checked [`Domain`] (every default applied, every value
//! validated).
//!
//! * [`parse_str`] / [`load`] read a YAML or JSON settings file into the raw
//!   form, an ordered mapping of top-level keys (file order is preserved).
//! * [`check`] turns the raw form into a [`Domain`]. It never stops at the
//!   first mistake: every problem is collected with the dotted path of the
//!   offending key (`PAGINATION_LIMIT`, `DOMAIN.people.schema.name.type`) and
//!   returned together in a [`SettingsError`]. Things that are legal but
//!   suspicious (unknown keys, risky security choices) become
//!   [`Domain::warnings`].
//!
//! The names and defaults are those of `spec/settings.md`; where Eve 2.3.1
//! starts with a configuration that breaks at request time, the problem is
//! reported here instead (empty `RENDERERS`, invalid schema rules, ...).
//!
//! ```
//! use eve_core::settings::{check, parse_str, Format};
//!
//! let raw = parse_str("DOMAIN: {people: {}}", Format::Yaml).unwrap();
//! let domain = check(raw, &eve_schema::Registry::default()).unwrap();
//! assert_eq!(domain.resources["people"].item_title, "People");
//! ```

mod auth;
mod embedding;
mod globals;
mod indexes;
mod media;
mod mongo;
mod not_built;
mod oplog;
mod owner;
mod rate_limit;
mod read;
mod resource;
mod schema_checks;
mod server;
mod text_index;
mod url;
mod versioning;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use crate::domain::Domain;

pub use media::{MediaSettings, MediaStorageSetting, S3Settings, MEDIA_ATTRIBUTES};
pub use oplog::OplogSettings;
pub use rate_limit::{RateLimit, RateLimitSettings, RateLimitStore, DEFAULT_MAX_IN_FLIGHT};
pub use url::{parse_url, parse_url_rule};
pub use versioning::{VersionSettings, SHADOW_INDEX};

/// The syntax of a settings file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

/// One thing wrong with the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the offending key, e.g. `PAGINATION_LIMIT` or
    /// `DOMAIN.people.schema.name.type`. Empty when the problem concerns
    /// the file as a whole (a syntax error).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Settings that cannot be used: every problem found, in the order found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    /// The problems (never empty).
    pub problems: Vec<Problem>,
}

impl SettingsError {
    /// An error with a single problem.
    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        SettingsError {
            problems: vec![Problem::new(path, message)],
        }
    }

    /// Whether some problem is reported at exactly `path`.
    pub fn has_problem_at(&self, path: &str) -> bool {
        self.problems.iter().any(|p| p.path == path)
    }
}

impl fmt::Display for SettingsError {
    /// One problem per line, `path: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsError {}

/// Parses settings text into the raw form: the top-level mapping, in file
/// order. YAML merge keys (`<<: *anchor`) are applied. The top level must
/// be a mapping with string keys.
pub fn parse_str(text: &str, format: Format) -> Result<IndexMap<String, Value>, SettingsError> {
    let value: Value = match format {
        Format::Json => serde_json::from_str(text)
            .map_err(|e| SettingsError::single("", format!("invalid JSON: {e}")))?,
        Format::Yaml => {
            let invalid =
                |e: serde_norway::Error| SettingsError::single("", format!("invalid YAML: {e}"));
            let mut yaml: serde_norway::Value = serde_norway::from_str(text).map_err(invalid)?;
            yaml.apply_merge().map_err(invalid)?;
            serde_norway::from_value(yaml).map_err(invalid)?
        }
    };
    match value {
        Value::Object(map) => Ok(map.into_iter().collect()),
        Value::Null => Ok(IndexMap::new()),
        other => Err(SettingsError::single(
            "",
            format!(
                "the settings must be a mapping of setting names to values, found {}",
                read::kind_of(&other)
            ),
        )),
    }
}

/// Reads and checks a settings file. The format follows the extension
/// (`.yaml`/`.yml` → YAML, `.json` → JSON); any other extension is tried as
/// JSON, then as YAML.
pub fn load(path: &Path, registry: &eve_schema::Registry) -> Result<Domain, SettingsError> {
    check(read_file(path)?, registry)
}

/// Reads a settings file into the raw form ([`parse_str`]), without
/// checking it, so a caller can override keys (the command line's
/// `--data-layer`) before [`check`]. The format follows the extension as in
/// [`load`].
pub fn read_file(path: &Path) -> Result<IndexMap<String, Value>, SettingsError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SettingsError::single("", format!("cannot read {}: {e}", path.display())))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let raw = match ext.as_deref() {
        Some("yaml") | Some("yml") => parse_str(&text, Format::Yaml)?,
        Some("json") => parse_str(&text, Format::Json)?,
        _ => match parse_str(&text, Format::Json) {
            Ok(raw) => raw,
            Err(_) => parse_str(&text, Format::Yaml)?,
        },
    };
    Ok(raw)
}

/// Checks raw settings and builds the [`Domain`]: every global of
/// settings.md §1 and every resource key of §2/§3 resolved (own value, else
/// the global one, else Eve's default), schemas compiled with `registry`.
/// Returns every problem found, or the domain with its warnings.
pub fn check(
    raw: IndexMap<String, Value>,
    registry: &eve_schema::Registry,
) -> Result<Domain, SettingsError> {
    let mut ctx = read::Ctx::default();
    let (settings, defaults) = globals::check_globals(&mut ctx, &raw);

    let mut resources = IndexMap::new();
    let mut collections = IndexMap::new();
    match raw.get("DOMAIN") {
        None => ctx.problem(
            "DOMAIN",
            "required: a mapping of resource names to resource definitions",
        ),
        Some(Value::Object(domain)) => {
            let with_oplog;
            let domain = if settings.oplog.enabled {
                with_oplog = oplog::with_oplog_resource(&settings.oplog, domain);
                &with_oplog
            } else {
                domain
            };
            let names: Vec<&str> = domain.keys().map(String::as_str).collect();
            let env = resource::Env {
                settings: &settings,
                defaults: &defaults,
                registry,
                resource_names: &names,
            };
            let mut checked = Vec::new();
            for (name, def) in domain {
                if let Some(mut res) = resource::check_resource(&mut ctx, &env, name, def) {
                    auth::resource_access(&mut ctx, &settings, &mut res, def);
                    checked.push(res);
                }
            }
            // A data_relation without `field` refers to the target's id_field.
            let id_fields: Vec<(String, String)> = checked
                .iter()
                .map(|r| (r.name.clone(), r.id_field.clone()))
                .collect();
            for mut res in checked {
                for (target, id_field) in &id_fields {
                    res.schema.set_relation_id_field(target, id_field);
                }
                res.relations = schema_checks::top_level_relations(&res.schema_def, |target| {
                    id_fields
                        .iter()
                        .find(|(name, _)| name == target)
                        .map(|(_, id)| id.clone())
                });
                // After the schema is complete: conversion reads field types.
                if let Some(filter) = &res.datasource.filter {
                    match crate::plan::compile_datasource_filter(
                        &settings.date_format,
                        &res,
                        filter,
                    ) {
                        Ok(f) => res.datasource.compiled_filter = Some(f),
                        Err(e) => ctx.problem(
                            format!("DOMAIN.{}.datasource.filter", res.name),
                            format!("invalid query: {e}"),
                        ),
                    }
                }
                resources.insert(res.name.clone(), Arc::new(res));
            }
            auth::check_accounts(&mut ctx, &settings, &mut resources);
            resource::check_url_clashes(&mut ctx, &resources);
            embedding::check_resources(&mut ctx, &resources);
            oplog::warn_unrestricted(&mut ctx, &settings.oplog, &resources);
            owner::warn_unprotected(&mut ctx, &settings, &resources);
            owner::refuse_unguardable_aggregations(&mut ctx, &settings, &resources);
            collections = indexes::per_collection(&mut ctx, &resources, domain);
            versioning::add_shadow_collections(
                &settings.meta,
                &settings.versions,
                &resources,
                &mut collections,
            );
        }
        Some(other) => ctx.problem(
            "DOMAIN",
            format!(
                "expected a mapping of resources, found {}",
                read::kind_of(other)
            ),
        ),
    }

    not_built::check(&mut ctx, &raw);
    embedding::check_raw(&mut ctx, &raw, &resources);

    let read::Ctx {
        mut problems,
        warnings,
    } = ctx;
    sort_by_file_order(&mut problems, &raw);
    if problems.is_empty() {
        Ok(Domain {
            settings,
            resources,
            warnings,
            collections,
        })
    } else {
        Err(SettingsError { problems })
    }
}

/// Orders problems like the file: by top-level key, then (inside `DOMAIN`)
/// by resource; the order found is kept within one key.
fn sort_by_file_order(problems: &mut [Problem], raw: &IndexMap<String, Value>) {
    let resources = raw.get("DOMAIN").and_then(Value::as_object);
    problems.sort_by_cached_key(|p| {
        let mut segments = p.path.splitn(3, '.');
        let top = segments.next().unwrap_or("");
        let top_rank = raw.get_index_of(top).unwrap_or(usize::MAX);
        let resource_rank = match (top, segments.next(), resources) {
            ("DOMAIN", Some(name), Some(domain)) => {
                domain.keys().position(|k| k == name).unwrap_or(usize::MAX)
            }
            _ => 0,
        };
        (top_rank, resource_rank)
    });
}
