//! The integrity check: SQLite's own `PRAGMA integrity_check`, then every
//! index side table compared with the entries rebuilt from the documents.

use std::collections::BTreeSet;

use eve_store::{StoreError, StoreResult};
use rusqlite::Connection;

use crate::catalog;
use crate::error::sql_err;
use crate::query::decode;
use eve_store_keys::keys::index_entries;

/// SQLite's `quick_check` (every page well formed, no index compared):
/// a damaged file is refused with what SQLite found.
pub(crate) fn quick_check(conn: &Connection) -> StoreResult<()> {
    let mut st = conn.prepare("PRAGMA quick_check").map_err(sql_err)?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql_err)?;
    let mut problems = Vec::new();
    for row in rows {
        let line = row.map_err(sql_err)?;
        if line != "ok" {
            problems.push(line);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        problems.truncate(10);
        Err(StoreError::Corrupt(format!(
            "quick_check: {}",
            problems.join("; ")
        )))
    }
}

/// Runs every check; the error lists what is wrong.
pub(crate) fn check(conn: &Connection) -> StoreResult<()> {
    let mut problems = Vec::new();
    let mut st = conn.prepare("PRAGMA integrity_check").map_err(sql_err)?;
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql_err)?;
    for row in rows {
        let line = row.map_err(sql_err)?;
        if line != "ok" {
            problems.push(format!("sqlite: {line}"));
        }
    }
    for (name, cid) in catalog::list(conn)? {
        let meta = catalog::load_by_id(conn, cid)?;
        let mut expected: Vec<BTreeSet<(Vec<u8>, i64)>> = vec![BTreeSet::new(); meta.indexes.len()];
        let mut multikey = vec![false; meta.indexes.len()];
        let mut ids = BTreeSet::new();
        let sql = format!(
            "SELECT rowid, doc FROM {} ORDER BY rowid",
            meta.docs_table()
        );
        let mut st = conn.prepare(&sql).map_err(sql_err)?;
        let mut rows = st.query([]).map_err(sql_err)?;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let rowid: i64 = row.get(0).map_err(sql_err)?;
            let bytes: Vec<u8> = row.get(1).map_err(sql_err)?;
            let doc = match decode(&bytes) {
                Ok(d) => d,
                Err(e) => {
                    problems.push(format!("{name}: row {rowid}: {e}"));
                    continue;
                }
            };
            match doc.get("_id") {
                Some(id) => {
                    if !ids.insert(eve_store_keys::keys::encode_value(id)) {
                        problems.push(format!("{name}: row {rowid}: duplicate _id {id}"));
                    }
                }
                None => problems.push(format!("{name}: row {rowid}: no _id")),
            }
            for (i, index) in meta.indexes.iter().enumerate() {
                if !index.has_side_table() {
                    continue;
                }
                match index_entries(&doc, index.fields().collect::<Vec<_>>(), index.spec.sparse) {
                    Ok((keys, mk)) => {
                        multikey[i] |= mk;
                        expected[i].extend(keys.into_iter().map(|k| (k, rowid)));
                    }
                    Err(e) => problems.push(format!(
                        "{name}: row {rowid}: index {}: {}",
                        index.spec.name, e.0
                    )),
                }
            }
        }
        for (i, index) in meta.indexes.iter().enumerate() {
            if !index.has_side_table() {
                continue;
            }
            let sql = format!("SELECT key, rid FROM {}", index.table(cid));
            let mut st = conn.prepare(&sql).map_err(sql_err)?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))
                .map_err(sql_err)?;
            let actual: BTreeSet<(Vec<u8>, i64)> =
                rows.collect::<Result<_, _>>().map_err(sql_err)?;
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
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Internal(format!(
            "integrity check failed: {}",
            problems.join("; ")
        )))
    }
}
