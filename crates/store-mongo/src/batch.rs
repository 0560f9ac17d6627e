//! `apply(WriteBatch)` on MongoDB.
//!
//! * A batch that touches at most one document runs as that one write:
//!   MongoDB makes it atomic by itself.
//! * On a replica set or a sharded cluster, any other batch runs in one
//!   multi-document transaction, retried (a bounded number of times) when
//!   the server labels the failure a transient transaction error (two
//!   transactions wrote the same document).
//! * On a standalone server, the writes run in order and the layer keeps
//!   an undo list: the `_id`s it inserted, and the documents a replace,
//!   update or delete is about to change (saved before, then written with
//!   a filter that also names their `_id`s, so a concurrent change makes
//!   the write match nothing instead of being overwritten). When a write
//!   fails, the undo list is played backwards. This is all-or-nothing for
//!   the batch's own outcome, but not isolated: other clients can read
//!   the intermediate state, and a crash of eve-rs mid-batch leaves the
//!   earlier writes in place.

use std::time::Duration;

use bson::oid::ObjectId;
use bson::{doc, Bson, Document};
use futures_util::TryStreamExt;
use mongodb::error::{ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::options::FindOptions;
use mongodb::ClientSession;

use eve_store::{
    BatchResult, OpResult, StoreError, StoreResult, WriteBatch, WriteOp, WriteStep,
    MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH,
};

use crate::{error, MongoStore};

/// Attempts of one transaction when the server reports transient
/// conflicts.
const MAX_ATTEMPTS: u32 = 10;
/// Attempts of one commit whose result is unknown (network).
const MAX_COMMIT_ATTEMPTS: u32 = 3;

/// Why a step failed: the driver's error (kept for its labels) or the
/// layer's own verdict.
enum StepError {
    Driver(mongodb::error::Error, usize),
    Store(StoreError),
}

impl StepError {
    fn is_transient(&self) -> bool {
        matches!(self, StepError::Driver(e, _) if e.contains_label(TRANSIENT_TRANSACTION_ERROR))
    }

    fn into_store(self) -> StoreError {
        match self {
            StepError::Driver(e, op) => error::map(e, op),
            StepError::Store(e) => e,
        }
    }
}

/// What to do to take a write back (standalone servers).
enum Undo {
    /// Delete these inserted `_id`s.
    Remove(String, Vec<Bson>),
    /// Put these documents back as they were (by `_id`).
    PutBack(String, Vec<Document>),
}

pub(crate) async fn apply(store: &MongoStore, mut batch: WriteBatch) -> StoreResult<BatchResult> {
    prepare(&mut batch)?;
    if batch.steps.is_empty() {
        return Ok(BatchResult::default());
    }
    if batch.steps.len() == 1 && touches_one_document(&batch.steps[0].op) {
        return run_steps(store, &batch, None, None)
            .await
            .map_err(StepError::into_store);
    }
    if store.topology().await?.has_transactions() {
        in_transaction(store, &batch).await
    } else {
        let mut undo = Vec::new();
        match run_steps(store, &batch, None, Some(&mut undo)).await {
            Ok(result) => Ok(result),
            Err(e) => {
                roll_back(store, undo).await;
                Err(e.into_store())
            }
        }
    }
}

/// Gives every inserted document an `_id` (so that a retried transaction
/// inserts the same ones and an undo knows them) and refuses documents
/// MongoDB could not store.
fn prepare(batch: &mut WriteBatch) -> StoreResult<()> {
    for step in &mut batch.steps {
        match &mut step.op {
            WriteOp::Insert { docs, .. } => {
                for d in docs.iter_mut() {
                    if !d.contains_key("_id") {
                        let mut with_id = Document::new();
                        with_id.insert("_id", ObjectId::new());
                        with_id.extend(std::mem::take(d));
                        *d = with_id;
                    }
                    check_document(d)?;
                }
            }
            WriteOp::Replace { doc, .. } => {
                doc.remove("_id");
                check_document(doc)?;
            }
            WriteOp::Update { set, unset, .. } => {
                set.remove("_id");
                unset.retain(|f| f != "_id");
                check_document(set)?;
            }
            WriteOp::Delete { .. } | WriteOp::Check { .. } => {}
        }
    }
    Ok(())
}

fn check_document(d: &Document) -> StoreResult<()> {
    if depth(d) > MAX_DOCUMENT_DEPTH {
        return Err(StoreError::InvalidQuery(format!(
            "the document is nested deeper than {MAX_DOCUMENT_DEPTH} levels, more than a document may hold"
        )));
    }
    if let Some(k) = nul_field_name(d) {
        return Err(StoreError::InvalidQuery(format!(
            "field name {k:?} contains a NUL character, which a document cannot hold"
        )));
    }
    let bytes = d
        .to_vec()
        .map_err(|e| StoreError::InvalidQuery(format!("the document cannot be stored: {e}")))?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(StoreError::InvalidQuery(format!(
            "the document is larger than {MAX_DOCUMENT_BYTES} bytes of BSON"
        )));
    }
    Ok(())
}

