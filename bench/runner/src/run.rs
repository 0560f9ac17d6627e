//! The run: servers, seeding, the scenarios S1–S8 and the start-up.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::config::{Config, Paths};
use crate::measure::{drive, script, Measure};
use crate::paired::{mean, round_order};
use crate::report::load_average;
use crate::seed::{seed, seed_links, seed_places, write_lines};
use crate::server::{
    oracle_ready, start_ceiling, start_eve_rs, start_oracle, Build, Server, AFTER, BEFORE,
};
use crate::{docs, Result};

/// The results: scenario → server → measure.
#[derive(Default)]
pub(crate) struct Results {
    /// One figure per scenario and server (for eve-rs builds, the mean of
    /// their rounds).
    pub(crate) rows: BTreeMap<&'static str, BTreeMap<&'static str, Measure>>,
    /// Every round of the eve-rs builds, in the order measured.
    pub(crate) rounds: BTreeMap<&'static str, BTreeMap<&'static str, Vec<Measure>>>,
    pub(crate) notes: Vec<String>,
    /// Median start-up time per eve-rs build.
    pub(crate) startup_ms: BTreeMap<&'static str, f64>,
    pub(crate) seeding: Vec<String>,
    /// `/proc/loadavg`'s three figures when the run started.
    pub(crate) load_at_start: String,
}

pub(crate) const SCENARIOS: [(&str, &str, &str); 11] = [
    ("S1", "GET one item by id", "req/s"),
    ("S2", "GET page, where on indexed field + sort", "req/s"),
    ("S3", "POST one document", "inserts/s"),
    ("S4", "POST lists of 100", "docs/s"),
    ("S5", "PATCH with If-Match", "PATCH/s"),
    ("S6", "GET page, where on unindexed field", "req/s"),
    ("S7", "S2 at the large store", "req/s"),
    ("S8", "GET page of 25, two embedded relations", "req/s"),
    (
        "S9",
        "GET $near within 20 km, 25 nearest (medium store of points)",
        "req/s",
    ),
    (
        "S10",
        "GET ?q= search, a few matches, 100k documents",
        "req/s",
    ),
    (
        "S11",
        "GET ?q= search, every document matches, 100k",
        "req/s",
    ),
];

/// Documents of `links` for S8 (40 pages of 25).
const LINKS: u64 = 1000;

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
    let m = drive(cfg, server, &[server], script, args, ops_per_request)?;
    print_measure(scenario, server.name, &m);
    results
        .rows
        .entry(scenario)
        .or_default()
        .insert(server.name, m);
    Ok(())
}

fn print_measure(scenario: &str, name: &str, m: &Measure) {
    println!(
        "   {scenario} {name:<13} {:>10.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  peak RSS {:>7.1} MB{}",
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
}

/// An eve-rs build under test and its running server.
pub(crate) struct Subject {
    pub(crate) build: Build,
    pub(crate) server: Server,
}

/// Measures `scenario` on every eve-rs build, `cfg.rounds` times each,
/// interleaved in the order [`round_order`] gives; `args` gives each
/// build's wrk script arguments. The table's figure is the mean of the
/// rounds.
fn run_builds(
    cfg: &Config,
    results: &mut Results,
    scenario: &'static str,
    subjects: &[Subject],
    script: &Path,
    args: &dyn Fn(&Subject) -> Vec<String>,
    ops_per_request: f64,
) -> Result<()> {
    let servers: Vec<&Server> = subjects.iter().map(|s| &s.server).collect();
    for round in 0..cfg.rounds {
        for i in round_order(round, subjects.len()) {
            let s = &subjects[i];
            let m = drive(cfg, &s.server, &servers, script, &args(s), ops_per_request)?;
            print_measure(scenario, s.build.name, &m);
            results
                .rounds
                .entry(scenario)
                .or_default()
                .entry(s.build.name)
                .or_default()
                .push(m);
        }
    }
    for s in subjects {
        if let Some(mean) = results
            .rounds
            .get(scenario)
            .and_then(|r| r.get(s.build.name))
            .and_then(|ms| mean(ms))
        {
            results
                .rows
                .entry(scenario)
                .or_default()
                .insert(s.build.name, mean);
        }
    }
    Ok(())
}

/// Seeds documents `from..to` of `docs` into every build, one after the
/// other (4 connections each); returns each build's `(_id, _etag)` list.
fn seed_builds(
    results: &mut Results,
    subjects: &[Subject],
    from: u64,
    to: u64,
) -> Result<Vec<Vec<(String, String)>>> {
    let mut all = Vec::new();
    for s in subjects {
        let (ids, secs) = timed(s.build.name, || seed(&s.server, "docs", from, to, 100, 4))?;
        let n = to.saturating_sub(from);
        let what = if from == 0 {
            "documents"
        } else {
            "more documents"
        };
        results.seeding.push(format!(
            "{}: {n} {what} in {secs:.1} s ({:.0} docs/s, lists of 100, 4 connections)",
            s.build.name,
            n as f64 / secs.max(1e-9)
        ));
        all.push(ids);
    }
    Ok(all)
}

pub(crate) fn timed<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let t = Instant::now();
    let r = f()?;
    let secs = t.elapsed().as_secs_f64();
    println!("   {what}: {secs:.1} s");
    Ok((r, secs))
}

