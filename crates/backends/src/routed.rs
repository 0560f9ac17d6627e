//! One [`DataLayer`] over several: each collection goes to the layer of
//! its resource's database prefix and write concern (`mongo_prefix`,
//! `mongo_write_concern`), every other collection to the default layer.
//! The pipeline keeps holding one `Arc<dyn DataLayer>` and never learns
//! that there are several (docs/mongodb.md says why).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use bson::{Bson, Document};
use eve_store::{
    AggregateLimits, BatchResult, Capabilities, ChangeStream, DataLayer, Filter, FindQuery,
    IndexSpec, Pipeline, StoreError, StoreResult, WriteBatch,
};

use eve_core::{Domain, MongoWriteConcern};
use eve_store_mongo::MongoStore;

use crate::{write_concern_config, BackendError, Backends, DEFAULT_PREFIX};

/// A resource's route: its prefix and its own write concern.
type RouteKey = (String, Option<MongoWriteConcern>);

/// The registry of a MongoDB API: one store per prefix (`stores` holds
/// [`DEFAULT_PREFIX`]), and one layer per route, shared by the resources
/// on the same route. Two resources on one collection must share their
/// route: calls are routed by collection.
pub(crate) fn build(
    domain: &Domain,
    stores: BTreeMap<String, MongoStore>,
) -> Result<Backends, BackendError> {
    let routes = &domain.settings.mongo_routes;
    let default_key: RouteKey = (DEFAULT_PREFIX.to_string(), None);
    let default: Arc<dyn DataLayer> = Arc::new(
        stores
            .get(DEFAULT_PREFIX)
            .expect("the default prefix is opened")
            .clone(),
    );
    let mut cache: Vec<(RouteKey, Arc<dyn DataLayer>)> = vec![(default_key, default.clone())];
    let mut seen: HashMap<&str, (&str, RouteKey)> = HashMap::new();
    let mut by_collection = HashMap::new();
    for (name, resource) in &domain.resources {
        let key: RouteKey = routes
            .resources
            .get(name)
            .map(|r| (r.prefix.clone(), r.write_concern.clone()))
            .unwrap_or_else(|| (DEFAULT_PREFIX.to_string(), None));
        let source = resource.datasource.source.as_str();
        if let Some((other, other_key)) = seen.get(source) {
            if *other_key != key {
                return Err(BackendError::Route {
                    path: format!("DOMAIN.{name}"),
                    message: format!(
                        "shares the collection '{source}' with the resource '{other}', but not \
                         its mongo_prefix and mongo_write_concern: give both the same ones"
                    ),
                });
            }
            continue;
        }
        let layer = match cache.iter().find(|(k, _)| *k == key) {
            Some((_, layer)) => layer.clone(),
            None => {
                let store = stores.get(&key.0).ok_or_else(|| BackendError::Route {
                    path: format!("DOMAIN.{name}.mongo_prefix"),
                    message: format!("the prefix {} has no connection settings", key.0),
                })?;
                let store = match &key.1 {
                    Some(wc) => {
                        match write_concern_config(wc.w.as_ref(), wc.journal, wc.timeout_ms) {
                            Some(config) => store.with_write_concern(&config)?,
                            None => store.clone(),
                        }
                    }
                    None => store.clone(),
                };
                let layer: Arc<dyn DataLayer> = Arc::new(store);
                cache.push((key.clone(), layer.clone()));
                layer
            }
        };
        if !Arc::ptr_eq(&layer, &default) {
            // A versioned resource's history lives beside its documents.
            if let Some(versions) = resource.versions_collection(&domain.settings) {
                by_collection.insert(versions, layer.clone());
            }
            by_collection.insert(source.to_string(), layer);
        }
        seen.insert(source, (name.as_str(), key));
    }
    let layers = stores
        .into_iter()
        .map(|(prefix, store)| {
            let layer: Arc<dyn DataLayer> = if prefix == DEFAULT_PREFIX {
                default.clone()
            } else {
                Arc::new(store)
            };
            (prefix, layer)
        })
        .collect();
    let routed: Arc<dyn DataLayer> = if by_collection.is_empty() {
        default.clone()
    } else {
        Arc::new(Routed {
            default,
            by_collection,
        })
    };
    Ok(Backends {
        layers,
        routed,
        media: None,
    })
}

/// Routes each call to the layer of its collection.
pub(crate) struct Routed {
    /// The layer of the settings' own connection (`MONGO`).
    pub(crate) default: Arc<dyn DataLayer>,
    /// The layers of the collections that do not use the default one.
    pub(crate) by_collection: HashMap<String, Arc<dyn DataLayer>>,
}

impl Routed {
    fn layer(&self, collection: &str) -> &Arc<dyn DataLayer> {
        self.by_collection.get(collection).unwrap_or(&self.default)
    }

    /// Every distinct layer, the default first.
    fn layers(&self) -> Vec<&Arc<dyn DataLayer>> {
        let mut out = vec![&self.default];
        for layer in self.by_collection.values() {
            if !out.iter().any(|l| Arc::ptr_eq(l, layer)) {
                out.push(layer);
            }
        }
        out
    }
}

