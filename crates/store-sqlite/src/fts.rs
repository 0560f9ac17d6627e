//! Text indexes on SQLite FTS5 (docs/search.md).
//!
//! A text index is a contentless FTS5 table `c{cid}_fts{ixid}` with one
//! column per indexed field, keyed by the document's rowid and written in
//! the same savepoint as the document (insert, rewrite, delete). FTS5's
//! own tokenizers stem English only, so the text is analyzed here, in the
//! document's language ([`eve_query::text::analyze`]: folding, stop words,
//! Snowball stems), and FTS5 stores the resulting terms (`unicode61`
//! splits them on the spaces between them and changes nothing else).
//! Searches build the FTS5 query from quoted terms only, so no client
//! text is ever read as FTS5 syntax; `bm25` with the fields' weights
//! scores the matches (the score is `-bm25`: higher is better).

use bson::Document;
use eve_query::text::{analyze, TextIndex, TextMatcher, TEXT_SCORE_KEY};
use eve_query::{Filter, SortDir};
use eve_store::{FindQuery, StoreResult};
use eve_store_keys::text::Ranker;
use rusqlite::Connection;

use crate::catalog::{fts_table as table, CollMeta, IndexMeta};
use crate::error::sql_err;
use crate::query::load_doc;

/// Indexes `doc` (stored at `rowid`) in the text index `index`.
pub(crate) fn add(
    conn: &Connection,
    cid: i64,
    index: &IndexMeta,
    text: &TextIndex,
    rowid: i64,
    doc: &Document,
) -> StoreResult<()> {
    let lang = text.language_of(doc);
    let columns: Vec<String> = text
        .field_texts(doc)
        .iter()
        .map(|t| analyze(t, lang).join(" "))
        .collect();
    if columns.iter().all(String::is_empty) {
        return Ok(());
    }
    let names: Vec<String> = (0..columns.len()).map(|i| format!("f{i}")).collect();
    let marks: Vec<String> = (0..columns.len()).map(|i| format!("?{}", i + 2)).collect();
    let sql = format!(
        "INSERT INTO {}(rowid, {}) VALUES (?1, {})",
        table(cid, index.ixid),
        names.join(", "),
        marks.join(", ")
    );
    let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&rowid];
    params.extend(columns.iter().map(|c| c as &dyn rusqlite::ToSql));
    st.execute(params.as_slice()).map_err(sql_err)?;
    Ok(())
}

/// Removes the document at `rowid` from the text index `index`.
pub(crate) fn remove(
    conn: &Connection,
    cid: i64,
    index: &IndexMeta,
    rowid: i64,
) -> StoreResult<()> {
    let sql = format!("DELETE FROM {} WHERE rowid = ?1", table(cid, index.ixid));
    conn.prepare_cached(&sql)
        .and_then(|mut st| st.execute([rowid]))
        .map(|_| ())
        .map_err(sql_err)
}

