//! Rate limits in Redis (`RATE_LIMIT_STORE: redis://...`,
//! docs/rate-limiting.md), with real binaries and sockets: two eve-rs
//! processes sharing one Redis share one budget; a Redis that cannot be
//! reached lets requests through with one warning; a Redis that goes down
//! and comes back is used again.
//!
//! The shared Redis is the one on 127.0.0.1:6379 (`.ci/run` starts it).
//! Outside CI, a test skips with a message when it is not there; under
//! `CI=true` it fails.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{request, Server};

const REDIS: &str = "127.0.0.1:6379";

/// Sends one command (after `SELECT db`) and returns the raw reply.
fn redis_cmd(addr: &str, db: u32, args: &[&str]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let encode = |args: &[&str]| {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        out
    };
    let db = db.to_string();
    s.write_all(encode(&["SELECT", &db]).as_bytes())?;
    s.write_all(encode(args).as_bytes())?;
    s.write_all(encode(&["QUIT"]).as_bytes())?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)?;
    Ok(reply)
}

/// Whether the shared Redis answers; under CI its absence is a failure.
fn shared_redis_or_skip(test: &str) -> bool {
    if redis_cmd(REDIS, 0, &["PING"]).is_ok_and(|r| r.contains("PONG")) {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: no Redis on {REDIS} (.ci/run starts one)"
    );
    eprintln!("{test}: skipped, no Redis on {REDIS} (start one: redis-server --port 6379)");
    false
}

fn settings(dir: &std::path::Path, store: &str) -> std::path::PathBuf {
    let path = dir.join("settings.yaml");
    std::fs::write(
        &path,
        format!(
            "RATE_LIMIT_GET: [5, 60]\nRATE_LIMIT_STORE: {store}\n\
             DOMAIN: {{people: {{schema: {{name: {{type: string}}}}}}}}\n"
        ),
    )
    .unwrap();
    path
}

/// (status, X-RateLimit-Remaining) of a GET /people.
fn get(server: &Server) -> (u16, Option<u64>) {
    let (status, head, _) = request(&server.addr, "GET", "/people", &[], "").expect("request");
    let remaining = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("x-ratelimit-remaining")
            .then(|| v.trim().parse().expect("a number"))
    });
    (status, remaining)
}

#[test]
fn two_servers_sharing_one_redis_share_one_budget() {
    if !shared_redis_or_skip("two_servers_sharing_one_redis_share_one_budget") {
        return;
    }
    // database 11 of the shared Redis is this test's own
    redis_cmd(REDIS, 11, &["FLUSHDB"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = settings(dir.path(), &format!("redis://{REDIS}/11"));
    let a = Server::start(&path, &dir.path().join("a"));
    let b = Server::start(&path, &dir.path().join("b"));
    let mut seen = Vec::new();
    for server in [&a, &b, &a, &b, &b] {
        seen.push(get(server));
    }
    assert_eq!(
        seen,
        [
            (200, Some(4)),
            (200, Some(3)),
            (200, Some(2)),
            (200, Some(1)),
            (200, Some(0))
        ]
    );
    assert_eq!(get(&a), (429, None));
    assert_eq!(get(&b), (429, None));
    // the window is Redis's: one key with an expiry of at most 60 s
    let ttl = redis_cmd(REDIS, 11, &["TTL", "rate-limit/ip/127.0.0.1"]).unwrap();
    let ttl: i64 = ttl
        .lines()
        .find_map(|l| l.strip_prefix(':')?.parse().ok())
        .expect("an integer reply");
    assert!((1..=60).contains(&ttl), "{ttl}");
    redis_cmd(REDIS, 11, &["FLUSHDB"]).unwrap();
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_redis_lets_requests_through_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = settings(
        dir.path(),
        &format!("redis://127.0.0.1:{}/0", closed_port()),
    );
    let log = dir.path().join("stderr.log");
    let server = Server::start_to(
        &path,
        &dir.path().join("data"),
        &[("RUST_LOG", "warn")],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let started = Instant::now();
    for _ in 0..12 {
        assert_eq!(get(&server), (200, None), "served, unlimited");
    }
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.matches("the Redis of RATE_LIMIT_STORE is unreachable")
            .count(),
        1,
        "{text}"
    );
}

/// A private `redis-server` on `port`, killed when dropped.
struct PrivateRedis(Child);

impl PrivateRedis {
    fn start(port: u16) -> Option<PrivateRedis> {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = PrivateRedis(child);
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis_cmd(&addr, 0, &["PING"]).is_ok_and(|r| r.contains("PONG")) {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(redis)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_redis_that_goes_down_fails_open_and_is_used_again_when_back() {
    let port = closed_port();
    let Some(redis) = PrivateRedis::start(port) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is not installed (.ci/run installs it)"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = settings(dir.path(), &format!("redis://127.0.0.1:{port}/0"));
    let server = Server::start(&path, &dir.path().join("data"));
    assert_eq!(get(&server), (200, Some(4)));
    assert_eq!(get(&server), (200, Some(3)));
    drop(redis);
    for _ in 0..3 {
        assert_eq!(get(&server), (200, None), "fails open");
    }
    // back, empty: counting starts again once the back-off is over
    let _redis = PrivateRedis::start(port).expect("restart redis-server");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match get(&server) {
            (200, Some(_)) => break,
            (200, None) => {
                assert!(Instant::now() < deadline, "Redis was not used again");
                std::thread::sleep(Duration::from_millis(200));
            }
            other => panic!("{other:?}"),
        }
    }
}
