//! Cerberus' `regex` rule on the `regex` crate: Python `re.match` of the
//! pattern with `$` appended when missing, so the pattern must match from
//! the start and up to the end (Python's `$` also matches before one final
//! newline).

use regex::Regex;

/// Compiles a Python pattern into an anchored Rust regex with Cerberus'
/// full-match semantics.
pub(crate) fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    let mut p = pattern.to_string();
    if !p.ends_with('$') {
        p.push('$');
    }
    let translated = translate(&p);
    Regex::new(&format!(r"\A(?:{translated})"))
}

/// Rewrites the Python-only pieces: `$` (end, or before a final newline)
/// and `\Z` (absolute end).
fn translate(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') => out.push_str(r"\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `]` (or `^]`) is a literal member.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str(r"\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '[' if in_class => out.push_str(r"\["),
            '$' if !in_class => out.push_str(r"(?:\n?\z)"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::compile;

    #[test]
    fn full_match_semantics() {
        let re = compile("[a-z]+").unwrap();
        assert!(re.is_match("abc"));
        assert!(!re.is_match("abc1"));
        assert!(!re.is_match("1abc"));
        let alt = compile(r"\d{2}|x").unwrap();
        assert!(alt.is_match("123"), "only the last branch gets the `$`");
        assert!(!alt.is_match("xy"));
        assert!(compile("^[a-z]+$").unwrap().is_match("abc\n"));
        assert!(compile("(?i)ab").unwrap().is_match("AB"));
    }
}
