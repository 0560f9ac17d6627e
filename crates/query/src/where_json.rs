//! Reading a `where` value and the checks Eve applies to the resulting
//! query document before it reaches the data layer: known operators,
//! `MONGO_QUERY_BLACKLIST`, and `allowed_filters`.

use bson::{Bson, Document};

use crate::{json_to_bson, where_python, QueryError};

/// Longest `where` value accepted, in bytes.
pub const MAX_WHERE_LEN: usize = 1 << 20;

/// The operators Eve's MongoDB layer knows (`Mongo.operators`).
pub const KNOWN_OPERATORS: [&str; 41] = [
    "$gt",
    "$gte",
    "$in",
    "$lt",
    "$lte",
    "$ne",
    "$nin",
    "$eq",
    "$or",
    "$and",
    "$not",
    "$nor",
    "$mod",
    "$regex",
    "$text",
    "$where",
    "$options",
    "$search",
    "$language",
    "$caseSensitive",
    "$diacriticSensitive",
    "$exists",
    "$type",
    "$geoWithin",
    "$geoIntersects",
    "$near",
    "$nearSphere",
    "$centerSphere",
    "$geometry",
    "$maxDistance",
    "$minDistance",
    "$box",
    "$all",
    "$elemMatch",
    "$size",
    "$bitsAllClear",
    "$bitsAllSet",
    "$bitsAnyClear",
    "$bitsAnySet",
    "$center",
    "$expr",
];

fn is_known(op: &str) -> bool {
    KNOWN_OPERATORS.contains(&op)
}

/// Which syntax a `where` value was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhereForm {
    /// A MongoDB JSON query document (checked with [`check_operators`]).
    Json,
    /// The Python-like form. Eve does not apply the operator whitelist or
    /// blacklist to it (it can only produce comparisons, `$and` and `$or`).
    Python,
}

/// Parses a `where` value: MongoDB JSON first, then the Python-like form.
///
/// An empty value yields the empty query (Eve skips an empty `where`).
pub fn parse_where(raw: &str) -> Result<Document, QueryError> {
    parse_where_with_form(raw).map(|(d, _)| d)
}

/// [`parse_where`], also telling which syntax was used, for callers that
/// follow Eve in applying [`check_operators`] to the JSON form only.
///
/// ```
/// use eve_query::{parse_where_with_form, WhereForm};
/// assert_eq!(parse_where_with_form(r#"{"a": 1}"#).unwrap().1, WhereForm::Json);
/// assert_eq!(parse_where_with_form("a == 1").unwrap().1, WhereForm::Python);
/// ```
pub fn parse_where_with_form(raw: &str) -> Result<(Document, WhereForm), QueryError> {
    if raw.is_empty() {
        return Ok((Document::new(), WhereForm::Json));
    }
    if raw.len() > MAX_WHERE_LEN {
        return Err(QueryError::WhereSyntax);
    }
    // serde_json refuses nesting beyond 128 levels, so no stack overflow.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(raw) {
        return match json_to_bson(&v) {
            Bson::Document(d) => Ok((d, WhereForm::Json)),
            // Valid JSON that is not an object: Eve answers 500, we 400.
            _ => Err(QueryError::WhereSyntax),
        };
    }
    where_python::parse_python_where(raw)
        .map(|d| (d, WhereForm::Python))
        .map_err(|_| QueryError::WhereSyntax)
}

/// Checks that every `$` key is a known operator (or in `whitelist`) and
/// none is in `blacklist`, level by level from the top as Eve does: at each
/// document the unknown operators are reported first (all those of that
/// document, in order), then a blacklisted key, then the values are
/// visited.
pub fn check_operators(
    query: &Document,
    whitelist: &[String],
    blacklist: &[String],
) -> Result<(), QueryError> {
    check_doc(query, whitelist, blacklist)
}

fn check_doc(doc: &Document, whitelist: &[String], blacklist: &[String]) -> Result<(), QueryError> {
    let unknown: Vec<&str> = doc
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with('$') && !is_known(k) && !whitelist.iter().any(|w| w == k))
        .collect();
    if !unknown.is_empty() {
        return Err(QueryError::UnknownOperators(unknown.join(", ")));
    }
    if doc.keys().any(|k| blacklist.iter().any(|b| b == k)) {
        return Err(QueryError::Blacklisted);
    }
    doc.values()
        .try_for_each(|v| check_value(v, whitelist, blacklist))
}

fn check_value(v: &Bson, whitelist: &[String], blacklist: &[String]) -> Result<(), QueryError> {
    match v {
        Bson::Document(d) => check_doc(d, whitelist, blacklist),
        Bson::Array(a) => a
            .iter()
            .try_for_each(|x| check_value(x, whitelist, blacklist)),
        _ => Ok(()),
    }
}

