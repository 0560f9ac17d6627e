//! The two authentication stages of the pipeline (features.md §23):
//! [`identify`] verifies the credentials a request carries (if any) and
//! records the caller in the request's `Access`; [`decide`] then answers
//! `401`/`403` when the endpoint needs credentials the caller does not
//! have. Rate limiting runs between the two, keyed on the identity.

use axum::http::HeaderValue;
use axum::response::Response;
use eve_auth::{AuthRequest, Verdict};
use eve_core::auth::Requirement;
use eve_core::ApiError;

use crate::context::Ctx;

/// Eve's message for missing or wrong credentials (§23.4).
pub(crate) const UNAUTHORIZED: &str = "Please provide proper credentials";

/// What identification found: the requirement of the endpoint, the
/// provider's verdict (`None`: no provider consulted) and its realm.
#[derive(Debug)]
pub(crate) struct Identified {
    requirement: Requirement,
    verdict: Option<Verdict>,
    realm: String,
}

/// Why a request is refused by [`decide`].
#[derive(Debug)]
pub(crate) struct Denied {
    /// The error answered (401, 403 or an internal error).
    pub error: ApiError,
    /// The `WWW-Authenticate` challenge of a 401.
    pub challenge: Option<String>,
}

/// Adds a 401's `WWW-Authenticate` challenge to the rendered answer.
pub(crate) fn add_challenge(resp: &mut Response, challenge: Option<&str>) {
    if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().insert("www-authenticate", v);
    }
}

/// IDENTIFY: asks the endpoint's provider (if any) about the request's
/// credentials and records a verified caller in `ctx.access` (user or
/// token, roles, auth value, database prefix). Credentials on a public
/// method are verified too (the identity then keys rate limits), but a
/// failure there refuses nothing.
pub(crate) async fn identify(
    ctx: &mut Ctx,
    requirement: Requirement,
    resource: Option<&str>,
    path: &str,
) -> Identified {
    let state = ctx.state.clone();
    let Some(name) = requirement.provider.as_deref() else {
        return Identified {
            requirement,
            verdict: None,
            realm: String::new(),
        };
    };
    let Some(provider) = state.providers.get(name) else {
        // Resolved at start-up; unreachable, but never an open door.
        return Identified {
            verdict: Some(Verdict::Failed(format!("no provider named '{name}'"))),
            requirement,
            realm: "eve".into(),
        };
    };
    let verdict = provider
        .check(&AuthRequest {
            method: ctx.method.as_str(),
            path,
            headers: &ctx.headers,
            body: &ctx.body,
            resource,
            allowed_roles: &requirement.allowed_roles,
            executor: &state.exec,
        })
        .await;
    if let Some(identity) = verdict.identity() {
        let a = &mut ctx.access;
        a.user = Some(identity.user.clone());
        a.roles = identity.roles.clone();
        a.owner_value = identity.auth_value.clone();
        a.db_prefix = identity.db_prefix.clone();
    }
    Identified {
        requirement,
        verdict: Some(verdict),
        realm: provider.realm().to_string(),
    }
}

/// DECIDE: whether the request may go on. Public methods and endpoints
/// without a provider always may; otherwise no or wrong credentials get
/// `401` with `WWW-Authenticate: Basic realm="<realm>"`, a known caller
/// without a required role `403`.
pub(crate) fn decide(identified: &Identified) -> Result<(), Denied> {
    if !identified.requirement.needs_credentials() {
        return Ok(());
    }
    let unauthorized = || Denied {
        error: ApiError::Abort {
            status: 401,
            message: Some(UNAUTHORIZED.into()),
        },
        challenge: Some(format!("Basic realm=\"{}\"", identified.realm)),
    };
    match &identified.verdict {
        Some(Verdict::Allowed(_)) => Ok(()),
        Some(Verdict::Forbidden(_)) => Err(Denied {
            error: ApiError::Abort {
                status: 403,
                message: None,
            },
            challenge: None,
        }),
        Some(Verdict::Failed(why)) => Err(Denied {
            error: ApiError::Internal(format!("authentication failed: {why}")),
            challenge: None,
        }),
        Some(Verdict::Anonymous | Verdict::Refused) | None => Err(unauthorized()),
    }
}
