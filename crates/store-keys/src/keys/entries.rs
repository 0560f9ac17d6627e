//! The index entries of a document: the values an index sees at a dotted
//! path, and their encoded keys.

use bson::{Bson, Document};

use eve_store::IndexSpec;

use super::encode_value;

/// The values an index sees at a dotted path: paths descend through
/// arrays (by position when the segment is a number, and into every
/// element document), and an array at the end of the path contributes its
/// elements (an empty array contributes itself).
pub fn index_values<'a>(doc: &'a Document, path: &str, saw_array: &mut bool) -> Vec<&'a Bson> {
    let mut segments = path.split('.');
    let mut out = Vec::new();
    let Some(first) = segments.next() else {
        return out;
    };
    let rest: Vec<&str> = segments.collect();
    if let Some(v) = doc.get(first) {
        collect_values(v, &rest, &mut out, saw_array);
    }
    out
}

fn collect_values<'a>(
    value: &'a Bson,
    segments: &[&str],
    out: &mut Vec<&'a Bson>,
    saw_array: &mut bool,
) {
    let Some((seg, rest)) = segments.split_first() else {
        match value {
            Bson::Array(items) => {
                *saw_array = true;
                if items.is_empty() {
                    out.push(value);
                } else {
                    out.extend(items.iter());
                }
            }
            _ => out.push(value),
        }
        return;
    };
    match value {
        Bson::Document(d) => {
            if let Some(v) = d.get(*seg) {
                collect_values(v, rest, out, saw_array);
            }
        }
        Bson::Array(items) => {
            *saw_array = true;
            // Only plain digits index an array (as `eve_query` reads paths).
            let position = if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                seg.parse::<usize>().ok()
            } else {
                None
            };
            if let Some(i) = position {
                if let Some(v) = items.get(i) {
                    collect_values(v, rest, out, saw_array);
                }
            }
            for item in items {
                if let Bson::Document(d) = item {
                    if let Some(v) = d.get(*seg) {
                        collect_values(v, rest, out, saw_array);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Why a document cannot be indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

/// The entries (encoded keys, deduplicated and sorted) a document puts in
/// an index over `fields`, and whether an array was met on the way.
///
/// * `sparse`: a document missing the first field gets no entry;
/// * otherwise a missing field is indexed as null;
/// * an array yields one entry per element; a compound index may meet an
///   array in at most one of its fields (MongoDB's "parallel arrays" rule).
pub fn index_entries<'a, I>(
    doc: &Document,
    fields: I,
    sparse: bool,
) -> Result<(Vec<Vec<u8>>, bool), KeyError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut per_field: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut multikey = false;
    let mut array_fields = 0;
    for (i, field) in fields.into_iter().enumerate() {
        let mut saw_array = false;
        let values = index_values(doc, field, &mut saw_array);
        if saw_array {
            multikey = true;
            array_fields += 1;
        }
        if values.is_empty() && i == 0 && sparse {
            return Ok((Vec::new(), false));
        }
        let mut encoded: Vec<Vec<u8>> = if values.is_empty() {
            vec![encode_value(&Bson::Null)]
        } else {
            values.into_iter().map(encode_value).collect()
        };
        encoded.sort();
        encoded.dedup();
        per_field.push(encoded);
    }
    if array_fields > 1 {
        return Err(KeyError("cannot index parallel arrays".into()));
    }
    let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
    for options in per_field {
        let mut next = Vec::with_capacity(keys.len() * options.len());
        for prefix in &keys {
            for option in &options {
                let mut k = prefix.clone();
                k.extend_from_slice(option);
                next.push(k);
            }
        }
        keys = next;
    }
    keys.sort();
    keys.dedup();
    Ok((keys, multikey))
}

/// A short, log-friendly rendering of a document's value at a path.
pub fn key_text(doc: &Document, spec: &IndexSpec) -> String {
    let parts: Vec<String> = spec
        .keys
        .iter()
        .map(|(f, _)| {
            let mut saw = false;
            let v = index_values(doc, f, &mut saw);
            let text = match v.as_slice() {
                [] => "null".to_string(),
                [one] => one.to_string(),
                many => format!("{many:?}"),
            };
            let text: String = text.chars().take(200).collect();
            format!("{f}: {text}")
        })
        .collect();
    format!("{{ {} }}", parts.join(", "))
}
