//! The cost budget of client regexes (`$regex`, `/re/` values, regex
//! members of `$in`/`$nin`/`$all`).
//!
//! The `regex` crate matches in time linear in the subject, but the
//! constant is the number of pattern positions that can be live at once:
//! a counted repetition such as `[a-z]{1,3000}` or a 5 000-byte literal
//! compiles to thousands of states, its lazy DFA no longer fits its cache
//! and matching falls back to a simulation that advances every live state
//! per input byte (tens of seconds over a megabyte). So a pattern is
//! refused, when the `where` is parsed and before any document is read,
//! when either
//!
//! * its *positions* — literal bytes and character classes, each counted
//!   once per copy a repetition makes of it — exceed [`MAX_REGEX_POSITIONS`],
//!   or
//! * its compiled program exceeds [`REGEX_SIZE_LIMIT`] bytes (large Unicode
//!   classes repeated many times).
//!
//! Within both budgets a match costs at most a few milliseconds per
//! megabyte of subject on the lazy DFA, whose cache is sized for them.

use regex_syntax::hir::{Hir, HirKind};

/// Most pattern positions (see the module documentation) a client regex
/// may have.
pub const MAX_REGEX_POSITIONS: u64 = 1000;

/// Largest compiled regex program, in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Cache of the lazy DFA of one compiled regex, in bytes: enough for the
/// states of a pattern within [`MAX_REGEX_POSITIONS`].
pub(crate) const REGEX_DFA_CACHE: usize = 4 << 20;

/// Deepest nesting of groups and repetitions in a client regex.
pub(crate) const REGEX_NEST_LIMIT: u32 = 100;

/// The number of positions of a parsed pattern (saturating).
fn positions(hir: &Hir) -> u64 {
    match hir.kind() {
        HirKind::Empty => 0,
        HirKind::Literal(lit) => lit.0.len() as u64,
        HirKind::Class(_) | HirKind::Look(_) => 1,
        HirKind::Repetition(rep) => {
            // `x{n,m}` is compiled as m copies of x, `x{n,}` as n + 1.
            let copies = match rep.max {
                Some(max) => u64::from(max),
                None => u64::from(rep.min) + 1,
            };
            copies.max(1).saturating_mul(positions(&rep.sub))
        }
        HirKind::Capture(cap) => positions(&cap.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs
            .iter()
            .fold(0u64, |acc, sub| acc.saturating_add(positions(sub))),
    }
}

/// Checks a pattern (already known to compile with these options) against
/// the position budget; the error says why it is refused.
pub(crate) fn check_positions(pattern: &str, options: &str) -> Result<(), String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(options.contains('i'))
        .multi_line(options.contains('m'))
        .dot_matches_new_line(options.contains('s'))
        .ignore_whitespace(options.contains('x'))
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    let n = positions(&hir);
    if n > MAX_REGEX_POSITIONS {
        return Err(format!(
            "regular expression too costly: {n} positions once repetitions are expanded \
             (at most {MAX_REGEX_POSITIONS})"
        ));
    }
    Ok(())
}

/// Compiles a MongoDB regex for the `regex` crate (linear-time matching,
/// so no catastrophic backtracking) within the compiled-size part of the
/// regex budget (above). PCRE-only constructs such as look-around
/// and back-references are refused.
pub(crate) fn compile_regex(pattern: &str, options: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(options.contains('i'))
        .multi_line(options.contains('m'))
        .dot_matches_new_line(options.contains('s'))
        .ignore_whitespace(options.contains('x'))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_CACHE)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(p: &str) -> u64 {
        positions(&regex_syntax::Parser::new().parse(p).unwrap())
    }

    #[test]
    fn positions_count_literal_bytes_classes_and_repetition_copies() {
        assert_eq!(count("abc"), 3);
        assert_eq!(count("[a-z]"), 1);
        assert_eq!(count("[a-z]{1,3000}[0-9]"), 3001);
        assert_eq!(count("(ab|c){2}"), 6);
        assert_eq!(count("a{3,}"), 4);
        assert_eq!(count("a*b+c?"), 4, "b+ is b b*");
        assert_eq!(count("^a$"), 3);
        assert_eq!(count("(?:a{1000}){1000}{1000}"), 1_000_000_000);
    }

    #[test]
    fn the_budget_refuses_counted_repetitions_and_long_literals() {
        assert!(check_positions("[a-z]{1,1000}", "").is_ok());
        assert!(check_positions("[a-z]{1,3000}[0-9]", "").is_err());
        assert!(check_positions(&"a".repeat(1001), "").is_err());
        assert!(check_positions(&"a".repeat(1000), "").is_ok());
        let e = check_positions("(x{100}){100}", "").unwrap_err();
        assert!(e.contains("10000 positions"), "{e}");
    }
}
