//! Start-up warnings about user-restricted access (`auth_field`,
//! features.md §23.6, docs/auth-field.md): a restriction that can never
//! apply, because no authentication gives the requests an auth value.

use std::sync::Arc;

use indexmap::IndexMap;

use super::read::Ctx;
use crate::auth::ProviderChoice;
use crate::domain::{Resource, Settings};

/// Warns about each resource with an `auth_field` that no provider
/// protects (no `AUTH` and no `authentication`, or `authentication:
/// none`): its requests carry no auth value, so every client sees every
/// owner's documents, as in Eve.
pub(crate) fn warn_unprotected(
    ctx: &mut Ctx,
    settings: &Settings,
    resources: &IndexMap<String, Arc<Resource>>,
) {
    for res in resources.values() {
        let Some(field) = &res.auth_field else {
            continue;
        };
        let protected = match &res.authentication {
            ProviderChoice::Global => settings.auth.is_some(),
            ProviderChoice::Public => false,
            ProviderChoice::Named(_) => true,
        };
        if !protected {
            ctx.warn(format!(
                "DOMAIN.{}.auth_field ({field}) restricts nothing: no authentication \
                 protects the resource, so no request has an auth value and every \
                 client sees every owner's documents (set AUTH or authentication)",
                res.name
            ));
        }
    }
}

/// Refuses, with the key path, an aggregation pipeline that could not be
/// kept to a caller's documents and readable fields
/// ([`crate::aggregation::guard`]): a `$graphLookup` into the collection
/// of a resource with an `auth_field` or write-only fields, a `$lookup`
/// joining on a write-only field, a stage reading collection metadata.
/// Checked with the strictest guard of every collection (any
/// `auth_field`, public methods aside), so no caller can meet the shape
/// at request time; requests check their own pipeline again, after
/// client variables and `before_aggregation`.
pub(crate) fn refuse_unguardable_aggregations(
    ctx: &mut Ctx,
    settings: &Settings,
    resources: &IndexMap<String, Arc<Resource>>,
) {
    use crate::aggregation::guard::{guard_pipeline, strictest_guard};
    let all: Vec<&Resource> = resources.values().map(|r| r.as_ref()).collect();
    let suffix = settings.versions.suffix.as_str();
    let guard_of = |c: &str| strictest_guard(&all, suffix, c);
    for res in resources.values() {
        let Some(agg) = &res.datasource.aggregation else {
            continue;
        };
        let mut top = guard_of(&res.datasource.source);
        if let Some(f) = &res.auth_field {
            top.owner
                .get_or_insert_with(bson::Document::new)
                .insert(f.clone(), bson::Bson::Null);
        }
        if let Err(e) = guard_pipeline(agg.pipeline.clone(), &top, &guard_of, "pipeline") {
            let (at, why) = e.split_once(": ").unwrap_or(("pipeline", e.as_str()));
            ctx.problem(
                format!("DOMAIN.{}.datasource.aggregation.{at}", res.name),
                why,
            );
        }
    }
}
