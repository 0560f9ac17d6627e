//! A text search with nothing to check per document (no other filter, no
//! phrase, no case or diacritic sensitivity; natural or score order) is
//! answered from the FTS5 table alone: page, order, score and count must
//! be exactly those of the search that reads every matching document
//! (forced here by a filter every document passes).

use bson::{doc, Bson, Document};
use eve_query::text::{TextSearch, TEXT_SCORE_KEY};
use eve_query::{Filter, SortDir};
use eve_store::conformance::text_index;
use eve_store::{DataLayer, FindQuery};

use crate::{open, tempdir};

fn query(filter: Filter, words: &str, by_score: bool, skip: u64, limit: u64) -> FindQuery {
    let mut q = FindQuery::new(filter);
    let mut text = TextSearch::new(words);
    text.score_field = Some("score".into());
    q.text = Some(text);
    if by_score {
        q.sort = vec![(TEXT_SCORE_KEY.to_string(), SortDir::Desc)];
    }
    q.skip = skip;
    q.limit = Some(limit);
    q
}

fn rows(docs: &[Document]) -> Vec<(Bson, Bson)> {
    docs.iter()
        .map(|d| {
            (
                d.get("_id").cloned().unwrap_or(Bson::Null),
                d.get("score").cloned().unwrap_or(Bson::Null),
            )
        })
        .collect()
}

#[tokio::test]
async fn pages_from_the_text_index_alone_equal_pages_read_from_the_documents() {
    let dir = tempdir();
    let store = open(dir.path());
    store
        .prepare_collection("articles", &[text_index()])
        .await
        .expect("prepare");
    // Every body holds "lorem"; a title "lorem" every 7th, "ipsum" in the
    // body every 3rd: scores vary and tie.
    let docs: Vec<Document> = (0..300)
        .map(|i| {
            let title = if i % 7 == 0 { "lorem notes" } else { "notes" };
            let body = if i % 3 == 0 {
                "lorem ipsum ipsum dolor"
            } else {
                "lorem dolor"
            };
            doc! {"_id": i, "title": title, "body": body}
        })
        .collect();
    store.insert("articles", docs).await.expect("insert");
    store
        .delete_many(
            "articles",
            &Filter::parse(&doc! {"_id": {"$in": [3, 4, 5]}}).expect("filter"),
        )
        .await
        .expect("delete");
    let every = Filter::parse(&doc! {"_id": {"$exists": true}}).expect("filter");
    for (words, by_score, skip, limit) in [
        ("lorem", true, 0, 25),
        ("lorem", true, 40, 25),
        ("lorem", false, 0, 25),
        ("lorem", false, 280, 25),
        ("ipsum -dolor", true, 0, 10),
        ("ipsum lorem", true, 10, 50),
        ("nothing", true, 0, 25),
    ] {
        let fast = query(Filter::All, words, by_score, skip, limit);
        let slow = query(every.clone(), words, by_score, skip, limit);
        let (fast_docs, fast_total) = store
            .find_page("articles", &fast, true)
            .await
            .expect("fast");
        let (slow_docs, slow_total) = store
            .find_page("articles", &slow, true)
            .await
            .expect("slow");
        assert_eq!(fast_total, slow_total, "{words} {by_score} {skip}");
        assert_eq!(
            rows(&fast_docs),
            rows(&slow_docs),
            "{words} {by_score} {skip}"
        );
    }
    // The counts themselves: 297 documents hold "lorem".
    let (page, total) = store
        .find_page("articles", &query(Filter::All, "lorem", true, 0, 5), true)
        .await
        .expect("page");
    assert_eq!(total, Some(297));
    assert_eq!(page.len(), 5);
}
