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

/// The executor and the data API, with an auth value set directly.
mod executor;
/// The matrix over HTTP, with the built-in `basic` provider.
mod http;

/// Settings shared by the modules: notes owned by their authors (the
/// owner field not in the schema), topics owned too (embedded from notes),
/// a versioned resource, a soft-delete resource, and the oplog endpoint,
/// restricted by the global `AUTH_FIELD`.
pub const SETTINGS: &str = r#"
AUTH_FIELD: owner
OPLOG: true
OPLOG_ENDPOINT: oplog
RESOURCE_METHODS: [GET, POST, DELETE]
ITEM_METHODS: [GET, PATCH, PUT, DELETE]
DOMAIN:
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
  open:
    auth_field: null
    schema:
      text: {type: string}
"#;
