//! What a layer's catalog of collections and indexes records, the same in
//! every layer that keeps one: the implicit `_id` index, index definitions
//! as bytes, and the checks an index set passes before it is built.

use bson::{doc, Bson, Document};
use eve_query::text::Language;
use eve_query::Filter;
use eve_store::{IndexKey, IndexSpec, StoreError, StoreResult, TextIndex, WriteOp};

/// Name of the implicit unique index on `_id`.
pub const ID_INDEX: &str = "_id_";

/// The definition of the implicit `_id` index.
pub fn id_index_spec() -> IndexSpec {
    IndexSpec {
        name: ID_INDEX.into(),
        keys: vec![("_id".into(), IndexKey::Asc)],
        unique: true,
        sparse: false,
        text: None,
    }
}

/// The field a geo index keys (its first `2dsphere` or `2d` key), `None`
/// for other indexes. Layers keep such an index as an index of bounding
/// boxes (docs/geo.md).
pub fn geo_field(spec: &IndexSpec) -> Option<&str> {
    spec.keys.iter().find_map(|(f, k)| match k {
        IndexKey::Special(kind) if kind == "2dsphere" || kind == "2d" => Some(f.as_str()),
        _ => None,
    })
}

/// Serializes an index definition for the catalog.
pub fn spec_to_bytes(spec: &IndexSpec) -> StoreResult<Vec<u8>> {
    let keys: Vec<Bson> = spec
        .keys
        .iter()
        .map(|(f, k)| {
            let dir = match k {
                IndexKey::Asc => Bson::Int32(1),
                IndexKey::Desc => Bson::Int32(-1),
                IndexKey::Special(s) => Bson::String(s.clone()),
            };
            Bson::Array(vec![Bson::String(f.clone()), dir])
        })
        .collect();
    let mut d =
        doc! {"name": &spec.name, "keys": keys, "unique": spec.unique, "sparse": spec.sparse};
    if let Some(text) = &spec.text {
        let weights: Vec<Bson> = text
            .fields
            .iter()
            .map(|(f, w)| Bson::Array(vec![Bson::String(f.clone()), Bson::Int64(i64::from(*w))]))
            .collect();
        d.insert(
            "text",
            doc! {
                "weights": weights,
                "default_language": text.default_language.name(),
                "language_override": &text.language_override,
            },
        );
    }
    d.to_vec()
        .map_err(|e| StoreError::Internal(format!("cannot encode index definition: {e}")))
}

/// Reads back an index definition written by [`spec_to_bytes`].
pub fn spec_from_bytes(bytes: &[u8]) -> StoreResult<IndexSpec> {
    let bad =
        |why: &str| StoreError::Internal(format!("corrupt index definition in catalog: {why}"));
    let d = Document::from_reader(bytes).map_err(|e| bad(&e.to_string()))?;
    let name = d.get_str("name").map_err(|_| bad("name"))?.to_string();
    let mut keys = Vec::new();
    for k in d.get_array("keys").map_err(|_| bad("keys"))? {
        let Bson::Array(pair) = k else {
            return Err(bad("key"));
        };
        let (Some(Bson::String(field)), Some(dir)) = (pair.first(), pair.get(1)) else {
            return Err(bad("key"));
        };
        let dir = match dir {
            Bson::Int32(1) => IndexKey::Asc,
            Bson::Int32(-1) => IndexKey::Desc,
            Bson::String(s) => IndexKey::Special(s.clone()),
            _ => return Err(bad("direction")),
        };
        keys.push((field.clone(), dir));
    }
    Ok(IndexSpec {
        name,
        keys,
        unique: d.get_bool("unique").unwrap_or(false),
        sparse: d.get_bool("sparse").unwrap_or(false),
        text: match d.get_document("text") {
            Ok(t) => Some(text_from_doc(t).ok_or_else(|| bad("text"))?),
            Err(_) => None,
        },
    })
}

fn text_from_doc(t: &Document) -> Option<TextIndex> {
    let mut fields = Vec::new();
    for pair in t.get_array("weights").ok()? {
        let Bson::Array(pair) = pair else { return None };
        let (Some(Bson::String(f)), Some(Bson::Int64(w))) = (pair.first(), pair.get(1)) else {
            return None;
        };
        fields.push((f.clone(), u32::try_from(*w).ok()?));
    }
    Some(TextIndex {
        fields,
        default_language: Language::parse(t.get_str("default_language").ok()?)?,
        language_override: t.get_str("language_override").ok()?.to_string(),
    })
}

/// Refuses an index set `prepare_collection` cannot build: a reserved or
/// empty name, no keys, a bad key path, a field keyed twice, two indexes
/// of one name.
pub fn check_index_specs(wanted: &[IndexSpec]) -> StoreResult<()> {
    for (i, spec) in wanted.iter().enumerate() {
        let invalid = |message: &str| StoreError::InvalidIndex {
            name: spec.name.clone(),
            message: message.into(),
        };
        if spec.name == ID_INDEX {
            return Err(invalid(
                "the name _id_ is reserved for the primary key index",
            ));
        }
        if spec.name.is_empty() {
            return Err(invalid("an index needs a name"));
        }
        if spec.keys.is_empty() {
            return Err(invalid("an index needs at least one key"));
        }
        if spec
            .keys
            .iter()
            .any(|(f, _)| f.is_empty() || f.split('.').any(str::is_empty))
        {
            return Err(invalid("invalid key path"));
        }
        let mut fields: Vec<&str> = spec.keys.iter().map(|(f, _)| f.as_str()).collect();
        fields.sort_unstable();
        if fields.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid("a field is keyed twice"));
        }
        if wanted[..i].iter().any(|other| other.name == spec.name) {
            return Err(invalid("two indexes share this name"));
        }
        if spec.text_index().is_some()
            && wanted[..i].iter().any(|other| other.text_index().is_some())
        {
            return Err(invalid("a collection has at most one text index"));
        }
    }
    Ok(())
}

/// A short description of a write for a `Conflict` message (logs only).
pub fn describe_op(op: &WriteOp) -> String {
    let text = |kind: &str, collection: &str, filter: &Filter| {
        let shown: String = format!("{filter:?}").chars().take(200).collect();
        format!("{kind} on {collection} where {shown}")
    };
    match op {
        WriteOp::Insert { collection, docs } => {
            format!("insert of {} document(s) into {collection}", docs.len())
        }
        WriteOp::Replace {
            collection, filter, ..
        } => text("replace", collection, filter),
        WriteOp::Update {
            collection, filter, ..
        } => text("update", collection, filter),
        WriteOp::Delete {
            collection, filter, ..
        } => text("delete", collection, filter),
        WriteOp::Check { collection, filter } => text("check", collection, filter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_definitions_round_trip_through_the_catalog() {
        let spec = IndexSpec {
            name: "geo".into(),
            keys: vec![
                ("a.b".into(), IndexKey::Asc),
                ("c".into(), IndexKey::Desc),
                ("loc".into(), IndexKey::Special("2dsphere".into())),
            ],
            unique: true,
            sparse: true,
            text: Some(TextIndex {
                fields: vec![("c".into(), 3)],
                default_language: Language::French,
                language_override: "lang".into(),
            }),
        };
        let bytes = spec_to_bytes(&spec).unwrap_or_default();
        assert_eq!(spec_from_bytes(&bytes).ok(), Some(spec));
    }
}
