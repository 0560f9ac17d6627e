//! A tokenizer for the small part of Python's syntax that Eve evaluates:
//! the Python-like `where` form and the literal `sort` form.
//!
//! It follows Python's lexical rules for names, string literals (single,
//! double and triple quotes, `r`/`u` prefixes, backslash escapes), number
//! literals (decimal, `0x`/`0o`/`0b`, floats, `_` separators), comments and
//! line continuations. Anything else is an error, never a panic.

/// A lexical token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier or keyword.
    Name(String),
    /// A string literal, escapes decoded.
    Str(String),
    /// An integer literal (Python integers are unbounded; larger ones are
    /// rejected by the lexer).
    Int(i128),
    /// A float literal.
    Float(f64),
    /// An operator or delimiter.
    Op(&'static str),
    /// A logical line break (outside brackets).
    Newline,
}

/// Operators and delimiters we recognise, longest first.
const OPS: [&str; 19] = [
    "==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "-", "+",
    "=",
];

/// Python's reserved words: they can never be names.
pub(crate) const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Tokenizes `src`. The error is a human-readable message.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut depth: usize = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' | '\r' => {
                i += 1;
                if depth == 0 && !matches!(toks.last(), None | Some(Tok::Newline)) {
                    toks.push(Tok::Newline);
                }
            }
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                    i += 1;
                }
            }
            '\\' => {
                // Explicit line joining: a backslash must end the line.
                match chars.get(i + 1) {
                    Some('\n') => i += 2,
                    Some('\r') => {
                        i += 2;
                        if chars.get(i) == Some(&'\n') {
                            i += 1;
                        }
                    }
                    _ => {
                        return Err("unexpected character after line continuation character".into())
                    }
                }
            }
            '"' | '\'' => {
                let (s, next) = lex_string(&chars, i, false)?;
                toks.push(Tok::Str(s));
                i = next;
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let (t, next) = lex_number(&chars, i)?;
                toks.push(t);
                i = next;
            }
            c if c == '_' || c.is_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i] == '_' || chars[i].is_alphanumeric()) {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if matches!(chars.get(i), Some('"' | '\'')) {
                    // A string prefix.
                    let raw = match name.to_ascii_lowercase().as_str() {
                        "r" => true,
                        "u" => false,
                        _ => return Err(format!("unsupported string prefix {name:?}")),
                    };
                    let (s, next) = lex_string(&chars, i, raw)?;
                    toks.push(Tok::Str(s));
                    i = next;
                } else {
                    toks.push(Tok::Name(name));
                }
            }
            _ => {
                let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
                let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
                    return Err(format!("invalid syntax at {c:?}"));
                };
                match *op {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => {
                        depth = depth
                            .checked_sub(1)
                            .ok_or_else(|| format!("unmatched '{op}'"))?;
                    }
                    _ => {}
                }
                toks.push(Tok::Op(op));
                i += op.chars().count();
            }
        }
    }
    if depth != 0 {
        return Err("unexpected end of input: a bracket was never closed".into());
    }
    if toks.last() == Some(&Tok::Newline) {
        toks.pop();
    }
    Ok(toks)
}

