//! Connections and HTTP framing over a real socket (issue #21): a client
//! that holds a connection without using it, never reads its answer, or
//! frames its body wrongly gets a bounded, clear answer, and the server
//! keeps its file descriptors (docs/robustness.md, "Connections").

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{request, Server};

/// Settings with short connection timeouts, and a resource to write to.
fn settings(extra: &str) -> String {
    format!(
        "{extra}\nRESOURCE_METHODS: [GET, POST]\nITEM_METHODS: [GET]\nDOMAIN:\n  texts:\n    schema:\n      body: {{type: string}}\n"
    )
}

fn start(dir: &std::path::Path, extra: &str) -> Server {
    let path = dir.join("settings.yaml");
    std::fs::write(&path, settings(extra)).unwrap();
    Server::start(&path, &dir.join("data"))
}

/// Reads until the server closes the connection (EOF or reset) and returns
/// what it sent and how long that took; panics after `limit`.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (out, started.elapsed()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (out, started.elapsed()),
        }
        assert!(
            started.elapsed() < limit,
            "the server kept the connection open for {limit:?}"
        );
    }
}

/// Sends `raw` on a new connection and reads the whole answer (the server
/// must close the connection within 10 s).
fn exchange(addr: &str, raw: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(raw).unwrap();
    let (out, _) = read_until_closed(&mut s, Duration::from_secs(10));
    String::from_utf8_lossy(&out).into_owned()
}

/// Status and JSON body of a raw HTTP/1.1 answer.
fn parse(answer: &str) -> (u16, serde_json::Value) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Asserts an error answer in Eve's shape.
fn assert_eve_error(answer: &str, status: u16) {
    let (got, json) = parse(answer);
    assert_eq!(got, status, "{answer}");
    assert_eq!(json["_status"], "ERR", "{answer}");
    assert_eq!(json["_error"]["code"], status, "{answer}");
    assert!(json["_error"]["message"].is_string(), "{answer}");
}

/// Number of documents in `texts`, through the API.
fn count(addr: &str) -> u64 {
    let (status, _, body) = request(addr, "GET", "/texts", &[], "").unwrap();
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    json["_meta"]["total"].as_u64().unwrap()
}

/// Open file descriptors of a process.
#[cfg(target_os = "linux")]
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An HTTP/2 frame: length, type, flags, stream id, payload.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// What an HTTP/2 client saw until the server closed the connection.
#[derive(Debug, Default)]
struct H2Seen {
    /// A HEADERS frame on stream 1 whose first field is `:status: 200`.
    ok_on_stream_1: bool,
    goaway: bool,
    closed_after: Duration,
}

/// Plays a minimal, well-behaved HTTP/2 client (it acknowledges SETTINGS
/// and answers PINGs) until the server closes the connection; panics after
/// `limit`.
fn h2_until_closed(stream: &mut TcpStream, limit: Duration) -> H2Seen {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut seen = H2Seen::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        assert!(
            started.elapsed() < limit,
            "the server kept the HTTP/2 connection open for {limit:?}: {seen:?}"
        );
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        }
        while buf.len() >= 9 {
            let len = usize::from(buf[0]) << 16 | usize::from(buf[1]) << 8 | usize::from(buf[2]);
            if buf.len() < 9 + len {
                break;
            }
            let (kind, flags) = (buf[3], buf[4]);
            let id = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff;
            let payload: Vec<u8> = buf[9..9 + len].to_vec();
            buf.drain(..9 + len);
            let reply = match (kind, flags & 1) {
                (4, 0) => Some(h2_frame(4, 1, 0, &[])),      // SETTINGS: ack
                (6, 0) => Some(h2_frame(6, 1, 0, &payload)), // PING: pong
                (1, _) if id == 1 => {
                    // HPACK static table entry 8 is ":status: 200".
                    seen.ok_on_stream_1 |= payload.first() == Some(&0x88);
                    None
                }
                (7, _) => {
                    seen.goaway = true;
                    None
                }
                _ => None,
            };
            if let Some(frame) = reply {
                let _ = stream.write_all(&frame);
            }
        }
    }
    seen.closed_after = started.elapsed();
    seen
}

