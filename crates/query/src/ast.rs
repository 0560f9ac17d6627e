//! The filter AST: what a `where` clause means once parsed and checked.
//!
//! A [`Filter`] is built from a MongoDB query document by [`Filter::parse`]
//! and printed back by [`Filter::to_document`]. Data layers translate it
//! (or evaluate it with [`Filter::matches`]); no raw client string ever
//! reaches a store.

use bson::Bson;

use crate::bits::{BitMask, BitTest};

/// A boolean condition over a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Matches every document (the empty query `{}`).
    All,
    /// Every sub-filter matches (`$and`, or several keys in one query document).
    And(Vec<Filter>),
    /// At least one sub-filter matches (`$or`).
    Or(Vec<Filter>),
    /// No sub-filter matches (`$nor`).
    Nor(Vec<Filter>),
    /// A condition on the value(s) found at a dotted field path.
    Field {
        /// Dotted path, e.g. `location.city` or `items.0.price`.
        path: String,
        /// What the value(s) at `path` must satisfy.
        cond: Cond,
    },
    /// `$expr`: an aggregation expression over the whole document.
    Expr(crate::AggExpr),
}

/// A condition on the value(s) at one field path, MongoDB semantics:
/// paths descend through arrays, and an array field matches when the array
/// itself or any of its elements satisfies the condition (except where
/// MongoDB says otherwise, e.g. `$size`, `$all`, `$elemMatch`).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `{"f": v}` or `{"f": {"$eq": v}}`.
    Eq(Bson),
    /// `$ne`: no value at the path equals the operand (missing fields match).
    Ne(Bson),
    /// `$gt` (same-type-bracket comparison only, as MongoDB).
    Gt(Bson),
    /// `$gte`.
    Gte(Bson),
    /// `$lt`.
    Lt(Bson),
    /// `$lte`.
    Lte(Bson),
    /// `$in`: equals any operand (operands may be regexes).
    In(Vec<Bson>),
    /// `$nin`: equals none of the operands.
    Nin(Vec<Bson>),
    /// `$exists`.
    Exists(bool),
    /// `$type`: one of these BSON type numbers (aliases resolved at parse
    /// time; `"number"` expands to double, int, long and decimal).
    Type(Vec<i32>),
    /// `$all`: the array holds every operand.
    All(Vec<Bson>),
    /// `$elemMatch`: some array element satisfies the inner filter.
    ElemMatch(ElemMatch),
    /// `$size`: the value is an array of exactly this length.
    Size(i64),
    /// `$mod`: `value % divisor == remainder` (integer semantics).
    Mod {
        /// Divisor (never zero after parsing).
        divisor: i64,
        /// Expected remainder.
        remainder: i64,
    },
    /// `$regex` (with `$options`), or a BSON regex value used as `{"f": /re/}`.
    Regex {
        /// The pattern as written by the client.
        pattern: String,
        /// MongoDB option letters (`i`, `m`, `s`, `x`).
        options: String,
    },
    /// `$bitsAllSet`, `$bitsAllClear`, `$bitsAnySet`, `$bitsAnyClear`
    /// (see the `bits` module for MongoDB's rules).
    Bits {
        /// Which test.
        test: BitTest,
        /// The selected bits.
        mask: BitMask,
    },
    /// `$geoWithin` or `$geoIntersects` (see the `geo` module).
    Geo(Box<crate::GeoCond>),
    /// `$not`: negation of the inner condition.
    Not(Box<Cond>),
    /// Several operators on the same field, e.g. `{"$gt": 1, "$lt": 5}`:
    /// every one must hold.
    AllOf(Vec<Cond>),
}

/// The operand of `$elemMatch`.
#[derive(Debug, Clone, PartialEq)]
pub enum ElemMatch {
    /// `{"$elemMatch": {"a": 1, "b": {"$gt": 2}}}`: elements are documents
    /// matched by a full filter.
    Document(Box<Filter>),
    /// `{"$elemMatch": {"$gte": 80, "$lt": 85}}`: elements are values that
    /// satisfy every operator.
    Value(Vec<Cond>),
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortDir {
    /// Ascending (`1`).
    Asc,
    /// Descending (`-1`).
    Desc,
}

/// An ordered list of sort keys.
pub type SortSpec = Vec<(String, SortDir)>;
