//! The run: servers, seeding, the scenarios S1–S7 and the start-up.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::config::{Config, Paths};
use crate::measure::{drive, script, Measure};
use crate::seed::{seed, write_lines};
use crate::server::{oracle_ready, start_ceiling, start_eve_rs, start_oracle, Server};
use crate::{docs, Result};

/// The results: scenario → server → measure.
#[derive(Default)]
pub(crate) struct Results {
    pub(crate) rows: BTreeMap<&'static str, BTreeMap<&'static str, Measure>>,
    pub(crate) notes: Vec<String>,
    pub(crate) startup_ms: Option<f64>,
    pub(crate) seeding: Vec<String>,
}

pub(crate) const SCENARIOS: [(&str, &str, &str); 7] = [
    ("S1", "GET one item by id", "req/s"),
    ("S2", "GET page, where on indexed field + sort", "req/s"),
    ("S3", "POST one document", "inserts/s"),
    ("S4", "POST lists of 100", "docs/s"),
    ("S5", "PATCH with If-Match", "PATCH/s"),
    ("S6", "GET page, where on unindexed field", "req/s"),
    ("S7", "S2 at the large store", "req/s"),
];

pub(crate) fn note(results: &mut Results, text: String) {
    println!("   note: {text}");
    results.notes.push(text);
}

pub(crate) fn run_one(
    cfg: &Config,
    results: &mut Results,
    scenario: &'static str,
    server: &Server,
    script: &Path,
    args: &[String],
    ops_per_request: f64,
) -> Result<()> {
    let m = drive(cfg, server, script, args, ops_per_request)?;
    println!(
        "   {scenario} {:<8} {:>10.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  peak RSS {:>7.1} MB{}",
        server.name,
        m.rps,
        m.p50_ms,
        m.p99_ms,
        m.rss_mb.unwrap_or(0.0),
        if m.errors > 0 {
            format!("  ({} errors)", m.errors)
        } else {
            String::new()
        }
    );
    results
        .rows
        .entry(scenario)
        .or_default()
        .insert(server.name, m);
    Ok(())
}

pub(crate) fn timed<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let t = Instant::now();
    let r = f()?;
    let secs = t.elapsed().as_secs_f64();
    println!("   {what}: {secs:.1} s");
    Ok((r, secs))
}