/// Checks field keys against `allowed_filters` (hierarchical; `*` = all).
///
/// Only the keys of the top-level document and of the sub-queries of
/// `$and`/`$or`/`$nor` are field names; operator keys are always allowed.
/// An empty `allowed` list means filtering is disabled: the caller ignores
/// `where` altogether, and this function accepts everything.
pub fn check_allowed_filters(query: &Document, allowed: &[String]) -> Result<(), QueryError> {
    if allowed.is_empty() {
        return Ok(());
    }
    let all = allowed.iter().any(|a| a == "*");
    check_filters_doc(query, allowed, all)
}

fn is_allowed(key: &str, allowed: &[String]) -> bool {
    let mut k = key;
    loop {
        if allowed.iter().any(|a| a == k) {
            return true;
        }
        match k.rfind('.') {
            Some(i) => k = &k[..i],
            None => return false,
        }
    }
}

fn check_filters_doc(doc: &Document, allowed: &[String], all: bool) -> Result<(), QueryError> {
    for (key, value) in doc {
        if !all && !key.starts_with('$') && !is_allowed(key, allowed) {
            return Err(QueryError::FilterNotAllowed(key.clone()));
        }
        if matches!(key.as_str(), "$or" | "$and" | "$nor") {
            let Bson::Array(items) = value else {
                return Err(QueryError::ExpectsList(key.clone()));
            };
            for item in items {
                let Bson::Document(sub) = item else {
                    return Err(QueryError::ExpectsList(key.clone()));
                };
                check_filters_doc(sub, allowed, all)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn json_where_is_tried_first() {
        assert_eq!(
            parse_where(r#"{"lastname": "Doe"}"#),
            Ok(doc! {"lastname": "Doe"})
        );
        assert_eq!(
            parse_where(r#"{"$or": [{"age": 20}, {"age": 26}]}"#),
            Ok(doc! {"$or": [{"age": 20}, {"age": 26}]})
        );
    }

    #[test]
    fn json_numbers_become_int32_int64_or_double() {
        let d = parse_where(r#"{"a": 1, "b": 3000000000, "c": 1.5, "d": 18446744073709551615}"#)
            .unwrap();
        assert_eq!(d.get("a"), Some(&Bson::Int32(1)));
        assert_eq!(d.get("b"), Some(&Bson::Int64(3_000_000_000)));
        assert_eq!(d.get("c"), Some(&Bson::Double(1.5)));
        assert_eq!(
            d.get("d"),
            Some(&Bson::Double(18_446_744_073_709_551_615.0))
        );
    }

    #[test]
    fn json_that_is_not_an_object_is_a_syntax_error() {
        for raw in ["1", "[1]", r#""x""#, "null", "true", "[]"] {
            assert_eq!(parse_where(raw), Err(QueryError::WhereSyntax), "{raw}");
        }
    }

    #[test]
    fn single_quoted_json_is_a_syntax_error() {
        assert_eq!(
            parse_where("{'lastname': 'Doe'}"),
            Err(QueryError::WhereSyntax)
        );
    }

    #[test]
    fn python_form_is_the_fallback() {
        assert_eq!(
            parse_where("age>23 and lastname==\"Doe\""),
            Ok(doc! {"$and": [{"age": {"$gt": 23}}, {"lastname": "Doe"}]})
        );
        assert_eq!(parse_where("foo bar"), Err(QueryError::WhereSyntax));
    }

    #[test]
    fn empty_where_is_the_empty_query_but_blank_is_an_error() {
        assert_eq!(parse_where(""), Ok(Document::new()));
        assert_eq!(parse_where("  "), Err(QueryError::WhereSyntax));
    }

    #[test]
    fn huge_or_deeply_nested_json_is_rejected_without_panicking() {
        let deep = format!("{}{}", "{\"a\":".repeat(5000), "}".repeat(5000));
        assert_eq!(parse_where(&deep), Err(QueryError::WhereSyntax));
        let huge = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_WHERE_LEN));
        assert_eq!(parse_where(&huge), Err(QueryError::WhereSyntax));
    }

    #[test]
    fn unknown_operators_are_listed_in_document_order() {
        let q = doc! {"a": 1, "$foo": 1, "$bar": 2};
        assert_eq!(
            check_operators(&q, &[], &[]),
            Err(QueryError::UnknownOperators("$foo, $bar".into()))
        );
        assert_eq!(
            QueryError::UnknownOperators("$foo, $bar".into()).to_string(),
            "Query contains unknown or unsupported operators: $foo, $bar"
        );
    }

    #[test]
    fn unknown_operators_are_found_at_any_depth() {
        let q = doc! {"$or": [{"a": {"$regexp": "x"}}]};
        assert_eq!(
            check_operators(&q, &[], &[]),
            Err(QueryError::UnknownOperators("$regexp".into()))
        );
        let nested_list = doc! {"a": {"$in": [[{"$zz": 1}]]}};
        assert_eq!(
            check_operators(&nested_list, &[], &[]),
            Err(QueryError::UnknownOperators("$zz".into()))
        );
    }

    #[test]
    fn whitelisted_operators_are_accepted() {
        let q = doc! {"a": {"$foo": 1}};
        assert_eq!(check_operators(&q, &s(&["$foo"]), &[]), Ok(()));
    }

    #[test]
    fn every_eve_operator_is_known() {
        for op in KNOWN_OPERATORS {
            let mut q = Document::new();
            q.insert(op, 1);
            assert_eq!(check_operators(&q, &[], &[]), Ok(()), "{op}");
        }
    }

    #[test]
    fn blacklisted_keys_are_rejected_at_any_depth() {
        let bl = s(&["$where", "$regex"]);
        assert_eq!(
            check_operators(&doc! {"$where": "1"}, &[], &bl),
            Err(QueryError::Blacklisted)
        );
        assert_eq!(
            check_operators(&doc! {"$and": [{"name": {"$regex": "^a"}}]}, &[], &bl),
            Err(QueryError::Blacklisted)
        );
        assert_eq!(
            check_operators(&doc! {"name": {"$gt": "a"}}, &[], &bl),
            Ok(())
        );
    }

    #[test]
    fn blacklist_applies_to_plain_field_names_too() {
        assert_eq!(
            check_operators(&doc! {"secret": 1}, &[], &s(&["secret"])),
            Err(QueryError::Blacklisted)
        );
    }

    #[test]
    fn outer_level_errors_win_over_inner_ones() {
        // Unknown at the top, blacklisted deeper: unknown is reported.
        let q = doc! {"$zz": 1, "a": {"$where": 1}};
        assert_eq!(
            check_operators(&q, &[], &s(&["$where"])),
            Err(QueryError::UnknownOperators("$zz".into()))
        );
        // Blacklisted at the top, unknown deeper: blacklisted is reported.
        let q = doc! {"$where": 1, "a": {"$zz": 1}};
        assert_eq!(
            check_operators(&q, &[], &s(&["$where"])),
            Err(QueryError::Blacklisted)
        );
        // Same level: unknown first.
        let q = doc! {"$where": 1, "$zz": 1};
        assert_eq!(
            check_operators(&q, &[], &s(&["$where"])),
            Err(QueryError::UnknownOperators("$zz".into()))
        );
    }

    #[test]
    fn star_allows_every_filter() {
        assert_eq!(
            check_allowed_filters(&doc! {"anything": 1, "x.y": 2}, &s(&["*"])),
            Ok(())
        );
        assert_eq!(
            check_allowed_filters(&doc! {"anything": 1}, &s(&["a", "*"])),
            Ok(())
        );
    }

    #[test]
    fn empty_allowed_list_accepts_everything() {
        assert_eq!(check_allowed_filters(&doc! {"anything": 1}, &[]), Ok(()));
    }

    #[test]
    fn allowed_filters_are_hierarchical() {
        let allowed = s(&["sub", "other.x"]);
        assert_eq!(check_allowed_filters(&doc! {"sub": 1}, &allowed), Ok(()));
        assert_eq!(
            check_allowed_filters(&doc! {"sub.x.y": 1}, &allowed),
            Ok(())
        );
        assert_eq!(
            check_allowed_filters(&doc! {"other.x.y": 1}, &allowed),
            Ok(())
        );
        assert_eq!(
            check_allowed_filters(&doc! {"other": 1}, &allowed),
            Err(QueryError::FilterNotAllowed("other".into()))
        );
        assert_eq!(
            check_allowed_filters(&doc! {"subway": 1}, &allowed),
            Err(QueryError::FilterNotAllowed("subway".into()))
        );
        assert_eq!(
            QueryError::FilterNotAllowed("other".into()).to_string(),
            "filter on 'other' not allowed"
        );
    }

    #[test]
    fn logical_operators_are_checked_recursively() {
        let allowed = s(&["a"]);
        assert_eq!(
            check_allowed_filters(&doc! {"$or": [{"a": 1}, {"$and": [{"a": 2}]}]}, &allowed),
            Ok(())
        );
        assert_eq!(
            check_allowed_filters(&doc! {"$or": [{"a": 1}, {"$nor": [{"b": 2}]}]}, &allowed),
            Err(QueryError::FilterNotAllowed("b".into()))
        );
    }

    #[test]
    fn operator_values_are_not_field_names() {
        // Keys under a field's operator document are not checked.
        assert_eq!(
            check_allowed_filters(&doc! {"a": {"$elemMatch": {"b": 1}}}, &s(&["a"])),
            Ok(())
        );
        assert_eq!(
            check_allowed_filters(&doc! {"$text": {"$search": "x"}}, &s(&["a"])),
            Ok(())
        );
    }

    #[test]
    fn logical_operators_need_a_list_of_documents() {
        for q in [
            doc! {"$or": {"a": 1}},
            doc! {"$and": [1]},
            doc! {"$nor": "x"},
        ] {
            let op = q.keys().next().unwrap().clone();
            assert_eq!(
                check_allowed_filters(&q, &s(&["*"])),
                Err(QueryError::ExpectsList(op.clone()))
            );
        }
        assert_eq!(
            QueryError::ExpectsList("$or".into()).to_string(),
            "operator '$or' expects a list of sub-queries"
        );
    }
}
