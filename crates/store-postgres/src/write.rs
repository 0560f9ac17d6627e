//! The write operations of a batch, inside its one transaction.
//!
//! Index maintenance is explicit, as in the embedded store: a document's
//! entries are computed from its content
//! ([`eve_store_keys::keys::index_entries`]); they are inserted after the
//! document and deleted (recomputed from the stored document) before it
//! changes. A unique index's table refuses a second entry through its
//! primary key, which is how `DuplicateKey` arises, atomically.

use bson::{Bson, Document};
use deadpool_postgres::Transaction;
use eve_query::Filter;
use eve_store::{BatchResult, OpResult, StoreError, WriteBatch, WriteOp};
use eve_store_keys::keys::{index_entries, key_text};
use eve_store_keys::update::{apply_update, check_id, with_id_first};

use crate::catalog::{self, CollMeta, Names};
use crate::error::{is_unique_violation, TxError};
use crate::read;

/// Why inserting a document's index entries failed.
pub(crate) enum EntryError {
    /// A unique index (named first) already holds one of the keys.
    Duplicate(String, String),
    /// Anything else.
    Other(TxError),
}

impl From<tokio_postgres::Error> for EntryError {
    fn from(e: tokio_postgres::Error) -> Self {
        EntryError::Other(TxError::Pg(e))
    }
}

impl EntryError {
    fn at(self, position: usize) -> TxError {
        match self {
            EntryError::Duplicate(index_name, message) => {
                TxError::Store(StoreError::DuplicateKey {
                    index: position,
                    message,
                    op: 0,
                    index_name,
                })
            }
            EntryError::Other(e) => e,
        }
    }
}

/// Inserts the index entries of the document stored at `rid`.
pub(crate) async fn add_entries(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &mut CollMeta,
    rid: i64,
    doc: &Document,
) -> Result<(), EntryError> {
    let cid = meta.cid;
    for index in &mut meta.indexes {
        if crate::text::text_of(&index.spec).is_some() {
            crate::text::add(
                tx,
                &names.index(cid, index.ixid),
                &index.spec,
                &[(rid, doc)],
            )
            .await
            .map_err(EntryError::Other)?;
            continue;
        }
        if !eve_store_keys::plan::has_key_entries(&index.spec) {
            crate::geoindex::add(tx, names, cid, index, rid, doc)
                .await
                .map_err(EntryError::Other)?;
            continue;
        }
        let fields: Vec<&str> = index.spec.keys.iter().map(|(f, _)| f.as_str()).collect();
        let (keys, multikey) = index_entries(doc, fields, index.spec.sparse).map_err(|e| {
            EntryError::Other(TxError::Store(StoreError::InvalidQuery(format!(
                "index {}: {}",
                index.spec.name, e.0
            ))))
        })?;
        if multikey && !index.multikey {
            catalog::set_multikey(tx, names, index)
                .await
                .map_err(EntryError::Other)?;
            index.multikey = true;
        }
        if keys.is_empty() {
            continue;
        }
        // A savepoint would be needed to go on after a violation; nothing
        // goes on (the batch fails), so the statement runs bare.
        let sql = format!(
            "INSERT INTO {}(key, rid) SELECT k, $2 FROM unnest($1::bytea[]) AS k",
            names.index(cid, index.ixid)
        );
        let st = tx.prepare_cached(&sql).await?;
        if let Err(e) = tx.execute(&st, &[&keys, &rid]).await {
            if is_unique_violation(&e) {
                return Err(EntryError::Duplicate(
                    index.spec.name.clone(),
                    format!(
                        "E11000 duplicate key error index: {} dup key: {}",
                        index.spec.name,
                        key_text(doc, &index.spec)
                    ),
                ));
            }
            return Err(e.into());
        }
    }
    Ok(())
}

