//! MongoDB's `$search` syntax: words separated by spaces (any word
//! matches), `"quoted phrases"` (every phrase must appear), and `-` before
//! a word or phrase for what must not appear. A hyphen inside a word
//! delimits it (`coffee-shop` is two words), as does any character that is
//! not a letter or a digit.

use crate::QueryError;

use super::analyze::words;

/// Longest `$search` (or `?q=`) string accepted, in bytes.
pub const MAX_SEARCH_BYTES: usize = 1024;

/// Most words and phrases (negated ones included) one search may have.
pub const MAX_SEARCH_TERMS: usize = 32;

/// A parsed search string, as typed (not yet folded or stemmed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchTerms {
    /// Words of which at least one must appear (when there is no phrase).
    pub words: Vec<String>,
    /// Phrases that must all appear.
    pub phrases: Vec<String>,
    /// Words that must not appear.
    pub negated_words: Vec<String>,
    /// Phrases that must not appear.
    pub negated_phrases: Vec<String>,
}

impl SearchTerms {
    /// Whether the search can match anything: MongoDB matches nothing for
    /// a search of negations only (or of stop words only).
    pub fn has_positive(&self) -> bool {
        !self.words.is_empty() || !self.phrases.is_empty()
    }

    fn count(&self) -> usize {
        self.words.len()
            + self.phrases.len()
            + self.negated_words.len()
            + self.negated_phrases.len()
    }
}

fn too_many() -> QueryError {
    QueryError::Invalid(format!(
        "$search: more than {MAX_SEARCH_TERMS} words and phrases"
    ))
}

/// Parses a `$search` string.
///
/// ```
/// use eve_query::text::parse_search;
/// let s = parse_search(r#"coffee -decaf "fair trade" -"instant mix""#).unwrap();
/// assert_eq!(s.words, ["coffee"]);
/// assert_eq!(s.negated_words, ["decaf"]);
/// assert_eq!(s.phrases, ["fair trade"]);
/// assert_eq!(s.negated_phrases, ["instant mix"]);
/// ```
pub fn parse_search(search: &str) -> Result<SearchTerms, QueryError> {
    if search.len() > MAX_SEARCH_BYTES {
        return Err(QueryError::Invalid(format!(
            "$search is longer than {MAX_SEARCH_BYTES} bytes"
        )));
    }
    let mut out = SearchTerms::default();
    let mut rest = search;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        let (negated, body) = match trimmed.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, trimmed),
        };
        if let Some(after_quote) = body.strip_prefix('"') {
            // A phrase runs to the next quote (or the end, as MongoDB reads
            // an unclosed quote).
            let (phrase, next) = match after_quote.find('"') {
                Some(end) => (&after_quote[..end], &after_quote[end + 1..]),
                None => (after_quote, ""),
            };
            if words(phrase).next().is_some() {
                let list = if negated {
                    &mut out.negated_phrases
                } else {
                    &mut out.phrases
                };
                list.push(phrase.trim().to_string());
            }
            rest = next;
        } else {
            // A token runs to the next space or quote.
            let end = body
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(body.len());
            for w in words(&body[..end]) {
                let list = if negated {
                    &mut out.negated_words
                } else {
                    &mut out.words
                };
                if !list.iter().any(|x| x == w) {
                    list.push(w.to_string());
                }
            }
            rest = &body[end..];
        }
        if out.count() > MAX_SEARCH_TERMS {
            return Err(too_many());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphens_inside_words_delimit_and_quotes_may_stay_open() {
        let s = parse_search("coffee-shop -\"open ended").unwrap_or_default();
        assert_eq!(s.words, ["coffee", "shop"]);
        assert_eq!(s.negated_phrases, ["open ended"]);
        let s = parse_search("a-b -c-d \"\" -").unwrap_or_default();
        assert_eq!(s.words, ["a", "b"]);
        assert_eq!(s.negated_words, ["c", "d"]);
        assert!(s.phrases.is_empty());
    }

    #[test]
    fn long_or_crowded_searches_are_refused() {
        assert!(parse_search(&"x".repeat(MAX_SEARCH_BYTES + 1)).is_err());
        let many: Vec<String> = (0..=MAX_SEARCH_TERMS).map(|i| format!("w{i}")).collect();
        assert!(parse_search(&many.join(" ")).is_err());
        let ok: Vec<String> = (0..MAX_SEARCH_TERMS).map(|i| format!("w{i}")).collect();
        assert!(parse_search(&ok.join(" ")).is_ok());
        // Repeated words count once.
        assert!(parse_search(&"a ".repeat(200)).is_ok());
    }
}
