//! `eve-bench-runner`: the eve-rs benchmark (see bench/README.md).
//!
//! Starts eve-rs, the reference Python Eve (the oracle) and a bare hyper
//! server (the ceiling) on 127.0.0.1, seeds data through the API, drives
//! the scenarios S1–S7 with wrk, and prints requests/s, p50, p99, peak RSS
//! and the ratios eve-rs/Eve and eve-rs/ceiling, then checks the targets.
//! `bench/run.sh` builds the binaries and installs wrk first.

mod docs;
mod http;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use http::Client;

type Result<T> = std::result::Result<T, String>;

/// How big and how long.
#[derive(Debug, Clone)]
struct Config {
    mode: &'static str,
    warmup_s: u64,
    duration_s: u64,
    connections: u32,
    threads: u32,
    /// Documents for S1.
    n_small: u64,
    /// Documents for S2 and S6.
    n_medium: u64,
    /// Documents for S7 (0: skip S7).
    n_large: u64,
    /// At most this many documents are seeded into the oracle.
    oracle_max: u64,
    /// Documents in the `edits` pool of S5.
    edits: u64,
    /// Start-up measurements.
    startups: u32,
    oracle: bool,
    keep_data: bool,
}

impl Config {
    fn full() -> Config {
        Config {
            mode: "full",
            warmup_s: 2,
            duration_s: 10,
            connections: 32,
            threads: 2,
            n_small: 10_000,
            n_medium: 100_000,
            n_large: 1_000_000,
            oracle_max: 20_000,
            edits: 1_000,
            startups: 5,
            oracle: true,
            keep_data: false,
        }
    }

    fn quick() -> Config {
        Config {
            mode: "quick",
            warmup_s: 1,
            duration_s: 3,
            n_small: 10_000,
            n_medium: 100_000,
            n_large: 300_000,
            oracle_max: 5_000,
            startups: 3,
            ..Config::full()
        }
    }

    fn smoke() -> Config {
        Config {
            mode: "smoke",
            warmup_s: 0,
            duration_s: 1,
            connections: 8,
            n_small: 200,
            n_medium: 1_000,
            n_large: 3_000,
            oracle_max: 1_000,
            edits: 64,
            startups: 1,
            ..Config::full()
        }
    }
}

const USAGE: &str = "\
usage: bench/run.sh [--smoke | --quick] [options]

  --smoke            tiny sizes, 1 s per scenario (proves the runner works)
  --quick            3 s per scenario, smaller stores
  --duration SECS    measured seconds per scenario (full: 10)
  --warmup SECS      warm-up seconds before each measurement (full: 2)
  --large N          documents for S7 (full: 1000000; 0 skips S7)
  --oracle-max N     at most N documents seeded into Python Eve (full: 20000)
  --no-oracle        leave Python Eve out
  --keep-data        keep the eve-rs data directory (bench/out/data)

environment: EVE_BENCH_ORACLE (path of eve-oracle), CARGO_TARGET_DIR";

fn parse_args() -> Result<Config> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = if args.iter().any(|a| a == "--smoke") {
        Config::smoke()
    } else if args.iter().any(|a| a == "--quick") {
        Config::quick()
    } else {
        Config::full()
    };
    let mut it = args.iter();
    let num = |v: Option<&String>, name: &str| -> Result<u64> {
        v.and_then(|s| s.replace('_', "").parse().ok())
            .ok_or_else(|| format!("{name} needs a number\n{USAGE}"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--smoke" | "--quick" => {}
            "--duration" => cfg.duration_s = num(it.next(), arg)?.max(1),
            "--warmup" => cfg.warmup_s = num(it.next(), arg)?,
            "--large" => cfg.n_large = num(it.next(), arg)?,
            "--oracle-max" => cfg.oracle_max = num(it.next(), arg)?,
            "--no-oracle" => cfg.oracle = false,
            "--keep-data" => cfg.keep_data = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(cfg)
}

/// Where things are.
struct Paths {
    root: PathBuf,
    bin: PathBuf,
    out: PathBuf,
}

impl Paths {
    fn find() -> Result<Paths> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .map_err(|e| format!("cannot find the workspace: {e}"))?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| if t.is_relative() { root.join(t) } else { t })
            .unwrap_or_else(|| root.join("target"));
        // bench/run.sh builds --smoke runs in the debug profile.
        let profile = std::env::var("EVE_BENCH_PROFILE").unwrap_or_else(|_| "release".into());
        let out = root.join("bench/out");
        std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {out:?}: {e}"))?;
        Ok(Paths {
            bin: target.join(profile),
            out,
            root,
        })
    }

    fn settings(&self) -> PathBuf {
        self.root.join("bench/settings.yaml")
    }

    fn oracle(&self) -> PathBuf {
        std::env::var_os("EVE_BENCH_ORACLE")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.root.join("../shared/oracle/eve-oracle"))
    }
}

