//! The report: the results table and the targets.

use std::fmt::Write as _;
use std::process::Command;

use std::path::Path;

use crate::config::{Config, Paths};
use crate::measure::Measure;
use crate::paired;
use crate::run::{Results, SCENARIOS};
use crate::server::{AFTER, BEFORE};

/// The three load averages of a `/proc/loadavg` text.
pub(crate) fn load_average(loadavg: &str) -> String {
    loadavg
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn ratio(a: Option<&Measure>, b: Option<&Measure>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b.rps > 0.0 => Some(a.rps / b.rps),
        _ => None,
    }
}

pub(crate) fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

/// The results table (markdown).
pub(crate) fn table(results: &Results) -> String {
    let mut t = String::new();
    t.push_str(
        "| scenario | server | req/s | ops/s | p50 ms | p99 ms | peak RSS MB | eve-rs/Eve | eve-rs/ceiling | errors |\n",
    );
    t.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (id, title, unit) in SCENARIOS {
        let Some(row) = results.rows.get(id) else {
            continue;
        };
        for server in [AFTER, BEFORE, "eve", "ceiling"] {
            let Some(m) = row.get(server) else {
                continue;
            };
            let (vs_eve, vs_ceiling) = if server == AFTER {
                (
                    ratio(Some(m), row.get("eve")).map(|r| format!("{r:.1}x")),
                    ratio(Some(m), row.get("ceiling")).map(|r| format!("{:.0}%", r * 100.0)),
                )
            } else {
                (None, None)
            };
            let ops = if m.ops > 0.0 {
                format!("{:.0} {unit}", m.ops)
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "| {id} {title} | {server} | {:.0} | {ops} | {:.2} | {:.2} | {} | {} | {} | {} |",
                m.rps,
                m.p50_ms,
                m.p99_ms,
                fmt_opt(m.rss_mb, 1),
                vs_eve.unwrap_or_default(),
                vs_ceiling.unwrap_or_default(),
                m.errors
            );
        }
    }
    t
}

/// Each target of the issue: (target, measured, met).
pub(crate) fn targets(cfg: &Config, results: &Results) -> Vec<(String, String, Option<bool>)> {
    let get = |s: &str, srv: &str| results.rows.get(s).and_then(|r| r.get(srv));
    let mut out = Vec::new();
    let mut check = |name: &str, measured: Option<(String, bool)>| {
        let (text, met) = match measured {
            Some((t, m)) => (t, Some(m)),
            None => ("not measured".to_string(), None),
        };
        out.push((name.to_string(), text, met));
    };
    check(
        "S1 >= 50% of the ceiling",
        ratio(get("S1", "eve-rs"), get("S1", "ceiling"))
            .map(|r| (format!("{:.0}%", r * 100.0), r >= 0.5)),
    );
    check(
        "S1 >= 30x Python Eve",
        ratio(get("S1", "eve-rs"), get("S1", "eve")).map(|r| (format!("{r:.1}x"), r >= 30.0)),
    );
    check(
        "S2 >= 20x Python Eve",
        ratio(get("S2", "eve-rs"), get("S2", "eve")).map(|r| (format!("{r:.1}x"), r >= 20.0)),
    );
    check(
        "S3 >= 5,000 durable inserts/s",
        get("S3", "eve-rs").map(|m| (format!("{:.0}/s", m.ops), m.ops >= 5000.0)),
    );
    check(
        "S4 >= 50,000 documents/s",
        get("S4", "eve-rs").map(|m| (format!("{:.0}/s", m.ops), m.ops >= 50_000.0)),
    );
    for s in ["S1", "S2"] {
        check(
            &format!("{s} p99 <= 10 ms"),
            get(s, "eve-rs").map(|m| (format!("{:.2} ms", m.p99_ms), m.p99_ms <= 10.0)),
        );
    }
    let rss = ["S2", "S6"]
        .iter()
        .filter_map(|s| get(s, "eve-rs").and_then(|m| m.rss_mb))
        .fold(None, |acc: Option<f64>, x| {
            Some(acc.map_or(x, |a| a.max(x)))
        });
    check(
        &format!(
            "peak RSS < 100 MB serving {} documents (S2, S6)",
            cfg.n_medium
        ),
        rss.map(|r| (format!("{r:.1} MB"), r < 100.0)),
    );
    check(
        &format!(
            "start-up < 100 ms with {} documents",
            cfg.n_large.max(cfg.n_medium)
        ),
        results
            .startup_ms
            .get(AFTER)
            .map(|ms| (format!("{ms:.1} ms (median)"), *ms < 100.0)),
    );
    check(
        "S7 latency <= 1.5x S2's (p50)",
        match (get("S7", "eve-rs"), get("S2", "eve-rs")) {
            (Some(a), Some(b)) if b.p50_ms > 0.0 => {
                let r = a.p50_ms / b.p50_ms;
                Some((
                    format!(
                        "{r:.2}x (p50 {:.2} vs {:.2} ms; p99 {:.2} vs {:.2} ms)",
                        a.p50_ms, b.p50_ms, a.p99_ms, b.p99_ms
                    ),
                    r <= 1.5,
                ))
            }
            _ => None,
        },
    );
    if cfg.baseline.is_some() {
        let (text, met) = paired::verdict(cfg, &paired::compare(cfg, results));
        out.push((
            format!(
                "S1–S7 not slower than before (after/before >= {:.2}, paired)",
                1.0 - cfg.tolerance_pct / 100.0
            ),
            text,
            met,
        ));
    }
    out
}