/// Deletes the index entries of the document stored at `rid`.
async fn remove_entries(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &CollMeta,
    rid: i64,
    doc: &Document,
) -> Result<(), TxError> {
    for index in &meta.indexes {
        if crate::text::text_of(&index.spec).is_some() {
            crate::text::remove(tx, &names.index(meta.cid, index.ixid), rid).await?;
            continue;
        }
        if !eve_store_keys::plan::has_key_entries(&index.spec) {
            if crate::geoindex::geo_field(&index.spec).is_some() {
                crate::geoindex::remove(tx, names, meta.cid, index, rid).await?;
            }
            continue;
        }
        let fields: Vec<&str> = index.spec.keys.iter().map(|(f, _)| f.as_str()).collect();
        // The document was indexed when stored, so its keys compute again;
        // should they not, there is nothing of it to remove.
        let Ok((keys, _)) = index_entries(doc, fields, index.spec.sparse) else {
            continue;
        };
        let sql = format!(
            "DELETE FROM {} WHERE rid = $2 AND key = ANY($1::bytea[])",
            names.index(meta.cid, index.ixid)
        );
        let st = tx.prepare_cached(&sql).await?;
        tx.execute(&st, &[&keys, &rid]).await?;
    }
    Ok(())
}

/// How many documents a write matched and changed.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    matched: u64,
    modified: u64,
}

/// Applies every write of `batch` in order inside `tx`; the first failure
/// fails the whole batch (the caller rolls the transaction back).
///
/// With `bulk`, inserts of several documents take the fast path
/// ([`insert_bulk`]); any failure there is [`TxError::NeedsExactPath`],
/// and the caller runs the batch again without `bulk`.
pub(crate) async fn apply(
    tx: &Transaction<'_>,
    names: &Names,
    batch: &WriteBatch,
    bulk: bool,
) -> Result<BatchResult, TxError> {
    let mut ops = Vec::with_capacity(batch.steps.len());
    for (position, step) in batch.steps.iter().enumerate() {
        let result = run(tx, names, &step.op, bulk)
            .await
            .map_err(|e| name_op(e, position))?;
        if step.requires_match() && result.matched == 0 {
            return Err(TxError::Store(StoreError::Conflict {
                op: position,
                message: eve_store_keys::catalog::describe_op(&step.op),
            }));
        }
        ops.push(result);
    }
    Ok(BatchResult { ops })
}

/// Puts the write's position into the errors that name one.
fn name_op(e: TxError, position: usize) -> TxError {
    match e {
        TxError::Store(StoreError::DuplicateKey {
            index,
            message,
            index_name,
            ..
        }) => TxError::Store(StoreError::DuplicateKey {
            index,
            message,
            op: position,
            index_name,
        }),
        other => other,
    }
}

async fn run(
    tx: &Transaction<'_>,
    names: &Names,
    op: &WriteOp,
    bulk: bool,
) -> Result<OpResult, TxError> {
    let counted = |c: Counts| OpResult {
        inserted_ids: Vec::new(),
        matched: c.matched,
        modified: c.modified,
    };
    Ok(match op {
        WriteOp::Insert { collection, docs } => OpResult {
            inserted_ids: if bulk && docs.len() > 1 {
                insert_bulk(tx, names, collection, docs)
                    .await
                    .map_err(|e| match e {
                        // Retryable conflicts stay retryable; anything
                        // else is decided by the exact path.
                        e if e.is_retryable() => e,
                        _ => TxError::NeedsExactPath,
                    })?
            } else {
                insert(tx, names, collection, docs).await?
            },
            ..OpResult::default()
        },
        WriteOp::Replace {
            collection,
            filter,
            doc,
        } => counted(replace_one(tx, names, collection, filter, doc).await?),
        WriteOp::Update {
            collection,
            filter,
            set,
            unset,
            many,
        } => counted(update(tx, names, collection, filter, (set, unset), *many).await?),
        WriteOp::Delete {
            collection,
            filter,
            many,
        } => {
            let n = delete(tx, names, collection, filter, *many).await?;
            counted(Counts {
                matched: n,
                modified: n,
            })
        }
        WriteOp::Check { collection, filter } => {
            let found = match catalog::load(tx, names, collection).await? {
                Some(meta) => {
                    let found = read::matching(tx, names, &meta, filter, Some(1)).await?;
                    // The batch depends on this document without writing
                    // it: a share lock makes a concurrent change of it a
                    // serialization failure (then a rerun) instead of a
                    // write skew.
                    let sql = format!(
                        "SELECT 1 FROM {} WHERE id = $1 FOR SHARE",
                        names.docs(meta.cid)
                    );
                    for (rid, _) in &found {
                        let st = tx.prepare_cached(&sql).await?;
                        tx.query(&st, &[rid]).await?;
                    }
                    !found.is_empty()
                }
                None => false,
            };
            counted(Counts {
                matched: u64::from(found),
                modified: 0,
            })
        }
    })
}