/// An FTS5 string literal: the term in double quotes, inner quotes
/// doubled. Terms are letters and digits only, but quoting every one means
/// no text can ever be read as an operator.
fn quoted(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

fn phrase(terms: &[String]) -> String {
    quoted(&terms.join(" "))
}

/// The FTS5 query of a search: the phrases ANDed (or else the words
/// ORed), minus each negated word and phrase. `None` when nothing can
/// match.
pub(crate) fn match_expression(m: &TextMatcher) -> Option<String> {
    let positive = if !m.raw.phrases.is_empty() {
        if m.phrases.is_empty() {
            // Phrases of stop words only: FTS5 cannot find them, and every
            // document may hold them; the exact check decides.
            return None;
        }
        m.phrases
            .iter()
            .map(|p| phrase(p))
            .collect::<Vec<_>>()
            .join(" AND ")
    } else if m.words.is_empty() {
        return None;
    } else {
        m.words
            .iter()
            .map(|w| quoted(w))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let mut expr = format!("({positive})");
    for w in &m.negated_words {
        expr = format!("{expr} NOT {}", quoted(w));
    }
    for p in &m.negated_phrases {
        expr = format!("{expr} NOT {}", phrase(p));
    }
    Some(expr)
}

/// Runs a `$text` query: the page and the number of matches.
pub(crate) fn find(
    conn: &Connection,
    meta: &CollMeta,
    query: &FindQuery,
    memory: usize,
) -> StoreResult<(Vec<Document>, u64)> {
    let specs = meta.indexes.iter().map(|i| &i.spec);
    let (spec, text) = eve_store_keys::text::text_index(specs)?;
    let Some(index) = meta.indexes.iter().find(|i| i.spec.name == spec.name) else {
        return Ok((Vec::new(), 0));
    };
    let matcher = eve_store_keys::text::matcher(query, &text)?;
    let Some(expr) = match_expression(&matcher).filter(|_| matcher.can_match()) else {
        return Ok((Vec::new(), 0));
    };
    let weights: Vec<String> = text.fields.iter().map(|(_, w)| w.to_string()).collect();
    let t = table(meta.cid, index.ixid);
    if let Some(order) = index_order(query, &matcher) {
        return index_page(
            conn,
            meta,
            query,
            (&t, &weights, order),
            (&text, &matcher, &expr),
            memory,
        );
    }
    let sql = format!(
        "SELECT rowid, bm25({t}, {}) FROM {t} WHERE {t} MATCH ?1 ORDER BY rowid",
        weights.join(", ")
    );
    let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
    let hits: Vec<(i64, f64)> = st
        .query_map([&expr], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    let candidates =
        hits.into_iter()
            .filter_map(|(rowid, bm25)| match load_doc(conn, meta, rowid) {
                Ok(Some((doc, size))) => Some(Ok((doc, size, -bm25))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            });
    eve_store_keys::text::rank_page(candidates, query, &text, &matcher, memory)
}

/// The order of a search the FTS5 table answers alone, `None` when
/// documents must be read to decide: there is no other filter, the
/// matcher needs no exact check, and the order is the score's or none.
fn index_order(query: &FindQuery, matcher: &TextMatcher) -> Option<&'static str> {
    if !matches!(query.filter, Filter::All) || !matcher.index_decides() {
        return None;
    }
    match query.sort.as_slice() {
        // Natural order, as the ranker keeps it.
        [] => Some("rowid"),
        // Best score first, ties in natural order (the ranker's top-k is
        // stable); the score is -bm25.
        [(key, SortDir::Desc)] if key == TEXT_SCORE_KEY => Some("bm25({t}, {w}), rowid"),
        _ => None,
    }
}

/// A page read through the FTS5 table alone: the window in the index's
/// order, the count from the index, and only the page's documents loaded
/// (a word every document holds costs a page, not the collection).
fn index_page(
    conn: &Connection,
    meta: &CollMeta,
    query: &FindQuery,
    (t, weights, order): (&str, &[String], &str),
    (text, matcher, expr): (&TextIndex, &TextMatcher, &str),
    memory: usize,
) -> StoreResult<(Vec<Document>, u64)> {
    let docs = meta.docs_table();
    let count_sql =
        format!("SELECT count(*) FROM {t} JOIN {docs} d ON d.rowid = {t}.rowid WHERE {t} MATCH ?1");
    let total: i64 = conn
        .prepare_cached(&count_sql)
        .and_then(|mut st| st.query_row([expr], |r| r.get(0)))
        .map_err(sql_err)?;
    let limit = query
        .limit
        .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let skip = i64::try_from(query.skip).unwrap_or(i64::MAX);
    let order = order.replace("{t}", t).replace("{w}", &weights.join(", "));
    let sql = format!(
        "SELECT rowid, bm25({t}, {}) FROM {t} WHERE {t} MATCH ?1 ORDER BY {order} LIMIT ?2 OFFSET ?3",
        weights.join(", ")
    );
    let mut st = conn.prepare_cached(&sql).map_err(sql_err)?;
    let hits: Vec<(i64, f64)> = st
        .query_map(rusqlite::params![expr, limit, skip], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    // The ranker projects the page and adds the score; the window is
    // already taken.
    let mut window = query.clone();
    window.skip = 0;
    window.limit = None;
    let mut ranker = Ranker::new(&window, text, matcher, memory);
    for (rowid, bm25) in hits {
        if let Some((doc, size)) = load_doc(conn, meta, rowid)? {
            ranker.push(doc, size, -bm25)?;
        }
    }
    let (page, _) = ranker.finish();
    Ok((page, u64::try_from(total).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eve_query::text::{Language, TextSearch};

    #[test]
    fn fts5_queries_quote_every_term() {
        let index = TextIndex {
            fields: vec![("a".into(), 1)],
            default_language: Language::English,
            language_override: "language".into(),
        };
        let m = |s: &str| {
            TextMatcher::new(&TextSearch::new(s), &index)
                .ok()
                .and_then(|m| match_expression(&m))
        };
        assert_eq!(
            m("coffee shops").as_deref(),
            Some("(\"coffe\" OR \"shop\")")
        );
        assert_eq!(
            m("\"fair trade\" -decaf -\"instant mix\"").as_deref(),
            Some("(\"fair trade\") NOT \"decaf\" NOT \"instant mix\"")
        );
        // FTS5 syntax comes out as quoted words; `a`, `or` and `y` are
        // English stop words (NLTK's list) and drop out.
        assert_eq!(
            m("NEAR(a b) OR * ^x:y").as_deref(),
            Some("(\"near\" OR \"b\" OR \"x\")")
        );
        assert_eq!(m("-only"), None);
    }
}