#[test]
fn connections_that_send_nothing_or_half_a_preface_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "CLIENT_TIMEOUT: 1");
    let addr = server.addr.clone();
    // A first read opens the store's reader, so the count below is stable.
    assert_eq!(count(&addr), 0);
    #[cfg(target_os = "linux")]
    let before = open_fds(server.child.id());
    // Silent connections, half an HTTP/2 preface, a whole one and nothing
    // after it: all counted from the accept.
    let mut held: Vec<TcpStream> = Vec::new();
    for i in 0..200 {
        let mut s = TcpStream::connect(&addr).unwrap();
        match i % 4 {
            0 => s.write_all(&H2_PREFACE[..10]).unwrap(),
            1 => {
                s.write_all(H2_PREFACE).unwrap();
                s.write_all(&h2_frame(4, 0, 0, &[])).unwrap();
            }
            _ => {}
        }
        held.push(s);
    }
    // The server answers meanwhile.
    assert_eq!(count(&addr), 0);
    for s in &mut held {
        read_until_closed(s, Duration::from_secs(15));
    }
    // An idle HTTP/1.1 keep-alive connection is closed too.
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(s, "GET /texts HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (out, _) = read_until_closed(&mut s, Duration::from_secs(15));
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
    // Their file descriptors are released (a few may be in use by the
    // store's threads meanwhile).
    #[cfg(target_os = "linux")]
    {
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(10);
        while open_fds(server.child.id()) > before + 5 {
            assert!(Instant::now() < deadline, "descriptors still held");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert_eq!(count(&addr), 0);
}

#[test]
fn an_idle_http2_connection_is_closed_after_its_requests() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "CLIENT_TIMEOUT: 2");
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(H2_PREFACE).unwrap();
    s.write_all(&h2_frame(4, 0, 0, &[])).unwrap();
    s.write_all(&h2_frame(1, 0x5, 1, &h2_get_root())).unwrap();
    let seen = h2_until_closed(&mut s, Duration::from_secs(20));
    assert!(seen.ok_on_stream_1, "{seen:?}");
    assert!(seen.goaway, "closed without GOAWAY: {seen:?}");
    assert!(seen.closed_after >= Duration::from_secs(1), "{seen:?}");
}

/// The HPACK block of `GET /` on `localhost`: :method GET, :scheme http,
/// :path / (static table), :authority (literal, indexed name 1).
fn h2_get_root() -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x84, 0x41, 9];
    block.extend_from_slice(b"localhost");
    block
}

#[test]
fn http2_heads_are_bounded_in_size_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "CLIENT_TIMEOUT: 1\nMAX_HEADER_SIZE: 8192");
    // A header of 10 000 bytes (a literal field, new name "x"): 431.
    let mut block = h2_get_root();
    block.extend_from_slice(&[0x00, 0x01, b'x']);
    // The value's length, 10 000, as an HPACK integer with a 7-bit prefix.
    let mut rest = 10_000 - 127;
    block.push(0x7f);
    while rest >= 128 {
        block.push(u8::try_from(rest % 128).unwrap() | 0x80);
        rest /= 128;
    }
    block.push(u8::try_from(rest).unwrap());
    block.extend(std::iter::repeat_n(b'a', 10_000));
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(H2_PREFACE).unwrap();
    s.write_all(&h2_frame(4, 0, 0, &[])).unwrap();
    s.write_all(&h2_frame(1, 0x5, 1, &block)).unwrap();
    let mut raw = Vec::new();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut chunk = [0u8; 4096];
    // ":status: 431": the value "431" as a 3-byte Huffman string (0x83).
    let status_431 = [0x83, 0x69, 0x90, 0xff];
    while !raw.windows(4).any(|w| w == status_431) {
        match s.read(&mut chunk) {
            Ok(n) if n > 0 => raw.extend_from_slice(&chunk[..n]),
            _ => panic!("no 431 for an oversized HTTP/2 head: {raw:?}"),
        }
    }
    // A head that never ends (HEADERS without END_HEADERS, and no
    // CONTINUATION): the connection is closed after CLIENT_TIMEOUT.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(H2_PREFACE).unwrap();
    s.write_all(&h2_frame(4, 0, 0, &[])).unwrap();
    s.write_all(&h2_frame(1, 0x1, 1, &h2_get_root())).unwrap();
    h2_until_closed(&mut s, Duration::from_secs(15));
}

#[test]
fn a_client_that_never_reads_its_answers_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "CLIENT_TIMEOUT: 60\nWRITE_TIMEOUT: 1");
    let addr = server.addr.clone();
    let doc = format!(r#"{{"body": "{}"}}"#, "x".repeat(1 << 20));
    let (status, _, body) = request(
        &addr,
        "POST",
        "/texts",
        &[("Content-Type", "application/json")],
        &doc,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    // 24 pipelined requests for a 1 MiB document, far more than the socket
    // buffers hold, and nothing read for a while.
    const ASKED: usize = 24;
    let mut s = TcpStream::connect(&addr).unwrap();
    let mut pipelined = String::new();
    for i in 0..ASKED {
        let close = if i + 1 == ASKED {
            "Connection: close\r\n"
        } else {
            ""
        };
        pipelined.push_str(&format!(
            "GET /texts/{id} HTTP/1.1\r\nHost: x\r\n{close}\r\n"
        ));
    }
    s.write_all(pipelined.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let (out, _) = read_until_closed(&mut s, Duration::from_secs(30));
    let answered = String::from_utf8_lossy(&out)
        .matches("HTTP/1.1 200 OK")
        .count();
    assert!(answered >= 1, "not even the first answer arrived");
    assert!(
        answered < ASKED,
        "the server waited for the client to read all {ASKED} answers"
    );
    // The server still serves.
    assert_eq!(count(&addr), 1);
}

#[test]
fn an_http2_client_that_stops_reading_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "CLIENT_TIMEOUT: 60\nWRITE_TIMEOUT: 1");
    // One request, then the client reads nothing at all: it neither takes
    // its answer nor answers the server's PINGs.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(H2_PREFACE).unwrap();
    s.write_all(&h2_frame(4, 0, 0, &[])).unwrap();
    s.write_all(&h2_frame(1, 0x5, 1, &h2_get_root())).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    // Closed long before CLIENT_TIMEOUT (the reads below do not answer
    // PINGs either).
    let (out, _) = read_until_closed(&mut s, Duration::from_secs(15));
    assert!(!out.is_empty());
}

