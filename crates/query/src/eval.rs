//! The in-memory evaluator: does a document satisfy a [`Filter`]?
//!
//! MongoDB semantics: a path reaches zero or more values (see `path`); a
//! condition holds when it holds for one of them, where an array reached
//! at the end of the path is tried both whole and element by element
//! (one level deep). `$ne`, `$nin` and `$not` negate the whole field, so
//! documents missing the field match them. Range operators only compare
//! values of the same type bracket.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;

use bson::{Bson, Document};

use crate::ast::{Cond, ElemMatch, Filter};
use crate::compare::{as_num, bson_eq, canonical_type, compare_bson, decimal_to_f64, is_nan};
use crate::eqset::{EqSet, SET_LOOKUP_MIN};
use crate::path::{resolve, Reached};
use crate::regex_budget::compile_regex;

/// Compiled regexes kept per thread: each may hold a lazy-DFA cache of up to
/// `regex_budget::REGEX_DFA_CACHE` bytes.
const REGEX_CACHE_LIMIT: usize = 64;

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<(String, String), Option<regex::Regex>>> = RefCell::new(HashMap::new());
}

/// A compiled regex from a per-thread cache (`None` if it does not compile,
/// which `Filter::parse` rules out for filters it built).
fn cached_regex(pattern: &str, options: &str) -> Option<regex::Regex> {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (pattern.to_string(), options.to_string());
        if let Some(re) = cache.get(&key) {
            return re.clone();
        }
        if cache.len() >= REGEX_CACHE_LIMIT {
            cache.clear();
        }
        let re = compile_regex(pattern, options).ok();
        cache.insert(key, re.clone());
        re
    })
}

/// Whether `doc` satisfies `f`.
pub(crate) fn filter_matches(f: &Filter, doc: &Document) -> bool {
    match f {
        Filter::All => true,
        Filter::And(v) => v.iter().all(|f| filter_matches(f, doc)),
        Filter::Or(v) => v.iter().any(|f| filter_matches(f, doc)),
        Filter::Nor(v) => !v.iter().any(|f| filter_matches(f, doc)),
        Filter::Field { path, cond } => cond_matches(cond, &resolve(doc, path), true),
        Filter::Expr(e) => e.matches(doc),
    }
}

/// A value and, when `expand` and it is an array, its elements.
fn candidates(v: &Bson, expand: bool) -> impl Iterator<Item = &Bson> {
    let elements: &[Bson] = match v {
        Bson::Array(items) if expand => items,
        _ => &[],
    };
    std::iter::once(v).chain(elements.iter())
}

/// Whether some reached value (or element) satisfies `pred`.
fn any_value(reached: &[Reached], expand: bool, pred: impl Fn(&Bson) -> bool) -> bool {
    reached
        .iter()
        .flatten()
        .any(|v| candidates(v, expand).any(&pred))
}

/// `{f: x}` over the reached branches: `null` also matches missing ones.
fn eq_matches(x: &Bson, reached: &[Reached], expand: bool) -> bool {
    if matches!(x, Bson::Null) && reached.iter().any(Option::is_none) {
        return true;
    }
    any_value(reached, expand, |v| bson_eq(v, x))
}

#[derive(Clone, Copy)]
enum Range {
    Gt,
    Gte,
    Lt,
    Lte,
}

fn range_single(v: &Bson, op: Range, x: &Bson) -> bool {
    if let (Some(a), Some(b)) = (as_num(v), as_num(x)) {
        // NaN only equals NaN; it is neither greater nor smaller than anything.
        if is_nan(a) || is_nan(b) {
            return matches!(op, Range::Gte | Range::Lte) && is_nan(a) && is_nan(b);
        }
    }
    let cross_bracket_ok = matches!(x, Bson::MinKey | Bson::MaxKey);
    if canonical_type(v) != canonical_type(x) && !cross_bracket_ok {
        return false;
    }
    let o = compare_bson(v, x);
    match op {
        Range::Gt => o == Ordering::Greater,
        Range::Gte => o != Ordering::Less,
        Range::Lt => o == Ordering::Less,
        Range::Lte => o != Ordering::Greater,
    }
}