/// The runner's niceness (its servers and wrk inherit it), from
/// `/proc/self/stat`.
fn niceness() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(16)?.parse().ok()
}

/// What the current tree is: `git describe --always --dirty` of the
/// workspace (the eve-rs under test was built from it by bench/run.sh).
fn tree_label(root: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| format!("`{}`", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| "the current tree".into())
}

/// The whole report (markdown): the run, the table, the paired section,
/// the targets, seeding and notes.
pub(crate) fn report(cfg: &Config, paths: &Paths, results: &Results) -> String {
    let mut r = String::new();
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        r,
        "Run of {date}, {} mode: {cores} cores, load average at the start {}, at the end {}; wrk -t{} -c{}, {} s warm-up + {} s per scenario.\n",
        cfg.mode,
        results.load_at_start,
        load_average(&load),
        cfg.threads,
        cfg.connections,
        cfg.warmup_s,
        cfg.duration_s
    );
    if let Some(n) = niceness().filter(|n| *n != 0) {
        let _ = writeln!(r, "Servers and wrk ran at niceness {n} (`--nice`).\n");
    }
    let _ = writeln!(
        r,
        "Stores: S1 {} documents, S2/S6 {}, S7 {}.\n",
        cfg.n_small, cfg.n_medium, cfg.n_large
    );
    r.push_str(&table(results));
    r.push('\n');
    if cfg.baseline.is_some() {
        r.push_str(&paired::section(cfg, results, &tree_label(&paths.root)));
        r.push('\n');
    }
    r.push_str("| target | measured | |\n|---|---|---|\n");
    for (name, measured, met) in targets(cfg, results) {
        let verdict = match met {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "–",
        };
        let _ = writeln!(r, "| {name} | {measured} | {verdict} |");
    }
    if cfg.mode == "smoke" {
        r.push_str("\n(smoke sizes: the targets are not judged on these numbers)\n");
    }
    r.push_str("\nSeeding (through the API):\n");
    for s in &results.seeding {
        let _ = writeln!(r, "- {s}");
    }
    if !results.notes.is_empty() {
        r.push_str("\nNotes:\n");
        for n in &results.notes {
            let _ = writeln!(r, "- {n}");
        }
    }
    r
}