/// The eve-rs builds of this run: the current tree's, then the baseline's
/// in a paired run. Each has its own data directory under bench/out.
fn builds(cfg: &Config, paths: &Paths) -> Vec<Build> {
    let mut builds = vec![Build {
        name: AFTER,
        file_tag: "eve-rs",
        bin: paths.bin.join("eve-rs"),
        data: paths.out.join("data"),
        data_layer: cfg.data_layer.clone(),
    }];
    if let Some(b) = &cfg.baseline {
        builds.push(Build {
            name: BEFORE,
            file_tag: "eve-rs-before",
            bin: b.bin.clone(),
            data: paths.out.join("data-before"),
            data_layer: None,
        });
    }
    builds
}

pub(crate) fn run(cfg: &Config, paths: &Paths) -> Result<Results> {
    let mut results = Results {
        load_at_start: load_average(&std::fs::read_to_string("/proc/loadavg").unwrap_or_default()),
        ..Results::default()
    };
    let builds = builds(cfg, paths);
    for b in &builds {
        let _ = std::fs::remove_dir_all(&b.data);
    }
    let outcome = run_servers(cfg, paths, &builds, &mut results);
    if !cfg.keep_data {
        for b in &builds {
            let _ = std::fs::remove_dir_all(&b.data);
        }
    }
    outcome.map(|()| results)
}