fn range_matches(op: Range, x: &Bson, reached: &[Reached], expand: bool) -> bool {
    // `{$gte: null}` and `{$lte: null}` match missing fields, like `{f: null}`.
    if matches!(x, Bson::Null)
        && matches!(op, Range::Gte | Range::Lte)
        && reached.iter().any(Option::is_none)
    {
        return true;
    }
    any_value(reached, expand, |v| range_single(v, op, x))
}

fn regex_single(v: &Bson, re: &regex::Regex, pattern: &str, options: &str) -> bool {
    match v {
        Bson::String(s) | Bson::Symbol(s) => re.is_match(s),
        // A stored regex matches a regex query when both are the same.
        Bson::RegularExpression(r) => {
            r.pattern.as_str() == pattern && same_options(r.options.as_str(), options)
        }
        _ => false,
    }
}

fn same_options(a: &str, b: &str) -> bool {
    let mut a: Vec<char> = a.chars().collect();
    let mut b: Vec<char> = b.chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

fn regex_matches(pattern: &str, options: &str, reached: &[Reached], expand: bool) -> bool {
    let Some(re) = cached_regex(pattern, options) else {
        return false;
    };
    any_value(reached, expand, |v| regex_single(v, &re, pattern, options))
}

/// A member of `$in`/`$all`: a regex matches by pattern, anything else by
/// equality.
fn member_matches(x: &Bson, reached: &[Reached], expand: bool) -> bool {
    match x {
        Bson::RegularExpression(r) => {
            regex_matches(r.pattern.as_str(), r.options.as_str(), reached, expand)
        }
        other => eq_matches(other, reached, expand),
    }
}

fn bson_type_code(v: &Bson) -> i32 {
    match v {
        Bson::Double(_) => 1,
        Bson::String(_) => 2,
        Bson::Document(_) => 3,
        Bson::Array(_) => 4,
        Bson::Binary(_) => 5,
        Bson::Undefined => 6,
        Bson::ObjectId(_) => 7,
        Bson::Boolean(_) => 8,
        Bson::DateTime(_) => 9,
        Bson::Null => 10,
        Bson::RegularExpression(_) => 11,
        Bson::DbPointer(_) => 12,
        Bson::JavaScriptCode(_) => 13,
        Bson::Symbol(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::Int32(_) => 16,
        Bson::Timestamp(_) => 17,
        Bson::Int64(_) => 18,
        Bson::Decimal128(_) => 19,
        Bson::MinKey => -1,
        Bson::MaxKey => 127,
    }
}

fn mod_single(v: &Bson, divisor: i64, remainder: i64) -> bool {
    let n = match v {
        Bson::Int32(i) => i64::from(*i),
        Bson::Int64(i) => *i,
        Bson::Double(f) if f.is_finite() => f.trunc() as i64,
        Bson::Decimal128(d) => {
            let f = decimal_to_f64(d);
            if !f.is_finite() {
                return false;
            }
            f.trunc() as i64
        }
        _ => return false,
    };
    // i64::MIN % -1 overflows; mathematically it is 0.
    n.checked_rem(divisor).unwrap_or(0) == remainder
}

/// An array as the document MongoDB sees inside `$elemMatch`: `{"0": .., "1": ..}`.
fn array_as_document(items: &[Bson]) -> Document {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| (i.to_string(), v.clone()))
        .collect()
}

fn elem_matches(em: &ElemMatch, e: &Bson) -> bool {
    match em {
        ElemMatch::Document(f) => match e {
            Bson::Document(d) => filter_matches(f, d),
            Bson::Array(items) => filter_matches(f, &array_as_document(items)),
            _ => false,
        },
        ElemMatch::Value(conds) => {
            let one = [Some(e)];
            conds.iter().all(|c| cond_matches(c, &one, false))
        }
    }
}

/// `$all` member `{"$elemMatch": ...}`: the member as a condition.
fn all_member_cond(x: &Bson) -> Option<Cond> {
    match x {
        Bson::Document(d) if d.keys().next().map(String::as_str) == Some("$elemMatch") => {
            match crate::filter::parse_filter(&bson::doc! {"f": d.clone()}, 0) {
                Ok(Filter::Field { cond, .. }) => Some(cond),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `$in`: some member matches. Long member lists are looked up in a hash
/// set, so the cost is one lookup per reached value (and element), not
/// one comparison per member and value.
fn in_matches(xs: &[Bson], reached: &[Reached], expand: bool) -> bool {
    if xs.len() < SET_LOOKUP_MIN {
        return xs.iter().any(|x| member_matches(x, reached, expand));
    }
    let (regexes, plain): (Vec<&Bson>, Vec<&Bson>) = xs
        .iter()
        .partition(|x| matches!(x, Bson::RegularExpression(_)));
    if plain.iter().any(|x| matches!(x, Bson::Null)) && reached.iter().any(Option::is_none) {
        return true;
    }
    let members = EqSet::new(plain);
    any_value(reached, expand, |v| members.contains(v))
        || regexes
            .into_iter()
            .any(|x| member_matches(x, reached, expand))
}

/// `$all`: every member matches. With many members the reached values
/// (and elements) go into a hash set once, and each plain member is one
/// lookup.
fn all_matches(xs: &[Bson], reached: &[Reached], expand: bool) -> bool {
    if xs.is_empty() {
        return false;
    }
    let values = (xs.len() >= SET_LOOKUP_MIN)
        .then(|| EqSet::new(reached.iter().flatten().flat_map(|v| candidates(v, expand))));
    let missing = reached.iter().any(Option::is_none);
    xs.iter().all(|x| match (all_member_cond(x), &values, x) {
        (Some(c), ..) => cond_matches(&c, reached, expand),
        (None, Some(_), Bson::Null) if missing => true,
        (None, Some(set), other) if !matches!(other, Bson::RegularExpression(_)) => {
            set.contains(other)
        }
        (None, ..) => member_matches(x, reached, expand),
    })
}

/// Whether the reached branches of one field satisfy `cond`. `expand`
/// says whether arrays are also tried element by element (it is off for
/// the elements of an `$elemMatch` value form).
pub(crate) fn cond_matches(cond: &Cond, reached: &[Reached], expand: bool) -> bool {
    match cond {
        Cond::Eq(x) => eq_matches(x, reached, expand),
        Cond::Ne(x) => !eq_matches(x, reached, expand),
        Cond::Gt(x) => range_matches(Range::Gt, x, reached, expand),
        Cond::Gte(x) => range_matches(Range::Gte, x, reached, expand),
        Cond::Lt(x) => range_matches(Range::Lt, x, reached, expand),
        Cond::Lte(x) => range_matches(Range::Lte, x, reached, expand),
        Cond::In(xs) => in_matches(xs, reached, expand),
        Cond::Nin(xs) => !in_matches(xs, reached, expand),
        Cond::Exists(want) => reached.iter().any(Option::is_some) == *want,
        Cond::Type(codes) => any_value(reached, expand, |v| codes.contains(&bson_type_code(v))),
        Cond::All(xs) => all_matches(xs, reached, expand),
        Cond::ElemMatch(em) => reached
            .iter()
            .flatten()
            .any(|v| matches!(v, Bson::Array(items) if items.iter().any(|e| elem_matches(em, e)))),
        Cond::Size(n) => reached
            .iter()
            .flatten()
            .any(|v| matches!(v, Bson::Array(items) if i64::try_from(items.len()) == Ok(*n))),
        Cond::Mod { divisor, remainder } => {
            any_value(reached, expand, |v| mod_single(v, *divisor, *remainder))
        }
        Cond::Regex { pattern, options } => regex_matches(pattern, options, reached, expand),
        Cond::Bits { test, mask } => {
            any_value(reached, expand, |v| crate::bits::bits_match(*test, mask, v))
        }
        Cond::Geo(g) => any_value(reached, expand, |v| g.matches_value(v)),
        Cond::Not(inner) => !cond_matches(inner, reached, expand),
        Cond::AllOf(conds) => conds.iter().all(|c| cond_matches(c, reached, expand)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId};

    fn m(query: Document, d: Document) -> bool {
        Filter::parse(&query)
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .matches(&d)
    }

    /// Asserts which of `docs` match `query`, by index.
    fn check(query: Document, docs: &[Document], expected: &[usize]) {
        let f = Filter::parse(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
        let got: Vec<usize> = docs
            .iter()
            .enumerate()
            .filter(|(_, d)| f.matches(d))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(got, expected, "query {query}");
    }

    fn re(p: &str, o: &str) -> Bson {
        Bson::RegularExpression(bson::Regex {
            pattern: p.to_string().try_into().unwrap(),
            options: o.to_string().try_into().unwrap(),
        })
    }

    #[test]
    fn empty_filter_matches_everything() {
        assert!(m(doc! {}, doc! {}));
        assert!(m(doc! {}, doc! {"a": 1}));
    }

    #[test]
    fn equality_on_scalars_and_across_number_types() {
        let docs = [
            doc! {"a": 1},
            doc! {"a": 1.0},
            doc! {"a": 1_i64},
            doc! {"a": "1"},
            doc! {"a": 2},
        ];
        check(doc! {"a": 1}, &docs, &[0, 1, 2]);
        check(doc! {"a": "1"}, &docs, &[3]);
    }

    #[test]
    fn equality_matches_arrays_whole_or_by_element() {
        let docs = [
            doc! {"a": [1, 2]},
            doc! {"a": [[1, 2], 3]},
            doc! {"a": 1},
            doc! {"a": [2, 1]},
        ];
        check(doc! {"a": 1}, &docs, &[0, 2, 3]);
        check(doc! {"a": [1, 2]}, &docs, &[0, 1]);
    }

    #[test]
    fn equality_of_documents_is_exact_and_order_sensitive() {
        let docs = [
            doc! {"a": {"x": 1, "y": 2}},
            doc! {"a": {"y": 2, "x": 1}},
            doc! {"a": {"x": 1}},
        ];
        check(doc! {"a": {"x": 1, "y": 2}}, &docs, &[0]);
    }

    #[test]
    fn null_matches_missing_and_null_fields() {
        let docs = [
            doc! {"a": Bson::Null},
            doc! {},
            doc! {"a": 0},
            doc! {"a": [Bson::Null, 1]},
            doc! {"a": []},
        ];
        check(doc! {"a": Bson::Null}, &docs, &[0, 1, 3]);
        check(doc! {"a": {"$eq": Bson::Null}}, &docs, &[0, 1, 3]);
    }

    #[test]
    fn null_on_a_path_through_arrays_matches_elements_missing_the_field() {
        let docs = [
            doc! {"a": [{"b": 1}, {"c": 2}]},
            doc! {"a": [{"b": 1}]},
            doc! {"a": [1, 2]},
            doc! {"a": 5},
        ];
        check(doc! {"a.b": Bson::Null}, &docs, &[0, 3]);
        check(doc! {"a.b": {"$exists": false}}, &docs, &[2, 3]);
    }

    #[test]
    fn ne_matches_documents_missing_the_field() {
        let docs = [
            doc! {"a": 1},
            doc! {"a": 2},
            doc! {},
            doc! {"a": [1, 3]},
            doc! {"a": [3]},
        ];
        check(doc! {"a": {"$ne": 1}}, &docs, &[1, 2, 4]);
    }

    #[test]
    fn ne_null_excludes_missing_fields() {
        let docs = [doc! {"a": Bson::Null}, doc! {}, doc! {"a": 0}];
        check(doc! {"a": {"$ne": Bson::Null}}, &docs, &[2]);
    }

    #[test]
    fn range_operators_compare_within_the_type_bracket() {
        let docs = [
            doc! {"a": 5},
            doc! {"a": "9"},
            doc! {"a": 10.5},
            doc! {"a": Bson::Null},
            doc! {},
            doc! {"a": 5_i64},
        ];
        check(doc! {"a": {"$gt": 5}}, &docs, &[2]);
        check(doc! {"a": {"$gte": 5}}, &docs, &[0, 2, 5]);
        check(doc! {"a": {"$lt": 10}}, &docs, &[0, 5]);
        check(doc! {"a": {"$lte": 10.5}}, &docs, &[0, 2, 5]);
        check(doc! {"a": {"$gt": "1"}}, &docs, &[1]);
    }

    #[test]
    fn a_string_is_never_greater_than_a_number() {
        assert!(!m(doc! {"a": {"$gt": 1}}, doc! {"a": "zzz"}));
        assert!(!m(doc! {"a": {"$lt": "a"}}, doc! {"a": 1}));
    }

    #[test]
    fn range_operators_on_arrays_match_any_element_independently() {
        let d = doc! {"a": [0, 10]};
        assert!(m(doc! {"a": {"$gt": 5}}, d.clone()));
        assert!(
            m(doc! {"a": {"$gt": 1, "$lt": 5}}, d.clone()),
            "each bound satisfied by some element"
        );
        assert!(
            !m(doc! {"a": {"$elemMatch": {"$gt": 1, "$lt": 5}}}, d),
            "but no single element is in (1, 5)"
        );
    }

    #[test]
    fn range_against_null_matches_null_and_missing_for_inclusive_bounds() {
        let docs = [doc! {"a": Bson::Null}, doc! {}, doc! {"a": 1}];
        check(doc! {"a": {"$gte": Bson::Null}}, &docs, &[0, 1]);
        check(doc! {"a": {"$lte": Bson::Null}}, &docs, &[0, 1]);
        check(doc! {"a": {"$gt": Bson::Null}}, &docs, &[]);
    }

    #[test]
    fn nan_is_only_equal_to_nan() {
        let docs = [doc! {"a": f64::NAN}, doc! {"a": 1}];
        check(doc! {"a": {"$lt": 5}}, &docs, &[1]);
        check(doc! {"a": {"$gte": f64::NAN}}, &docs, &[0]);
        check(doc! {"a": f64::NAN}, &docs, &[0]);
        check(doc! {"a": {"$gt": f64::NAN}}, &docs, &[]);
    }

    #[test]
    fn min_key_and_max_key_compare_across_brackets() {
        let docs = [doc! {"a": 1}, doc! {"a": "x"}, doc! {"a": true}];
        check(doc! {"a": {"$gt": Bson::MinKey}}, &docs, &[0, 1, 2]);
        check(doc! {"a": {"$lt": Bson::MaxKey}}, &docs, &[0, 1, 2]);
    }

    #[test]
    fn dates_and_object_ids_compare() {
        let d = |ms| Bson::DateTime(bson::DateTime::from_millis(ms));
        let docs = [doc! {"t": d(1000)}, doc! {"t": d(3000)}, doc! {"t": 2000}];
        check(doc! {"t": {"$gt": d(2000)}}, &docs, &[1]);
        let a = ObjectId::parse_str("5f0000000000000000000001").unwrap();
        let b = ObjectId::parse_str("5f0000000000000000000003").unwrap();
        check(
            doc! {"id": {"$lt": b}},
            &[doc! {"id": a}, doc! {"id": b}],
            &[0],
        );
    }

    #[test]
    fn dotted_paths_descend_documents_and_arrays() {
        let docs = [
            doc! {"loc": {"city": "SF"}},
            doc! {"loc": [{"city": "LA"}, {"city": "SF"}]},
            doc! {"loc": {"city": "LA"}},
            doc! {"loc": "SF"},
        ];
        check(doc! {"loc.city": "SF"}, &docs, &[0, 1]);
    }

    #[test]
    fn numeric_path_components_index_arrays() {
        let docs = [
            doc! {"items": [{"price": 5}, {"price": 50}]},
            doc! {"items": [{"price": 50}, {"price": 5}]},
        ];
        check(doc! {"items.0.price": {"$lt": 10}}, &docs, &[0]);
        check(doc! {"items.1.price": 5}, &docs, &[1]);
        check(doc! {"items.0.price": Bson::Null}, &docs, &[]);
        check(
            doc! {"tags.1": "b"},
            &[doc! {"tags": ["a", "b"]}, doc! {"tags": ["b"]}],
            &[0],
        );
    }

    #[test]
    fn in_and_nin() {
        let docs = [doc! {"a": 1}, doc! {"a": [5, 2]}, doc! {}, doc! {"a": "x"}];
        check(doc! {"a": {"$in": [2, "x"]}}, &docs, &[1, 3]);
        check(doc! {"a": {"$nin": [2, "x"]}}, &docs, &[0, 2]);
        check(doc! {"a": {"$in": [Bson::Null]}}, &docs, &[2]);
        check(doc! {"a": {"$in": []}}, &docs, &[]);
        check(doc! {"a": {"$nin": []}}, &docs, &[0, 1, 2, 3]);
    }

    #[test]
    fn in_with_regex_members_matches_by_pattern() {
        let docs = [
            doc! {"a": "apple"},
            doc! {"a": "Banana"},
            doc! {"a": ["cherry", "avocado"]},
            doc! {"a": 1},
        ];
        check(doc! {"a": {"$in": [re("^a", ""), 1]}}, &docs, &[0, 2, 3]);
        check(doc! {"a": {"$nin": [re("^b", "i")]}}, &docs, &[0, 2, 3]);
    }

    #[test]
    fn exists_true_and_false() {
        let docs = [
            doc! {"a": Bson::Null},
            doc! {},
            doc! {"a": {"b": 1}},
            doc! {"a": [{"b": 2}, {}]},
        ];
        check(doc! {"a": {"$exists": true}}, &docs, &[0, 2, 3]);
        check(doc! {"a": {"$exists": false}}, &docs, &[1]);
        check(doc! {"a.b": {"$exists": true}}, &docs, &[2, 3]);
    }

    #[test]
    fn type_matches_values_and_array_elements() {
        let docs = [
            doc! {"a": 1},
            doc! {"a": 1.5},
            doc! {"a": "s"},
            doc! {"a": ["s"]},
            doc! {"a": Bson::Null},
            doc! {},
            doc! {"a": 5_i64},
        ];
        check(doc! {"a": {"$type": "string"}}, &docs, &[2, 3]);
        check(doc! {"a": {"$type": "number"}}, &docs, &[0, 1, 6]);
        check(doc! {"a": {"$type": "array"}}, &docs, &[3]);
        check(doc! {"a": {"$type": 10}}, &docs, &[4]);
        check(doc! {"a": {"$type": ["int", "long"]}}, &docs, &[0, 6]);
    }

    #[test]
    fn all_requires_every_operand() {
        let docs = [
            doc! {"t": ["a", "b", "c"]},
            doc! {"t": ["a"]},
            doc! {"t": "a"},
            doc! {"t": [["a", "b"]]},
        ];
        check(doc! {"t": {"$all": ["a", "b"]}}, &docs, &[0]);
        check(doc! {"t": {"$all": ["a"]}}, &docs, &[0, 1, 2]);
        check(doc! {"t": {"$all": [["a", "b"]]}}, &docs, &[3]);
        check(doc! {"t": {"$all": []}}, &docs, &[]);
        check(doc! {"t": {"$all": [re("^c", "")]}}, &docs, &[0]);
    }

    #[test]
    fn all_with_elem_match_members() {
        let docs = [
            doc! {"q": [{"s": "M", "n": 1}, {"s": "L", "n": 9}]},
            doc! {"q": [{"s": "M", "n": 9}]},
        ];
        check(
            doc! {"q": {"$all": [{"$elemMatch": {"s": "M", "n": {"$lt": 5}}}, {"$elemMatch": {"n": 9}}]}},
            &docs,
            &[0],
        );
    }

    #[test]
    fn elem_match_document_form_needs_one_element_to_satisfy_all() {
        let docs = [
            doc! {"r": [{"p": "x", "s": 8}, {"p": "y", "s": 3}]},
            doc! {"r": [{"p": "x", "s": 3}, {"p": "y", "s": 8}]},
            doc! {"r": {"p": "x", "s": 8}},
            doc! {"r": [1, 2]},
        ];
        check(
            doc! {"r": {"$elemMatch": {"p": "x", "s": {"$gt": 5}}}},
            &docs,
            &[0],
        );
        check(doc! {"r": {"$elemMatch": {}}}, &docs, &[0, 1]);
    }

    #[test]
    fn elem_match_value_form_checks_each_element_whole() {
        let docs = [
            doc! {"s": [82, 90]},
            doc! {"s": [70, 90]},
            doc! {"s": 82},
            doc! {"s": [[82]]},
        ];
        check(
            doc! {"s": {"$elemMatch": {"$gte": 80, "$lt": 85}}},
            &docs,
            &[0],
        );
        check(
            doc! {"s": {"$elemMatch": {"$not": {"$gt": 80}}}},
            &docs,
            &[1, 3],
        );
        check(
            doc! {"s": {"$elemMatch": {"$elemMatch": {"$eq": 82}}}},
            &docs,
            &[3],
        );
    }

    #[test]
    fn elem_match_through_a_dotted_path() {
        let d = doc! {"a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": [{"c": 3}]}]};
        assert!(m(doc! {"a.b": {"$elemMatch": {"c": 3}}}, d.clone()));
        assert!(!m(doc! {"a.b": {"$elemMatch": {"c": 4}}}, d));
    }

    #[test]
    fn size_matches_arrays_of_exactly_that_length() {
        let docs = [
            doc! {"a": [1, 2]},
            doc! {"a": [1]},
            doc! {"a": 2},
            doc! {},
            doc! {"a": [[1, 2]]},
            doc! {"a": []},
        ];
        check(doc! {"a": {"$size": 2}}, &docs, &[0]);
        check(doc! {"a": {"$size": 1}}, &docs, &[1, 4]);
        check(doc! {"a": {"$size": 0}}, &docs, &[5]);
    }

    #[test]
    fn mod_uses_truncated_integer_remainders() {
        let docs = [
            doc! {"n": 9},
            doc! {"n": 10},
            doc! {"n": -7},
            doc! {"n": 9.9},
            doc! {"n": "9"},
            doc! {"n": [1, 4]},
        ];
        check(doc! {"n": {"$mod": [4, 1]}}, &docs, &[0, 3, 5]);
        check(doc! {"n": {"$mod": [4, -3]}}, &docs, &[2]);
        assert!(
            m(doc! {"n": {"$mod": [-1, 0]}}, doc! {"n": i64::MIN}),
            "no overflow on i64::MIN % -1"
        );
    }

    #[test]
    fn regex_matches_strings_and_arrays_of_strings() {
        let docs = [
            doc! {"s": "Hello"},
            doc! {"s": "hello"},
            doc! {"s": ["x", "help"]},
            doc! {"s": 5},
            doc! {},
        ];
        check(doc! {"s": {"$regex": "^hel"}}, &docs, &[1, 2]);
        check(
            doc! {"s": {"$regex": "^hel", "$options": "i"}},
            &docs,
            &[0, 1, 2],
        );
        check(doc! {"s": re("LO$", "i")}, &docs, &[0, 1]);
    }

    #[test]
    fn regex_options_m_s_and_x() {
        assert!(m(
            doc! {"s": {"$regex": "^b", "$options": "m"}},
            doc! {"s": "a\nb"}
        ));
        assert!(!m(doc! {"s": {"$regex": "^b"}}, doc! {"s": "a\nb"}));
        assert!(m(
            doc! {"s": {"$regex": "a.b", "$options": "s"}},
            doc! {"s": "a\nb"}
        ));
        assert!(!m(doc! {"s": {"$regex": "a.b"}}, doc! {"s": "a\nb"}));
        assert!(m(
            doc! {"s": {"$regex": "a b # comment", "$options": "x"}},
            doc! {"s": "ab"}
        ));
    }

    #[test]
    fn regex_is_linear_time_on_pathological_patterns() {
        let subject = format!("{}!", "a".repeat(5000));
        let start = std::time::Instant::now();
        assert!(!m(doc! {"s": {"$regex": "^(a+)+$"}}, doc! {"s": subject}));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn regex_query_matches_an_identical_stored_regex() {
        assert!(m(doc! {"s": re("ab", "i")}, doc! {"s": re("ab", "i")}));
        assert!(!m(doc! {"s": re("ab", "i")}, doc! {"s": re("ab", "")}));
        assert!(m(
            doc! {"s": {"$eq": re("ab", "")}},
            doc! {"s": re("ab", "")}
        ));
        assert!(
            !m(doc! {"s": {"$eq": re("ab", "")}}, doc! {"s": "ab"}),
            "$eq with a regex is literal equality"
        );
    }

    #[test]
    fn not_negates_and_matches_missing_fields() {
        let docs = [doc! {"a": 6}, doc! {"a": 4}, doc! {}, doc! {"a": "x"}];
        check(doc! {"a": {"$not": {"$gt": 5}}}, &docs, &[1, 2, 3]);
        check(doc! {"a": {"$not": re("^x", "")}}, &docs, &[0, 1, 2]);
    }

    #[test]
    fn and_or_nor() {
        let docs = [
            doc! {"a": 1, "b": 1},
            doc! {"a": 1, "b": 2},
            doc! {"a": 2, "b": 2},
        ];
        check(doc! {"$and": [{"a": 1}, {"b": 2}]}, &docs, &[1]);
        check(doc! {"$or": [{"a": 2}, {"b": 1}]}, &docs, &[0, 2]);
        check(doc! {"$nor": [{"a": 2}, {"b": 1}]}, &docs, &[1]);
        check(doc! {"a": 1, "b": {"$gt": 1}}, &docs, &[1]);
    }

    #[test]
    fn elem_match_on_array_elements_that_are_arrays_sees_index_fields() {
        assert!(m(
            doc! {"a": {"$elemMatch": {"0": 1}}},
            doc! {"a": [[1, 2]]}
        ));
    }
}