/// The first field name holding a NUL (BSON cannot encode one), at any
/// depth; call after the depth check.
fn nul_field_name(d: &Document) -> Option<&str> {
    let mut stack: Vec<&Bson> = Vec::new();
    let mut docs = vec![d];
    loop {
        for doc in docs.drain(..) {
            for (k, v) in doc {
                if k.contains('\0') {
                    return Some(k);
                }
                stack.push(v);
            }
        }
        let v = stack.pop()?;
        match v {
            Bson::Document(inner) => docs.push(inner),
            Bson::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
}

/// Nesting depth (the document itself is 1), without recursion.
fn depth(d: &Document) -> usize {
    let mut deepest = 1;
    let mut stack: Vec<(&Bson, usize)> = d.values().map(|v| (v, 2)).collect();
    while let Some((v, level)) = stack.pop() {
        match v {
            Bson::Document(inner) => {
                deepest = deepest.max(level);
                stack.extend(inner.values().map(|v| (v, level + 1)));
            }
            Bson::Array(items) => {
                deepest = deepest.max(level);
                stack.extend(items.iter().map(|v| (v, level + 1)));
            }
            _ => {}
        }
        if deepest > MAX_DOCUMENT_DEPTH {
            break;
        }
    }
    deepest
}

fn touches_one_document(op: &WriteOp) -> bool {
    match op {
        WriteOp::Insert { docs, .. } => docs.len() <= 1,
        WriteOp::Update { many, .. } | WriteOp::Delete { many, .. } => !many,
        WriteOp::Replace { .. } | WriteOp::Check { .. } => true,
    }
}

async fn in_transaction(store: &MongoStore, batch: &WriteBatch) -> StoreResult<BatchResult> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut session = store
            .client()
            .start_session()
            .await
            .map_err(|e| error::map(e, 0))?;
        let start = session.start_transaction();
        let start = match store.write_concern() {
            Some(wc) => start.write_concern(wc.clone()),
            None => start,
        };
        start.await.map_err(|e| error::map(e, 0))?;
        match run_steps(store, batch, Some(&mut session), None).await {
            Ok(result) => match commit(&mut session).await {
                Ok(()) => return Ok(result),
                Err(e)
                    if e.contains_label(TRANSIENT_TRANSACTION_ERROR) && attempt < MAX_ATTEMPTS => {}
                Err(e) => return Err(error::map(e, 0)),
            },
            Err(e) => {
                if let Err(abort) = session.abort_transaction().await {
                    tracing::debug!(error = %abort, "aborting a MongoDB transaction failed");
                }
                if !e.is_transient() || attempt >= MAX_ATTEMPTS {
                    return Err(e.into_store());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5 * u64::from(attempt))).await;
    }
}

async fn commit(session: &mut ClientSession) -> Result<(), mongodb::error::Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match session.commit_transaction().await {
            Err(e)
                if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && attempt < MAX_COMMIT_ATTEMPTS => {}
            other => return other,
        }
    }
}

/// Runs `action` in `session` when there is one.
macro_rules! in_session {
    ($action:expr, $session:expr) => {
        match $session.as_deref_mut() {
            Some(s) => $action.session(s).await,
            None => $action.await,
        }
    };
}

async fn run_steps(
    store: &MongoStore,
    batch: &WriteBatch,
    mut session: Option<&mut ClientSession>,
    mut undo: Option<&mut Vec<Undo>>,
) -> Result<BatchResult, StepError> {
    let mut ops = Vec::with_capacity(batch.steps.len());
    for (i, step) in batch.steps.iter().enumerate() {
        let result = run_step(store, step, i, &mut session, undo.as_deref_mut()).await?;
        if step.requires_match() && result.matched == 0 {
            return Err(StepError::Store(StoreError::Conflict {
                op: i,
                message: format!(
                    "no document of {} matches {}",
                    step.op.collection(),
                    filter_of(&step.op)
                ),
            }));
        }
        ops.push(result);
    }
    Ok(BatchResult { ops })
}

