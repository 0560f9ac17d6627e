//! The integrity check: every index table compared with the entries
//! rebuilt from the documents, every document decodable with one `_id`,
//! every index holding arrays marked multikey. PostgreSQL keeps its own
//! structures sound; this checks what eve-rs maintains itself. It reads
//! each collection whole, in one snapshot: run it as an operator command,
//! not on a hot path.

use std::collections::BTreeSet;

use deadpool_postgres::Transaction;
use eve_store_keys::keys::{encode_value, index_entries};
use eve_store_keys::plan::has_key_entries;

use crate::catalog::{self, Names};
use crate::error::TxError;

/// Runs every check; returns the problems found (empty when sound).
pub(crate) async fn check(tx: &Transaction<'_>, names: &Names) -> Result<Vec<String>, TxError> {
    let mut problems = Vec::new();
    let rows = tx
        .query(
            &format!("SELECT name FROM {} ORDER BY cid", names.collections()),
            &[],
        )
        .await?;
    for row in rows {
        let name: String = row.try_get(0)?;
        let Some(meta) = catalog::load(tx, names, &name).await? else {
            continue;
        };
        let n = meta.indexes.len();
        let mut expected: Vec<BTreeSet<(Vec<u8>, i64)>> = vec![BTreeSet::new(); n];
        let mut multikey = vec![false; n];
        let mut ids = BTreeSet::new();
        let docs = tx
            .query(
                &format!("SELECT id, doc FROM {} ORDER BY id", names.docs(meta.cid)),
                &[],
            )
            .await?;
        for doc_row in docs {
            let rid: i64 = doc_row.try_get(0)?;
            let bytes: &[u8] = doc_row.try_get(1)?;
            let doc = match eve_store_keys::storable::decode(bytes) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(format!("{name}: row {rid}: {e}"));
                    continue;
                }
            };
            match doc.get("_id") {
                Some(id) if !ids.insert(encode_value(id)) => {
                    problems.push(format!("{name}: row {rid}: duplicate _id {id}"));
                }
                Some(_) => {}
                None => problems.push(format!("{name}: row {rid}: no _id")),
            }
            for (i, index) in meta.indexes.iter().enumerate() {
                if !has_key_entries(&index.spec) {
                    continue;
                }
                let fields: Vec<&str> = index.spec.keys.iter().map(|(f, _)| f.as_str()).collect();
                match index_entries(&doc, fields, index.spec.sparse) {
                    Ok((keys, mk)) => {
                        multikey[i] |= mk;
                        expected[i].extend(keys.into_iter().map(|k| (k, rid)));
                    }
                    Err(e) => problems.push(format!(
                        "{name}: row {rid}: index {}: {}",
                        index.spec.name, e.0
                    )),
                }
            }
        }
        for (i, index) in meta.indexes.iter().enumerate() {
            if !has_key_entries(&index.spec) {
                continue;
            }
            let entries = tx
                .query(
                    &format!("SELECT key, rid FROM {}", names.index(meta.cid, index.ixid)),
                    &[],
                )
                .await?;
            let mut actual = BTreeSet::new();
            for e in entries {
                actual.insert((e.try_get::<_, Vec<u8>>(0)?, e.try_get::<_, i64>(1)?));
            }
            let missing = expected[i].difference(&actual).count();
            let extra = actual.difference(&expected[i]).count();
            if missing > 0 || extra > 0 {
                problems.push(format!(
                    "{name}: index {}: {missing} missing and {extra} stray entries",
                    index.spec.name
                ));
            }
            if multikey[i] && !index.multikey {
                problems.push(format!(
                    "{name}: index {}: holds arrays but is not marked multikey",
                    index.spec.name
                ));
            }
        }
    }
    Ok(problems)
}
