//! The servers under test: eve-rs, Python Eve (the oracle) and the ceiling.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::config::Paths;
use crate::http::Client;
use crate::Result;

/// A server process started by the runner; stopped when dropped.
pub(crate) struct Server {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts `cmd` and waits (at most `timeout`) for its `listening on`
    /// line; also returns how long that took.
    pub(crate) fn start(
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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn client(&self) -> Client {
        Client::new(self.addr, Duration::from_secs(300))
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub(crate) fn stop(mut self) {
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

    pub(crate) fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// CPU time (user + system) the process has used so far, in clock
    /// ticks (`/proc/PID/stat`); `None` where `/proc` cannot tell.
    pub(crate) fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the command name (which may hold spaces): state is
        // the 3rd field of the line, utime the 14th, stime the 15th.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some(utime + stime)
    }

    /// Resets the peak resident set size (`VmHWM`), so the next reading is
    /// the peak of what follows.
    pub(crate) fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5");
    }

    /// Peak resident set size in MiB.
    pub(crate) fn peak_rss_mb(&self) -> Option<f64> {
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

/// Waits until every server of `servers` used at most 2 clock ticks of CPU
/// (7% of a core at the usual 100 ticks/s) over the same 300 ms, at most
/// `timeout`; `false` when one was still busy then.
pub(crate) fn wait_idle(servers: &[&Server], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let before: Vec<Option<u64>> = servers.iter().map(|s| s.cpu_ticks()).collect();
        std::thread::sleep(Duration::from_millis(300));
        let quiet = servers
            .iter()
            .zip(&before)
            .all(|(s, b)| match (b, s.cpu_ticks()) {
                (Some(b), Some(a)) => a.saturating_sub(*b) <= 2,
                _ => true,
            });
        if quiet {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
    }
}

pub(crate) fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The name of the eve-rs under test in the tables (the current tree).
pub(crate) const AFTER: &str = "eve-rs";
/// The name of the baseline eve-rs in a paired run.
pub(crate) const BEFORE: &str = "eve-rs before";

/// One eve-rs build under test: its binary, its name in the tables, and
/// its own data directory (a build only ever opens a store it created).
#[derive(Debug, Clone)]
pub(crate) struct Build {
    /// [`AFTER`] or [`BEFORE`].
    pub(crate) name: &'static str,
    /// Its name in file names (logs, id lists).
    pub(crate) file_tag: &'static str,
    /// Its `eve-rs` binary.
    pub(crate) bin: PathBuf,
    /// Its data directory.
    pub(crate) data: PathBuf,
    /// `--data-layer URL`, if any.
    pub(crate) data_layer: Option<String>,
}

/// Starts `build` on its data directory; `log_suffix` tells its logs apart.
pub(crate) fn start_eve_rs(
    paths: &Paths,
    build: &Build,
    log_suffix: &str,
) -> Result<(Server, Duration)> {
    let port = free_port()?;
    let mut cmd = Command::new(&build.bin);
    cmd.arg("serve")
        .arg(paths.settings())
        .arg("--port")
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(&build.data);
    if let Some(url) = &build.data_layer {
        cmd.arg("--data-layer").arg(url);
    }
    Server::start(
        build.name,
        cmd,
        port,
        &paths
            .out
            .join(format!("{}{log_suffix}.log", build.file_tag)),
        Duration::from_secs(60),
    )
}

pub(crate) fn start_oracle(paths: &Paths) -> Result<Server> {
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

pub(crate) fn start_ceiling(paths: &Paths, body_bytes: usize) -> Result<Server> {
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
pub(crate) fn oracle_ready(paths: &Paths, may_create: bool) -> std::result::Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spawn(script: &str) -> Server {
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .spawn()
            .expect("sh runs");
        Server {
            name: "test",
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 9)),
        }
    }

    #[test]
    fn an_idle_process_is_seen_idle_and_a_busy_one_is_not() {
        let idle = spawn("sleep 30");
        let t = Instant::now();
        assert!(wait_idle(&[&idle], Duration::from_secs(20)));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());

        // Pure shell arithmetic (no child processes); killed when dropped.
        let busy = spawn("i=0; while [ $i -lt 200000000 ]; do i=$((i+1)); done");
        let t = Instant::now();
        assert!(!wait_idle(&[&idle, &busy], Duration::from_secs(2)));
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert!(busy.cpu_ticks().is_some_and(|t| t > 0));
    }
}
