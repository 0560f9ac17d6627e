//! What the store accepts and decodes: documents at most
//! [`MAX_DOCUMENT_DEPTH`] levels deep and [`MAX_DOCUMENT_BYTES`] long, with
//! field names BSON can hold. Both checks are iterative, so neither a
//! hostile document nor damaged stored bytes can make them (or the decoder
//! after them) recurse without bound.

use bson::raw::{RawBsonRef, RawDocument};
use bson::{Bson, Document};
use eve_store::{StoreError, StoreResult, MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH};

/// Refuses a document the store must not hold: nested deeper than
/// [`MAX_DOCUMENT_DEPTH`], or with a field name holding a NUL character.
pub fn check_storable(doc: &Document) -> StoreResult<()> {
    let mut stack: Vec<(&Bson, usize)> = Vec::new();
    push_fields(doc, 1, &mut stack)?;
    while let Some((value, depth)) = stack.pop() {
        let nested = matches!(value, Bson::Document(_) | Bson::Array(_));
        if nested && depth > MAX_DOCUMENT_DEPTH {
            return Err(too_deep());
        }
        match value {
            Bson::Document(d) => push_fields(d, depth, &mut stack)?,
            Bson::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

/// Checks the field names of `d` (at `depth`) and stacks its values.
fn push_fields<'d>(
    d: &'d Document,
    depth: usize,
    stack: &mut Vec<(&'d Bson, usize)>,
) -> StoreResult<()> {
    for (k, v) in d {
        if k.contains('\0') {
            return Err(StoreError::InvalidQuery(format!(
                "field name {k:?} contains a NUL character, which a document cannot hold"
            )));
        }
        stack.push((v, depth + 1));
    }
    Ok(())
}

fn too_deep() -> StoreError {
    StoreError::InvalidQuery(format!(
        "the document is nested deeper than {MAX_DOCUMENT_DEPTH} levels, more than a document may hold"
    ))
}

/// Encodes a checked document, refusing one larger than
/// [`MAX_DOCUMENT_BYTES`].
pub fn encode(doc: &Document) -> StoreResult<Vec<u8>> {
    check_storable(doc)?;
    let bytes = doc
        .to_vec()
        .map_err(|e| StoreError::InvalidQuery(format!("the document cannot be stored: {e}")))?;
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(StoreError::InvalidQuery(format!(
            "the document takes {} bytes, more than the {MAX_DOCUMENT_BYTES} a document may take",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Decodes stored bytes. Bytes that are not a BSON document, or a document
/// nested deeper than [`MAX_DOCUMENT_DEPTH`], are an internal error (the
/// store is damaged or was written by something else): the read fails, the
/// reader does not.
pub fn decode(bytes: &[u8]) -> StoreResult<Document> {
    check_raw_depth(bytes)?;
    Document::from_reader(bytes)
        .map_err(|e| StoreError::Internal(format!("corrupt stored document: {e}")))
}

/// Walks the raw BSON with an explicit stack of open documents.
fn check_raw_depth(bytes: &[u8]) -> StoreResult<()> {
    let corrupt =
        |e: bson::error::Error| StoreError::Internal(format!("corrupt stored document: {e}"));
    let root = RawDocument::from_bytes(bytes).map_err(corrupt)?;
    let mut stack = vec![root.iter()];
    while let Some(top) = stack.last_mut() {
        let Some(element) = top.next() else {
            stack.pop();
            continue;
        };
        let (_, value) = element.map_err(corrupt)?;
        let child = match value {
            RawBsonRef::Document(d) => d,
            RawBsonRef::Array(a) => RawDocument::from_bytes(a.as_bytes()).map_err(corrupt)?,
            RawBsonRef::JavaScriptCodeWithScope(c) => c.scope,
            _ => continue,
        };
        if stack.len() + 1 > MAX_DOCUMENT_DEPTH {
            return Err(StoreError::Internal(format!(
                "corrupt stored document: nested deeper than {MAX_DOCUMENT_DEPTH} levels"
            )));
        }
        stack.push(child.iter());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    /// A document `depth` levels deep, `{"a": {"a": ... {"a": 1}}}`, as raw
    /// BSON built from the inside out (no recursion anywhere).
    pub fn nested_bytes(depth: usize) -> Vec<u8> {
        let mut inner = doc! {"a": 1}.to_vec().unwrap();
        for _ in 1..depth {
            let mut out = Vec::with_capacity(inner.len() + 8);
            let len = (4 + 1 + 2 + inner.len() + 1) as i32;
            out.extend_from_slice(&len.to_le_bytes());
            out.push(0x03);
            out.extend_from_slice(b"a\0");
            out.extend_from_slice(&inner);
            out.push(0);
            inner = out;
        }
        inner
    }

    #[test]
    fn depth_is_checked_on_raw_bytes_without_recursion() {
        assert!(decode(&nested_bytes(MAX_DOCUMENT_DEPTH)).is_ok());
        for depth in [MAX_DOCUMENT_DEPTH + 1, 100_000] {
            match decode(&nested_bytes(depth)) {
                Err(StoreError::Internal(m)) => assert!(m.contains("deeper than 128"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(decode(b"\x05\0\0"), Err(StoreError::Internal(_))));
        assert!(matches!(
            decode(&[9, 0, 0, 0, 3, b'a', 0, 0, 0]),
            Err(StoreError::Internal(_))
        ));
    }

    #[test]
    fn documents_past_the_limits_are_refused() {
        let ok = Document::from_reader(nested_bytes(MAX_DOCUMENT_DEPTH).as_slice()).unwrap();
        assert!(encode(&ok).is_ok());
        let mut deep = Bson::Int32(1);
        for _ in 0..MAX_DOCUMENT_DEPTH {
            deep = Bson::Array(vec![deep]);
        }
        let r = check_storable(&doc! {"a": deep});
        assert!(
            matches!(&r, Err(StoreError::InvalidQuery(m)) if m.contains("deeper")),
            "{r:?}"
        );
        let r = encode(&doc! {"x": {"a\u{0}b": 1}});
        assert!(
            matches!(&r, Err(StoreError::InvalidQuery(m)) if m.contains("NUL")),
            "{r:?}"
        );
        let big = "x".repeat(MAX_DOCUMENT_BYTES);
        let r = encode(&doc! {"s": big});
        assert!(
            matches!(&r, Err(StoreError::InvalidQuery(m)) if m.contains("bytes")),
            "{r:?}"
        );
    }
}
