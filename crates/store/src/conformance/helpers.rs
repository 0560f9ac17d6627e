//! Helpers shared by the conformance cases.

use std::sync::Arc;

use bson::{Bson, Document};

use crate::{DataLayer, FindQuery, IndexKey, IndexSpec, SortDir, StoreError};
use eve_query::Filter;

/// Parses a MongoDB query document (the suite's own queries are valid).
pub(crate) fn q(query: Document) -> Filter {
    match Filter::parse(&query) {
        Ok(f) => f,
        Err(e) => panic!("the suite's query {query} does not parse: {e}"),
    }
}

pub(crate) fn all() -> Filter {
    Filter::All
}

pub(crate) fn sorted(filter: Filter, sort: &[(&str, SortDir)]) -> FindQuery {
    let mut query = FindQuery::new(filter);
    query.sort = sort.iter().map(|(f, d)| (f.to_string(), *d)).collect();
    query
}

pub(crate) async fn find(
    store: &Arc<dyn DataLayer>,
    coll: &str,
    query: FindQuery,
) -> Vec<Document> {
    match store.find(coll, &query).await {
        Ok(docs) => docs,
        Err(e) => panic!("find {query:?} on {coll} failed: {e}"),
    }
}

pub(crate) async fn find_where(
    store: &Arc<dyn DataLayer>,
    coll: &str,
    filter: Document,
) -> Vec<Document> {
    find(store, coll, FindQuery::new(q(filter))).await
}

pub(crate) async fn insert(
    store: &Arc<dyn DataLayer>,
    coll: &str,
    docs: Vec<Document>,
) -> Vec<Bson> {
    match store.insert(coll, docs).await {
        Ok(ids) => ids,
        Err(e) => panic!("insert into {coll} failed: {e}"),
    }
}

pub(crate) async fn count(store: &Arc<dyn DataLayer>, coll: &str, filter: Filter) -> u64 {
    match store.count(coll, &filter).await {
        Ok(n) => n,
        Err(e) => panic!("count on {coll} failed: {e}"),
    }
}

pub(crate) async fn prepare(store: &Arc<dyn DataLayer>, coll: &str, indexes: &[IndexSpec]) {
    if let Err(e) = store.prepare_collection(coll, indexes).await {
        panic!("prepare_collection {coll} failed: {e}");
    }
}

/// The `_id`s of documents, in order.
pub(crate) fn ids(docs: &[Document]) -> Vec<Bson> {
    docs.iter()
        .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
        .collect()
}

/// `[Int32(a), Int32(b), …]`.
pub(crate) fn int_ids(ns: &[i32]) -> Vec<Bson> {
    ns.iter().map(|n| Bson::Int32(*n)).collect()
}

pub(crate) fn index(name: &str, fields: &[&str], unique: bool, sparse: bool) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        keys: fields
            .iter()
            .map(|f| (f.to_string(), IndexKey::Asc))
            .collect(),
        unique,
        sparse,
        text: None,
    }
}

pub(crate) fn assert_duplicate(
    result: Result<impl std::fmt::Debug, StoreError>,
    position: usize,
    what: &str,
) {
    match result {
        Err(StoreError::DuplicateKey { index, .. }) => {
            assert_eq!(
                index, position,
                "{what}: DuplicateKey must name the colliding document's position"
            )
        }
        other => panic!("{what}: expected DuplicateKey at {position}, got {other:?}"),
    }
}

pub(crate) fn bytes(d: &Document) -> Vec<u8> {
    d.to_vec().unwrap_or_default()
}
