//! Document versioning settings (features.md §22, settings.md §1.8):
//! `VERSIONS` (the suffix of the shadow collections) and
//! `VERSION_DIFF_INCLUDE`, and the shadow collections every versioned
//! resource adds to [`Domain::collections`](crate::Domain::collections),
//! with their index. The per-resource switch is `Resource::versioning`;
//! the field names (`VERSION`, `LATEST_VERSION`, `VERSION_ID_SUFFIX`) are
//! [`MetaNames`](crate::MetaNames)'.

use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::Value;

use super::read::Ctx;
use crate::domain::{MetaNames, Resource};
use eve_store::{IndexKey, IndexSpec};

/// The global versioning settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSettings {
    /// `VERSIONS`, default `_versions`: a resource stored in `people` keeps
    /// its versions in `people_versions`.
    pub suffix: String,
    /// `VERSION_DIFF_INCLUDE`, default `[]`: fields every `?version=diffs`
    /// entry carries, changed or not (top-level names).
    pub diff_include: Vec<String>,
}

impl Default for VersionSettings {
    fn default() -> Self {
        VersionSettings {
            suffix: "_versions".into(),
            diff_include: Vec::new(),
        }
    }
}

/// Reads `VERSIONS` and `VERSION_DIFF_INCLUDE` from the raw settings.
/// Their types are checked with the other global keys (a wrong type is a
/// problem reported there); here a wrong value falls back to the default.
/// An empty `VERSIONS` is a problem: the history would be written into the
/// documents' own collection.
pub(crate) fn read(ctx: &mut Ctx, raw: &IndexMap<String, Value>) -> VersionSettings {
    let mut out = VersionSettings::default();
    if let Some(Value::String(s)) = raw.get("VERSIONS") {
        if s.is_empty() {
            ctx.problem(
                "VERSIONS",
                "must not be empty: it is the suffix of the collections that keep document \
                 versions (default _versions)",
            );
        } else {
            out.suffix = s.clone();
        }
    }
    if let Some(Value::Array(items)) = raw.get("VERSION_DIFF_INCLUDE") {
        out.diff_include = items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    out
}

/// The name of the index every shadow collection carries: on the document
/// id and the version number (what every version query looks up).
pub const SHADOW_INDEX: &str = "_eve_versions";

/// Adds the shadow collection of every versioned resource to
/// `collections`, with [`SHADOW_INDEX`] and the non-unique indexes of the
/// resource (features.md §43: Eve creates `mongo_indexes` on the shadow
/// collection too; a unique index would refuse the second version of a
/// document, so those stay on the main collection only).
pub(crate) fn add_shadow_collections(
    meta: &MetaNames,
    versions: &VersionSettings,
    resources: &IndexMap<String, Arc<Resource>>,
    collections: &mut IndexMap<String, Vec<IndexSpec>>,
) {
    for res in resources.values().filter(|r| r.versioning) {
        let name = format!("{}{}", res.datasource.source, versions.suffix);
        let indexes = collections.entry(name).or_default();
        let id_document = format!("{}{}", res.id_field, meta.version_id_suffix);
        let own = IndexSpec {
            name: SHADOW_INDEX.to_string(),
            keys: vec![
                (id_document, IndexKey::Asc),
                (meta.version.clone(), IndexKey::Asc),
            ],
            unique: false,
            sparse: false,
            text: None,
        };
        for spec in std::iter::once(own).chain(res.indexes.iter().filter(|i| !i.unique).cloned()) {
            if !indexes.iter().any(|i| i.name == spec.name) {
                indexes.push(spec);
            }
        }
    }
}