/// Lexes a string literal starting at the opening quote `chars[start]`.
/// Returns the decoded value and the index after the closing quote.
fn lex_string(chars: &[char], start: usize, raw: bool) -> Result<(String, usize), String> {
    let q = chars[start];
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let mut i = if triple { start + 3 } else { start + 1 };
    let mut out = String::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("unterminated string literal".into());
        };
        if c == q {
            if !triple {
                return Ok((out, i + 1));
            }
            if chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q) {
                return Ok((out, i + 3));
            }
            out.push(c);
            i += 1;
            continue;
        }
        if (c == '\n' || c == '\r') && !triple {
            return Err("unterminated string literal".into());
        }
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        // A backslash.
        let Some(&e) = chars.get(i + 1) else {
            return Err("unterminated string literal".into());
        };
        if raw {
            // Raw strings keep the backslash; it only stops the next
            // character from ending the literal.
            out.push('\\');
            out.push(e);
            i += 2;
            continue;
        }
        i += 2;
        match e {
            '\n' => {}
            '\r' => {
                if chars.get(i) == Some(&'\n') {
                    i += 1;
                }
            }
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                let mut n = 1;
                while n < 3 {
                    match chars.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            i += 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).ok_or("invalid octal escape")?);
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars
                    .get(i..i + n)
                    .ok_or("truncated escape sequence")?
                    .iter()
                    .collect();
                if !hex.chars().all(|h| h.is_ascii_hexdigit()) {
                    return Err("truncated escape sequence".into());
                }
                let v = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                out.push(char::from_u32(v).ok_or("escape sequence is not a valid character")?);
                i += n;
            }
            'N' => return Err("\\N{...} escapes are not supported".into()),
            other => {
                // Python keeps unknown escapes as written.
                out.push('\\');
                out.push(other);
            }
        }
    }
}

/// Lexes a number literal starting at `chars[start]`.
fn lex_number(chars: &[char], start: usize) -> Result<(Tok, usize), String> {
    let mut i = start;
    let is_ident_char = |c: char| c == '_' || c.is_alphanumeric();
    // Radix-prefixed integers.
    if chars[i] == '0' {
        if let Some(p) = chars.get(i + 1).map(|c| c.to_ascii_lowercase()) {
            let radix = match p {
                'x' => Some(16),
                'o' => Some(8),
                'b' => Some(2),
                _ => None,
            };
            if let Some(radix) = radix {
                i += 2;
                let s = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                let digits: String = chars[s..i].iter().collect();
                let digits = strip_underscores(&digits, true)?;
                let v = i128::from_str_radix(&digits, radix)
                    .map_err(|_| "invalid number literal".to_string())?;
                return Ok((Tok::Int(v), i));
            }
        }
    }
    let mut text = String::new();
    let mut is_float = false;
    let digits = |i: &mut usize, text: &mut String| {
        while *i < chars.len() && (chars[*i].is_ascii_digit() || chars[*i] == '_') {
            text.push(chars[*i]);
            *i += 1;
        }
    };
    digits(&mut i, &mut text);
    if chars.get(i) == Some(&'.') {
        is_float = true;
        text.push('.');
        i += 1;
        digits(&mut i, &mut text);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let sign = matches!(chars.get(i + 1), Some('+' | '-'));
        let d = if sign { i + 2 } else { i + 1 };
        if chars.get(d).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            text.push('e');
            if sign {
                text.push(chars[i + 1]);
            }
            i = d;
            digits(&mut i, &mut text);
        }
    }
    if chars.get(i).is_some_and(|c| is_ident_char(*c)) {
        // `1j`, `1abc`, `1_` ...
        return Err("invalid number literal".into());
    }
    if is_float {
        let clean = strip_float_underscores(&text)?;
        let v: f64 = clean
            .parse()
            .map_err(|_| "invalid float literal".to_string())?;
        return Ok((Tok::Float(v), i));
    }
    let clean = strip_underscores(&text, false)?;
    if clean.len() > 1 && clean.starts_with('0') && clean.chars().any(|c| c != '0') {
        return Err("leading zeros in decimal integer literals are not permitted".into());
    }
    let v: i128 = clean
        .parse()
        .map_err(|_| "integer literal too large".to_string())?;
    Ok((Tok::Int(v), i))
}

/// Removes `_` digit separators, which must sit between two digits (or,
/// after a radix prefix, may lead).
fn strip_underscores(s: &str, after_prefix: bool) -> Result<String, String> {
    let b = s.as_bytes();
    for (k, &c) in b.iter().enumerate() {
        if c == b'_' {
            let prev_ok = k > 0 && b[k - 1] != b'_' || (k == 0 && after_prefix);
            let next_ok = k + 1 < b.len() && b[k + 1] != b'_';
            if !prev_ok || !next_ok {
                return Err("invalid digit separator".into());
            }
        }
    }
    if s.is_empty() {
        return Err("invalid number literal".into());
    }
    Ok(s.replace('_', ""))
}

