//! `$text` pushed down to MongoDB (docs/search.md, docs/mongodb.md): the
//! filter gets the `$text` operator back at its top level, a sort on
//! [`TEXT_SCORE_KEY`] becomes `{name: {$meta: "textScore"}}` and the
//! projected score field `{name: {$meta: "textScore"}}`. Text indexes are
//! created from `mongo_indexes` with their `weights`, `default_language`
//! and `language_override` ([`index_options`]).

use bson::{doc, Bson, Document};
use eve_query::text::Language;
use eve_store::{FindQuery, IndexSpec};
use mongodb::options::IndexOptions;

/// `{"$meta": "textScore"}`.
pub(crate) fn meta() -> Bson {
    Bson::Document(doc! {"$meta": "textScore"})
}

/// The field name of the score in sorts and projections: the projected
/// one, else one no document field is likely to use.
pub(crate) fn score_name(query: &FindQuery) -> String {
    query
        .text
        .as_ref()
        .and_then(|t| t.score_field.clone())
        .unwrap_or_else(|| "_textScore".into())
}

/// The query document of a find or count: the filter, with `$text` at the
/// top level when the query searches text.
pub(crate) fn filter_document(query: &FindQuery) -> Document {
    let mut filter = query.filter.to_document();
    if let Some(text) = &query.text {
        let mut op = doc! {"$search": &text.search};
        if let Some(lang) = &text.language {
            let name = Language::parse(lang).map_or_else(|| lang.clone(), |l| l.name().to_string());
            op.insert("$language", name);
        }
        if text.case_sensitive {
            op.insert("$caseSensitive", true);
        }
        if text.diacritic_sensitive {
            op.insert("$diacriticSensitive", true);
        }
        filter.insert("$text", op);
    }
    filter
}

/// The projection with the score field added when the query asks for it
/// (on its own it is no inclusion: every field comes back, plus the
/// score). The rest of the projection must not name the score field.
pub(crate) fn with_score(query: &FindQuery, projection: Option<Document>) -> Option<Document> {
    let Some(field) = query.text.as_ref().and_then(|t| t.score_field.clone()) else {
        return projection;
    };
    let mut p = projection.unwrap_or_default();
    p.remove(&field);
    p.insert(field, meta());
    Some(p)
}

/// The text index options of `spec` (none for other indexes).
pub(crate) fn index_options(spec: &IndexSpec, options: &mut IndexOptions) {
    let Some(text) = spec.text_index().filter(|_| {
        spec.keys
            .iter()
            .any(|(_, k)| matches!(k, eve_store::IndexKey::Special(s) if s == "text"))
    }) else {
        return;
    };
    let mut weights = Document::new();
    for (field, w) in &text.fields {
        weights.insert(field.clone(), i64::from(*w));
    }
    options.weights = Some(weights);
    options.default_language = Some(text.default_language.name().to_string());
    options.language_override = Some(text.language_override.clone());
}

/// Whether an index listed by the server is the text index `wanted`
/// describes: MongoDB lists text keys as `{_fts: "text", _ftsx: 1}`, so
/// the fields are compared through the weights.
pub(crate) fn same_text_index(old_keys: &Document, old: &IndexOptions, new: &IndexOptions) -> bool {
    if !old_keys.contains_key("_fts") {
        return false;
    }
    let weights = |o: &IndexOptions| -> Vec<(String, f64)> {
        let mut w: Vec<(String, f64)> = o
            .weights
            .iter()
            .flat_map(|d| d.iter())
            .map(|(k, v)| {
                let n = match v {
                    Bson::Int32(n) => f64::from(*n),
                    #[allow(clippy::cast_precision_loss)]
                    Bson::Int64(n) => *n as f64,
                    Bson::Double(n) => *n,
                    _ => f64::NAN,
                };
                (k.clone(), n)
            })
            .collect();
        w.sort_by(|a, b| a.0.cmp(&b.0));
        w
    };
    weights(old) == weights(new)
        && old.default_language.as_deref().unwrap_or("english")
            == new.default_language.as_deref().unwrap_or("english")
        && old.language_override.as_deref().unwrap_or("language")
            == new.language_override.as_deref().unwrap_or("language")
}

#[cfg(test)]
mod tests {
    use super::*;
    use eve_query::text::TextIndex;
    use eve_query::{Filter, SortDir, TextSearch};
    use eve_store::{IndexKey, TEXT_SCORE_KEY};

    fn search() -> FindQuery {
        let mut q = FindQuery::new(Filter::parse(&doc! {"tag": "a"}).unwrap_or(Filter::All));
        let mut t = TextSearch::new("coffee -decaf \"fair trade\"");
        t.language = Some("fr".into());
        t.case_sensitive = true;
        t.score_field = Some("score".into());
        q.text = Some(t);
        q.sort = vec![
            (TEXT_SCORE_KEY.into(), SortDir::Desc),
            ("title".into(), SortDir::Asc),
        ];
        q.projection = Some(doc! {"title": 1});
        q
    }

    #[test]
    fn the_query_sort_and_projection_carry_text_as_mongodb_wants_them() {
        let q = search();
        assert_eq!(
            filter_document(&q),
            doc! {"tag": "a", "$text": {"$search": "coffee -decaf \"fair trade\"", "$language": "french", "$caseSensitive": true}}
        );
        let options = crate::find_options(&q);
        assert_eq!(
            options.sort,
            Some(doc! {"score": {"$meta": "textScore"}, "title": 1})
        );
        assert_eq!(
            options.projection,
            Some(doc! {"title": 1, "score": {"$meta": "textScore"}})
        );
        // Without a projected score: a name of its own, nothing projected.
        let mut q = search();
        q.projection = None;
        if let Some(t) = q.text.as_mut() {
            t.score_field = None;
        }
        let options = crate::find_options(&q);
        assert_eq!(
            options.sort,
            Some(doc! {"_textScore": {"$meta": "textScore"}, "title": 1})
        );
        assert_eq!(options.projection, None);
    }

    #[test]
    fn text_indexes_carry_weights_and_languages() {
        let spec = IndexSpec {
            name: "search".into(),
            keys: vec![
                ("title".into(), IndexKey::Special("text".into())),
                ("body".into(), IndexKey::Special("text".into())),
            ],
            unique: false,
            sparse: false,
            text: Some(TextIndex {
                fields: vec![("title".into(), 10), ("body".into(), 1)],
                default_language: Language::Spanish,
                language_override: "idioma".into(),
            }),
        };
        let mut options = IndexOptions::default();
        index_options(&spec, &mut options);
        assert_eq!(options.weights, Some(doc! {"title": 10_i64, "body": 1_i64}));
        assert_eq!(options.default_language.as_deref(), Some("spanish"));
        assert_eq!(options.language_override.as_deref(), Some("idioma"));
        let listed = IndexOptions::builder()
            .weights(doc! {"body": 1, "title": 10})
            .default_language("spanish".to_string())
            .language_override("idioma".to_string())
            .build();
        assert!(same_text_index(
            &doc! {"_fts": "text", "_ftsx": 1},
            &listed,
            &options
        ));
        assert!(!same_text_index(&doc! {"title": 1}, &listed, &options));
    }
}
