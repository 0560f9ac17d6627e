//! `eve-bench-ceiling`: the HTTP ceiling of the benchmark (bench/README.md).
//!
//! A bare hyper HTTP/1.1 server that answers every request with the same
//! `200 OK` and a JSON body of a given size (the size of scenario S1's
//! response). No server doing real work can beat it on the same machine.
//!
//! ```text
//! eve-bench-ceiling --port PORT --body-bytes N [--host HOST]
//! ```
//!
//! Prints `listening on http://HOST:PORT` on stdout once it accepts
//! connections.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

fn usage() -> ! {
    eprintln!("usage: eve-bench-ceiling --port PORT --body-bytes N [--host HOST]");
    std::process::exit(2)
}

/// A JSON body of exactly `n` bytes (at least `{"x":""}`).
fn body_of(n: usize) -> Bytes {
    let frame = r#"{"x":""}"#;
    let pad = n.saturating_sub(frame.len());
    Bytes::from(format!(r#"{{"x":"{}"}}"#, "a".repeat(pad)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut host = String::from("127.0.0.1");
    let mut port: Option<u16> = None;
    let mut size: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--host" => host = value,
            "--port" => port = Some(value.parse().unwrap_or_else(|_| usage())),
            "--body-bytes" => size = Some(value.parse().unwrap_or_else(|_| usage())),
            _ => usage(),
        }
    }
    let (Some(port), Some(size)) = (port, size) else {
        usage()
    };
    let body = body_of(size);
    let addr: SocketAddr = format!("{host}:{port}").parse()?;
    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                let mut response = Response::new(Full::new(body.clone()));
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::body_of;

    #[test]
    fn body_has_the_requested_size_and_is_json() {
        for n in [0, 8, 9, 1200] {
            let body = body_of(n);
            assert_eq!(body.len(), n.max(8));
            assert!(body.starts_with(b"{\"x\":\"") && body.ends_with(b"\"}"));
        }
    }
}
