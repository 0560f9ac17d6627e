//! Field-level read and write roles (features.md §23.7, product
//! addition, docs/auth.md): a schema field's `allowed_read_roles` hide
//! it from callers without one of them, on every read (here: the
//! projection of item, page and version reads, and the client's `where`,
//! `sort` and `projection`, which may not name it); its
//! `allowed_write_roles` refuse it in writes (the executor's validation).

use bson::{Bson, Document};

use crate::access::Access;
use crate::domain::Resource;
use crate::error::{ApiError, ApiResult};
use crate::plan::{hide_secrets, Plan};
use crate::request::QueryArgs;

/// Refuses (`400`, [`ApiError::HiddenField`]) a client `where`, `sort` or
/// `projection` that names a field `access` may not read: a filter or an
/// order on it would reveal its values, a projection cannot bring it back.
/// A `where` names a field by a key (at any depth: `$and`, `$elemMatch`
/// ...) or by a `$field` path in an `$expr`.
pub fn check_query(access: &Access, res: &Resource, args: &QueryArgs) -> ApiResult<()> {
    let hidden = access.hidden_fields(res);
    if hidden.is_empty() {
        return Ok(());
    }
    let is_hidden = |path: &str| {
        let path = path.trim_start_matches('$');
        let top = path.split('.').next().unwrap_or(path);
        hidden.contains(&top)
    };
    let refuse = |field: &str, param: &str| ApiError::HiddenField {
        field: field.trim_start_matches('$').to_string(),
        param: param.to_string(),
    };
    if let Some(w) = &args.where_ {
        if let Some(field) = named_in(&w.document, &is_hidden) {
            return Err(refuse(&field, "where"));
        }
    }
    if let Some((field, _)) = args.sort.iter().flatten().find(|(f, _)| is_hidden(f)) {
        return Err(refuse(field, "sort"));
    }
    if let Some(p) = &args.projection {
        if let Some(field) = p.keys().find(|k| is_hidden(k)) {
            return Err(refuse(field, "projection"));
        }
    }
    Ok(())
}

/// The first key or `$path` string of `query` (at any depth) that
/// `is_hidden` accepts.
fn named_in(query: &Document, is_hidden: &dyn Fn(&str) -> bool) -> Option<String> {
    fn value(v: &Bson, is_hidden: &dyn Fn(&str) -> bool) -> Option<String> {
        match v {
            Bson::Document(d) => named_in(d, is_hidden),
            Bson::Array(items) => items.iter().find_map(|x| value(x, is_hidden)),
            Bson::String(s) if s.starts_with('$') && !s.starts_with("$$") && is_hidden(s) => {
                Some(s.clone())
            }
            _ => None,
        }
    }
    query.iter().find_map(|(k, v)| {
        if !k.starts_with('$') && is_hidden(k) {
            Some(k.clone())
        } else {
            value(v, is_hidden)
        }
    })
}

/// `projection` with the fields `access` may not read of `res` left out
/// ([`hide_secrets`]).
pub fn hide(projection: Option<Document>, access: &Access, res: &Resource) -> Option<Document> {
    let hidden: Vec<String> = access
        .hidden_fields(res)
        .into_iter()
        .map(str::to_string)
        .collect();
    hide_secrets(projection, &hidden)
}

/// Hides the fields `access` may not read of `res` in the projection of a
/// planned read (item, page, version).
pub fn hide_in_plan(plan: &mut Plan, access: &Access, res: &Resource) {
    let query = match plan {
        Plan::Page(p) => &mut p.query,
        Plan::Item(i) => &mut i.query,
        Plan::Version(v) => &mut v.item.query,
        _ => return,
    };
    query.projection = hide(query.projection.take(), access, res);
}
