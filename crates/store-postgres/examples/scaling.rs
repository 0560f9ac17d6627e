//! How an indexed, sorted page read scales with the collection's size on
//! PostgreSQL (issue #11: an indexed query at a large size costs no more
//! than 1.5× the same query at a small one). Seeds a temporary schema with
//! bench-like documents (about 100 per owner) up to 10k, 100k and 300k
//! documents and times 200 pages of `{owner: X}` sorted by `-seq`, 25 per
//! page, with their totals (S2/S7 of bench/, without HTTP).
//!
//! ```sh
//! EVE_TEST_POSTGRES_URI=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release -p eve-store-postgres --example scaling
//! ```

use bson::doc;
use eve_query::{Filter, SortDir};
use eve_store::{DataLayer, FindQuery, IndexKey, IndexSpec};
use eve_store_postgres::{PgOptions, PostgresStore};

fn index(name: &str, fields: &[&str]) -> IndexSpec {
    IndexSpec {
        name: name.into(),
        keys: fields
            .iter()
            .map(|f| (f.to_string(), IndexKey::Asc))
            .collect(),
        unique: false,
        sparse: false,
        text: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("EVE_TEST_POSTGRES_URI")
        .map_err(|_| "set EVE_TEST_POSTGRES_URI (e.g. postgres://postgres@127.0.0.1:5432/test)")?;
    let store = PostgresStore::connect_temporary(&uri, PgOptions::default()).await?;
    store
        .prepare_collection(
            "docs",
            &[
                index("owner", &["owner"]),
                index("owner_seq", &["owner", "seq"]),
            ],
        )
        .await?;
    let pad = "x".repeat(800);
    let mut n = 0i64;
    let mut first = None;
    for target in [10_000i64, 100_000, 300_000] {
        while n < target {
            let docs = (n..n + 1000)
                .map(|i| {
                    let owner = format!("user-{:06}", (i / 10_000) * 100 + i % 100);
                    doc! {"seq": i, "owner": owner, "pad": &pad}
                })
                .collect();
            store.insert("docs", docs).await?;
            n += 1000;
        }
        let owners = (n / 10_000) * 100;
        let started = std::time::Instant::now();
        let mut examined = 0;
        for k in 0..200 {
            let owner = format!("user-{:06}", (k * 7919) % owners);
            let mut query = FindQuery::new(Filter::parse(&doc! {"owner": owner})?);
            query.sort = vec![("seq".into(), SortDir::Desc)];
            query.limit = Some(25);
            examined += store.explain("docs", &query).await?.stats.docs_examined;
            store.find_page("docs", &query, true).await?;
        }
        let took = started.elapsed();
        let base = *first.get_or_insert(took);
        println!(
            "{n:>7} documents: 200 pages in {took:?} ({:.2}x the first size), {examined} documents read",
            took.as_secs_f64() / base.as_secs_f64()
        );
    }
    Ok(())
}
