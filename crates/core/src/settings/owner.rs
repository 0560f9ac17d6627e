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

/// Refuses, with the key path, an aggregation endpoint that could reveal
/// documents of a user-restricted resource: aggregation pipelines do not
/// apply the owner filter yet, so a resource with both an `auth_field` and
/// an aggregation, an aggregation over such a resource's collection, or a
/// pipeline whose `$lookup`, `$graphLookup` or
/// `$unionWith` reads the collection of a resource with an `auth_field`,
/// would show every owner's documents (fail closed).
pub(crate) fn refuse_restricted_aggregations(
    ctx: &mut Ctx,
    resources: &IndexMap<String, Arc<Resource>>,
) {
    let restricted: Vec<&str> = resources
        .values()
        .filter(|r| r.auth_field.is_some())
        .map(|r| r.datasource.source.as_str())
        .collect();
    for res in resources.values() {
        let Some(agg) = &res.datasource.aggregation else {
            continue;
        };
        let reads_restricted = res.auth_field.is_some()
            || restricted.contains(&res.datasource.source.as_str())
            || agg
                .pipeline
                .iter()
                .any(|stage| reads_collection(&bson::Bson::Document(stage.clone()), &restricted));
        if reads_restricted {
            ctx.problem(
                format!("DOMAIN.{}.datasource.aggregation", res.name),
                "aggregation endpoints do not apply user-restricted access (auth_field) yet \
                 (issue #18): every client would see every owner's documents; remove the \
                 aggregation, or the auth_field of the resources it reads",
            );
        }
    }
}

/// Whether a stage (at any depth: `$facet` nests pipelines) names one of
/// `collections` as the `from`/`coll` of a `$lookup`, `$graphLookup` or
/// `$unionWith`.
fn reads_collection(value: &bson::Bson, collections: &[&str]) -> bool {
    match value {
        bson::Bson::Document(d) => d.iter().any(|(k, v)| {
            let named = match (k.as_str(), v) {
                ("$lookup" | "$graphLookup", bson::Bson::Document(spec)) => {
                    spec.get_str("from").ok()
                }
                ("$unionWith", bson::Bson::String(s)) => Some(s.as_str()),
                ("$unionWith", bson::Bson::Document(spec)) => spec.get_str("coll").ok(),
                _ => None,
            };
            named.is_some_and(|c| collections.contains(&c)) || reads_collection(v, collections)
        }),
        bson::Bson::Array(items) => items.iter().any(|v| reads_collection(v, collections)),
        _ => false,
    }
}
