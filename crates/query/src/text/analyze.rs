//! Turning text into index terms as MongoDB's text indexes do: words are
//! runs of letters and digits (any other character delimits), folded to
//! lower case and stripped of diacritics, stop words of the language
//! dropped, the rest reduced to their Snowball stem (MongoDB uses the
//! Snowball stemmers too; its stop word lists differ in a few words from
//! the NLTK lists used here).

use std::collections::HashSet;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::Language;

/// Longest word kept, in characters: longer runs are cut (MongoDB keeps
/// them whole, but no real word is this long and a bound keeps index rows
/// small).
const MAX_WORD_CHARS: usize = 64;

/// The words of `text`: maximal runs of alphanumeric characters.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// `text` with diacritics removed (canonical decomposition, combining
/// marks dropped) unless `diacritic_sensitive`, and lower-cased unless
/// `case_sensitive`.
pub fn fold(text: &str, case_sensitive: bool, diacritic_sensitive: bool) -> String {
    let stripped: String = if diacritic_sensitive {
        text.nfc().collect()
    } else {
        text.nfd()
            .filter(|c| !is_combining_mark(*c))
            .nfc()
            .collect()
    };
    if case_sensitive {
        stripped
    } else {
        stripped.to_lowercase()
    }
}

fn stop_words(lang: Language) -> &'static HashSet<&'static str> {
    static SETS: OnceLock<Vec<(Language, HashSet<&'static str>)>> = OnceLock::new();
    static EMPTY: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        Language::ALL
            .iter()
            .filter_map(|l| {
                let words = stop_words::lookup(l.iso())?;
                Some((*l, words.iter().copied().collect()))
            })
            .collect()
    });
    sets.iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, s)| s)
        .unwrap_or_else(|| EMPTY.get_or_init(HashSet::new))
}

fn algorithm(lang: Language) -> Option<Algorithm> {
    Some(match lang {
        Language::None => return None,
        Language::Danish => Algorithm::Danish,
        Language::Dutch => Algorithm::Dutch,
        Language::English => Algorithm::English,
        Language::Finnish => Algorithm::Finnish,
        Language::French => Algorithm::French,
        Language::German => Algorithm::German,
        Language::Hungarian => Algorithm::Hungarian,
        Language::Italian => Algorithm::Italian,
        Language::Norwegian => Algorithm::Norwegian,
        Language::Portuguese => Algorithm::Portuguese,
        Language::Romanian => Algorithm::Romanian,
        Language::Russian => Algorithm::Russian,
        Language::Spanish => Algorithm::Spanish,
        Language::Swedish => Algorithm::Swedish,
        Language::Turkish => Algorithm::Turkish,
    })
}

/// The index term of one folded word, `None` for a stop word.
pub fn term(word: &str, lang: Language) -> Option<String> {
    let word: String = word.chars().take(MAX_WORD_CHARS).collect();
    if stop_words(lang).contains(word.as_str()) {
        return None;
    }
    Some(match algorithm(lang) {
        Some(a) => Stemmer::create(a).stem(&word).into_owned(),
        None => word,
    })
}

/// The index terms of `text` in `lang`, in order: folded words minus stop
/// words, stemmed.
///
/// ```
/// use eve_query::text::{analyze, Language};
/// assert_eq!(analyze("The Cafés are opening", Language::English), ["cafe", "open"]);
/// assert_eq!(analyze("The Cafés", Language::None), ["the", "cafes"]);
/// ```
pub fn analyze(text: &str, lang: Language) -> Vec<String> {
    let folded = fold(text, false, false);
    words(&folded).filter_map(|w| term(w, lang)).collect()
}
