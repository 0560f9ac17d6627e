//! Conformance cases for aggregation, change streams and the geo and
//! text search slots.

use std::sync::Arc;
use std::time::Duration;

use bson::{doc, Bson};

use super::helpers::insert;
use crate::{
    AggregateLimits, ChangeOperation, DataLayer, FindQuery, Near, Pipeline, StoreError, TextSearch,
};
use eve_query::Filter;

fn pipeline(stages: &[bson::Document]) -> Pipeline {
    match Pipeline::parse(stages) {
        Ok(p) => p,
        Err(e) => panic!("the suite's pipeline does not parse: {e}"),
    }
}

/// A pipeline with a leading `$match` (pushed down by the default), a
/// `$group` and a `$sort` gives MongoDB's documented result; a pipeline
/// error is a client error, not an internal one.
pub async fn aggregate_runs_a_pipeline(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "orders",
        vec![
            doc! {"_id": 1, "cust_id": "A123", "amount": 500, "status": "A"},
            doc! {"_id": 2, "cust_id": "A123", "amount": 250, "status": "A"},
            doc! {"_id": 3, "cust_id": "B212", "amount": 200, "status": "A"},
            doc! {"_id": 4, "cust_id": "A123", "amount": 300, "status": "D"},
            doc! {"_id": 5, "cust_id": "C001", "amount": 1000, "status": "A"},
            doc! {"_id": 6, "cust_id": "C001", "amount": 25.5, "status": "A"},
        ],
    )
    .await;
    let p = pipeline(&[
        doc! {"$match": {"status": "A"}},
        doc! {"$group": {"_id": "$cust_id", "total": {"$sum": "$amount"}, "n": {"$sum": 1}}},
        doc! {"$sort": {"total": -1}},
    ]);
    let out = match store
        .aggregate("orders", &p, AggregateLimits::new(1 << 20))
        .await
    {
        Ok(docs) => docs,
        Err(e) => panic!("aggregate failed: {e}"),
    };
    assert_eq!(
        out,
        vec![
            doc! {"_id": "C001", "total": 1025.5, "n": 2},
            doc! {"_id": "A123", "total": 750, "n": 2},
            doc! {"_id": "B212", "total": 200, "n": 1},
        ]
    );
    let empty = store
        .aggregate("no_such_collection", &p, AggregateLimits::new(1 << 20))
        .await;
    assert!(
        matches!(&empty, Ok(d) if d.is_empty()),
        "an unknown collection aggregates to nothing: {empty:?}"
    );
    let bad = pipeline(&[doc! {"$project": {"r": {"$divide": ["$amount", 0]}}}]);
    let err = store
        .aggregate("orders", &bad, AggregateLimits::new(1 << 20))
        .await;
    assert!(
        matches!(&err, Err(StoreError::InvalidQuery(m)) if m.contains("divide by zero")),
        "a pipeline error is InvalidQuery: {err:?}"
    );
    if !store.capabilities().native_aggregation {
        // The engine's budget; a native layer applies the server's own.
        let tight = store
            .aggregate("orders", &pipeline(&[]), AggregateLimits::new(64))
            .await;
        assert!(
            matches!(&tight, Err(StoreError::InvalidQuery(m)) if m.contains("memory limit of 64 bytes")),
            "going over the memory budget is InvalidQuery: {tight:?}"
        );
    }
    let unknown = pipeline(&[doc! {"$match": {"status": "A"}}, doc! {"$limit": 1}]);
    assert!(
        unknown.documents().len() == 2,
        "the stage documents are kept"
    );
}

/// A pipeline whose head a layer can push into its find (`$match`,
/// `$sort`, `$skip`, `$limit`), then `$lookup` joining another
/// collection and `$facet` paging and counting, gives MongoDB's result on
/// every layer (natively on MongoDB, with the shared engine elsewhere).
pub async fn aggregate_pushes_down_joins_and_facets(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "inventory",
        vec![
            doc! {"_id": 1, "sku": "almonds", "description": "product 1", "instock": 120},
            doc! {"_id": 2, "sku": "bread", "description": "product 2", "instock": 80},
            doc! {"_id": 3, "sku": "cashews", "description": "product 3", "instock": 60},
            doc! {"_id": 4, "sku": "pecans", "description": "product 4", "instock": 70},
        ],
    )
    .await;
    insert(
        &store,
        "sales",
        vec![
            doc! {"_id": 1, "item": "almonds", "price": 12, "quantity": 2},
            doc! {"_id": 2, "item": "pecans", "price": 20, "quantity": 1},
            doc! {"_id": 3, "item": "almonds", "price": 12, "quantity": 5},
            doc! {"_id": 4, "item": "bread", "price": 3, "quantity": 10},
            doc! {"_id": 5, "price": 1, "quantity": 1},
        ],
    )
    .await;
    let p = pipeline(&[
        doc! {"$match": {"price": {"$gte": 3}}},
        doc! {"$sort": {"price": -1, "_id": 1}},
        doc! {"$skip": 1},
        doc! {"$limit": 2},
        doc! {"$lookup": {
            "from": "inventory", "localField": "item", "foreignField": "sku", "as": "stock"
        }},
        doc! {"$addFields": {"n": {"$size": "$stock"}}},
        doc! {"$unwind": "$stock"},
        doc! {"$project": {"_id": 1, "n": 1, "left": "$stock.instock"}},
        doc! {"$facet": {
            "page": [{"$skip": 1}],
            "total": [{"$count": "count"}],
        }},
    ]);
    let out = match store
        .aggregate("sales", &p, AggregateLimits::new(1 << 20))
        .await
    {
        Ok(docs) => docs,
        Err(e) => panic!("aggregate failed: {e}"),
    };
    assert_eq!(
        out,
        vec![doc! {
            "page": [{"_id": 3, "n": 1, "left": 120}],
            "total": [{"count": 2}],
        }]
    );
    // A sale without an item joins the inventory lines without a sku:
    // none here.
    let orphans = pipeline(&[
        doc! {"$match": {"item": {"$exists": false}}},
        doc! {"$lookup": {
            "from": "inventory", "localField": "item", "foreignField": "sku", "as": "stock"
        }},
        doc! {"$project": {"_id": 1, "stock": 1}},
    ]);
    let out = store
        .aggregate("sales", &orphans, AggregateLimits::new(1 << 20))
        .await;
    assert!(
        matches!(&out, Ok(d) if d == &vec![doc! {"_id": 5, "stock": []}]),
        "{out:?}"
    );
}