fn filter_of(op: &WriteOp) -> Document {
    match op {
        WriteOp::Insert { .. } => Document::new(),
        WriteOp::Replace { filter, .. }
        | WriteOp::Update { filter, .. }
        | WriteOp::Delete { filter, .. }
        | WriteOp::Check { filter, .. } => filter.to_document(),
    }
}

/// `filter` narrowed to the given `_id`s.
fn and_ids(filter: Document, ids: Vec<Bson>) -> Document {
    let by_id = doc! {"_id": {"$in": ids}};
    if filter.is_empty() {
        by_id
    } else {
        doc! {"$and": [filter, by_id]}
    }
}

async fn run_step(
    store: &MongoStore,
    step: &WriteStep,
    i: usize,
    session: &mut Option<&mut ClientSession>,
    undo: Option<&mut Vec<Undo>>,
) -> Result<OpResult, StepError> {
    let coll = store.coll(step.op.collection());
    let name = step.op.collection().to_string();
    let driver = |e| StepError::Driver(e, i);
    match &step.op {
        WriteOp::Insert { docs, .. } => {
            if docs.is_empty() {
                return Ok(OpResult::default());
            }
            let ids: Vec<Bson> = docs
                .iter()
                .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
                .collect();
            let action = coll.insert_many(docs.iter()).ordered(true);
            let outcome = in_session!(action, session);
            if let Some(undo) = undo {
                let stored = match &outcome {
                    Ok(_) => ids.len(),
                    Err(e) => inserted_before_failure(e).unwrap_or(ids.len()),
                };
                undo.push(Undo::Remove(name, ids[..stored].to_vec()));
            }
            outcome.map_err(driver)?;
            Ok(OpResult {
                inserted_ids: ids,
                ..OpResult::default()
            })
        }
        WriteOp::Replace { filter, doc, .. } => {
            let mut filter = filter.to_document();
            if let Some(undo) = undo {
                let old = saved(store, &name, &filter, false).await.map_err(driver)?;
                let Some(first) = old.first() else {
                    return Ok(OpResult::default());
                };
                filter = and_ids(filter, vec![id_of(first)]);
                undo.push(Undo::PutBack(name, old));
            }
            let r = in_session!(coll.replace_one(filter, doc), session).map_err(driver)?;
            Ok(OpResult {
                matched: r.matched_count,
                modified: r.modified_count,
                ..OpResult::default()
            })
        }
        WriteOp::Update {
            filter,
            set,
            unset,
            many,
            ..
        } => {
            let mut filter = filter.to_document();
            let mut update = Document::new();
            if !set.is_empty() {
                update.insert("$set", set.clone());
            }
            if !unset.is_empty() {
                let fields: Document = unset.iter().map(|f| (f.clone(), Bson::from(""))).collect();
                update.insert("$unset", fields);
            }
            if update.is_empty() {
                let n = count(&coll, filter, *many, session).await.map_err(driver)?;
                return Ok(OpResult {
                    matched: n,
                    ..OpResult::default()
                });
            }
            if let Some(undo) = undo {
                let old = saved(store, &name, &filter, *many).await.map_err(driver)?;
                if old.is_empty() {
                    return Ok(OpResult::default());
                }
                filter = and_ids(filter, old.iter().map(id_of).collect());
                undo.push(Undo::PutBack(name, old));
            }
            let r = if *many {
                in_session!(coll.update_many(filter, update), session)
            } else {
                in_session!(coll.update_one(filter, update), session)
            }
            .map_err(driver)?;
            Ok(OpResult {
                matched: r.matched_count,
                modified: r.modified_count,
                ..OpResult::default()
            })
        }
        WriteOp::Delete { filter, many, .. } => {
            let mut filter = filter.to_document();
            if let Some(undo) = undo {
                let old = saved(store, &name, &filter, *many).await.map_err(driver)?;
                if old.is_empty() {
                    return Ok(OpResult::default());
                }
                filter = and_ids(filter, old.iter().map(id_of).collect());
                undo.push(Undo::PutBack(name, old));
            }
            let r = if *many {
                in_session!(coll.delete_many(filter), session)
            } else {
                in_session!(coll.delete_one(filter), session)
            }
            .map_err(driver)?;
            Ok(OpResult {
                matched: r.deleted_count,
                modified: r.deleted_count,
                ..OpResult::default()
            })
        }
        WriteOp::Check { filter, .. } => {
            let n = count(&coll, filter.to_document(), false, session)
                .await
                .map_err(driver)?;
            Ok(OpResult {
                matched: n,
                ..OpResult::default()
            })
        }
    }
}

