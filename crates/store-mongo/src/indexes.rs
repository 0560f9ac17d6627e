//! `prepare_collection` on MongoDB: the collection's indexes made to match
//! the settings (`unique` rules and `mongo_indexes`, features.md §43).
//! Unlisted indexes are dropped first, so that a definition moving to a
//! new name does not collide with its old self (MongoDB errors 85/86); an
//! index whose definition changed is dropped and created again.

use bson::{Bson, Document};
use futures_util::TryStreamExt;
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

use eve_store::{IndexKey, IndexSpec, StoreError, StoreResult};

use crate::{error, MongoStore};

/// MongoDB's "namespace exists" and "namespace not found".
const NAMESPACE_EXISTS: i32 = 48;
const NAMESPACE_NOT_FOUND: i32 = 26;

pub(crate) async fn prepare(
    store: &MongoStore,
    collection: &str,
    specs: &[IndexSpec],
) -> StoreResult<()> {
    store.set_unique_fields(
        collection,
        specs
            .iter()
            .filter(|s| s.unique && s.keys.len() == 1)
            .map(|s| s.keys[0].0.clone())
            .collect(),
    );
    let db = store.index_db();
    let coll = db.collection::<Document>(collection);
    if let Err(e) = db.create_collection(collection).await {
        if error::code(&e) != Some(NAMESPACE_EXISTS) {
            return Err(error::map(e, 0));
        }
    }
    let existing: Vec<IndexModel> = match coll.list_indexes().await {
        Ok(cursor) => cursor.try_collect().await.map_err(|e| error::map(e, 0))?,
        Err(e) if error::code(&e) == Some(NAMESPACE_NOT_FOUND) => Vec::new(),
        Err(e) => return Err(error::map(e, 0)),
    };
    let wanted: Vec<(&IndexSpec, IndexModel)> = specs
        .iter()
        .filter(|s| s.name != "_id_")
        .map(|s| Ok((s, model(s)?)))
        .collect::<StoreResult<_>>()?;
    for old in &existing {
        let Some(name) = index_name(old) else {
            continue;
        };
        if name == "_id_" {
            continue;
        }
        let keep = wanted
            .iter()
            .any(|(spec, new)| spec.name == name && same_definition(old, new));
        if !keep {
            tracing::info!(collection, index = name, "dropping index");
            coll.drop_index(name).await.map_err(|e| error::map(e, 0))?;
        }
    }
    for (spec, new) in wanted {
        let present = existing
            .iter()
            .any(|old| index_name(old) == Some(spec.name.as_str()) && same_definition(old, &new));
        if present {
            continue;
        }
        tracing::info!(collection, index = %spec.name, "creating index");
        if let Err(e) = coll.create_index(new).await {
            return Err(match error::map(e, 0) {
                StoreError::Unavailable(m) => StoreError::Unavailable(m),
                other => StoreError::InvalidIndex {
                    name: spec.name.clone(),
                    message: other.to_string(),
                },
            });
        }
    }
    Ok(())
}

fn index_name(model: &IndexModel) -> Option<&str> {
    model.options.as_ref()?.name.as_deref()
}

/// The driver's model of a spec.
fn model(spec: &IndexSpec) -> StoreResult<IndexModel> {
    if spec.keys.is_empty() {
        return Err(StoreError::InvalidIndex {
            name: spec.name.clone(),
            message: "an index needs at least one key".into(),
        });
    }
    let mut keys = Document::new();
    for (field, key) in &spec.keys {
        let value = match key {
            IndexKey::Asc => Bson::Int32(1),
            IndexKey::Desc => Bson::Int32(-1),
            IndexKey::Special(kind) => Bson::String(kind.clone()),
        };
        keys.insert(field.clone(), value);
    }
    let mut options = IndexOptions::builder()
        .name(spec.name.clone())
        .unique(spec.unique.then_some(true))
        .sparse(spec.sparse.then_some(true))
        .build();
    crate::text::index_options(spec, &mut options);
    Ok(IndexModel::builder().keys(keys).options(options).build())
}

/// Same keys (directions compared by value, whatever the number type the
/// server reports), same `unique` and `sparse`.
fn same_definition(old: &IndexModel, new: &IndexModel) -> bool {
    let flag = |m: &IndexModel, f: fn(&IndexOptions) -> Option<bool>| {
        m.options.as_ref().and_then(f).unwrap_or(false)
    };
    let text = match (&old.options, &new.options) {
        (Some(o), Some(n)) if n.weights.is_some() => crate::text::same_text_index(&old.keys, o, n),
        _ => false,
    };
    (text || same_keys(&old.keys, &new.keys))
        && flag(old, |o| o.unique) == flag(new, |o| o.unique)
        && flag(old, |o| o.sparse) == flag(new, |o| o.sparse)
}

fn same_keys(a: &Document, b: &Document) -> bool {
    let norm = |v: &Bson| match v {
        Bson::Int32(n) => Bson::Double(f64::from(*n)),
        Bson::Int64(n) => Bson::Double(*n as f64),
        other => other.clone(),
    };
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && norm(va) == norm(vb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn key_directions_compare_by_value() {
        assert!(same_keys(
            &doc! {"a": 1.0, "b": -1_i64},
            &doc! {"a": 1, "b": -1}
        ));
        assert!(!same_keys(&doc! {"a": 1, "b": -1}, &doc! {"b": -1, "a": 1}));
        assert!(!same_keys(&doc! {"a": "2dsphere"}, &doc! {"a": 1}));
    }
}
