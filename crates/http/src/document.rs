//! A stored document as the API serves it: its id in URLs and `_links`.
//! Shared by the read and write handlers; meta defaults and ETags are
//! `eve-exec`'s, the filter naming an item is the plan's.

use bson::{Bson, Document};
use eve_core::{Domain, Resource};
use eve_exec::ensure_meta;
use serde_json::{json, Map, Value};

use crate::render::{bson_to_json, doc_to_map};

/// The id of a document as it appears in URLs.
pub(crate) fn id_string(value: Option<&Bson>) -> String {
    match value {
        Some(Bson::ObjectId(o)) => o.to_hex(),
        Some(Bson::String(s)) => s.clone(),
        Some(Bson::Int32(i)) => i.to_string(),
        Some(Bson::Int64(i)) => i.to_string(),
        Some(other) => bson_to_json(other, &eve_query::DateFormat::rfc1123())
            .to_string()
            .trim_matches('"')
            .to_string(),
        None => String::new(),
    }
}

/// Builds a document as served: projection, meta defaults, `_links`
/// (self, and parent/collection for item responses; related).
pub(crate) fn build_document(
    domain: &Domain,
    res: &Resource,
    mut doc: Document,
    projection: Option<&Document>,
    resource_path: &str,
    item_links: bool,
) -> Map<String, Value> {
    ensure_meta(domain, res, &mut doc);
    let m = &domain.settings.meta;
    // A document without the soft-delete flag (written before soft delete
    // was turned on) is served as live (features.md §31.1).
    if res.soft_delete && !doc.contains_key(&m.deleted) {
        doc.insert(m.deleted.clone(), false);
    }
    if !domain.settings.if_match {
        doc.remove(&domain.settings.meta.etag);
    }
    let mut doc = match projection {
        Some(p) => eve_query::project_document(doc, p),
        None => doc,
    };
    // After the projection: `_latest_version` is computed, never stored.
    eve_exec::resolve_version(domain, res, &mut doc);
    let mut map = doc_to_map(&doc, &domain.settings.date_format);
    // Eve places meta fields after the document's own fields, then `_id`
    // (another `id_field` stays where the document has it).
    let mut meta_keys = vec![m.last_updated.as_str(), m.date_created.as_str()];
    if res.soft_delete {
        meta_keys.push(m.deleted.as_str());
    }
    meta_keys.extend([m.etag.as_str(), "_id"]);
    for key in meta_keys {
        if let Some(v) = map.shift_remove(key) {
            map.insert(key.to_string(), v);
        }
    }
    if res.hateoas {
        let mut links = Map::new();
        links.insert(
            "self".into(),
            self_link(res, resource_path, doc.get(&res.id_field)),
        );
        if item_links {
            links.insert("parent".into(), json!({"title": "home", "href": "/"}));
            links.insert(
                "collection".into(),
                json!({"title": res.resource_title, "href": resource_path}),
            );
        }
        if let Some(related) = related_links(domain, res, &doc) {
            links.insert("related".into(), related);
        }
        map.insert(m.links.clone(), Value::Object(links));
    }
    map
}

/// Rebuilds `_links.related` of a served document from `stored`, the
/// document with the references embedding replaced put back
/// ([`eve_exec::Replaced::restore`]): as Eve builds related links before
/// it embeds, a reference to a missing document keeps its link, and a
/// relation on another field than the id links by that field's value.
pub(crate) fn relink(
    domain: &Domain,
    res: &Resource,
    map: &mut Map<String, Value>,
    stored: &Document,
) {
    if !res.hateoas {
        return;
    }
    if let Some(Value::Object(links)) = map.get_mut(&domain.settings.meta.links) {
        match related_links(domain, res, stored) {
            Some(related) => {
                links.insert("related".into(), related);
            }
            None => {
                links.shift_remove("related");
            }
        }
    }
}

/// `{"title": item_title, "href": "<resource path>/<id>"}`.
pub(crate) fn self_link(res: &Resource, resource_path: &str, id: Option<&Bson>) -> Value {
    json!({"title": res.item_title, "href": format!("{resource_path}/{}", id_string(id))})
}

/// Links to documents referenced through top-level `data_relation` fields
/// (features.md §10.4), always using the target resource's own path.
pub(crate) fn related_links(domain: &Domain, res: &Resource, doc: &Document) -> Option<Value> {
    let mut related = Map::new();
    // The relation is on the field, or on the items of a list field.
    for (field, relation) in &res.relations {
        let Some(target) = domain.resources.get(&relation.resource) else {
            continue;
        };
        let link = |v: &Bson| -> Option<Value> {
            let (target, id) = match v {
                Bson::Null => return None,
                // A DBRef links into the resource its `$ref` names, as in
                // Eve; one that names no resource gets no link (Eve: 500).
                Bson::Document(d) if d.contains_key("$id") => {
                    let named = d.get_str("$ref").ok()?;
                    (&**domain.resources.get(named)?, d.get("$id"))
                }
                Bson::Document(d) => (&**target, d.get(&target.id_field).or_else(|| d.get("_id"))),
                other => (&**target, Some(other)),
            };
            let id = id_string(id);
            (!id.is_empty()).then(
                || json!({"title": target.item_title, "href": format!("{}/{id}", target.url)}),
            )
        };
        match doc.get(field) {
            // An empty list relates to nothing: no link (as Eve).
            Some(Bson::Array(items)) if items.is_empty() => {}
            Some(Bson::Array(items)) => {
                related.insert(
                    field.clone(),
                    Value::Array(items.iter().filter_map(link).collect()),
                );
            }
            Some(v) => {
                if let Some(l) = link(v) {
                    related.insert(field.clone(), l);
                }
            }
            None => {}
        }
    }
    (!related.is_empty()).then_some(Value::Object(related))
}