fn id_of(d: &Document) -> Bson {
    d.get("_id").cloned().unwrap_or(Bson::Null)
}

/// Matches of `filter` (the first, or all when `many`), in `session`.
async fn count(
    coll: &mongodb::Collection<Document>,
    filter: Document,
    many: bool,
    session: &mut Option<&mut ClientSession>,
) -> Result<u64, mongodb::error::Error> {
    let action = coll.count_documents(filter);
    let action = if many { action } else { action.limit(1) };
    in_session!(action, session)
}

/// The documents a write is about to change, saved for its undo.
async fn saved(
    store: &MongoStore,
    collection: &str,
    filter: &Document,
    many: bool,
) -> Result<Vec<Document>, mongodb::error::Error> {
    let mut options = FindOptions::default();
    if !many {
        options.limit = Some(1);
    }
    store
        .coll(collection)
        .find(filter.clone())
        .with_options(options)
        .await?
        .try_collect()
        .await
}

/// How many documents of an ordered `insert_many` were stored before it
/// failed, when the error says (a write error names its document).
fn inserted_before_failure(e: &mongodb::error::Error) -> Option<usize> {
    match e.kind.as_ref() {
        ErrorKind::InsertMany(m) => m.write_errors.as_ref()?.first().map(|w| w.index),
        _ => None,
    }
}

/// Plays the undo list backwards. A failure here is logged: the batch has
/// already failed, and the operator must know what was left behind.
async fn roll_back(store: &MongoStore, undo: Vec<Undo>) {
    for step in undo.into_iter().rev() {
        match step {
            Undo::Remove(collection, ids) => {
                if ids.is_empty() {
                    continue;
                }
                let n = ids.len();
                if let Err(e) = store
                    .coll(&collection)
                    .delete_many(doc! {"_id": {"$in": ids}})
                    .await
                {
                    tracing::error!(
                        collection, documents = n, error = %e,
                        "could not delete the documents of a failed batch on a standalone MongoDB"
                    );
                }
            }
            Undo::PutBack(collection, docs) => {
                for d in docs {
                    let id = id_of(&d);
                    if let Err(e) = store
                        .coll(&collection)
                        .replace_one(doc! {"_id": id.clone()}, d)
                        .upsert(true)
                        .await
                    {
                        tracing::error!(
                            collection, id = %id, error = %e,
                            "could not restore a document of a failed batch on a standalone MongoDB"
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_documents_and_arrays() {
        assert_eq!(depth(&doc! {"a": 1}), 1);
        assert_eq!(depth(&doc! {"a": {"b": [1]}}), 3);
        let mut deep = Bson::Int32(1);
        for _ in 0..200 {
            deep = Bson::Array(vec![deep]);
        }
        assert!(depth(&doc! {"a": deep}) > MAX_DOCUMENT_DEPTH);
    }

    #[test]
    fn nul_in_a_nested_field_name_is_found() {
        assert_eq!(nul_field_name(&doc! {"x": [{"a\0": 1}]}), Some("a\0"));
        assert_eq!(nul_field_name(&doc! {"x": {"y": [1, {"z": 2}]}}), None);
        assert!(matches!(
            check_document(&doc! {"x": {"y\0": 1}}),
            Err(StoreError::InvalidQuery(m)) if m.contains("NUL")
        ));
    }

    #[test]
    fn inserted_documents_get_an_object_id_first() {
        let mut batch = WriteBatch::new().push(WriteOp::Insert {
            collection: "c".into(),
            docs: vec![doc! {"a": 1}, doc! {"_id": 7, "a": 2}],
        });
        assert!(prepare(&mut batch).is_ok());
        let WriteOp::Insert { docs, .. } = &batch.steps[0].op else {
            panic!("not an insert")
        };
        assert!(matches!(docs[0].iter().next(), Some((k, Bson::ObjectId(_))) if k == "_id"));
        assert_eq!(docs[1], doc! {"_id": 7, "a": 2});
    }
}