/// Inserts `docs` in order (the collection exists: the caller created it
/// before the transaction).
async fn insert(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
    docs: &[Document],
) -> Result<Vec<Bson>, TxError> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let Some(mut meta) = catalog::load(tx, names, collection).await? else {
        return Err(TxError::Store(StoreError::Internal(format!(
            "collection {collection} was not created before the insert"
        ))));
    };
    let sql = format!(
        "INSERT INTO {}(doc) VALUES ($1) RETURNING id",
        names.docs(meta.cid)
    );
    let st = tx.prepare_cached(&sql).await?;
    let mut ids = Vec::with_capacity(docs.len());
    for (position, doc) in docs.iter().enumerate() {
        let (id, doc) = with_id_first(doc.clone(), None);
        check_id(&id)?;
        let bytes = eve_store_keys::storable::encode(&doc)?;
        let row = tx.query_one(&st, &[&bytes]).await?;
        let rid: i64 = row.try_get(0)?;
        add_entries(tx, names, &mut meta, rid, &doc)
            .await
            .map_err(|e| e.at(position))?;
        ids.push(id);
    }
    Ok(ids)
}

/// Inserts `docs` in a few statements whatever their number: their row
/// ids are drawn from the table's sequence in ascending order (natural
/// order is document order), the documents go in one `INSERT … unnest`,
/// and each index gets its entries in one more. Any failure (a unique
/// violation, a document that cannot be stored or indexed) is reported as
/// is; the caller then runs the batch document by document to name the
/// failing document as a sequential insert would.
async fn insert_bulk(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
    docs: &[Document],
) -> Result<Vec<Bson>, TxError> {
    let Some(meta) = catalog::load(tx, names, collection).await? else {
        return Err(TxError::NeedsExactPath);
    };
    let mut ids = Vec::with_capacity(docs.len());
    let mut stored = Vec::with_capacity(docs.len());
    let mut bytes = Vec::with_capacity(docs.len());
    for doc in docs {
        let (id, doc) = with_id_first(doc.clone(), None);
        check_id(&id)?;
        bytes.push(eve_store_keys::storable::encode(&doc)?);
        ids.push(id);
        stored.push(doc);
    }
    let count = i64::try_from(docs.len()).unwrap_or(i64::MAX);
    let sql = format!(
        "SELECT nextval('{}_id_seq') AS id FROM generate_series(1::bigint, $1::bigint) ORDER BY id",
        names.docs(meta.cid)
    );
    let st = tx.prepare_cached(&sql).await?;
    let mut rids = Vec::with_capacity(docs.len());
    for row in tx.query(&st, &[&count]).await? {
        rids.push(row.try_get::<_, i64>(0)?);
    }
    rids.sort_unstable();
    let sql = format!(
        "INSERT INTO {}(id, doc) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
        names.docs(meta.cid)
    );
    let st = tx.prepare_cached(&sql).await?;
    tx.execute(&st, &[&rids, &bytes]).await?;
    for index in &meta.indexes {
        if crate::text::text_of(&index.spec).is_some() {
            let rows: Vec<(i64, &Document)> = rids.iter().copied().zip(stored.iter()).collect();
            let table = names.index(meta.cid, index.ixid);
            crate::text::add(tx, &table, &index.spec, &rows).await?;
            continue;
        }
        if !eve_store_keys::plan::has_key_entries(&index.spec) {
            for (doc, rid) in stored.iter().zip(&rids) {
                crate::geoindex::add(tx, names, meta.cid, index, *rid, doc).await?;
            }
            continue;
        }
        let fields: Vec<&str> = index.spec.keys.iter().map(|(f, _)| f.as_str()).collect();
        let (mut keys, mut owners) = (Vec::new(), Vec::new());
        let mut multikey = false;
        for (doc, rid) in stored.iter().zip(&rids) {
            let (entries, mk) = index_entries(doc, fields.iter().copied(), index.spec.sparse)
                .map_err(|e| {
                    TxError::Store(StoreError::InvalidQuery(format!(
                        "index {}: {}",
                        index.spec.name, e.0
                    )))
                })?;
            multikey |= mk;
            owners.extend(std::iter::repeat_n(*rid, entries.len()));
            keys.extend(entries);
        }
        if multikey && !index.multikey {
            catalog::set_multikey(tx, names, index).await?;
        }
        if keys.is_empty() {
            continue;
        }
        let sql = format!(
            "INSERT INTO {}(key, rid) SELECT * FROM unnest($1::bytea[], $2::bigint[])",
            names.index(meta.cid, index.ixid)
        );
        let st = tx.prepare_cached(&sql).await?;
        tx.execute(&st, &[&keys, &owners]).await?;
    }
    Ok(ids)
}

