//! User-restricted resource access (features.md §23.6, issue #18,
//! docs/auth-field.md): a resource with an `auth_field` shows each user
//! only the documents holding their auth value, and POST and PUT store
//! that value. User A can neither read, list, count, embed, version, edit,
//! replace nor delete user B's documents, by any path.
//!
//! `executor` drives the executor and the data API with an `Access`
//! carrying an auth value (what an authentication provider sets); the
//! HTTP matrix drives the same over requests. Both run on every data
//! layer (`EVE_TEST_BACKEND`).

/// Aggregation endpoints over user-restricted collections, over HTTP.
mod aggregation;
/// The executor and the data API, with an auth value set directly.
mod executor;
/// The matrix over HTTP, with the built-in `basic` provider.
mod http;

/// Settings shared by the modules: accounts for the `basic` provider
/// (not restricted themselves; `{OWNER}` is `AUTH.owner_field`), notes
/// (versioned, a per-user unique code, a reference to topics, the owner
/// field not in the schema), topics, soft-deleted drafts, posts with
/// public reads, a resource shared by everyone and the oplog endpoint,
/// restricted by the global `AUTH_FIELD`.
const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
AUTH: {type: basic, accounts: accounts, owner_field: {OWNER}}
AUTH_FIELD: owner
OPLOG: true
OPLOG_ENDPOINT: oplog
DOMAIN:
  accounts:
    auth_field: null
    schema:
      username: {type: string, required: true, unique: true}
      password: {type: string}
      roles: {type: list}
  notes:
    versioning: true
    schema:
      text: {type: string}
      code: {type: string, unique_to_user: true}
      topic: {type: objectid, data_relation: {resource: topics, embeddable: true}}
  topics:
    schema:
      name: {type: string}
  drafts:
    soft_delete: true
    schema:
      text: {type: string}
  posts:
    public_methods: [GET]
    public_item_methods: [GET]
    schema:
      title: {type: string}
  open:
    auth_field: null
    schema:
      text: {type: string}
"#;

/// [`SETTINGS`] with the accounts' `owner_field`.
pub fn settings(owner_field: &str) -> String {
    SETTINGS.replace("{OWNER}", owner_field)
}
