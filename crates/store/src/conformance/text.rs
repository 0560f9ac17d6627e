//! Text search (`FindQuery::text`) on layers with
//! [`Capabilities::text_search`](crate::Capabilities): matching with
//! MongoDB's `$search` syntax, ranking by score, counts, and the text
//! index following every kind of write. Layers without the capability
//! skip these cases (saying so); `searches_are_refused_without_the_capability`
//! covers them.

use std::sync::Arc;

use bson::{doc, Bson, Document};

use super::helpers::{ids, insert, int_ids, prepare, q};
use crate::{
    DataLayer, FindQuery, IndexKey, IndexSpec, SortDir, StoreError, TextIndex, TextSearch,
    TEXT_SCORE_KEY,
};
use eve_query::text::Language;
use eve_query::Filter;

/// The text index of the text cases: `title` (weight 10) and `body` (1),
/// English by default, `language` naming a document's own.
pub fn text_index() -> IndexSpec {
    IndexSpec {
        name: "search".into(),
        keys: vec![
            ("title".into(), IndexKey::Special("text".into())),
            ("body".into(), IndexKey::Special("text".into())),
        ],
        unique: false,
        sparse: false,
        text: Some(TextIndex {
            fields: vec![("title".into(), 10), ("body".into(), 1)],
            default_language: Language::English,
            language_override: "language".into(),
        }),
    }
}

fn skip(store: &Arc<dyn DataLayer>, case: &str) -> bool {
    if store.capabilities().text_search {
        return false;
    }
    eprintln!("{case}: {} has no text search; skipped", store.name());
    true
}

fn search(s: &str) -> FindQuery {
    let mut query = FindQuery::new(Filter::All);
    query.text = Some(TextSearch::new(s));
    query
}

fn by_score(mut query: FindQuery) -> FindQuery {
    query.sort = vec![(TEXT_SCORE_KEY.to_string(), SortDir::Desc)];
    query
}

async fn found(store: &Arc<dyn DataLayer>, coll: &str, query: &FindQuery) -> Vec<Bson> {
    match store.find(coll, query).await {
        Ok(docs) => ids(&docs),
        Err(e) => panic!("text search {query:?} failed: {e}"),
    }
}

async fn sorted_ids(store: &Arc<dyn DataLayer>, coll: &str, s: &str) -> Vec<Bson> {
    let mut got = found(store, coll, &search(s)).await;
    got.sort_by_key(|b| b.as_i32().unwrap_or(0));
    got
}

fn articles() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "title": "Coffee shops of Paris", "body": "Where to drink espresso", "tag": "a"},
        doc! {"_id": 2, "title": "Tea rooms", "body": "A coffee is served too", "tag": "b"},
        doc! {"_id": 3, "title": "Fair trade", "body": "Fair trade coffee beans, decaf", "tag": "a"},
        doc! {"_id": 4, "title": "Le café", "body": "Un café crème", "language": "french", "tag": "b"},
        doc! {"_id": 5, "title": "Gardening", "body": "Roses and tulips", "tag": "a"},
    ]
}