const POST_HEAD: &str = "POST /texts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
const CHUNKED_DOC: &str = "d\r\n{\"body\": \"a\"}\r\n0\r\n\r\n";

#[test]
fn a_malformed_chunked_body_is_400_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "MAX_REQUEST_BODY: 1000");
    let addr = server.addr.clone();
    // A chunk size that is not hex, and a chunk longer than its size.
    for body in [
        "zz\r\n{\"body\": \"a\"}\r\n0\r\n\r\n",
        "5\r\n{\"body\": \"a\"}\r\n0\r\n\r\n",
    ] {
        let r = exchange(
            &addr,
            format!("{POST_HEAD}Transfer-Encoding: chunked\r\n\r\n{body}").as_bytes(),
        );
        assert_eve_error(&r, 400);
    }
    // A correct chunked body is accepted, and only it was written.
    let r = exchange(
        &addr,
        format!("{POST_HEAD}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{CHUNKED_DOC}")
            .as_bytes(),
    );
    assert_eq!(parse(&r).0, 201, "{r}");
    assert_eq!(count(&addr), 1);
}

#[test]
fn transfer_codings_other_than_chunked_are_501() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let addr = server.addr.clone();
    // RFC 9112 §6.1: a coding the server does not understand is 501.
    for coding in ["gzip, chunked", "deflate,chunked", "x-custom, chunked"] {
        let r = exchange(
            &addr,
            format!(
                "{POST_HEAD}Transfer-Encoding: {coding}\r\nConnection: close\r\n\r\n{CHUNKED_DOC}"
            )
            .as_bytes(),
        );
        assert_eve_error(&r, 501);
        let message = parse(&r).1["_error"]["message"].clone();
        assert!(message.as_str().unwrap().contains("not supported"), "{r}");
    }
    // Also on a method whose body is not read.
    let r = exchange(
        &addr,
        format!("GET /texts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n{CHUNKED_DOC}")
            .as_bytes(),
    );
    assert_eve_error(&r, 501);
    // Chunked, but not last: the framing is unknown, 400 from the HTTP layer.
    let r = exchange(
        &addr,
        format!("{POST_HEAD}Transfer-Encoding: chunked, gzip\r\n\r\n{CHUNKED_DOC}").as_bytes(),
    );
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert_eq!(count(&addr), 0);
}

#[test]
fn a_declared_length_over_the_limit_is_413_before_the_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "CLIENT_TIMEOUT: 30\nMAX_REQUEST_BODY: 1000");
    let addr = server.addr.clone();
    // No body is sent: the answer cannot wait for it (CLIENT_TIMEOUT is
    // 30 s, `exchange` gives up after 10 s).
    let r = exchange(
        &addr,
        format!("{POST_HEAD}Content-Length: 5000000000\r\n\r\n").as_bytes(),
    );
    assert_eve_error(&r, 413);
    // A client waiting for `100 Continue` gets the 413 instead.
    let r = exchange(
        &addr,
        format!("{POST_HEAD}Content-Length: 1001\r\nExpect: 100-continue\r\n\r\n").as_bytes(),
    );
    assert!(!r.contains("100 Continue"), "{r}");
    assert_eve_error(&r, 413);
    // At the limit the body is read as usual.
    let doc = format!(r#"{{"body": "{}"}}"#, "x".repeat(1000 - 12));
    assert_eq!(doc.len(), 1000);
    let (status, _, body) = request(
        &addr,
        "POST",
        "/texts",
        &[("Content-Type", "application/json")],
        &doc,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(count(&addr), 1);
}

#[test]
fn graceful_shutdown_gives_up_after_shutdown_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path(), "CLIENT_TIMEOUT: 60\nSHUTDOWN_TIMEOUT: 1");
    let addr = server.addr.clone();
    // A request in flight whose body never completes.
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /texts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"body\""
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    server.signal("-TERM");
    let status = server.wait_exit();
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopping took {:?}",
        started.elapsed()
    );
    // The connection was closed, the half-sent document not written.
    let (_, _) = read_until_closed(&mut s, Duration::from_secs(5));
    let server = start(dir.path(), "");
    assert_eq!(count(&server.addr), 0);
}
