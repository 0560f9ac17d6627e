//! Who is asking: the [`Access`] value the authorize stage produces and the
//! executor, the hooks and the data API carry. Until authentication is
//! built every request is [`Access::anonymous`].

use bson::Bson;

/// What a request may see and do. Every part is empty for an anonymous
/// request; the auth issue fills them in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Access {
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// The user's roles.
    pub roles: Vec<String>,
    /// The field holding a document's owner (`auth_field`), when reads and
    /// writes are restricted to the user's own documents.
    pub owner_field: Option<String>,
    /// The value `owner_field` must hold.
    pub owner_value: Option<Bson>,
    /// The database prefix (`mongo_prefix`) of the data layer to use.
    pub db_prefix: Option<String>,
}

impl Access {
    /// No user, no roles, no owner restriction, the default data layer.
    pub fn anonymous() -> Access {
        Access::default()
    }

    /// Whether nothing is known about the requester.
    pub fn is_anonymous(&self) -> bool {
        *self == Access::default()
    }
}