/// Words are ORed and stemmed, phrases required, negations exclude, case
/// and diacritics are folded; a search of negations or stop words only
/// finds nothing; the score ranks a title match (weight 10) above a body
/// match and can be projected; filters, counts and windows combine.
pub async fn text_search_matches_ranks_and_counts(store: Arc<dyn DataLayer>) {
    if skip(&store, "text_search_matches_ranks_and_counts") {
        return;
    }
    prepare(&store, "articles", &[text_index()]).await;
    insert(&store, "articles", articles()).await;
    assert_eq!(
        sorted_ids(&store, "articles", "COFFEE").await,
        int_ids(&[1, 2, 3])
    );
    assert_eq!(
        sorted_ids(&store, "articles", "shop roses").await,
        int_ids(&[1, 5])
    );
    assert_eq!(
        sorted_ids(&store, "articles", "coffee -decaf").await,
        int_ids(&[1, 2])
    );
    assert_eq!(
        sorted_ids(&store, "articles", "\"fair trade\" coffee").await,
        int_ids(&[3])
    );
    assert_eq!(
        sorted_ids(&store, "articles", "coffee -\"fair trade\"").await,
        int_ids(&[1, 2])
    );
    // A document in its own language (`language`), searched in it.
    let mut french = search("CAFE");
    if let Some(t) = french.text.as_mut() {
        t.language = Some("fr".into());
    }
    assert_eq!(found(&store, "articles", &french).await, int_ids(&[4]));
    assert_eq!(
        sorted_ids(&store, "articles", "-coffee").await,
        int_ids(&[])
    );
    assert_eq!(
        sorted_ids(&store, "articles", "the and of").await,
        int_ids(&[])
    );
    // Title (weight 10) before body (weight 1).
    let ranked = found(&store, "articles", &by_score(search("coffee"))).await;
    assert_eq!(ranked.first(), Some(&Bson::Int32(1)), "{ranked:?}");
    assert_eq!(ranked.len(), 3);
    // The score, projected under the name asked for.
    let mut query = by_score(search("coffee"));
    query.projection = Some(doc! {"title": 1});
    if let Some(t) = query.text.as_mut() {
        t.score_field = Some("score".into());
    }
    let docs = match store.find("articles", &query).await {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let scores: Vec<f64> = docs
        .iter()
        .map(|d| d.get_f64("score").unwrap_or(f64::NAN))
        .collect();
    assert!(scores.iter().all(|s| *s > 0.0), "{docs:?}");
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(docs
        .iter()
        .all(|d| !d.contains_key("body") && d.contains_key("title")));
    // With a filter, a window and the total.
    let mut query = by_score(search("coffee fair"));
    query.filter = q(doc! {"tag": "a"});
    query.limit = Some(1);
    let (page, total) = match store.find_page("articles", &query, true).await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(total, Some(2));
    assert_eq!(page.len(), 1);
    query.skip = 1;
    let (page2, _) = match store.find_page("articles", &query, false).await {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(page2.len(), 1);
    assert_ne!(ids(&page), ids(&page2));
}

/// The text index follows replaces, updates, deletes and batches.
pub async fn text_index_follows_every_write(store: Arc<dyn DataLayer>) {
    if skip(&store, "text_index_follows_every_write") {
        return;
    }
    prepare(&store, "notes", &[text_index()]).await;
    insert(
        &store,
        "notes",
        vec![
            doc! {"_id": 1, "title": "apple"},
            doc! {"_id": 2, "title": "banana"},
        ],
    )
    .await;
    assert!(matches!(
        store
            .replace_one(
                "notes",
                &q(doc! {"_id": 1}),
                doc! {"_id": 1, "title": "cherry"}
            )
            .await,
        Ok(true)
    ));
    assert_eq!(sorted_ids(&store, "notes", "apple").await, int_ids(&[]));
    assert_eq!(sorted_ids(&store, "notes", "cherry").await, int_ids(&[1]));
    assert!(matches!(
        store
            .update_one("notes", &q(doc! {"_id": 2}), doc! {"body": "cherries"})
            .await,
        Ok(true)
    ));
    assert_eq!(
        sorted_ids(&store, "notes", "cherry").await,
        int_ids(&[1, 2])
    );
    assert!(matches!(
        store.delete_many("notes", &q(doc! {"_id": 1})).await,
        Ok(1)
    ));
    assert_eq!(sorted_ids(&store, "notes", "cherry").await, int_ids(&[2]));
    // A failed batch leaves the index as it was.
    let batch = crate::WriteBatch::new()
        .push(crate::WriteOp::Insert {
            collection: "notes".into(),
            docs: vec![doc! {"_id": 3, "title": "cherry"}],
        })
        .push(crate::WriteOp::Insert {
            collection: "notes".into(),
            docs: vec![doc! {"_id": 2, "title": "dup"}],
        });
    assert!(store.apply(batch).await.is_err());
    assert_eq!(sorted_ids(&store, "notes", "cherry").await, int_ids(&[2]));
    // A document with megabytes of text is stored and found.
    let long = "tangerine ".repeat(300_000);
    insert(
        &store,
        "notes",
        vec![doc! {"_id": 4, "title": "kiwi", "body": long}],
    )
    .await;
    assert_eq!(
        sorted_ids(&store, "notes", "kiwi tangerines").await,
        int_ids(&[4])
    );
    // An index created over existing documents covers them.
    insert(&store, "late", vec![doc! {"_id": 1, "title": "plum"}]).await;
    prepare(&store, "late", &[text_index()]).await;
    assert_eq!(sorted_ids(&store, "late", "plums").await, int_ids(&[1]));
}

/// A text search on a collection without a text index is a client error,
/// as MongoDB's "text index required"; two text indexes are refused.
pub async fn text_search_needs_one_text_index(store: Arc<dyn DataLayer>) {
    if skip(&store, "text_search_needs_one_text_index") {
        return;
    }
    insert(&store, "plain", vec![doc! {"_id": 1, "title": "x"}]).await;
    let got = store.find("plain", &search("x")).await;
    assert!(matches!(got, Err(StoreError::InvalidQuery(_))), "{got:?}");
    let mut second = text_index();
    second.name = "other".into();
    let got = store
        .prepare_collection("two", &[text_index(), second])
        .await;
    assert!(
        matches!(got, Err(StoreError::InvalidIndex { .. })),
        "{got:?}"
    );
}