/// A server process started by the runner; stopped when dropped.
struct Server {
    name: &'static str,
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `cmd` and waits (at most `timeout`) for its `listening on`
    /// line; also returns how long that took.
    fn start(
        name: &'static str,
        mut cmd: Command,
        port: u16,
        log: &Path,
        timeout: Duration,
    ) -> Result<(Server, Duration)> {
        let log_file =
            std::fs::File::create(log).map_err(|e| format!("cannot create {log:?}: {e}"))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                if line.contains("listening on") {
                    let _ = tx.send(Instant::now());
                }
            }
        });
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut server = Server { name, child, addr };
        match rx.recv_timeout(timeout) {
            Ok(at) => Ok((server, at - started)),
            Err(_) => {
                server.kill();
                Err(format!(
                    "{name} did not print `listening on` within {timeout:?}; see {}",
                    log.display()
                ))
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn client(&self) -> Client {
        Client::new(self.addr, Duration::from_secs(300))
    }

    /// SIGTERM, then SIGKILL after 10 s.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Resets the peak resident set size (`VmHWM`), so the next reading is
    /// the peak of what follows.
    fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    /// Peak resident set size in MiB.
    fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn start_eve_rs(paths: &Paths, data: &Path, tag: &str) -> Result<(Server, Duration)> {
    let port = free_port()?;
    let mut cmd = Command::new(paths.bin.join("eve-rs"));
    cmd.arg("serve")
        .arg(paths.settings())
        .arg("--port")
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(data);
    Server::start(
        "eve-rs",
        cmd,
        port,
        &paths.out.join(format!("eve-rs{tag}.log")),
        Duration::from_secs(60),
    )
}

fn start_oracle(paths: &Paths) -> Result<Server> {
    let port = free_port()?;
    let mut cmd = Command::new(paths.oracle());
    cmd.arg(paths.settings())
        .arg("--port")
        .arg(port.to_string());
    Server::start(
        "eve",
        cmd,
        port,
        &paths.out.join("oracle.log"),
        Duration::from_secs(120),
    )
    .map(|(s, _)| s)
}

fn start_ceiling(paths: &Paths, body_bytes: usize) -> Result<Server> {
    let port = free_port()?;
    let mut cmd = Command::new(paths.bin.join("eve-bench-ceiling"));
    cmd.arg("--port")
        .arg(port.to_string())
        .arg("--body-bytes")
        .arg(body_bytes.to_string());
    Server::start(
        "ceiling",
        cmd,
        port,
        &paths.out.join("ceiling.log"),
        Duration::from_secs(10),
    )
    .map(|(s, _)| s)
}

/// Whether the oracle's virtualenv is usable (creating it on first use,
/// except in a smoke run, which does not download from PyPI).
fn oracle_ready(paths: &Paths, may_create: bool) -> std::result::Result<(), String> {
    let oracle = paths.oracle();
    if !oracle.exists() {
        return Err(format!("{} not found", oracle.display()));
    }
    if !may_create {
        let home = std::env::var_os("EVE_ORACLE_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/eve-oracle"))
            });
        if !home.is_some_and(|h| h.join("venv").exists()) {
            return Err(
                "its virtualenv does not exist yet and a smoke run does not create it \
                        (`eve-oracle --setup` does, from PyPI)"
                    .into(),
            );
        }
    }
    let out = Command::new(&oracle)
        .arg("--setup")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", oracle.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_string();
        Err(format!("`eve-oracle --setup` failed: {last}"))
    }
}

