//! Seeding the servers through their API.

use std::collections::BTreeMap;
use std::path::Path;

use crate::docs;
use crate::server::Server;
use crate::Result;

/// `(_id, _etag)` of the items a POST answered.
pub(crate) fn created(body: &[u8]) -> Result<Vec<(String, String)>> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("POST answer is not JSON: {e}"))?;
    let items = match v.get("_items").and_then(|i| i.as_array()) {
        Some(items) => items.clone(),
        None => vec![v],
    };
    items
        .iter()
        .map(|item| {
            let field = |name: &str| {
                item.get(name)
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| format!("POST answer item without {name}: {item}"))
            };
            Ok((field("_id")?, field("_etag")?))
        })
        .collect()
}

/// A seeded list: its number and the `(_id, _etag)` of its documents.
pub(crate) type Batch = (usize, Vec<(String, String)>);

/// POSTs documents `from..to` to `resource` in lists of `batch`, over
/// `workers` connections; returns their `(_id, _etag)` in order.
pub(crate) fn seed(
    server: &Server,
    resource: &str,
    from: u64,
    to: u64,
    batch: u64,
    workers: u64,
) -> Result<Vec<(String, String)>> {
    if to <= from {
        return Ok(Vec::new());
    }
    let batches: Vec<(u64, u64)> = (from..to)
        .step_by(batch as usize)
        .map(|s| (s, batch.min(to - s)))
        .collect();
    let path = format!("/{resource}");
    let results: Vec<Result<Vec<Batch>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let batches = &batches;
                let path = &path;
                let mut client = server.client();
                scope.spawn(move || {
                    let mut done = Vec::new();
                    for (k, (start, count)) in batches.iter().enumerate() {
                        if k as u64 % workers != w {
                            continue;
                        }
                        let body = docs::list(*start, *count);
                        let r = client
                            .request(
                                "POST",
                                path,
                                &[("Content-Type", "application/json")],
                                body.as_bytes(),
                            )
                            .map_err(|e| format!("seeding {}: {e}", server.name))?;
                        if r.status != 201 {
                            return Err(format!(
                                "seeding {}: POST {path} answered {}: {}",
                                server.name,
                                r.status,
                                String::from_utf8_lossy(&r.body)
                            ));
                        }
                        done.push((k, created(&r.body)?));
                    }
                    Ok(done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("seeding thread panicked".into()))
            })
            .collect()
    });
    let mut all: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    for r in results {
        for (k, items) in r? {
            all.insert(k, items);
        }
    }
    Ok(all.into_values().flatten().collect())
}

/// POSTs `n` documents to `links` (S8), in lists of 100 over one
/// connection: link `i` references `ids[i]` and `ids[7i + 1]` (modulo).
pub(crate) fn seed_links(server: &Server, ids: &[String], n: u64) -> Result<()> {
    if ids.is_empty() {
        return Err("S8 needs documents to link to".into());
    }
    let mut client = server.client();
    let at = |k: u64| &ids[(k % ids.len() as u64) as usize];
    for start in (0..n).step_by(100) {
        let items: Vec<String> = (start..n.min(start + 100))
            .map(|i| {
                format!(
                    r#"{{"n": {i}, "first": "{}", "second": "{}"}}"#,
                    at(i),
                    at(i.wrapping_mul(7).wrapping_add(1))
                )
            })
            .collect();
        post_list(&mut client, server, "links", &items)?;
    }
    Ok(())
}

/// POSTs one list of JSON documents to `resource`, expecting 201.
fn post_list(
    client: &mut crate::http::Client,
    server: &Server,
    resource: &str,
    items: &[String],
) -> Result<()> {
    let body = format!("[{}]", items.join(", "));
    let r = client
        .request(
            "POST",
            &format!("/{resource}"),
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .map_err(|e| format!("seeding {resource} into {}: {e}", server.name))?;
    if r.status != 201 {
        return Err(format!(
            "seeding {resource} into {}: POST /{resource} answered {}: {}",
            server.name,
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    Ok(())
}

/// Seeds `n` `places` for S9: points spread evenly at random (a fixed
/// sequence) over longitude -10..30, latitude 35..60, by lists of 100.
pub(crate) fn seed_places(server: &Server, n: u64) -> Result<()> {
    let mut client = server.client();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        // xorshift64*: enough to spread points, the same every run.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    for start in (0..n).step_by(100) {
        let items: Vec<String> = (start..n.min(start + 100))
            .map(|i| {
                let lon = -10.0 + next() * 40.0;
                let lat = 35.0 + next() * 25.0;
                format!(
                    r#"{{"n": {i}, "loc": {{"type": "Point", "coordinates": [{lon:.5}, {lat:.5}]}}}}"#
                )
            })
            .collect();
        post_list(&mut client, server, "places", &items)?;
    }
    Ok(())
}

pub(crate) fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<String> {
    let mut text = String::new();
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {path:?}: {e}"))?;
    Ok(path.display().to_string())
}
