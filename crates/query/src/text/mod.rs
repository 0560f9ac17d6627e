//! Full-text search, the parts every data layer shares: text index
//! definitions ([`TextIndex`]), the `$text` operand ([`TextSearch`]), the
//! `$search` syntax ([`parse_search`]), the analysis of text into index
//! terms ([`analyze`]: folding, stop words, Snowball stems, per
//! [`Language`]) and the exact checks a layer's index cannot make
//! ([`TextMatcher::check`]: phrases, case and diacritic sensitivity).
//! See docs/search.md.

mod analyze;
mod parse;

use bson::{Bson, Document};

pub use analyze::{analyze, fold, term, words};
pub use parse::{parse_search, SearchTerms, MAX_SEARCH_BYTES, MAX_SEARCH_TERMS};

use crate::QueryError;

/// The sort key standing for `{"$meta": "textScore"}` in a
/// [`SortSpec`](crate::SortSpec): the relevance score, best first. Layers
/// that run a text search sort on it; it names no stored field.
pub const TEXT_SCORE_KEY: &str = "$textScore";

/// Most fields one text index may cover.
pub const MAX_TEXT_FIELDS: usize = 32;

/// A language of MongoDB's text search: the stemmer and stop words used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// No stemming, no stop words (`none`).
    None,
    /// `danish` / `da`.
    Danish,
    /// `dutch` / `nl`.
    Dutch,
    /// `english` / `en`.
    English,
    /// `finnish` / `fi`.
    Finnish,
    /// `french` / `fr`.
    French,
    /// `german` / `de`.
    German,
    /// `hungarian` / `hu`.
    Hungarian,
    /// `italian` / `it`.
    Italian,
    /// `norwegian` / `nb`.
    Norwegian,
    /// `portuguese` / `pt`.
    Portuguese,
    /// `romanian` / `ro`.
    Romanian,
    /// `russian` / `ru`.
    Russian,
    /// `spanish` / `es`.
    Spanish,
    /// `swedish` / `sv`.
    Swedish,
    /// `turkish` / `tr`.
    Turkish,
}

impl Language {
    /// Every language.
    pub const ALL: [Language; 16] = [
        Language::None,
        Language::Danish,
        Language::Dutch,
        Language::English,
        Language::Finnish,
        Language::French,
        Language::German,
        Language::Hungarian,
        Language::Italian,
        Language::Norwegian,
        Language::Portuguese,
        Language::Romanian,
        Language::Russian,
        Language::Spanish,
        Language::Swedish,
        Language::Turkish,
    ];

    /// MongoDB's name (`english`, …, `none`), also PostgreSQL's text
    /// search configuration of the language (`simple` for `none`, see
    /// [`Language::pg_config`]).
    pub fn name(self) -> &'static str {
        match self {
            Language::None => "none",
            Language::Danish => "danish",
            Language::Dutch => "dutch",
            Language::English => "english",
            Language::Finnish => "finnish",
            Language::French => "french",
            Language::German => "german",
            Language::Hungarian => "hungarian",
            Language::Italian => "italian",
            Language::Norwegian => "norwegian",
            Language::Portuguese => "portuguese",
            Language::Romanian => "romanian",
            Language::Russian => "russian",
            Language::Spanish => "spanish",
            Language::Swedish => "swedish",
            Language::Turkish => "turkish",
        }
    }

    /// The ISO 639-1 code MongoDB also accepts (`none` for none).
    pub fn iso(self) -> &'static str {
        match self {
            Language::None => "none",
            Language::Danish => "da",
            Language::Dutch => "nl",
            Language::English => "en",
            Language::Finnish => "fi",
            Language::French => "fr",
            Language::German => "de",
            Language::Hungarian => "hu",
            Language::Italian => "it",
            Language::Norwegian => "nb",
            Language::Portuguese => "pt",
            Language::Romanian => "ro",
            Language::Russian => "ru",
            Language::Spanish => "es",
            Language::Swedish => "sv",
            Language::Turkish => "tr",
        }
    }

    /// The PostgreSQL text search configuration of the language.
    pub fn pg_config(self) -> &'static str {
        match self {
            Language::None => "simple",
            other => other.name(),
        }
    }

    /// The language a name or ISO code (case-insensitive) stands for.
    ///
    /// ```
    /// use eve_query::text::Language;
    /// assert_eq!(Language::parse("ES"), Some(Language::Spanish));
    /// assert_eq!(Language::parse("klingon"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Language> {
        let s = s.to_ascii_lowercase();
        Language::ALL
            .into_iter()
            .find(|l| l.name() == s || l.iso() == s || (s == "no" && *l == Language::Norwegian))
    }
}

/// A text index: the fields it covers with their weights, and its
/// languages (MongoDB's `weights`, `default_language`,
/// `language_override`). A collection has at most one.
#[derive(Debug, Clone, PartialEq)]
pub struct TextIndex {
    /// Indexed fields (dotted paths) and their weights (1 unless given).
    pub fields: Vec<(String, u32)>,
    /// The language of documents that do not name one.
    pub default_language: Language,
    /// The field naming a document's own language (`language`).
    pub language_override: String,
}

