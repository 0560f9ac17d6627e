//! Full-text search in a collection read (docs/search.md): the
//! `QUERY_TEXT` parameter (`?q=`) of a resource with `text_query`, and
//! `{"$meta": "textScore"}` in a `projection`. Both end up in the
//! [`TextSearch`] of the request's [`Where`]; the sort form
//! (`{"score": {"$meta": "textScore"}}`) is read by `parse_sort`.

use bson::{Bson, Document};
use eve_query::text::TEXT_SCORE_KEY;
use eve_query::{Filter, QueryError, SortDir, TextSearch};

use crate::domain::Resource;
use crate::error::ApiResult;
use crate::request::{QueryArgs, Where};

fn invalid(message: &str) -> crate::error::ApiError {
    QueryError::Invalid(message.into()).into()
}

/// Adds the `?q=` search (`raw`) of a resource with `text_query` to
/// `query`: as the text search of its `where` (a `where` with its own
/// `$text` is refused: one search per query), ordered by score unless the
/// client sorts.
pub(crate) fn apply_q(res: &Resource, raw: &str, query: &mut QueryArgs) -> ApiResult<()> {
    if !res.text_query {
        return Ok(());
    }
    let search = TextSearch::new(raw);
    search.check()?;
    match &mut query.where_ {
        Some(w) if w.text.is_some() => {
            return Err(invalid(
                "a text search (q) and a $text in where cannot be used together",
            ))
        }
        Some(w) if w.near.is_some() => {
            return Err(invalid("$text and $near cannot be used in one query"))
        }
        Some(w) => w.text = Some(search),
        None => {
            query.where_ = Some(Where {
                document: Document::new(),
                filter: Filter::All,
                near: None,
                text: Some(search),
            })
        }
    }
    if query.sort.is_none() && res.sorting {
        query.sort = Some(vec![(TEXT_SCORE_KEY.to_string(), SortDir::Desc)]);
    }
    Ok(())
}

/// Takes `{"$meta": "textScore"}` entries out of a client projection:
/// the field they name (the last one wins) gets each document's score.
/// Any other `$meta` is refused. The projection left may be empty.
pub(crate) fn take_score_field(projection: &mut Document) -> ApiResult<Option<String>> {
    let mut field = None;
    let metas: Vec<String> = projection
        .iter()
        .filter(|(_, v)| matches!(v, Bson::Document(d) if d.contains_key("$meta")))
        .map(|(k, _)| k.clone())
        .collect();
    for k in metas {
        let Some(Bson::Document(d)) = projection.remove(&k) else {
            continue;
        };
        if d.len() != 1 || d.get_str("$meta").ok() != Some("textScore") {
            return Err(invalid(
                "projection: the only $meta supported is {\"$meta\": \"textScore\"}",
            ));
        }
        if k.is_empty() || k.starts_with('$') || k.contains('.') {
            return Err(invalid(
                "projection: the text score needs a top-level field name",
            ));
        }
        field = Some(k);
    }
    Ok(field)
}

/// Puts the projected score field into the request's text search, or
/// refuses it when the request has none.
pub(crate) fn set_score_field(query: &mut QueryArgs, field: String) -> ApiResult<()> {
    match query.where_.as_mut().and_then(|w| w.text.as_mut()) {
        Some(text) => {
            text.score_field = Some(field);
            Ok(())
        }
        None => Err(invalid(
            "projection {\"$meta\": \"textScore\"} needs a text search ($text or q)",
        )),
    }
}
