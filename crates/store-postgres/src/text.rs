//! Text indexes on PostgreSQL full-text search (docs/search.md).
//!
//! A text index is a table `c{cid}_ix{ixid}(rid, tsv tsvector)` with a GIN
//! index on `tsv`, one row per document, written in the transaction of the
//! document's write. Each indexed field becomes
//! `setweight(to_tsvector(config, text), label)`: the configuration is the
//! document's language (`language_override`, else the index default) as
//! a PostgreSQL text search configuration (`english`, …, `simple` for
//! `none`), so PostgreSQL's Snowball stemmers and stop words apply; the
//! text is folded (diacritics removed) first, as MongoDB folds it. The
//! fields' weights become labels A–D (the largest weight A), and
//! `ts_rank` gets each label's weight, so a PostgreSQL text index takes at
//! most four distinct weights. Searches are built as `tsquery`
//! expressions from bind parameters only (`plainto_tsquery` per word,
//! `phraseto_tsquery` per phrase, `!!` for negations): no client text is
//! ever read as `tsquery` syntax.

use bson::Document;
use deadpool_postgres::Transaction;
use eve_query::text::{fold, TextIndex};
use eve_store::{FindQuery, IndexSpec, StoreError};
use tokio_postgres::types::ToSql;

use crate::error::TxError;

const LABELS: [char; 4] = ['A', 'B', 'C', 'D'];

/// The most text of one document a text index takes, in bytes, shared
/// among its fields: a `tsvector` holds at most 1 MiB, and a document may
/// hold 16 MiB of text. What is beyond is not indexed (docs/search.md).
const MAX_INDEXED_BYTES: usize = 256 * 1024;

/// `text` folded, cut to at most `max` bytes (at a character boundary).
fn folded_prefix(text: &str, max: usize) -> String {
    let mut cut = text.len().min(max);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    fold(&text[..cut], false, false)
}

/// The text index of `spec`, if it is one.
pub(crate) fn text_of(spec: &IndexSpec) -> Option<TextIndex> {
    spec.text_index()
}

/// The distinct weights of `text`, largest first; more than four cannot
/// be ranked by PostgreSQL.
fn distinct_weights(name: &str, text: &TextIndex) -> Result<Vec<u32>, TxError> {
    let mut w: Vec<u32> = text.fields.iter().map(|(_, w)| *w).collect();
    w.sort_unstable_by(|a, b| b.cmp(a));
    w.dedup();
    if w.len() > LABELS.len() {
        return Err(TxError::Store(StoreError::InvalidIndex {
            name: name.into(),
            message: "PostgreSQL ranks at most 4 distinct text weights (labels A-D)".into(),
        }));
    }
    Ok(w)
}

/// Creates the (empty) table and GIN index of a text index.
pub(crate) async fn create(
    tx: &Transaction<'_>,
    table: &str,
    spec: &IndexSpec,
) -> Result<(), TxError> {
    if let Some(text) = spec.text_index() {
        distinct_weights(&spec.name, &text)?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE {table}(rid bigint PRIMARY KEY, tsv tsvector NOT NULL); \
         CREATE INDEX ON {table} USING gin(tsv)"
    ))
    .await?;
    Ok(())
}

/// Indexes documents (`rids[i]` holds `docs[i]`) in the text index
/// `index`: one statement for all of them.
pub(crate) async fn add(
    tx: &Transaction<'_>,
    table: &str,
    spec: &IndexSpec,
    rows: &[(i64, &Document)],
) -> Result<(), TxError> {
    let Some(text) = text_of(spec) else {
        return Ok(());
    };
    let weights = distinct_weights(&spec.name, &text)?;
    let n = text.fields.len();
    let mut rids = Vec::with_capacity(rows.len());
    let mut configs = Vec::with_capacity(rows.len());
    let mut columns: Vec<Vec<String>> = vec![Vec::with_capacity(rows.len()); n];
    for (rid, doc) in rows {
        rids.push(*rid);
        configs.push(text.language_of(doc).pg_config().to_string());
        for (i, t) in text.field_texts(doc).iter().enumerate() {
            columns[i].push(folded_prefix(t, MAX_INDEXED_BYTES / n.max(1)));
        }
    }
    let vector: Vec<String> = text
        .fields
        .iter()
        .enumerate()
        .map(|(i, (_, w))| {
            let label = weights
                .iter()
                .position(|x| x == w)
                .and_then(|p| LABELS.get(p))
                .unwrap_or(&'D');
            format!("setweight(to_tsvector(u.c::regconfig, u.t{i}), '{label}')")
        })
        .collect();
    let arrays: Vec<String> = (0..n).map(|i| format!("${}::text[]", i + 3)).collect();
    let cols: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
    let sql = format!(
        "INSERT INTO {table}(rid, tsv) SELECT u.r, {} FROM unnest($1::bigint[], $2::text[], {}) AS u(r, c, {})",
        vector.join(" || "),
        arrays.join(", "),
        cols.join(", ")
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&rids, &configs];
    params.extend(columns.iter().map(|c| c as &(dyn ToSql + Sync)));
    let st = tx.prepare_cached(&sql).await?;
    tx.execute(&st, &params).await?;
    Ok(())
}

