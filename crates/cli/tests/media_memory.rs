//! A 50 MB upload and its downloads (whole, ranged) over a real socket run
//! in bounded memory: the server's peak resident set (`VmHWM` in
//! `/proc/<pid>/status`) grows by far less than the file (features.md
//! §35, docs/media.md). The file is streamed from the socket into the
//! media storage and from the storage to the socket, never held whole.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Server;

const SIZE: usize = 50 * 1024 * 1024;
const SETTINGS: &str = "RESOURCE_METHODS: [GET, POST]
RETURN_MEDIA_AS_BASE64_STRING: false
RETURN_MEDIA_AS_URL: true
DOMAIN:
  files:
    schema:
      blob: {type: media}
";

/// The server's peak resident set, in KiB.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The byte at `i` of the uploaded file.
fn byte(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 12)) as u8
}

/// Reads a response head; returns (status, content length).
fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, usize, String) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("head");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (status, len, head)
}

#[test]
fn a_50_mb_upload_and_ranged_download_run_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("dir");
    let settings = dir.path().join("settings.yaml");
    std::fs::write(&settings, SETTINGS).expect("settings");
    let server = Server::start(&settings, &dir.path().join("data"));
    let pid = server.child.id();
    let before = peak_kib(pid);

    // Upload: the multipart body is written in 64 KiB pieces.
    let boundary = "memory-test-boundary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let total = head.len() + SIZE + tail.len();
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let request = format!(
        "POST /files HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("head");
    stream.write_all(head.as_bytes()).expect("part head");
    let mut at = 0;
    while at < SIZE {
        let n = (SIZE - at).min(64 * 1024);
        let piece: Vec<u8> = (at..at + n).map(byte).collect();
        stream.write_all(&piece).expect("piece");
        at += n;
    }
    stream.write_all(tail.as_bytes()).expect("tail");
    let mut reader = BufReader::new(stream);
    let (status, _, head) = read_head(&mut reader);
    let mut body = String::new();
    reader.read_to_string(&mut body).expect("body");
    assert_eq!(status, 201, "{head}{body}");
    let id = body
        .split("\"_id\": \"")
        .nth(1)
        .and_then(|r| r.get(..24))
        .expect("id")
        .to_string();
    let (status, _, item) =
        common::request(&server.addr, "GET", &format!("/files/{id}"), &[], "").expect("get");
    assert_eq!(status, 200);
    let url = item
        .split("\"blob\": \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("url")
        .to_string();
    let after_upload = peak_kib(pid);

    // A ranged download, then the whole file, read as it comes.
    let get = |range: Option<&str>| {
        let mut s = TcpStream::connect(&server.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .expect("timeout");
        let extra = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
        write!(
            s,
            "GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n"
        )
        .expect("get");
        let mut reader = BufReader::new(s);
        let (status, len, _) = read_head(&mut reader);
        let mut buf = vec![0u8; 256 * 1024];
        let (mut seen, mut first) = (0usize, Vec::new());
        loop {
            let n = reader.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            if first.len() < 16 {
                first.extend_from_slice(&buf[..n.min(16 - first.len())]);
            }
            seen += n;
        }
        (status, len, seen, first)
    };
    let (status, len, seen, first) = get(Some("bytes=20000000-40000000"));
    assert_eq!((status, len, seen), (206, 20_000_001, 20_000_001));
    assert_eq!(
        first,
        (20_000_000..20_000_016).map(byte).collect::<Vec<_>>()
    );
    let (status, len, seen, first) = get(None);
    assert_eq!((status, len, seen), (200, SIZE, SIZE));
    assert_eq!(first, (0..16).map(byte).collect::<Vec<_>>());
    let after_download = peak_kib(pid);

    // The file is 51200 KiB; the server never held it (nor a copy).
    let grown = after_download.saturating_sub(before);
    eprintln!("peak RSS: {before} KiB at start, {after_upload} after the upload, {after_download} after the downloads");
    assert!(
        grown < 24 * 1024,
        "peak RSS grew by {grown} KiB for a 51200 KiB file"
    );
}
