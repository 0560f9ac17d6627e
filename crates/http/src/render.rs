//! Rendering: BSON documents to JSON values (dates in `DATE_FORMAT`,
//! ObjectIds as hex, decimals as strings), JSON bytes with Python's
//! separators, XML in Eve's layout. The ETag digest is `eve-exec`'s
//! ([`document_etag`], re-exported here).

use bson::{Bson, Document};
use eve_query::DateFormat;
use serde_json::{Map, Value};

pub use eve_exec::document_etag;

/// Converts a BSON value to the JSON clients see.
pub fn bson_to_json(value: &Bson, dates: &DateFormat) -> Value {
    match value {
        Bson::Double(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Bson::String(s) => Value::String(s.clone()),
        Bson::Array(a) => Value::Array(a.iter().map(|v| bson_to_json(v, dates)).collect()),
        Bson::Document(d) => match dbref_id_text(d) {
            Some(id) => {
                let mut map = doc_to_map(d, dates);
                map.insert("$id".into(), Value::String(id));
                Value::Object(map)
            }
            None => Value::Object(doc_to_map(d, dates)),
        },
        Bson::Boolean(b) => Value::Bool(*b),
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Int32(i) => Value::from(*i),
        Bson::Int64(i) => Value::from(*i),
        Bson::DateTime(d) => Value::String(dates.format(*d)),
        Bson::ObjectId(o) => Value::String(o.to_hex()),
        Bson::Decimal128(d) => Value::String(d.to_string()),
        Bson::Binary(b) if b.subtype == bson::spec::BinarySubtype::Uuid && b.bytes.len() == 16 => {
            Value::String(uuid_string(&b.bytes))
        }
        Bson::Binary(b) => Value::String(base64_encode(&b.bytes)),
        Bson::RegularExpression(r) => Value::String(r.pattern.to_string()),
        Bson::Timestamp(t) => Value::from(t.time),
        Bson::Symbol(s) => Value::String(s.clone()),
        Bson::JavaScriptCode(c) => Value::String(c.clone()),
        Bson::JavaScriptCodeWithScope(c) => Value::String(c.code.clone()),
        Bson::DbPointer(_) | Bson::MaxKey | Bson::MinKey => Value::Null,
    }
}

/// The `$id` of a DBRef (a document of exactly `$ref`, `$id` and an
/// optional `$db`, as MongoDB reads one) as Eve renders it: Python's
/// `str()` of the id (features.md §1.2). `None` for other documents.
fn dbref_id_text(d: &Document) -> Option<String> {
    let mut keys = d.keys().map(String::as_str);
    let shape = (keys.next(), keys.next(), keys.next(), keys.next());
    if !matches!(shape, (Some("$ref"), Some("$id"), None | Some("$db"), None)) {
        return None;
    }
    Some(match d.get("$id")? {
        Bson::String(s) => s.clone(),
        Bson::ObjectId(o) => o.to_hex(),
        Bson::Boolean(true) => "True".into(),
        Bson::Boolean(false) => "False".into(),
        Bson::Null => "None".into(),
        other => {
            let json = bson_to_json(other, &DateFormat::rfc1123());
            String::from_utf8_lossy(&write_json(&json, false)).into_owned()
        }
    })
}

/// Converts a document to a JSON object, keeping key order.
pub fn doc_to_map(doc: &Document, dates: &DateFormat) -> Map<String, Value> {
    doc.iter()
        .map(|(k, v)| (k.clone(), bson_to_json(v, dates)))
        .collect()
}

/// The canonical (lower-case, hyphenated) text of a 16-byte UUID.
pub fn uuid_string(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Standard base64 (for binary values).
pub fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// serde_json formatter writing Python's default separators (`", "` and
/// `": "`), as Eve's responses do.
struct PythonFormatter;

impl serde_json::ser::Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

/// Sorts object keys at every level (`JSON_SORT_KEYS`).
pub fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            for v in map.values_mut() {
                sort_keys(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Serializes JSON as Eve does: Python separators, or 4-space indentation
/// when `pretty`.
pub fn write_json(value: &Value, pretty: bool) -> Vec<u8> {
    use serde::Serialize;
    let mut out = Vec::with_capacity(256);
    let result = if pretty {
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            serde_json::ser::PrettyFormatter::with_indent(b"    "),
        );
        value.serialize(&mut ser)
    } else {
        let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
        value.serialize(&mut ser)
    };
    // Serializing a serde_json::Value into a Vec cannot fail.
    debug_assert!(result.is_ok());
    out
}

/// Renders a response value as Eve's XML (features.md §11.2).
pub fn write_xml(value: &Value, links_key: &str, items_key: &str, meta_key: &str) -> Vec<u8> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    if map.is_empty() {
        return Vec::new();
    }
    let mut out = String::with_capacity(512);
    xml_resource(map, links_key, items_key, meta_key, &mut out);
    out.into_bytes()
}

fn xml_resource(
    map: &Map<String, Value>,
    links_key: &str,
    items_key: &str,
    meta_key: &str,
    out: &mut String,
) {
    let links = map.get(links_key).and_then(Value::as_object);
    let self_link = links.and_then(|l| l.get("self")).and_then(Value::as_object);
    match self_link {
        Some(link) => {
            out.push_str("<resource href=\"");
            out.push_str(&xml_escape(
                link.get("href").and_then(Value::as_str).unwrap_or(""),
            ));
            out.push_str("\"  title=\"");
            out.push_str(&xml_escape(
                link.get("title").and_then(Value::as_str).unwrap_or(""),
            ));
            out.push_str("\" >");
        }
        None => out.push_str("<resource>"),
    }
    if let Some(links) = links {
        let mut rels: Vec<(&String, &Value)> = links
            .iter()
            .filter(|(k, _)| k.as_str() != "self" && k.as_str() != "related")
            .collect();
        rels.sort_by(|a, b| a.0.cmp(b.0));
        for (rel, link) in rels {
            let items: Vec<&Value> = match link {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for l in items {
                out.push_str("<link rel=\"");
                out.push_str(&xml_escape(rel));
                out.push_str("\" href=\"");
                out.push_str(&xml_escape(
                    l.get("href").and_then(Value::as_str).unwrap_or(""),
                ));
                out.push_str("\" title=\"");
                out.push_str(&xml_escape(
                    l.get("title").and_then(Value::as_str).unwrap_or(""),
                ));
                out.push_str("\" />");
            }
        }
    }
    if let Some(Value::Object(meta)) = map.get(meta_key) {
        let meta_key = xml_name(meta_key);
        out.push('<');
        out.push_str(&meta_key);
        out.push('>');
        let mut keys: Vec<&String> = meta.keys().collect();
        keys.sort();
        for k in keys {
            xml_field(k, &meta[k.as_str()], None, out);
        }
        out.push_str("</");
        out.push_str(&meta_key);
        out.push('>');
    }
    if let Some(Value::Array(items)) = map.get(items_key) {
        for item in items {
            if let Value::Object(m) = item {
                xml_resource(m, links_key, items_key, meta_key, out);
            }
        }
    }
    let related = links
        .and_then(|l| l.get("related"))
        .and_then(Value::as_object);
    let mut keys: Vec<&String> = map
        .keys()
        .filter(|k| k.as_str() != links_key && k.as_str() != items_key && k.as_str() != meta_key)
        .collect();
    keys.sort();
    for k in keys {
        xml_field(
            k,
            &map[k.as_str()],
            related.and_then(|r| r.get(k.as_str())),
            out,
        );
    }
    out.push_str("</resource>");
}

fn xml_field(name: &str, value: &Value, related: Option<&Value>, out: &mut String) {
    if let Value::Array(items) = value {
        for (i, item) in items.iter().enumerate() {
            let rel = match related {
                Some(Value::Array(r)) => r.get(i),
                other => other,
            };
            xml_field(name, item, rel, out);
        }
        return;
    }
    let name = xml_name(name);
    out.push('<');
    out.push_str(&name);
    if let Some(Value::Object(link)) = related {
        out.push_str(" href=\"");
        out.push_str(&xml_escape(
            link.get("href").and_then(Value::as_str).unwrap_or(""),
        ));
        out.push_str("\" title=\"");
        out.push_str(&xml_escape(
            link.get("title").and_then(Value::as_str).unwrap_or(""),
        ));
        out.push('"');
    }
    out.push('>');
    if let Some(text) = xml_dbref(value) {
        out.push_str(&xml_escape(&text));
        out.push_str("</");
        out.push_str(&name);
        out.push('>');
        return;
    }
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                xml_field(k, &m[k.as_str()], None, out);
            }
        }
        Value::String(s) => out.push_str(&xml_escape(s)),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Null => out.push_str("None"),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Array(_) => {}
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// A DBRef as Eve's XML shows it: Python's `repr()`,
/// `DBRef('people', '<id>'[, '<db>'])` (its keys are no XML names). The id
/// is shown as the string the JSON form carries.
fn xml_dbref(value: &Value) -> Option<String> {
    let Value::Object(m) = value else {
        return None;
    };
    let dbref_keys = m
        .keys()
        .all(|k| matches!(k.as_str(), "$ref" | "$id" | "$db"));
    if !dbref_keys || !m.contains_key("$ref") || !m.contains_key("$id") {
        return None;
    }
    let part = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .map(eve_schema::python_str_repr)
    };
    let (r, id) = (part("$ref")?, part("$id")?);
    Some(match m.get("$db") {
        None => format!("DBRef({r}, {id})"),
        Some(_) => format!("DBRef({r}, {id}, {})", part("$db")?),
    })
}

/// Text and attribute values: markup characters escaped, characters XML
/// 1.0 cannot carry (control characters other than tab, newline and
/// carriage return; U+FFFE, U+FFFF) left out.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // As Eve (markupsafe): quotes as numeric references.
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c if !xml_char(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// XML 1.0's `Char` production.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML 1.0's `NameStartChar`, without `:` (a colon would declare a
/// namespace prefix).
fn xml_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0's `NameChar`, without `:`.
fn xml_name_char(c: char) -> bool {
    xml_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// A field name as an XML element name. Names that are valid XML names
/// (all that Eve's own examples use) are kept as they are; in any other, each
/// character that may not appear where it stands is written `_xHHHH_` (its
/// code point in hex, at least four digits), as is the `_` of a literal
/// `_x` so that two names never encode alike. An empty name is `_`.
/// Client-chosen keys (`ALLOW_UNKNOWN`) can thus never inject markup.
fn xml_name(name: &str) -> std::borrow::Cow<'_, str> {
    let valid = name.chars().enumerate().all(|(i, c)| {
        if i == 0 {
            xml_name_start(c)
        } else {
            xml_name_char(c)
        }
    }) && !name.contains("_x");
    if valid && !name.is_empty() {
        return std::borrow::Cow::Borrowed(name);
    }
    if name.is_empty() {
        return std::borrow::Cow::Borrowed("_");
    }
    let mut out = String::with_capacity(name.len() + 8);
    let mut chars = name.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let ok = if i == 0 {
            xml_name_start(c)
        } else {
            xml_name_char(c)
        };
        let literal_escape = c == '_' && chars.peek().is_some_and(|(_, n)| *n == 'x');
        if ok && !literal_escape {
            out.push(c);
        } else {
            out.push_str(&format!("_x{:04X}_", c as u32));
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_uses_python_separators() {
        let v = serde_json::json!({"a": [1, 2], "b": {"c": null}});
        assert_eq!(
            String::from_utf8(write_json(&v, false)).unwrap(),
            r#"{"a": [1, 2], "b": {"c": null}}"#
        );
    }

    #[test]
    fn pretty_json_indents_four_spaces() {
        let v = serde_json::json!({"a": 1});
        assert_eq!(
            String::from_utf8(write_json(&v, true)).unwrap(),
            "{\n    \"a\": 1\n}"
        );
    }

    #[test]
    fn xml_home_lists_children() {
        let v = serde_json::json!({"_links": {"child": [{"href": "people", "title": "people"}, {"href": "works", "title": "works"}]}});
        assert_eq!(
            String::from_utf8(write_xml(&v, "_links", "_items", "_meta")).unwrap(),
            r#"<resource><link rel="child" href="people" title="people" /><link rel="child" href="works" title="works" /></resource>"#
        );
    }

    #[test]
    fn xml_shows_dbrefs_as_python_reprs() {
        // Eve's XML for DBRef values (oracle: `repr()`, then escaped).
        let v = serde_json::json!({"_links": {"self": {"href": "links/1", "title": "Link"}},
            "r": {"$ref": "people", "$id": "5f0000000000000000000001"},
            "d": {"$id": "5", "$ref": "x", "$db": "d'b"},
            "n": {"$ref": "x", "$id": "1", "other": 1}});
        assert_eq!(
            String::from_utf8(write_xml(&v, "_links", "_items", "_meta")).unwrap(),
            r#"<resource href="links/1"  title="Link" ><d>DBRef(&#39;x&#39;, &#39;5&#39;, &#34;d&#39;b&#34;)</d><n><_x0024_id>1</_x0024_id><_x0024_ref>x</_x0024_ref><other>1</other></n><r>DBRef(&#39;people&#39;, &#39;5f0000000000000000000001&#39;)</r></resource>"#
        );
    }

    #[test]
    fn xml_escapes_as_eve() {
        // Oracle: `O'Brien <&> "q"` → `O&#39;Brien &lt;&amp;&gt; &#34;q&#34;`.
        let v = serde_json::json!({"lastname": "O'Brien <&> \"q\""});
        assert_eq!(
            String::from_utf8(write_xml(&v, "_links", "_items", "_meta")).unwrap(),
            "<resource><lastname>O&#39;Brien &lt;&amp;&gt; &#34;q&#34;</lastname></resource>"
        );
    }

    #[test]
    fn xml_element_names_are_encoded_and_control_characters_dropped() {
        assert_eq!(xml_name("firstname"), "firstname");
        assert_eq!(xml_name("_id"), "_id");
        assert_eq!(xml_name("a.b-c1"), "a.b-c1");
        assert_eq!(xml_name("é"), "é");
        assert_eq!(xml_name(""), "_");
        assert_eq!(xml_name("a b"), "a_x0020_b");
        assert_eq!(xml_name("1st"), "_x0031_st");
        assert_eq!(xml_name("a><b"), "a_x003E__x003C_b");
        assert_eq!(xml_name("ns:x"), "ns_x003A_x");
        assert_eq!(xml_name("a\u{0}"), "a_x0000_");
        // A literal `_x` is escaped, so encodings never collide.
        assert_eq!(xml_name("a_x0020_b"), "a_x005F_x0020_b");
        assert_eq!(xml_escape("a\u{1}b\tc\u{1b}<\u{FFFF}"), "ab\tc&lt;");
        let v = serde_json::json!({"a><b": "x\u{0}y", "ok": [1, 2]});
        assert_eq!(
            String::from_utf8(write_xml(&v, "_links", "_items", "_meta")).unwrap(),
            "<resource><a_x003E__x003C_b>xy</a_x003E__x003C_b><ok>1</ok><ok>2</ok></resource>"
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
        assert_eq!(base64_encode(b"a"), "YQ==");
    }
}