fn run_servers(cfg: &Config, paths: &Paths, builds: &[Build], results: &mut Results) -> Result<()> {
    println!("== starting servers");
    let mut subjects = Vec::new();
    for build in builds {
        let (server, _) = start_eve_rs(paths, build, "")?;
        println!(
            "   {:<13} on {} (pid {}), {}",
            build.name,
            server.url(),
            server.pid(),
            build.bin.display()
        );
        subjects.push(Subject {
            build: build.clone(),
            server,
        });
    }
    let mut oracle = None;
    if cfg.oracle {
        match oracle_ready(paths, cfg.mode != "smoke") {
            Ok(()) => {
                let o = start_oracle(paths)?;
                println!("   eve           on {} (pid {})", o.url(), o.pid());
                oracle = Some(o);
            }
            Err(why) => note(
                results,
                format!("Python Eve is left out of this run: {why}"),
            ),
        }
    } else {
        note(results, "Python Eve is left out (--no-oracle)".into());
    }
    let oracle_n = |n: u64| n.min(cfg.oracle_max);

    // ---- S1: 10k documents
    println!("== seeding {} documents", cfg.n_small);
    let seeded = seed_builds(results, &subjects, 0, cfg.n_small)?;
    let mut ids_files = Vec::new();
    for (s, ids) in subjects.iter().zip(&seeded) {
        ids_files.push(write_lines(
            &paths.out.join(format!("ids-{}.txt", s.build.file_tag)),
            ids.iter().map(|(id, _)| id.clone()),
        )?);
    }
    let mut oracle_ids_file = None;
    let mut oracle_ids = Vec::new();
    if let Some(o) = &oracle {
        let n = oracle_n(cfg.n_small);
        let (ids, secs) = timed("eve", || seed(o, "docs", 0, n, 100, 1))?;
        oracle_ids = ids.iter().map(|(id, _)| id.clone()).collect();
        results.seeding.push(format!(
            "eve: {n} documents in {secs:.1} s ({:.0} docs/s, lists of 100, 1 connection)",
            n as f64 / secs
        ));
        oracle_ids_file = Some(write_lines(
            &paths.out.join("ids-eve.txt"),
            ids.iter().map(|(id, _)| id.clone()),
        )?);
    }
    let first_id = seeded
        .first()
        .and_then(|ids| ids.first())
        .map(|(id, _)| id.clone())
        .ok_or("S1 needs at least one document (the store sizes are 0)")?;
    let first = subjects[0]
        .server
        .client()
        .request("GET", &format!("/docs/{first_id}"), &[], b"")
        .map_err(|e| format!("GET one item: {e}"))?;
    if first.status != 200 {
        return Err(format!("GET one item answered {}", first.status));
    }
    let body_bytes = first.body.len();
    let ceiling = start_ceiling(paths, body_bytes)?;
    println!(
        "   ceiling       on {} (pid {}), {body_bytes}-byte answers (S1's size)",
        ceiling.url(),
        ceiling.pid()
    );

    println!(
        "== S1 GET one item by id ({} documents, {} connections, {} s)",
        cfg.n_small, cfg.connections, cfg.duration_s
    );
    let s1 = script(paths, "s1_get_item.lua")?;
    let ids_of = |s: &Subject| {
        let k = subjects
            .iter()
            .position(|x| x.build.name == s.build.name)
            .unwrap_or(0);
        vec![ids_files[k].clone()]
    };
    run_builds(cfg, results, "S1", &subjects, &s1, &ids_of, 0.0)?;
    if let (Some(o), Some(f)) = (&oracle, &oracle_ids_file) {
        run_one(cfg, results, "S1", o, &s1, std::slice::from_ref(f), 0.0)?;
    }
    run_one(
        cfg,
        results,
        "S1",
        &ceiling,
        &s1,
        std::slice::from_ref(&ids_files[0]),
        0.0,
    )?;
    ceiling.stop();

    // ---- S2, S6: 100k documents
    println!("== seeding up to {} documents", cfg.n_medium);
    seed_builds(results, &subjects, cfg.n_small, cfg.n_medium)?;
    if let Some(o) = &oracle {
        let n = oracle_n(cfg.n_medium);
        let (_, secs) = timed("eve", || seed(o, "docs", oracle_n(cfg.n_small), n, 100, 1))?;
        results.seeding.push(format!(
            "eve: up to {n} documents, {} more in {secs:.1} s",
            n - oracle_n(cfg.n_small)
        ));
        if n < cfg.n_medium {
            note(
                results,
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
    let owners = docs::owners(cfg.n_medium).to_string();
    run_builds(
        cfg,
        results,
        "S2",
        &subjects,
        &s2,
        &|_| vec![owners.clone()],
        0.0,
    )?;
    if let Some(o) = &oracle {
        let owners = docs::owners(oracle_n(cfg.n_medium)).to_string();
        run_one(cfg, results, "S2", o, &s2, &[owners], 0.0)?;
    }
    println!("== S6 GET a page, where on an unindexed field");
    run_builds(cfg, results, "S6", &subjects, &s6, &|_| Vec::new(), 0.0)?;
    if let Some(o) = &oracle {
        run_one(cfg, results, "S6", o, &s6, &[], 0.0)?;
    }

    // ---- S8: embedding. Not in a paired run: a baseline built before
    // embedding answers ids, and would look faster.
    if cfg.baseline.is_none() {
        println!("== S8 GET a page of 25 links embedding two documents each");
        let pages = (LINKS / 25).to_string();
        for (s, ids) in subjects.iter().zip(&seeded) {
            let ids: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
            seed_links(&s.server, &ids, LINKS)?;
        }
        let s8 = script(paths, "s8_embedded.lua")?;
        run_builds(
            cfg,
            results,
            "S8",
            &subjects,
            &s8,
            &|_| vec![pages.clone()],
            0.0,
        )?;
        if let Some(o) = &oracle {
            seed_links(o, &oracle_ids, LINKS)?;
            run_one(cfg, results, "S8", o, &s8, &[pages], 0.0)?;
        }
    }

    // ---- S9: `$near` over `n_medium` points. eve-rs only: the oracle's
    // mongomock cannot run geo queries; not in a paired run (a baseline
    // before geo queries refuses them).
    if cfg.baseline.is_none() {
        println!("== S9 GET $near within 20 km over {} points", cfg.n_medium);
        for s in &subjects {
            seed_places(&s.server, cfg.n_medium)?;
        }
        let s9 = script(paths, "s9_geo_near.lua")?;
        run_builds(cfg, results, "S9", &subjects, &s9, &|_| Vec::new(), 0.0)?;
    }

    // ---- S10, S11: full-text search (`?q=`, docs/search.md) over 100k
    // documents of `articles`. eve-rs only (mongomock has no `$text`), and
    // not in a paired run: a baseline without text search ignores `q`.
    if cfg.baseline.is_none() && cfg.n_medium > 0 {
        println!("== seeding {} articles (text index)", cfg.n_medium);
        for s in &subjects {
            let (_, secs) = timed(s.build.name, || {
                seed(&s.server, "articles", 0, cfg.n_medium, 100, 4)
            })?;
            results.seeding.push(format!(
                "{}: {} articles (text index) in {secs:.1} s",
                s.build.name, cfg.n_medium
            ));
        }
        let s10 = script(paths, "s10_text_search.lua")?;
        let n = cfg.n_medium.to_string();
        println!("== S10 GET ?q= matching a few documents");
        run_builds(
            cfg,
            results,
            "S10",
            &subjects,
            &s10,
            &|_| vec![n.clone(), "few".into()],
            0.0,
        )?;
        println!("== S11 GET ?q= matching every document");
        run_builds(
            cfg,
            results,
            "S11",
            &subjects,
            &s10,
            &|_| vec![n.clone(), "all".into()],
            0.0,
        )?;
    }

    // ---- writes
    println!("== S3 POST one document, S4 POST lists of 100, S5 PATCH with If-Match");
    let one = paths.out.join("post-one.json");
    let hundred = paths.out.join("post-100.json");
    std::fs::write(&one, docs::doc(7)).map_err(|e| e.to_string())?;
    std::fs::write(&hundred, docs::list(0, 100)).map_err(|e| e.to_string())?;
    let s3 = script(paths, "s3_post.lua")?;
    let s5 = script(paths, "s5_patch.lua")?;
    let mut edits_files = BTreeMap::new();
    for s in &subjects {
        let edits = seed(&s.server, "edits", 0, cfg.edits, 100, 1)?;
        let file = write_lines(
            &paths.out.join(format!("edits-{}.txt", s.build.file_tag)),
            edits.into_iter().map(|(id, _)| id),
        )?;
        edits_files.insert(s.build.name, file);
    }
    let one_arg = vec![one.display().to_string()];
    let hundred_arg = vec![hundred.display().to_string()];
    let s5_args = |s: &Subject| {
        vec![
            edits_files.get(s.build.name).cloned().unwrap_or_default(),
            cfg.threads.to_string(),
        ]
    };
    run_builds(
        cfg,
        results,
        "S3",
        &subjects,
        &s3,
        &|_| one_arg.clone(),
        1.0,
    )?;
    run_builds(
        cfg,
        results,
        "S4",
        &subjects,
        &s3,
        &|_| hundred_arg.clone(),
        100.0,
    )?;
    run_builds(cfg, results, "S5", &subjects, &s5, &s5_args, 0.0)?;
    if let Some(o) = oracle.take() {
        let edits = seed(&o, "edits", 0, cfg.edits, 100, 1)?;
        let edits_file = write_lines(
            &paths.out.join("edits-eve.txt"),
            edits.into_iter().map(|(id, _)| id),
        )?;
        let s5_args = [edits_file, cfg.threads.to_string()];
        run_one(cfg, results, "S3", &o, &s3, &one_arg, 1.0)?;
        run_one(cfg, results, "S4", &o, &s3, &hundred_arg, 100.0)?;
        run_one(cfg, results, "S5", &o, &s5, &s5_args, 0.0)?;
        o.stop();
    }

    // ---- S7: the large store
    if cfg.n_large > cfg.n_medium {
        println!("== seeding up to {} documents (eve-rs only)", cfg.n_large);
        seed_builds(results, &subjects, cfg.n_medium, cfg.n_large)?;
        println!("== S7 the same as S2 at {} documents", cfg.n_large);
        let owners = docs::owners(cfg.n_large).to_string();
        run_builds(
            cfg,
            results,
            "S7",
            &subjects,
            &s2,
            &|_| vec![owners.clone()],
            0.0,
        )?;
    }
    let builds: Vec<Build> = subjects
        .into_iter()
        .map(|s| {
            s.server.stop();
            s.build
        })
        .collect();

    // ---- start-up with the large store
    let stored = cfg.n_large.max(cfg.n_medium);
    println!("== start-up with {stored} documents in the store");
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); builds.len()];
    for k in 0..cfg.startups {
        for i in round_order(k, builds.len()) {
            let build = &builds[i];
            let (server, listening) = start_eve_rs(paths, build, "-startup")?;
            // Ready means: answers a read of the big collection.
            let t = Instant::now();
            let r = server
                .client()
                .request("GET", "/docs?max_results=1", &[], b"")
                .map_err(|e| format!("first GET after start-up: {e}"))?;
            let first_ms = t.elapsed().as_secs_f64() * 1000.0;
            let ms = listening.as_secs_f64() * 1000.0;
            println!(
                "   run {} {}: listening after {ms:.1} ms, first GET answered {} {first_ms:.1} ms later",
                k + 1,
                build.name,
                r.status
            );
            times[i].push(ms);
            server.stop();
        }
    }
    for (build, mut t) in builds.iter().zip(times) {
        t.sort_by(|a, b| a.total_cmp(b));
        if let Some(median) = t.get(t.len() / 2) {
            results.startup_ms.insert(build.name, *median);
        }
    }
    Ok(())
}
