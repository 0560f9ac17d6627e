//! Settings loading and checking: defaults, problems with their paths,
//! warnings, URL rules, titles and indexes.

use bson::doc;
use eve_core::settings::{check, load, parse_str, Format, SettingsError};
use eve_core::{DataLayerKind, Domain, Method, Relation, RendererName, Resource, UrlPart, UrlRule};
use eve_query::SortDir;
use eve_schema::Registry;
use eve_store::{IndexKey, IndexSpec};

mod defaults;
mod indexes;
mod problems;
mod schema;
mod urls;

fn yaml(text: &str) -> Result<Domain, SettingsError> {
    check(
        parse_str(text, Format::Yaml).expect("valid YAML"),
        &Registry::default(),
    )
}

fn ok(text: &str) -> Domain {
    match yaml(text) {
        Ok(d) => d,
        Err(e) => panic!("expected valid settings, got:\n{e}"),
    }
}

fn err(text: &str) -> SettingsError {
    match yaml(text) {
        Ok(_) => panic!("expected problems for:\n{text}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_problem(e: &SettingsError, path: &str) {
    assert!(e.has_problem_at(path), "no problem at {path}; got:\n{e}");
}

#[track_caller]
fn assert_warning(d: &Domain, needle: &str) {
    assert!(
        d.warnings.iter().any(|w| w.contains(needle)),
        "no warning containing {needle:?}; got {:#?}",
        d.warnings
    );
}

fn res<'a>(d: &'a Domain, name: &str) -> &'a Resource {
    &d.resources[name]
}