fn strip_float_underscores(s: &str) -> Result<String, String> {
    let mut out = String::new();
    for part in s.split_inclusive(['.', 'e', '+', '-']) {
        let (body, sep) = match part.char_indices().last() {
            Some((k, c)) if matches!(c, '.' | 'e' | '+' | '-') => (&part[..k], Some(c)),
            _ => (part, None),
        };
        if !body.is_empty() {
            out.push_str(&strip_underscores(body, false)?);
        }
        if let Some(c) = sep {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_comparison_operators_longest_first() {
        assert_eq!(
            tokenize("a<=1").unwrap(),
            vec![Tok::Name("a".into()), Tok::Op("<="), Tok::Int(1)]
        );
    }

    #[test]
    fn decodes_string_escapes_and_prefixes() {
        assert_eq!(
            tokenize(r#""a\"b\n\x41\u00e9\101""#).unwrap(),
            vec![Tok::Str("a\"b\nAéA".into())]
        );
        assert_eq!(
            tokenize(r#"r'a\'b'"#).unwrap(),
            vec![Tok::Str("a\\'b".into())]
        );
        assert_eq!(
            tokenize(r#"u'x' '''t'r'''"#).unwrap(),
            vec![Tok::Str("x".into()), Tok::Str("t'r".into())]
        );
        assert_eq!(tokenize(r"'\d'").unwrap(), vec![Tok::Str("\\d".into())]);
    }

    #[test]
    fn rejects_bytes_and_fstrings_and_unterminated_strings() {
        assert!(tokenize("b'x'").is_err());
        assert!(tokenize("f'x'").is_err());
        assert!(tokenize("'abc").is_err());
        assert!(tokenize("'a\nb'").is_err());
        assert!(tokenize(r"'\ud800'").is_err());
    }

    #[test]
    fn lexes_python_number_forms() {
        let n = |s: &str| tokenize(s).unwrap();
        assert_eq!(n("0x1F"), vec![Tok::Int(31)]);
        assert_eq!(n("0o17 0b101"), vec![Tok::Int(15), Tok::Int(5)]);
        assert_eq!(n("1_000"), vec![Tok::Int(1000)]);
        assert_eq!(
            n("1.5e3 .5 2."),
            vec![Tok::Float(1500.0), Tok::Float(0.5), Tok::Float(2.0)]
        );
        assert_eq!(n("1_0.2_5"), vec![Tok::Float(10.25)]);
        assert_eq!(n("00"), vec![Tok::Int(0)]);
    }

    #[test]
    fn rejects_malformed_numbers() {
        for s in [
            "1j",
            "012",
            "1__0",
            "1_",
            "0x",
            "1e5x",
            "99999999999999999999999999999999999999999",
        ] {
            assert!(tokenize(s).is_err(), "{s}");
        }
    }

    #[test]
    fn newlines_separate_statements_only_outside_brackets() {
        assert_eq!(
            tokenize("a\n\n(b\n)\n").unwrap(),
            vec![
                Tok::Name("a".into()),
                Tok::Newline,
                Tok::Op("("),
                Tok::Name("b".into()),
                Tok::Op(")")
            ]
        );
    }

    #[test]
    fn comments_and_line_continuations_are_skipped() {
        assert_eq!(tokenize("a # c\n").unwrap(), vec![Tok::Name("a".into())]);
        assert_eq!(
            tokenize("a \\\n b").unwrap(),
            vec![Tok::Name("a".into()), Tok::Name("b".into())]
        );
        assert!(tokenize("a \\ b").is_err());
    }

    #[test]
    fn unbalanced_brackets_are_errors() {
        assert!(tokenize("(a").is_err());
        assert!(tokenize("a)").is_err());
        assert!(
            tokenize("[(])").is_ok(),
            "bracket kinds are matched by the parsers"
        );
    }

    #[test]
    fn unknown_characters_are_errors() {
        for s in ["a*b", "a@b", "$x", "a!b", "`"] {
            assert!(tokenize(s).is_err(), "{s}");
        }
    }
}