pub(crate) fn run(cfg: &Config, paths: &Paths) -> Result<Results> {
    let mut results = Results::default();
    let data = paths.out.join("data");
    let _ = std::fs::remove_dir_all(&data);

    println!("== starting servers");
    let (eve_rs, _) = start_eve_rs(paths, &data, "")?;
    println!("   eve-rs   on {} (pid {})", eve_rs.url(), eve_rs.pid());
    let mut oracle = None;
    if cfg.oracle {
        match oracle_ready(paths, cfg.mode != "smoke") {
            Ok(()) => {
                let o = start_oracle(paths)?;
                println!("   eve      on {} (pid {})", o.url(), o.pid());
                oracle = Some(o);
            }
            Err(why) => note(
                &mut results,
                format!("Python Eve is left out of this run: {why}"),
            ),
        }
    } else {
        note(&mut results, "Python Eve is left out (--no-oracle)".into());
    }
    let oracle_n = |n: u64| n.min(cfg.oracle_max);

    // ---- S1: 10k documents
    println!("== seeding {} documents", cfg.n_small);
    let (ids, secs) = timed("eve-rs", || seed(&eve_rs, "docs", 0, cfg.n_small, 100, 4))?;
    results.seeding.push(format!(
        "eve-rs: {} documents in {secs:.1} s ({:.0} docs/s, lists of 100, 4 connections)",
        cfg.n_small,
        cfg.n_small as f64 / secs
    ));
    let ids_file = write_lines(
        &paths.out.join("ids-eve-rs.txt"),
        ids.iter().map(|(id, _)| id.clone()),
    )?;
    let mut oracle_ids_file = None;
    if let Some(o) = &oracle {
        let n = oracle_n(cfg.n_small);
        let (ids, secs) = timed("eve", || seed(o, "docs", 0, n, 100, 1))?;
        results.seeding.push(format!(
            "eve: {n} documents in {secs:.1} s ({:.0} docs/s, lists of 100, 1 connection)",
            n as f64 / secs
        ));
        oracle_ids_file = Some(write_lines(
            &paths.out.join("ids-eve.txt"),
            ids.iter().map(|(id, _)| id.clone()),
        )?);
    }
    let first = eve_rs
        .client()
        .request("GET", &format!("/docs/{}", ids[0].0), &[], b"")
        .map_err(|e| format!("GET one item: {e}"))?;
    if first.status != 200 {
        return Err(format!("GET one item answered {}", first.status));
    }
    let body_bytes = first.body.len();
    let ceiling = start_ceiling(paths, body_bytes)?;
    println!(
        "   ceiling  on {} (pid {}), {body_bytes}-byte answers (S1's size)",
        ceiling.url(),
        ceiling.pid()
    );

    println!(
        "== S1 GET one item by id ({} documents, {} connections, {} s)",
        cfg.n_small, cfg.connections, cfg.duration_s
    );
    let s1 = script(paths, "s1_get_item.lua")?;
    run_one(cfg, &mut results, "S1", &eve_rs, &s1, &[ids_file], 0.0)?;
    if let (Some(o), Some(f)) = (&oracle, &oracle_ids_file) {
        run_one(
            cfg,
            &mut results,
            "S1",
            o,
            &s1,
            std::slice::from_ref(f),
            0.0,
        )?;
    }
    run_one(
        cfg,
        &mut results,
        "S1",
        &ceiling,
        &s1,
        &[paths.out.join("ids-eve-rs.txt").display().to_string()],
        0.0,
    )?;
    ceiling.stop();

    // ---- S2, S6: 100k documents
    println!("== seeding up to {} documents", cfg.n_medium);
    let (_, secs) = timed("eve-rs", || {
        seed(&eve_rs, "docs", cfg.n_small, cfg.n_medium, 100, 4)
    })?;
    results.seeding.push(format!(
        "eve-rs: {} more documents in {secs:.1} s ({:.0} docs/s)",
        cfg.n_medium - cfg.n_small,
        (cfg.n_medium - cfg.n_small) as f64 / secs
    ));
    if let Some(o) = &oracle {
        let n = oracle_n(cfg.n_medium);
        let (_, secs) = timed("eve", || seed(o, "docs", oracle_n(cfg.n_small), n, 100, 1))?;
        results.seeding.push(format!(
            "eve: up to {n} documents, {} more in {secs:.1} s",
            n - oracle_n(cfg.n_small)
        ));
        if n < cfg.n_medium {
            note(
                &mut results,
                format!(
                    "Python Eve holds {n} documents, not {}, for S2 and S6 (seeding it is slow): \
                     its S2/S6 figures are flattered",
                    cfg.n_medium
                ),
            );
        }
    }
    let s2 = script(paths, "s2_where_indexed.lua")?;
    let s6 = script(paths, "s6_where_unindexed.lua")?;
    println!("== S2 GET a page, where on an indexed field, sorted");
    run_one(
        cfg,
        &mut results,
        "S2",
        &eve_rs,
        &s2,
        &[docs::owners(cfg.n_medium).to_string()],
        0.0,
    )?;
    if let Some(o) = &oracle {
        let owners = docs::owners(oracle_n(cfg.n_medium)).to_string();
        run_one(cfg, &mut results, "S2", o, &s2, &[owners], 0.0)?;
    }
    println!("== S6 GET a page, where on an unindexed field");
    run_one(cfg, &mut results, "S6", &eve_rs, &s6, &[], 0.0)?;
    if let Some(o) = &oracle {
        run_one(cfg, &mut results, "S6", o, &s6, &[], 0.0)?;
    }

    // ---- writes
    println!("== S3 POST one document, S4 POST lists of 100, S5 PATCH with If-Match");
    let one = paths.out.join("post-one.json");
    let hundred = paths.out.join("post-100.json");
    std::fs::write(&one, docs::doc(7)).map_err(|e| e.to_string())?;
    std::fs::write(&hundred, docs::list(0, 100)).map_err(|e| e.to_string())?;
    let s3 = script(paths, "s3_post.lua")?;
    let s5 = script(paths, "s5_patch.lua")?;
    let mut servers: Vec<&Server> = vec![&eve_rs];
    servers.extend(oracle.as_ref());
    for server in &servers {
        let edits = seed(server, "edits", 0, cfg.edits, 100, 1)?;
        let edits_file = write_lines(
            &paths.out.join(format!("edits-{}.txt", server.name)),
            edits.into_iter().map(|(id, _)| id),
        )?;
        let one_arg = [one.display().to_string()];
        let hundred_arg = [hundred.display().to_string()];
        let s5_args = [edits_file, cfg.threads.to_string()];
        run_one(cfg, &mut results, "S3", server, &s3, &one_arg, 1.0)?;
        run_one(cfg, &mut results, "S4", server, &s3, &hundred_arg, 100.0)?;
        run_one(cfg, &mut results, "S5", server, &s5, &s5_args, 0.0)?;
    }
    if let Some(o) = oracle.take() {
        o.stop();
    }

    // ---- S7: the large store
    if cfg.n_large > cfg.n_medium {
        println!("== seeding up to {} documents (eve-rs only)", cfg.n_large);
        let (_, secs) = timed("eve-rs", || {
            seed(&eve_rs, "docs", cfg.n_medium, cfg.n_large, 100, 4)
        })?;
        results.seeding.push(format!(
            "eve-rs: {} more documents in {secs:.1} s ({:.0} docs/s)",
            cfg.n_large - cfg.n_medium,
            (cfg.n_large - cfg.n_medium) as f64 / secs
        ));
        println!("== S7 the same as S2 at {} documents", cfg.n_large);
        run_one(
            cfg,
            &mut results,
            "S7",
            &eve_rs,
            &s2,
            &[docs::owners(cfg.n_large).to_string()],
            0.0,
        )?;
    }
    eve_rs.stop();

    // ---- start-up with the large store
    let stored = cfg.n_large.max(cfg.n_medium);
    println!("== start-up with {stored} documents in the store");
    let mut times = Vec::new();
    for k in 0..cfg.startups {
        let (server, listening) = start_eve_rs(paths, &data, "-startup")?;
        // Ready means: answers a read of the big collection.
        let t = Instant::now();
        let r = server
            .client()
            .request("GET", "/docs?max_results=1", &[], b"")
            .map_err(|e| format!("first GET after start-up: {e}"))?;
        let first_ms = t.elapsed().as_secs_f64() * 1000.0;
        let ms = listening.as_secs_f64() * 1000.0;
        println!(
            "   run {}: listening after {ms:.1} ms, first GET answered {} {first_ms:.1} ms later",
            k + 1,
            r.status
        );
        times.push(ms);
        server.stop();
    }
    times.sort_by(|a, b| a.total_cmp(b));
    results.startup_ms = times.get(times.len() / 2).copied();
    if !cfg.keep_data {
        let _ = std::fs::remove_dir_all(&data);
    }
    Ok(results)
}