/// Removes the document at `rid` from the text index `index`.
pub(crate) async fn remove(tx: &Transaction<'_>, table: &str, rid: i64) -> Result<(), TxError> {
    let sql = format!("DELETE FROM {table} WHERE rid = $1");
    let st = tx.prepare_cached(&sql).await?;
    tx.execute(&st, &[&rid]).await?;
    Ok(())
}

/// The `tsquery` of a search over bind parameters `$3…` (`$2` is the
/// configuration), with the values to bind; `None` when nothing can match.
fn tsquery(m: &eve_query::text::TextMatcher) -> Option<(String, Vec<String>)> {
    let mut values: Vec<String> = Vec::new();
    let param = |v: &str, values: &mut Vec<String>| {
        values.push(fold(v, false, false));
        format!("${}", values.len() + 2)
    };
    let analyzed = |w: &str| !eve_query::text::analyze(w, m.language).is_empty();
    let positive: Vec<String> = if !m.raw.phrases.is_empty() {
        m.raw
            .phrases
            .iter()
            .filter(|p| analyzed(p))
            .map(|p| {
                format!(
                    "phraseto_tsquery($2::text::regconfig, {})",
                    param(p, &mut values)
                )
            })
            .collect()
    } else {
        m.raw
            .words
            .iter()
            .filter(|w| analyzed(w))
            .map(|w| {
                format!(
                    "plainto_tsquery($2::text::regconfig, {})",
                    param(w, &mut values)
                )
            })
            .collect()
    };
    if positive.is_empty() {
        return None;
    }
    let join = if m.raw.phrases.is_empty() {
        " || "
    } else {
        " && "
    };
    let mut expr = format!("({})", positive.join(join));
    for w in m.raw.negated_words.iter().filter(|w| analyzed(w)) {
        expr = format!(
            "{expr} && !!plainto_tsquery($2::text::regconfig, {})",
            param(w, &mut values)
        );
    }
    for p in m.raw.negated_phrases.iter().filter(|p| analyzed(p)) {
        expr = format!(
            "{expr} && !!phraseto_tsquery($2::text::regconfig, {})",
            param(p, &mut values)
        );
    }
    Some((expr, values))
}

/// Runs a `$text` query: the page and the number of matches.
/// `tables(spec)` names the table of a text index; `docs` is the
/// documents table.
pub(crate) async fn find(
    tx: &Transaction<'_>,
    (specs, tables, docs): (&[&IndexSpec], impl Fn(&IndexSpec) -> String, String),
    query: &FindQuery,
    memory: usize,
) -> Result<(Vec<Document>, u64), TxError> {
    let (spec, text) = eve_store_keys::text::text_index(specs.iter().copied())?;
    let matcher = eve_store_keys::text::matcher(query, &text)?;
    let Some((expr, values)) = tsquery(&matcher).filter(|_| matcher.can_match()) else {
        return Ok((Vec::new(), 0));
    };
    let weights = distinct_weights(&spec.name, &text)?;
    let max = weights.first().copied().unwrap_or(1).max(1);
    // ts_rank's weights are given D, C, B, A.
    let mut rank = [0.1f32; 4];
    for (i, w) in weights.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let v = *w as f32 / max as f32;
        rank[3 - i] = v;
    }
    let rank = rank.to_vec();
    let config = matcher.language.pg_config().to_string();
    let sql = format!(
        "SELECT d.id, d.doc, ts_rank($1::float4[], t.tsv, q.q)::float8 \
         FROM {t} t JOIN {docs} d ON d.id = t.rid, (SELECT {expr} AS q) q \
         WHERE t.tsv @@ q.q ORDER BY d.id",
        t = tables(spec),
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&rank, &config];
    params.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
    let st = tx.prepare_cached(&sql).await?;
    let portal = tx.bind(&st, &params).await?;
    let mut ranker = eve_store_keys::text::Ranker::new(query, &text, &matcher, memory);
    loop {
        let rows = tx.query_portal(&portal, 512).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let bytes: Vec<u8> = row.try_get(1)?;
            let score: f64 = row.try_get(2)?;
            let doc: Document = eve_store_keys::storable::decode(&bytes)?;
            ranker.push(doc, bytes.len(), score)?;
        }
    }
    Ok(ranker.finish())
}