impl TextIndex {
    /// The language of `doc`: its `language_override` field when that
    /// names a language, else the index's default.
    pub fn language_of(&self, doc: &Document) -> Language {
        match crate::values_at_path(doc, &self.language_override)
            .into_iter()
            .next()
        {
            Some(Bson::String(s)) => Language::parse(s).unwrap_or(self.default_language),
            _ => self.default_language,
        }
    }

    /// The text of each indexed field of `doc`, in [`TextIndex::fields`]
    /// order: every string at the path (through arrays) joined by
    /// newlines; empty when there is none.
    pub fn field_texts(&self, doc: &Document) -> Vec<String> {
        self.fields
            .iter()
            .map(|(path, _)| {
                let mut parts = Vec::new();
                for v in crate::values_at_path(doc, path) {
                    collect_strings(v, &mut parts, 0);
                }
                parts.join("\n")
            })
            .collect()
    }
}

fn collect_strings<'a>(v: &'a Bson, out: &mut Vec<&'a str>, depth: usize) {
    match v {
        Bson::String(s) => out.push(s),
        Bson::Array(items) if depth < 4 => {
            for i in items {
                collect_strings(i, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// A `$text` search (lifted out of a `where`, or built from `?q=`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextSearch {
    /// The terms (`$search`), in MongoDB's syntax (phrases in quotes,
    /// negations with `-`).
    pub search: String,
    /// The language for stemming and stop words (`$language`), `None` for
    /// the index's default.
    pub language: Option<String>,
    /// `$caseSensitive` (default false).
    pub case_sensitive: bool,
    /// `$diacriticSensitive` (default false).
    pub diacritic_sensitive: bool,
    /// The field a `projection` of `{"$meta": "textScore"}` names: the
    /// layer sets it to each document's score.
    pub score_field: Option<String>,
}

impl TextSearch {
    /// A search of `search` with MongoDB's defaults.
    pub fn new(search: impl Into<String>) -> Self {
        TextSearch {
            search: search.into(),
            language: None,
            case_sensitive: false,
            diacritic_sensitive: false,
            score_field: None,
        }
    }

    /// Parses the operand of `$text`, checking the search string's syntax
    /// and limits and the language.
    pub fn from_operand(v: &Bson) -> Result<TextSearch, QueryError> {
        let invalid = |m: String| QueryError::Invalid(m);
        let Bson::Document(d) = v else {
            return Err(invalid("$text needs an object".into()));
        };
        let mut text = TextSearch::new("");
        let mut search = None;
        for (k, v) in d {
            match (k.as_str(), v) {
                ("$search", Bson::String(s)) => search = Some(s.clone()),
                ("$language", Bson::String(s)) => text.language = Some(s.clone()),
                ("$caseSensitive", Bson::Boolean(b)) => text.case_sensitive = *b,
                ("$diacriticSensitive", Bson::Boolean(b)) => text.diacritic_sensitive = *b,
                ("$search" | "$language", _) => {
                    return Err(invalid(format!("$text: {k} must be a string")))
                }
                ("$caseSensitive" | "$diacriticSensitive", _) => {
                    return Err(invalid(format!("$text: {k} must be a boolean")))
                }
                _ => return Err(invalid(format!("$text: unknown parameter {k}"))),
            }
        }
        text.search = search.ok_or_else(|| invalid("$text needs a $search string".into()))?;
        text.check()?;
        Ok(text)
    }

    /// Checks the search string (syntax, length, number of terms) and the
    /// language.
    pub fn check(&self) -> Result<(), QueryError> {
        parse_search(&self.search)?;
        self.query_language(Language::English).map(|_| ())
    }

    /// The language the search is analyzed in: `$language`, else the
    /// index's default.
    pub fn query_language(&self, default: Language) -> Result<Language, QueryError> {
        match &self.language {
            None => Ok(default),
            Some(l) => Language::parse(l).ok_or_else(|| {
                let shown: String = l.chars().take(40).collect();
                QueryError::Invalid(format!("$text: unsupported language '{shown}'"))
            }),
        }
    }
}

/// A search analyzed for one index: the terms a layer's index looks up,
/// and the exact checks it cannot make.
#[derive(Debug, Clone)]
pub struct TextMatcher {
    /// The parsed search, as typed.
    pub raw: SearchTerms,
    /// Index terms of the words (any one matches when there is no phrase).
    pub words: Vec<String>,
    /// Index terms of each phrase (every phrase must match); phrases made
    /// only of stop words are left out (the exact check covers them).
    pub phrases: Vec<Vec<String>>,
    /// Index terms of the negated words.
    pub negated_words: Vec<String>,
    /// Index terms of the negated phrases.
    pub negated_phrases: Vec<Vec<String>>,
    /// The query's language.
    pub language: Language,
    case_sensitive: bool,
    diacritic_sensitive: bool,
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|t| seen.insert(t.clone()));
    v
}

impl TextMatcher {
    /// Analyzes `search` for `index`.
    pub fn new(search: &TextSearch, index: &TextIndex) -> Result<TextMatcher, QueryError> {
        let raw = parse_search(&search.search)?;
        let language = search.query_language(index.default_language)?;
        let terms = |list: &[String]| -> Vec<String> {
            dedup(list.iter().flat_map(|w| analyze(w, language)).collect())
        };
        let phrases = |list: &[String]| -> Vec<Vec<String>> {
            list.iter()
                .map(|p| analyze(p, language))
                .filter(|p| !p.is_empty())
                .collect()
        };
        Ok(TextMatcher {
            words: terms(&raw.words),
            phrases: phrases(&raw.phrases),
            negated_words: terms(&raw.negated_words),
            negated_phrases: phrases(&raw.negated_phrases),
            language,
            case_sensitive: search.case_sensitive,
            diacritic_sensitive: search.diacritic_sensitive,
            raw,
        })
    }

    /// Whether the search can match anything at all: not when it has no
    /// positive word or phrase left after stop words (MongoDB matches
    /// nothing then).
    pub fn can_match(&self) -> bool {
        if self.raw.phrases.is_empty() {
            !self.words.is_empty()
        } else {
            true
        }
    }

    /// Whether an index of terms alone decides the matches: no phrase,
    /// no negated phrase, no case or diacritic sensitivity, so
    /// [`check`](Self::check) passes every document the index finds.
    pub fn index_decides(&self) -> bool {
        self.raw.phrases.is_empty()
            && self.raw.negated_phrases.is_empty()
            && !self.case_sensitive
            && !self.diacritic_sensitive
    }

    /// The checks an index of terms cannot make, on a document the index
    /// found: every phrase appears as typed (case and diacritics folded
    /// unless the search is sensitive to them), no negated phrase does,
    /// and with `$caseSensitive` or `$diacriticSensitive` a word matches
    /// with its case and diacritics.
    pub fn check(&self, index: &TextIndex, doc: &Document) -> bool {
        if self.index_decides() {
            return true;
        }
        let sensitive = self.case_sensitive || self.diacritic_sensitive;
        let texts: Vec<String> = index
            .field_texts(doc)
            .iter()
            .map(|t| fold(t, self.case_sensitive, self.diacritic_sensitive))
            .collect();
        let contains = |phrase: &str| {
            let p = fold(phrase, self.case_sensitive, self.diacritic_sensitive);
            texts.iter().any(|t| t.contains(&p))
        };
        if !self.raw.phrases.iter().all(|p| contains(p)) {
            return false;
        }
        if self.raw.negated_phrases.iter().any(|p| contains(p)) {
            return false;
        }
        if sensitive && self.raw.phrases.is_empty() {
            return self.raw.words.iter().any(|w| self.word_in(&texts, w));
        }
        true
    }

    /// A word appears in `texts` (folded with the search's sensitivity)
    /// with the same stem, and spelled the same over the stem's length.
    fn word_in(&self, texts: &[String], word: &str) -> bool {
        let w = fold(word, self.case_sensitive, self.diacritic_sensitive);
        let Some(stem) = term(&fold(word, false, false), self.language) else {
            return false;
        };
        let n = stem.chars().count();
        texts.iter().flat_map(|t| words(t)).any(|candidate| {
            term(&fold(candidate, false, false), self.language).as_deref() == Some(stem.as_str())
                && candidate.chars().take(n).eq(w.chars().take(n))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn index() -> TextIndex {
        TextIndex {
            fields: vec![("title".into(), 10), ("tags".into(), 1)],
            default_language: Language::English,
            language_override: "language".into(),
        }
    }

    #[test]
    fn fields_and_languages_come_from_the_document() {
        let d = doc! {"title": "Café", "tags": ["a", {"x": 1}, "b"], "language": "fr"};
        assert_eq!(index().field_texts(&d), ["Café", "a\nb"]);
        assert_eq!(index().language_of(&d), Language::French);
        assert_eq!(
            index().language_of(&doc! {"language": "xx"}),
            Language::English
        );
    }

    #[test]
    fn phrases_and_sensitivity_are_checked_exactly() {
        let d = doc! {"title": "The Blue Café opens", "tags": ["x"]};
        let m = |s: &str, case: bool, dia: bool| {
            let mut t = TextSearch::new(s);
            t.case_sensitive = case;
            t.diacritic_sensitive = dia;
            TextMatcher::new(&t, &index())
                .map(|m| m.check(&index(), &d))
                .unwrap_or(false)
        };
        assert!(m("\"blue cafe\"", false, false));
        assert!(!m("\"cafe blue\"", false, false));
        assert!(!m("x -\"blue café\"", false, false));
        assert!(m("Blue", true, false));
        assert!(!m("blue", true, false));
        assert!(m("café", false, true));
        assert!(!m("cafe", false, true));
        assert!(m("opening", true, false));
    }

    #[test]
    fn stop_words_only_match_nothing() {
        let m = TextMatcher::new(&TextSearch::new("the and -x"), &index())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!m.can_match());
        assert!(TextSearch::from_operand(&Bson::Document(
            doc! {"$search": "x", "$language": "zz"}
        ))
        .is_err());
    }
}