#[async_trait]
impl DataLayer for Routed {
    fn name(&self) -> &'static str {
        self.default.name()
    }

    async fn prepare_collection(&self, collection: &str, indexes: &[IndexSpec]) -> StoreResult<()> {
        self.layer(collection)
            .prepare_collection(collection, indexes)
            .await
    }

    fn capabilities(&self) -> Capabilities {
        self.default.capabilities()
    }

    async fn find(&self, collection: &str, query: &FindQuery) -> StoreResult<Vec<Document>> {
        self.layer(collection).find(collection, query).await
    }

    async fn count(&self, collection: &str, filter: &Filter) -> StoreResult<u64> {
        self.layer(collection).count(collection, filter).await
    }

    async fn find_page(
        &self,
        collection: &str,
        query: &FindQuery,
        count: bool,
    ) -> StoreResult<(Vec<Document>, Option<u64>)> {
        self.layer(collection)
            .find_page(collection, query, count)
            .await
    }

    async fn find_one(&self, collection: &str, filter: &Filter) -> StoreResult<Option<Document>> {
        self.layer(collection).find_one(collection, filter).await
    }

    /// A batch runs on the one layer all its collections use: a batch
    /// across databases or write concerns could not be all-or-nothing, so
    /// it is refused before anything is written.
    async fn apply(&self, batch: WriteBatch) -> StoreResult<BatchResult> {
        let mut layer: Option<&Arc<dyn DataLayer>> = None;
        for step in &batch.steps {
            let this = self.layer(step.op.collection());
            match layer {
                Some(l) if !Arc::ptr_eq(l, this) => {
                    return Err(StoreError::Unsupported(
                        "one write across collections of different MongoDB databases or write \
                         concerns (mongo_prefix, mongo_write_concern) cannot be atomic"
                            .into(),
                    ))
                }
                _ => layer = Some(this),
            }
        }
        layer.unwrap_or(&self.default).apply(batch).await
    }

    async fn insert(&self, collection: &str, docs: Vec<Document>) -> StoreResult<Vec<Bson>> {
        self.layer(collection).insert(collection, docs).await
    }

    async fn replace_one(
        &self,
        collection: &str,
        filter: &Filter,
        doc: Document,
    ) -> StoreResult<bool> {
        self.layer(collection)
            .replace_one(collection, filter, doc)
            .await
    }

    async fn update_one(
        &self,
        collection: &str,
        filter: &Filter,
        set: Document,
    ) -> StoreResult<bool> {
        self.layer(collection)
            .update_one(collection, filter, set)
            .await
    }

    async fn delete_many(&self, collection: &str, filter: &Filter) -> StoreResult<u64> {
        self.layer(collection).delete_many(collection, filter).await
    }

    async fn aggregate(
        &self,
        collection: &str,
        pipeline: &Pipeline,
        limits: AggregateLimits,
    ) -> StoreResult<Vec<Document>> {
        self.layer(collection)
            .aggregate(collection, pipeline, limits)
            .await
    }

    async fn watch(&self, collection: &str) -> StoreResult<ChangeStream> {
        self.layer(collection).watch(collection).await
    }

    async fn check_integrity(&self) -> StoreResult<()> {
        for layer in self.layers() {
            layer.check_integrity().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod conformance {
    //! The routing layer is transparent: the shared suite passes with its
    //! main collection (`c`) on a second store and the others on the
    //! default one.

    use std::collections::HashMap;
    use std::sync::Arc;

    use eve_store::conformance::Fixture;
    use eve_store_sqlite::SqliteStore;

    use super::Routed;

    async fn fresh_store() -> Fixture {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let default = Arc::new(SqliteStore::open(a.path()).unwrap());
        let other = Arc::new(SqliteStore::open(b.path()).unwrap());
        let mut by_collection: HashMap<String, Arc<dyn eve_store::DataLayer>> = HashMap::new();
        by_collection.insert("c".into(), other);
        let routed = Routed {
            default,
            by_collection,
        };
        Fixture::with_guard(Arc::new(routed), (a, b))
    }

    eve_store::conformance_suite!(fresh_store());

    #[tokio::test]
    async fn a_batch_across_two_layers_is_refused_before_any_write() {
        use eve_store::{Filter, StoreError, WriteBatch, WriteOp};
        let fixture = fresh_store().await;
        let store = fixture.store();
        let insert = |collection: &str| WriteOp::Insert {
            collection: collection.into(),
            docs: vec![bson::doc! {"x": 1}],
        };
        let batch = WriteBatch::new().push(insert("a")).push(insert("c"));
        let err = store.apply(batch).await.unwrap_err();
        assert!(matches!(err, StoreError::Unsupported(_)), "{err:?}");
        for collection in ["a", "c"] {
            assert_eq!(store.count(collection, &Filter::All).await.unwrap(), 0);
        }
        // on one layer it runs
        let batch = WriteBatch::new().push(insert("c")).push(insert("c"));
        store.apply(batch).await.unwrap();
        assert_eq!(store.count("c", &Filter::All).await.unwrap(), 2);
        assert_eq!(store.count("a", &Filter::All).await.unwrap(), 0);
    }
}