/// A `$expr` filter compares fields of one document on every layer
/// (natively on MongoDB, with the shared expression engine elsewhere), in
/// `find`, `count` and a pipeline's `$match`.
pub async fn expr_filters_compare_fields(store: Arc<dyn DataLayer>) {
    insert(
        &store,
        "monthly",
        vec![
            doc! {"_id": 1, "budget": 400, "spent": 450},
            doc! {"_id": 2, "budget": 100, "spent": 150},
            doc! {"_id": 3, "budget": 100, "spent": 50},
            doc! {"_id": 4, "budget": 500, "spent": 300},
        ],
    )
    .await;
    let over_budget = doc! {"$expr": {"$gt": ["$spent", "$budget"]}};
    assert_eq!(
        super::reads::where_ids(&store, "monthly", over_budget.clone()).await,
        super::helpers::int_ids(&[1, 2])
    );
    let over = match Filter::parse(&over_budget) {
        Ok(f) => f,
        Err(e) => panic!("$expr does not parse: {e}"),
    };
    let n = store.count("monthly", &over).await;
    assert!(matches!(n, Ok(2)), "{n:?}");
    let p = pipeline(&[
        doc! {"$match": {"$expr": {"$lt": ["$spent", "$budget"]}}},
        doc! {"$count": "n"},
    ]);
    let out = store
        .aggregate("monthly", &p, AggregateLimits::new(1 << 20))
        .await;
    assert!(
        matches!(&out, Ok(d) if d == &vec![doc! {"n": 2}]),
        "{out:?}"
    );
}

/// A layer without change streams says so with `Unsupported`; one with
/// them delivers an insert made after the watch opened.
pub async fn watch_is_unsupported_or_delivers(store: Arc<dyn DataLayer>) {
    if !store.capabilities().change_stream {
        eprintln!(
            "watch_is_unsupported_or_delivers: {} has no change stream (capabilities().change_stream \
             is false); checking that watch says so",
            store.name()
        );
        let r = store.watch("watched").await;
        assert!(
            matches!(&r, Err(StoreError::Unsupported(m)) if m == "change stream"),
            "a layer without change streams returns Unsupported(\"change stream\"): {:?}",
            r.as_ref().map(|_| "a stream")
        );
        return;
    }
    let mut stream = match store.watch("watched").await {
        Ok(s) => s,
        Err(e) => panic!("watch failed although capabilities().change_stream is true: {e}"),
    };
    insert(&store, "watched", vec![doc! {"_id": 7, "x": 1}]).await;
    let next = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx));
    let event = match tokio::time::timeout(Duration::from_secs(10), next).await {
        Ok(Some(Ok(e))) => e,
        other => panic!(
            "no insert event within 10 s: {:?}",
            other.map(|o| o.map(|r| r.map(|_| ())))
        ),
    };
    assert_eq!(event.collection, "watched");
    assert_eq!(event.operation, ChangeOperation::Insert);
    assert_eq!(event.document_id, Bson::Int32(7));
    if let Some(d) = event.full_document {
        assert_eq!(d, doc! {"_id": 7, "x": 1});
    }
}

/// A layer without geo or text search refuses a query carrying one
/// (`find` and `find_page`) with `Unsupported`, never dropping the search
/// silently; a layer with them is not checked here.
pub async fn searches_are_refused_without_the_capability(store: Arc<dyn DataLayer>) {
    insert(&store, "places", vec![doc! {"_id": 1, "loc": [1.0, 2.0]}]).await;
    let caps = store.capabilities();
    let mut near = FindQuery::new(Filter::All);
    near.near = Some(Near {
        field: "loc".into(),
        point: [1.0, 2.0],
        max_distance: Some(1.0),
        min_distance: None,
        spherical: false,
        geojson: false,
    });
    let mut text = FindQuery::new(Filter::All);
    text.text = Some(TextSearch::new("cafe"));
    for (query, supported, what) in [(near, caps.geo, "geo"), (text, caps.text_search, "text")] {
        if supported {
            eprintln!("searches_are_refused_without_the_capability: {} has {what} search; not checked here", store.name());
            continue;
        }
        let found = store.find("places", &query).await;
        assert!(
            matches!(found, Err(StoreError::Unsupported(_))),
            "find with a {what} search on a layer without it: {found:?}"
        );
        let page = store.find_page("places", &query, true).await;
        assert!(
            matches!(page, Err(StoreError::Unsupported(_))),
            "find_page with a {what} search on a layer without it: {page:?}"
        );
    }
}
