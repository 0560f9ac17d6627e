//! Who is asking: the [`Access`] value the authorize stage produces and
//! the plan and the executor read. Until authentication is built (its own
//! issue), every request is [`Access::anonymous`]: no user, no roles, no
//! owner restriction, the default database.

use bson::Bson;
use eve_query::Filter;

/// What a request may see and do. Built once per request by the pipeline
/// and passed to [`plan`](crate::plan::plan) and to execution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// The user's roles.
    pub roles: Vec<String>,
    /// The field holding a document's owner (`auth_field`), when reads and
    /// writes are restricted to the user's own documents.
    pub owner_field: Option<String>,
    /// The value `owner_field` must hold (the user's `request_auth_value`).
    pub owner_value: Option<Bson>,
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
