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
