//! `eve-rs accounts add` (features.md §23.7): the first administrator is
//! created from the command line through the executor (validation,
//! hashing), then logs in over HTTP against `eve-rs serve` on the same
//! store.

use std::io::Write;
use std::process::{Command, Output, Stdio};

mod common;
use common::{request, Server, BIN};

const SETTINGS: &str = r#"
RESOURCE_METHODS: [GET, POST]
AUTH: {type: basic, accounts: accounts, realm: api}
DOMAIN:
  accounts:
    allowed_roles: [admin]
    schema:
      username: {type: string, required: true, unique: true}
      password: {type: string, required: true}
      roles: {type: list}
"#;

/// Runs `eve-rs accounts add` with `args`, `stdin` and `env`.
fn add(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["accounts", "add"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn eve-rs accounts add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn basic(user: &str, password: &str) -> String {
    use std::fmt::Write as _;
    // base64 by hand: the test needs no dependency for it.
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = format!("{user}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in raw.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

#[test]
fn the_first_administrator_is_added_from_the_command_line_and_logs_in() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, SETTINGS).expect("write settings");
    let data = dir.path().join("data");
    let (s, d) = (settings.to_str().unwrap(), data.to_str().unwrap());

    let out = add(
        &[
            s,
            "--username",
            "root",
            "--roles",
            "admin,editor",
            "--data-dir",
            d,
        ],
        "s3cret\n",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("account added: "),
        "{}",
        text(&out.stdout)
    );
    // The same user name again: refused by validation (unique).
    let out = add(&[s, "--username", "root", "--data-dir", d], "other\n", &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not unique"),
        "{}",
        text(&out.stderr)
    );
    // From an environment variable.
    let out = add(
        &[
            s,
            "--username",
            "ann",
            "--password-env",
            "ANN_PW",
            "--data-dir",
            d,
        ],
        "",
        &[("ANN_PW", "ann-pw")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // An empty password is refused.
    let out = add(&[s, "--username", "bob", "--data-dir", d], "\n", &[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the password is empty"),
        "{}",
        text(&out.stderr)
    );

    let server = Server::start(&settings, &data);
    let (status, head, _) = request(&server.addr, "GET", "/accounts", &[], "").unwrap();
    assert_eq!(status, 401);
    assert!(
        head.contains("www-authenticate: Basic realm=\"api\""),
        "{head}"
    );
    let root = basic("root", "s3cret");
    let (status, _, body) = request(
        &server.addr,
        "GET",
        "/accounts",
        &[("Authorization", &root)],
        "",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"root\"") && body.contains("\"ann\""),
        "{body}"
    );
    assert!(
        !body.contains("s3cret") && !body.contains("argon2"),
        "{body}"
    );
    let (status, _, _) = request(
        &server.addr,
        "GET",
        "/accounts",
        &[("Authorization", &basic("root", "wrong"))],
        "",
    )
    .unwrap();
    assert_eq!(status, 401);
    // ann has no admin role.
    let (status, _, _) = request(
        &server.addr,
        "GET",
        "/accounts",
        &[("Authorization", &basic("ann", "ann-pw"))],
        "",
    )
    .unwrap();
    assert_eq!(status, 403);
}

#[test]
fn accounts_add_refuses_settings_without_accounts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, "DOMAIN: {people: {}}\n").expect("write settings");
    let data = dir.path().join("data");
    let out = add(
        &[
            settings.to_str().unwrap(),
            "--username",
            "root",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        "pw\n",
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the settings have no AUTH"),
        "{}",
        text(&out.stderr)
    );
    assert!(!data.exists(), "no store is created");
}
