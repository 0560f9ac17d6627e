//! One measurement: wrk against one server, warm-up then the measured run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Config, Paths};
use crate::server::{self, Server};
use crate::Result;

/// What one wrk run measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Measure {
    /// Requests completed in the measured run.
    pub(crate) requests: u64,
    pub(crate) rps: f64,
    /// Operations the scenario counts (documents for S4, PATCHes for S5).
    pub(crate) ops: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
    pub(crate) rss_mb: Option<f64>,
}

pub(crate) fn wrk_command(
    cfg: &Config,
    url: &str,
    script: &Path,
    args: &[String],
    secs: u64,
) -> Command {
    let mut cmd = Command::new("wrk");
    cmd.arg(format!("-t{}", cfg.threads))
        .arg(format!("-c{}", cfg.connections))
        .arg(format!("-d{secs}s"))
        .arg("--timeout")
        .arg("30s")
        .arg("-s")
        .arg(script)
        .arg(url)
        .arg("--")
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// Waits until `server` has worked off what wrk left queued (Python Eve
/// serves one request at a time), so the next measurement starts clean.
pub(crate) fn settle(server: &Server) -> Result<()> {
    server
        .client()
        .request("GET", "/", &[], b"")
        .map(|_| ())
        .map_err(|e| format!("{} did not answer after a run: {e}", server.name))
}

/// Longest wait for a server to finish what an earlier run left it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(180);

/// Waits (at most [`IDLE_TIMEOUT`]) until none of `servers` uses more than
/// a few percent of a core. wrk abandons the requests in flight when it
/// stops, but a server may still work them off: S6's scans take seconds
/// each, and their CPU would otherwise go to the next measurement, of this
/// build or of the other one in a paired run.
pub(crate) fn wait_idle(servers: &[&Server]) {
    let started = Instant::now();
    if !server::wait_idle(servers, IDLE_TIMEOUT) {
        println!(
            "   note: still busy after {:.0} s; measuring anyway",
            IDLE_TIMEOUT.as_secs_f64()
        );
    }
    let waited = started.elapsed().as_secs_f64();
    if waited >= 2.0 {
        println!("   (waited {waited:.1} s for left-over work to finish)");
    }
}

/// Runs wrk against `server`: warm-up, then the measured run.
///
/// Before the warm-up and before the measured run, waits until every
/// server of `quiet` is idle (see [`wait_idle`]).
pub(crate) fn drive(
    cfg: &Config,
    server: &Server,
    quiet: &[&Server],
    script: &Path,
    args: &[String],
    ops_per_request: f64,
) -> Result<Measure> {
    if cfg.warmup_s > 0 {
        wait_idle(quiet);
        wrk_command(cfg, &server.url(), script, args, cfg.warmup_s)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        settle(server)?;
    }
    wait_idle(quiet);
    server.reset_peak_rss();
    let out = wrk_command(cfg, &server.url(), script, args, cfg.duration_s)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let rss_mb = server.peak_rss_mb();
    settle(server)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("BENCH "))
        .ok_or_else(|| {
            format!(
                "wrk printed no result against {}: {}{}",
                server.name,
                text,
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let fields: BTreeMap<&str, f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    let get = |k: &str| fields.get(k).copied().unwrap_or(0.0);
    let secs = get("duration_us") / 1e6;
    let rps = if secs > 0.0 {
        get("requests") / secs
    } else {
        0.0
    };
    let ops = if ops_per_request > 0.0 {
        rps * ops_per_request
    } else if secs > 0.0 {
        get("counted") / secs
    } else {
        0.0
    };
    Ok(Measure {
        requests: get("requests") as u64,
        rps,
        ops,
        p50_ms: get("p50_us") / 1000.0,
        p99_ms: get("p99_us") / 1000.0,
        errors: (get("status_errors") + get("socket_errors")) as u64,
        rss_mb,
    })
}

/// A scenario's wrk script: common.lua followed by the scenario's own.
pub(crate) fn script(paths: &Paths, name: &str) -> Result<PathBuf> {
    let lua = paths.root.join("bench/lua");
    let read = |f: &str| {
        std::fs::read_to_string(lua.join(f)).map_err(|e| format!("cannot read bench/lua/{f}: {e}"))
    };
    let text = format!("{}\n{}", read("common.lua")?, read(name)?);
    let path = paths.out.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {path:?}: {e}"))?;
    Ok(path)
}