/// Rewrites one stored document (same id), keeping indexes in step.
async fn rewrite(
    tx: &Transaction<'_>,
    names: &Names,
    meta: &mut CollMeta,
    (rid, old, new): (i64, &Document, &Document),
    position: usize,
) -> Result<(), TxError> {
    let bytes = eve_store_keys::storable::encode(new)?;
    remove_entries(tx, names, meta, rid, old).await?;
    let sql = format!("UPDATE {} SET doc = $1 WHERE id = $2", names.docs(meta.cid));
    let st = tx.prepare_cached(&sql).await?;
    tx.execute(&st, &[&bytes, &rid]).await?;
    add_entries(tx, names, meta, rid, new)
        .await
        .map_err(|e| e.at(position))
}

async fn replace_one(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
    filter: &Filter,
    doc: &Document,
) -> Result<Counts, TxError> {
    let Some(mut meta) = catalog::load(tx, names, collection).await? else {
        return Ok(Counts::default());
    };
    let found = read::matching(tx, names, &meta, filter, Some(1)).await?;
    let Some((rid, old)) = found.into_iter().next() else {
        return Ok(Counts::default());
    };
    let id = old.get("_id").cloned().unwrap_or(Bson::Null);
    let (_, new) = with_id_first(doc.clone(), Some(id));
    let modified = u64::from(new != old);
    rewrite(tx, names, &mut meta, (rid, &old, &new), 0).await?;
    Ok(Counts {
        matched: 1,
        modified,
    })
}

async fn update(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
    filter: &Filter,
    (set, unset): (&Document, &[String]),
    many: bool,
) -> Result<Counts, TxError> {
    let Some(mut meta) = catalog::load(tx, names, collection).await? else {
        return Ok(Counts::default());
    };
    let want = if many { None } else { Some(1) };
    let targets = read::matching(tx, names, &meta, filter, want).await?;
    let mut counts = Counts::default();
    for (position, (rid, old)) in targets.into_iter().enumerate() {
        counts.matched += 1;
        let new = apply_update(&old, set, unset)?;
        if new == old {
            continue;
        }
        counts.modified += 1;
        rewrite(tx, names, &mut meta, (rid, &old, &new), position).await?;
    }
    Ok(counts)
}

async fn delete(
    tx: &Transaction<'_>,
    names: &Names,
    collection: &str,
    filter: &Filter,
    many: bool,
) -> Result<u64, TxError> {
    let Some(meta) = catalog::load(tx, names, collection).await? else {
        return Ok(0);
    };
    let want = if many { None } else { Some(1) };
    let victims = read::matching(tx, names, &meta, filter, want).await?;
    let sql = format!("DELETE FROM {} WHERE id = $1", names.docs(meta.cid));
    let st = tx.prepare_cached(&sql).await?;
    for (rid, doc) in &victims {
        remove_entries(tx, names, &meta, *rid, doc).await?;
        tx.execute(&st, &[rid]).await?;
    }
    Ok(victims.len() as u64)
}
