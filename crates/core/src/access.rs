//! Who is asking: the [`Access`] value the authorize stage produces and
//! the plan and the executor read. Without authentication every request
//! is [`Access::anonymous`]: no user, no roles, no owner restriction, the
//! default database.
//!
//! User-restricted resource access (features.md §23.6, docs/auth-field.md)
//! is decided here, per resource: a resource with an `auth_field` is
//! restricted to the documents whose `auth_field` holds the request's auth
//! value ([`Access::owner_value`]), unless no value was set or the
//! request's method is public on that resource ([`Via`]). Every read,
//! edit and delete of a resource asks [`Access::owner_filter_for`] (the
//! plan's `scope_filter` does), so a related resource (embedding,
//! `data_relation`) gets its own `auth_field`, not the requested one's.

use bson::Bson;
use eve_query::Filter;

use crate::domain::Resource;

/// How a request reaches resources: its method and whether it names an
/// item endpoint. It decides which of a resource's public lists
/// (`public_methods` or `public_item_methods`) lifts that resource's
/// `auth_field` restriction (features.md §23.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The upper-case method name (`GET`, `HEAD`, `POST`, ...).
    pub method: String,
    /// Whether the request names an item (`public_item_methods` applies)
    /// rather than a collection (`public_methods`).
    pub item: bool,
}

/// What a request may see and do. Built once per request by the pipeline
/// and passed to [`plan`](crate::plan::plan) and to execution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// The user's roles.
    pub roles: Vec<String>,
    /// The field holding a document's owner in the resource the request
    /// names (its `auth_field`), when that resource is restricted to the
    /// user's own documents: set by [`Access::restricted_to`]. Reads and
    /// writes of any resource ask [`Access::owner_field_for`], which
    /// decides for that resource.
    pub owner_field: Option<String>,
    /// The request's auth value (`set_request_auth_value`): what a
    /// resource's `auth_field` must hold, and what POST and PUT store in
    /// it. `None`: no restriction anywhere.
    pub owner_value: Option<Bson>,
    /// The request's method and endpoint kind, for the public-method
    /// exemption; `None` (the data API, tools): no method is public, the
    /// restriction always applies when there is an auth value.
    pub via: Option<Via>,
    /// The database prefix (`mongo_prefix`) naming the data layer to use;
    /// `None` for the default one.
    pub db_prefix: Option<String>,
    /// The client's IP address: the connection's peer, or the
    /// `X-Forwarded-For` client when the peer is a trusted proxy
    /// ([`crate::proxy::client_ip`]); `None` when unknown. It is what the
    /// oplog records, not an identity: [`Access::is_anonymous`] ignores it.
    pub client_ip: Option<String>,
}

impl Access {
    /// No user, no roles, no owner restriction, the default data layer.
    pub fn anonymous() -> Access {
        Access::default()
    }

    /// Whether nothing is known about the requester.
    pub fn is_anonymous(&self) -> bool {
        Access {
            client_ip: None,
            via: None,
            ..self.clone()
        } == Access::default()
    }

    /// The filter restricting every read and write to the requester's own
    /// documents: `owner_field == owner_value` when both are known,
    /// otherwise no restriction.
    pub fn owner_filter(&self) -> Filter {
        match (&self.owner_field, &self.owner_value) {
            (Some(field), Some(value)) => Filter::eq(field.clone(), value.clone()),
            _ => Filter::All,
        }
    }

