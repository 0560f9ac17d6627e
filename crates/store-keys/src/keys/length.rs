//! Walking a concatenation of encodings: where each component ends, and
//! the upper bound of a prefix range.

use super::{class, tag};

/// The length of the first encoded value at the start of `key` (a key is
/// a concatenation of encodings); `None` when `key` is malformed.
pub fn first_component_len(key: &[u8]) -> Option<usize> {
    value_len(key, 0)
}

/// The length of the first `n` encoded values at the start of `key`;
/// `None` when `key` has fewer or is malformed.
pub fn components_len(key: &[u8], n: usize) -> Option<usize> {
    (0..n).try_fold(0, |at, _| value_len(key, at))
}

/// Where the encoded value starting at `at` ends.
fn value_len(key: &[u8], at: usize) -> Option<usize> {
    let t = *key.get(at)?;
    let body = at + 1;
    match t {
        tag::MIN_KEY | tag::MAX_KEY | tag::NULL | tag::UNDEFINED => Some(body),
        tag::NUMBER => match *key.get(body)? {
            class::POSITIVE => terminated(key, body + 5, 0x00),
            class::NEGATIVE => terminated(key, body + 5, 0xFF),
            _ => Some(body + 1),
        },
        tag::STRING | tag::CODE | tag::DB_POINTER => string_end(key, body),
        tag::DOCUMENT => {
            let mut pos = body;
            loop {
                if *key.get(pos)? == 0 {
                    return Some(pos + 1);
                }
                pos = string_end(key, pos + 1)?;
                pos = value_len(key, pos)?;
            }
        }
        tag::ARRAY => {
            let mut pos = body;
            loop {
                if *key.get(pos)? == 0 {
                    return Some(pos + 1);
                }
                pos = value_len(key, pos)?;
            }
        }
        tag::BINARY => {
            let len = u32::from_be_bytes(key.get(body..body + 4)?.try_into().ok()?) as usize;
            let end = body.checked_add(5)?.checked_add(len)?;
            (end <= key.len()).then_some(end)
        }
        tag::OBJECT_ID => fixed(key, body, 12),
        tag::BOOL => fixed(key, body, 1),
        tag::DATE | tag::TIMESTAMP => fixed(key, body, 8),
        tag::REGEX => string_end(key, string_end(key, body)?),
        tag::CODE_WITH_SCOPE => {
            let pos = string_end(key, body)?;
            // The scope is a document body without its tag.
            let mut pos = pos;
            loop {
                if *key.get(pos)? == 0 {
                    return Some(pos + 1);
                }
                pos = string_end(key, pos + 1)?;
                pos = value_len(key, pos)?;
            }
        }
        _ => None,
    }
}

fn fixed(key: &[u8], at: usize, n: usize) -> Option<usize> {
    let end = at + n;
    (end <= key.len()).then_some(end)
}

/// The end of a digit run closed by `terminator`.
fn terminated(key: &[u8], at: usize, terminator: u8) -> Option<usize> {
    let rest = key.get(at..)?;
    rest.iter()
        .position(|&b| b == terminator)
        .map(|p| at + p + 1)
}

/// The end of an escaped byte string (`00 FF` escapes, `00 00` ends).
fn string_end(key: &[u8], at: usize) -> Option<usize> {
    let mut pos = at;
    loop {
        if *key.get(pos)? == 0 {
            match *key.get(pos + 1)? {
                0 => return Some(pos + 2),
                0xFF => pos += 2,
                _ => return None,
            }
        } else {
            pos += 1;
        }
    }
}

/// The smallest byte string greater than every string starting with
/// `prefix`; `None` when there is none (all bytes `FF`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last != 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}
