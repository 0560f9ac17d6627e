//! What the layers that find text matches through their own index (the
//! embedded store's FTS5 tables, PostgreSQL's `tsvector`) share once they
//! have the candidates and their scores: the exact checks the index cannot
//! make ([`TextMatcher::check`]), the rest of the filter, the count, the
//! order (by score when the sort names
//! [`TEXT_SCORE_KEY`]), the window, the projection and the
//! `{"$meta": "textScore"}` field.

use bson::{Bson, Document};
use eve_query::text::{TextMatcher, TEXT_SCORE_KEY};
use eve_query::TopK;
use eve_store::{FindQuery, IndexSpec, StoreError, StoreResult, TextIndex};

/// The text index of a collection's index set, or the error MongoDB
/// answers a `$text` query without one.
pub fn text_index<'a>(
    mut specs: impl Iterator<Item = &'a IndexSpec>,
) -> StoreResult<(&'a IndexSpec, TextIndex)> {
    specs
        .find_map(|s| s.text_index().map(|t| (s, t)))
        .ok_or_else(|| StoreError::InvalidQuery("text index required for $text query".into()))
}

/// The analyzed search of `query` (which must carry a text search) for
/// `index`.
pub fn matcher(query: &FindQuery, index: &TextIndex) -> StoreResult<TextMatcher> {
    let Some(search) = &query.text else {
        return Err(StoreError::Internal("not a text search".into()));
    };
    TextMatcher::new(search, index).map_err(|e| StoreError::InvalidQuery(e.to_string()))
}

/// Ranks candidates as they come: [`Ranker::push`] each document the
/// index found (in natural order) with its stored size and score, then
/// [`Ranker::finish`] gives the page (sorted, windowed, projected, with the
/// score where the projection asks for it) and how many documents match.
pub struct Ranker<'a> {
    query: &'a FindQuery,
    index: &'a TextIndex,
    matcher: &'a TextMatcher,
    skip: usize,
    want: Option<usize>,
    top: Option<TopK>,
    natural: Vec<Document>,
    total: u64,
}

impl<'a> Ranker<'a> {
    /// A ranker for `query`, holding at most `memory` bytes of documents
    /// when it sorts.
    pub fn new(
        query: &'a FindQuery,
        index: &'a TextIndex,
        matcher: &'a TextMatcher,
        memory: usize,
    ) -> Self {
        let skip = usize::try_from(query.skip).unwrap_or(usize::MAX);
        let want = query
            .limit
            .map(|l| skip.saturating_add(usize::try_from(l).unwrap_or(usize::MAX)));
        let top = (!query.sort.is_empty()).then(|| TopK::new(query.sort.clone(), want, memory));
        Ranker {
            query,
            index,
            matcher,
            skip,
            want,
            top,
            natural: Vec::new(),
            total: 0,
        }
    }

    /// One candidate: kept when it passes the filter and the exact checks.
    pub fn push(&mut self, mut doc: Document, size: usize, score: f64) -> StoreResult<()> {
        if !self.query.filter.matches(&doc) || !self.matcher.check(self.index, &doc) {
            return Ok(());
        }
        self.total += 1;
        doc.insert(TEXT_SCORE_KEY, Bson::Double(score));
        match &mut self.top {
            Some(top) => top
                .push(doc, size)
                .map_err(|e| StoreError::InvalidQuery(e.to_string())),
            None => {
                if self.want.is_none_or(|w| self.natural.len() < w) {
                    self.natural.push(doc);
                }
                Ok(())
            }
        }
    }

    /// The page and the number of matches.
    pub fn finish(self) -> (Vec<Document>, u64) {
        let mut docs = match self.top {
            Some(top) => top.into_sorted(),
            None => self.natural,
        };
        docs.truncate(self.want.unwrap_or(usize::MAX));
        let docs = if self.skip >= docs.len() {
            Vec::new()
        } else {
            docs.split_off(self.skip)
        };
        let score_field = self
            .query
            .text
            .as_ref()
            .and_then(|t| t.score_field.as_deref());
        let page = docs
            .into_iter()
            .map(|mut doc| {
                let score = doc.remove(TEXT_SCORE_KEY);
                let mut doc = match &self.query.projection {
                    Some(p) => eve_store::project(doc, p),
                    None => doc,
                };
                if let (Some(field), Some(score)) = (score_field, score) {
                    doc.insert(field, score);
                }
                doc
            })
            .collect();
        (page, self.total)
    }
}

/// [`Ranker`] over an iterator of candidates.
pub fn rank_page<I>(
    candidates: I,
    query: &FindQuery,
    index: &TextIndex,
    matcher: &TextMatcher,
    memory: usize,
) -> StoreResult<(Vec<Document>, u64)>
where
    I: Iterator<Item = StoreResult<(Document, usize, f64)>>,
{
    let mut ranker = Ranker::new(query, index, matcher, memory);
    for candidate in candidates {
        let (doc, size, score) = candidate?;
        ranker.push(doc, size, score)?;
    }
    Ok(ranker.finish())
}