    /// The field restricting `res` to the requester's documents: its
    /// `auth_field` when an auth value is set and the request's method is
    /// not public on `res` (features.md §23.6); `None` otherwise.
    pub fn owner_field_for<'r>(&self, res: &'r Resource) -> Option<&'r str> {
        self.owner_value.as_ref()?;
        let field = res.auth_field.as_deref()?;
        match &self.via {
            Some(via) if is_public(res, via) => None,
            _ => Some(field),
        }
    }

    /// `owner_field_for(res) == owner_value`, or no restriction: the
    /// filter every scope of `res` carries (`plan::scope_filter`).
    pub fn owner_filter_for(&self, res: &Resource) -> Filter {
        match (self.owner_field_for(res), &self.owner_value) {
            (Some(field), Some(value)) => Filter::eq(field, value.clone()),
            _ => Filter::All,
        }
    }

    /// The field and value a write to `res` stores in every document it
    /// writes (POST, PUT, PUT upserts, oplog entries): `res`'s restricting
    /// field ([`Access::owner_field_for`]) and the auth value. A method
    /// public on `res` neither filters nor stamps (in Eve it authenticates
    /// nobody, so it has no auth value).
    pub fn owner_stamp<'a>(&'a self, res: &'a Resource) -> Option<(&'a str, &'a Bson)> {
        Some((self.owner_field_for(res)?, self.owner_value.as_ref()?))
    }

    /// This access for a request naming `res` by `via`: [`Access::via`]
    /// set and [`Access::owner_field`] decided for `res`.
    pub fn restricted_to(mut self, res: &Resource, via: Via) -> Access {
        self.via = Some(via);
        self.owner_field = self.owner_field_for(res).map(str::to_string);
        self
    }

    /// Whether the caller holds one of `roles` (a field-level role list,
    /// features.md §23.7): an empty list asks for nothing, and a caller
    /// with neither method nor user (the data API, tools run by the
    /// operator) is trusted.
    pub fn holds_field_role(&self, roles: &[String]) -> bool {
        roles.is_empty()
            || (self.via.is_none() && self.user.is_none())
            || roles.iter().any(|r| self.roles.contains(r))
    }

    /// The fields of `res` the caller may not read (their
    /// `allowed_read_roles`): left out of every answer, refused in
    /// `where`, `sort` and `projection`.
    pub fn hidden_fields<'r>(&self, res: &'r Resource) -> Vec<&'r str> {
        res.field_roles
            .iter()
            .filter(|f| !self.holds_field_role(&f.read))
            .map(|f| f.field.as_str())
            .collect()
    }

    /// The fields of `res` the caller may not write (their
    /// `allowed_write_roles`): a write sending one answers 422.
    pub fn unwritable_fields<'r>(&self, res: &'r Resource) -> Vec<&'r str> {
        res.field_roles
            .iter()
            .filter(|f| !self.holds_field_role(&f.write))
            .map(|f| f.field.as_str())
            .collect()
    }

    /// This access reading other resources (embedded documents,
    /// `data_relation` look-ups): a reference or an embedded document
    /// reveals what a `GET` of its resource would, no more.
    pub fn as_reader(&self) -> Access {
        let mut reader = self.clone();
        if let Some(via) = &mut reader.via {
            via.method = "GET".into();
        }
        reader
    }
}

/// Whether `via`'s method is public on `res` (its `public_methods` for a
/// collection request, `public_item_methods` for an item one).
fn is_public(res: &Resource, via: &Via) -> bool {
    let public = if via.item {
        &res.access.public_item_methods
    } else {
        &res.access.public_methods
    };
    public.contains(&via.method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_access_restricts_nothing() {
        let access = Access::anonymous();
        assert!(access.is_anonymous());
        assert_eq!(access.owner_filter(), Filter::All);
        // The client's address is not an identity.
        let from = Access {
            client_ip: Some("10.0.0.1".into()),
            ..Access::anonymous()
        };
        assert!(from.is_anonymous());
    }

    #[test]
    fn an_owner_restricts_to_their_documents() {
        let access = Access {
            user: Some("ann".into()),
            owner_field: Some("owner".into()),
            owner_value: Some(Bson::String("ann".into())),
            ..Access::default()
        };
        assert!(!access.is_anonymous());
        assert_eq!(
            access.owner_filter(),
            Filter::Field {
                path: "owner".into(),
                cond: eve_query::Cond::Eq(Bson::String("ann".into())),
            }
        );
    }
}
