//! `2dsphere` and `2d` indexes on PostgreSQL: a side table of each
//! document's bounding box at the indexed field (`box`, with a GiST index),
//! written in the document's transaction. A `$near` with a `$maxDistance`
//! reads only the documents whose box meets the search's box, then the
//! shared evaluator checks and measures them (`eve_store::near`), as on
//! the embedded store (docs/geo.md).

use bson::Document;
use deadpool_postgres::Transaction;
use eve_query::{Filter, Near};

use crate::catalog::{CollMeta, IndexMeta, Names};
use crate::error::TxError;

pub(crate) use eve_store_keys::catalog::geo_field;

/// Creates the box table of a new geo index and its GiST index.
pub(crate) async fn create(tx: &Transaction<'_>, table: &str) -> Result<(), TxError> {
    tx.batch_execute(&format!(
        "CREATE TABLE {table}(rid bigint PRIMARY KEY, bbox box NOT NULL); \
         CREATE INDEX ON {table} USING gist (bbox);"
    ))
    .await?;
    Ok(())
}

/// Records the box of `doc` (nothing when it has no location there).
pub(crate) async fn add(
    tx: &Transaction<'_>,
    names: &Names,
    cid: i64,
    index: &IndexMeta,
    rid: i64,
    doc: &Document,
) -> Result<(), TxError> {
    let Some(field) = geo_field(&index.spec) else {
        return Ok(());
    };
    let Some([min_x, min_y, max_x, max_y]) = Near::field_bounds(doc, field) else {
        return Ok(());
    };
    let sql = format!(
        "INSERT INTO {}(rid, bbox) VALUES ($1, box(point($2, $3), point($4, $5)))",
        names.index(cid, index.ixid)
    );
    let st = tx.prepare_cached(&sql).await?;
    tx.execute(&st, &[&rid, &min_x, &min_y, &max_x, &max_y])
        .await?;
    Ok(())
}

/// Forgets the box of the document at `rid`.
pub(crate) async fn remove(
    tx: &Transaction<'_>,
    names: &Names,
    cid: i64,
    index: &IndexMeta,
    rid: i64,
) -> Result<(), TxError> {
    let sql = format!(
        "DELETE FROM {} WHERE rid = $1",
        names.index(cid, index.ixid)
    );
    let st = tx.prepare_cached(&sql).await?;
    tx.execute(&st, &[&rid]).await?;
    Ok(())
}

/// The `$near` candidates through a geo index on the search's field, when
/// the search has a `$maxDistance` and the collection such an index:
/// documents whose box meets the search box and that match `filter`, in
/// natural order, at most `want`. `None`: no index applies.
pub(crate) async fn near_candidates(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    near: &Near,
    filter: &Filter,
    want: usize,
) -> Result<Option<Vec<Document>>, TxError> {
    let Some(index) = meta
        .indexes
        .iter()
        .find(|i| geo_field(&i.spec) == Some(near.field.as_str()))
    else {
        return Ok(None);
    };
    let Some([min_x, min_y, max_x, max_y]) = near.search_box() else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT d.doc FROM {docs} d JOIN {boxes} g ON g.rid = d.id \
         WHERE g.bbox && box(point($1, $2), point($3, $4)) ORDER BY d.id",
        docs = names.docs(meta.cid),
        boxes = names.index(meta.cid, index.ixid)
    );
    let st = tx.prepare_cached(&sql).await?;
    let portal = tx.bind(&st, &[&min_x, &min_y, &max_x, &max_y]).await?;
    let mut out = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 256).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let bytes: Vec<u8> = row.try_get(0)?;
            let doc: Document = eve_store_keys::storable::decode(&bytes)?;
            if filter.matches(&doc) {
                out.push(doc);
                if out.len() >= want {
                    return Ok(Some(out));
                }
            }
        }
    }
    Ok(Some(out))
}