/// `(_id, _etag)` of the items a POST answered.
fn created(body: &[u8]) -> Result<Vec<(String, String)>> {
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
type Batch = (usize, Vec<(String, String)>);

/// POSTs documents `from..to` to `resource` in lists of `batch`, over
/// `workers` connections; returns their `(_id, _etag)` in order.
fn seed(
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

/// What one wrk run measured.
#[derive(Debug, Clone, Default)]
struct Measure {
    rps: f64,
    /// Operations the scenario counts (documents for S4, PATCHes for S5).
    ops: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    rss_mb: Option<f64>,
}

fn wrk_command(cfg: &Config, url: &str, script: &Path, args: &[String], secs: u64) -> Command {
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
fn settle(server: &Server) -> Result<()> {
    server
        .client()
        .request("GET", "/", &[], b"")
        .map(|_| ())
        .map_err(|e| format!("{} did not answer after a run: {e}", server.name))
}

/// Runs wrk against `server`: warm-up, then the measured run.
fn drive(
    cfg: &Config,
    server: &Server,
    script: &Path,
    args: &[String],
    ops_per_request: f64,
) -> Result<Measure> {
    if cfg.warmup_s > 0 {
        wrk_command(cfg, &server.url(), script, args, cfg.warmup_s)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run wrk: {e}"))?;
        settle(server)?;
    }
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
        rps,
        ops,
        p50_ms: get("p50_us") / 1000.0,
        p99_ms: get("p99_us") / 1000.0,
        errors: (get("status_errors") + get("socket_errors")) as u64,
        rss_mb,
    })
}

/// A scenario's wrk script: common.lua followed by the scenario's own.
fn script(paths: &Paths, name: &str) -> Result<PathBuf> {
    let lua = paths.root.join("bench/lua");
    let read = |f: &str| {
        std::fs::read_to_string(lua.join(f)).map_err(|e| format!("cannot read bench/lua/{f}: {e}"))
    };
    let text = format!("{}\n{}", read("common.lua")?, read(name)?);
    let path = paths.out.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {path:?}: {e}"))?;
    Ok(path)
}

fn write_lines(path: &Path, lines: impl Iterator<Item = String>) -> Result<String> {
    let mut text = String::new();
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {path:?}: {e}"))?;
    Ok(path.display().to_string())
}

/// The results: scenario → server → measure.
#[derive(Default)]
struct Results {
    rows: BTreeMap<&'static str, BTreeMap<&'static str, Measure>>,
    notes: Vec<String>,
    startup_ms: Option<f64>,
    seeding: Vec<String>,
}

const SCENARIOS: [(&str, &str, &str); 7] = [
    ("S1", "GET one item by id", "req/s"),
    ("S2", "GET page, where on indexed field + sort", "req/s"),
    ("S3", "POST one document", "inserts/s"),
    ("S4", "POST lists of 100", "docs/s"),
    ("S5", "PATCH with If-Match", "PATCH/s"),
    ("S6", "GET page, where on unindexed field", "req/s"),
    ("S7", "S2 at the large store", "req/s"),
];

fn note(results: &mut Results, text: String) {
    println!("   note: {text}");
    results.notes.push(text);
}

fn run_one(
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

fn timed<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let t = Instant::now();
    let r = f()?;
    let secs = t.elapsed().as_secs_f64();
    println!("   {what}: {secs:.1} s");
    Ok((r, secs))
}

fn run(cfg: &Config, paths: &Paths) -> Result<Results> {
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

fn ratio(a: Option<&Measure>, b: Option<&Measure>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b.rps > 0.0 => Some(a.rps / b.rps),
        _ => None,
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

/// The results table (markdown).
fn table(results: &Results) -> String {
    let mut t = String::new();
    t.push_str(
        "| scenario | server | req/s | ops/s | p50 ms | p99 ms | peak RSS MB | eve-rs/Eve | eve-rs/ceiling | errors |\n",
    );
    t.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (id, title, unit) in SCENARIOS {
        let Some(row) = results.rows.get(id) else {
            continue;
        };
        for server in ["eve-rs", "eve", "ceiling"] {
            let Some(m) = row.get(server) else {
                continue;
            };
            let (vs_eve, vs_ceiling) = if server == "eve-rs" {
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
fn targets(cfg: &Config, results: &Results) -> Vec<(String, String, Option<bool>)> {
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
            .map(|ms| (format!("{ms:.1} ms (median)"), ms < 100.0)),
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
    out
}

fn report(cfg: &Config, results: &Results) -> String {
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
        "Run of {date}, {} mode: {cores} cores, load average at the end {}; wrk -t{} -c{}, {} s warm-up + {} s per scenario.\n",
        cfg.mode,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        cfg.threads,
        cfg.connections,
        cfg.warmup_s,
        cfg.duration_s
    );
    let _ = writeln!(
        r,
        "Stores: S1 {} documents, S2/S6 {}, S7 {}.\n",
        cfg.n_small, cfg.n_medium, cfg.n_large
    );
    r.push_str(&table(results));
    r.push('\n');
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

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let outcome = Paths::find().and_then(|paths| {
        for bin in ["eve-rs", "eve-bench-ceiling"] {
            if !paths.bin.join(bin).exists() {
                return Err(format!(
                    "{} is missing: run bench/run.sh, which builds it",
                    paths.bin.join(bin).display()
                ));
            }
        }
        if Command::new("wrk").arg("--version").output().is_err() {
            return Err("wrk is not installed: run bench/run.sh, which installs it".into());
        }
        let results = run(&cfg, &paths)?;
        let text = report(&cfg, &results);
        let file = paths.out.join(format!("last-{}.md", cfg.mode));
        let _ = std::fs::write(&file, &text);
        println!("\n{text}\n(also in {})", file.display());
        Ok(())
    });
    if let Err(e) = outcome {
        eprintln!("eve-bench-runner: {e}");
        std::process::exit(1);
    }
}
