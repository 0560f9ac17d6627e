//! Shared helpers of the binary's tests: start `eve-rs serve` on a free
//! port, signal and wait for it, and a minimal HTTP/1.1 client (one request
//! per connection) for real-socket checks.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_eve-rs");

/// A running `eve-rs serve`; killed when dropped.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `127.0.0.1:<port>` it listens on.
    pub addr: String,
}

impl Server {
    /// Starts the server on a free port and waits until it listens.
    pub fn start(settings: &Path, data: &Path) -> Server {
        Server::start_logging(settings, data, "warn")
    }

    /// Like [`Server::start`], with a `RUST_LOG` level.
    pub fn start_logging(settings: &Path, data: &Path, level: &str) -> Server {
        Server::start_env(settings, data, &[("RUST_LOG", level)])
    }

    /// Like [`Server::start`], with environment variables (`RUST_LOG`,
    /// `TOKIO_WORKER_THREADS`, ...); `RUST_LOG` defaults to `warn`.
    pub fn start_env(settings: &Path, data: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_to(settings, data, env, Stdio::inherit())
    }

    /// Like [`Server::start_env`], with the server's standard error sent
    /// to `stderr` (a file, to read its log).
    pub fn start_to(settings: &Path, data: &Path, env: &[(&str, &str)], stderr: Stdio) -> Server {
        let mut command = Command::new(BIN);
        command.env("RUST_LOG", "warn");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .args([
                "serve",
                settings.to_str().unwrap(),
                "--port",
                "0",
                "--data-dir",
                data.to_str().unwrap(),
            ])
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn eve-rs");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected: {line}"))
            .to_string();
        Server { child, addr }
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// Sends a signal by name (`-TERM`, `-INT`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }

    /// Waits (at most 20 s) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(code) = self.child.try_wait().unwrap() {
                return code;
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request on its own connection: (status, head, body).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes())?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_string(), body.to_string()))
}

/// A small deterministic generator (xorshift*) for the crash tests, so a
/// failing run can be replayed with its seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The seed of a crash test: `EVE_CRASH_SEED` when set (to replay a run),
/// else `default`; printed under `label` so a failure names it.
pub fn crash_seed(label: &str, default: u64) -> u64 {
    let seed = std::env::var("EVE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("{label}: EVE_CRASH_SEED={seed}");
    seed
}

/// Kill -9 rounds over a store (the crash tests of versioning and the
/// oplog): `WORKERS` threads, each with its own model of what it was told,
/// write through `load` until the server is killed at a random moment; the
/// server restarts on the same data and `verify` checks the models against
/// it, round after round (at most `rounds`, within `budget`). Returns the
/// rounds run, the models and a server started on the final data (with the
/// directory that holds it).
pub fn kill9_rounds<M: Default + Send + 'static>(
    settings_yaml: &str,
    seed: u64,
    (workers, rounds, budget): (usize, usize, Duration),
    load: fn(&str, &mut M, &mut Rng, &std::sync::atomic::AtomicBool),
    verify: fn(&str, &[std::sync::Arc<std::sync::Mutex<M>>]) -> usize,
) -> (
    usize,
    Vec<std::sync::Arc<std::sync::Mutex<M>>>,
    Server,
    tempfile::TempDir,
) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, settings_yaml).unwrap();
    let data = dir.path().join("data");
    let models: Vec<Arc<Mutex<M>>> = (0..workers).map(|_| Arc::default()).collect();
    let started = Instant::now();
    let mut done = 0;
    for _ in 0..rounds {
        if started.elapsed() > budget {
            break;
        }
        let mut server = Server::start_logging(&settings, &data, "error");
        verify(&server.addr, &models);
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = models
            .iter()
            .map(|model| {
                let (addr, model, stop) = (server.addr.clone(), model.clone(), stop.clone());
                let seed = rng.next() | 1;
                std::thread::spawn(move || {
                    load(&addr, &mut model.lock().unwrap(), &mut Rng(seed), &stop);
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + rng.next() % 500));
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().expect("worker");
        }
        done += 1;
    }
    let server = Server::start_logging(&settings, &data, "error");
    (done, models, server, dir)
}
