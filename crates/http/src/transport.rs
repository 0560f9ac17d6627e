//! Serving an app over TCP: HTTP/1.1 and h2c on one port, the connection
//! timeouts and a graceful shutdown with a time cap (docs/robustness.md).
//!
//! Every accepted connection runs in its own task, driven by [`drive`]:
//!
//! - it is closed when no request has been in progress on it for
//!   `CLIENT_TIMEOUT`, counted from the accept: a client that sends nothing,
//!   half an HTTP/2 preface, or an HTTP/2 preface and then no stream, and an
//!   idle HTTP/1.1 keep-alive or HTTP/2 connection, are all let go;
//! - a write that makes no progress for `WRITE_TIMEOUT` (a client that does
//!   not read its answer) fails and closes it ([`WriteTimeout`]); HTTP/2
//!   connections are also pinged, and closed when a ping goes unanswered
//!   for as long;
//! - on shutdown every connection finishes its requests in flight, for at
//!   most `SHUTDOWN_TIMEOUT`; then the remaining ones are dropped.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::context::Limits;

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting, lets the connections finish their requests in flight for at
/// most `limits.shutdown_timeout`, drops the rest and returns.
pub(crate) async fn serve(
    router: Router,
    limits: Limits,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.client_timeout)
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.write_timeout)
        .keep_alive_timeout(limits.write_timeout)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait, retry.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // Reap finished connection tasks so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(drive(
            builder.clone(),
            router.clone(),
            stream,
            addr,
            limits.clone(),
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "SHUTDOWN_TIMEOUT reached: closing the connections still busy"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Requests in progress on one connection, and since when it has none.
#[derive(Debug, Clone, Copy)]
struct Activity {
    in_flight: usize,
    idle_since: Instant,
}

/// A request in progress: counted from the moment its head is complete
/// until its response is produced.
struct Busy(Arc<watch::Sender<Activity>>);

impl Busy {
    fn begin(activity: &Arc<watch::Sender<Activity>>) -> Busy {
        activity.send_modify(|a| a.in_flight += 1);
        Busy(activity.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.idle_since = Instant::now();
            }
        });
    }
}

/// Runs one connection to its end: serves its requests, closes it once it
/// has been idle for `CLIENT_TIMEOUT` (from the accept on), and on shutdown
/// lets it finish its requests in flight.
async fn drive(
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    stream: TcpStream,
    addr: SocketAddr,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(watch::Sender::new(Activity {
        in_flight: 0,
        idle_since: Instant::now(),
    }));
    let mut changes = activity.subscribe();
    let service =
        tower::ServiceExt::map_request(router, move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(addr));
            req
        });
    let service = tower::ServiceExt::map_future(service, move |response| {
        let busy = Busy::begin(&activity);
        async move {
            let response = response.await;
            drop(busy);
            response
        }
    });
    let service = hyper_util::service::TowerToHyperService::new(service);
    let io = TokioIo::new(WriteTimeout::new(stream, limits.write_timeout));
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    // Set once the connection is asked to close: no new timer starts then.
    let mut closing = false;
    // After an idle close, the time by which the connection must be gone.
    let mut hard_deadline: Option<Instant> = None;
    loop {
        // While requests are in flight, wait for the change that ends
        // them; while idle, sleep until the idle deadline (requests that
        // start meanwhile do not wake this task: the deadline is checked
        // again when it passes).
        let idle_deadline = {
            let a = changes.borrow_and_update();
            (a.in_flight == 0).then(|| a.idle_since + limits.client_timeout)
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection closed with an error");
                }
                return;
            }
            changed = changes.changed(), if idle_deadline.is_none() => {
                if changed.is_err() {
                    return;
                }
            }
            () = sleep_until(idle_deadline), if !closing && idle_deadline.is_some() => {
                let a = *changes.borrow();
                if a.in_flight > 0 || a.idle_since + limits.client_timeout > Instant::now() {
                    continue;
                }
                tracing::debug!(%addr, "idle for CLIENT_TIMEOUT: closing the connection");
                conn.as_mut().graceful_shutdown();
                closing = true;
                // Nothing is in flight: a polite close (HTTP/2 GOAWAY and a
                // PING) takes one round trip; a client that does not answer
                // is dropped after the shorter of the two timeouts.
                let grace = limits.client_timeout.min(limits.write_timeout);
                hard_deadline = Some(Instant::now() + grace);
            }
            _ = stop.wait_for(|stopping| *stopping), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = sleep_until(hard_deadline), if hard_deadline.is_some() => return,
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A TCP stream whose writes fail with `TimedOut` once one of them has made
/// no progress for `timeout`: a client that stops reading cannot hold the
/// connection and its response buffers forever. Reads are untouched (their
/// limits are the protocol's: the head and body timeouts, HTTP/2 pings).
struct WriteTimeout {
    stream: TcpStream,
    timeout: Duration,
    /// Started when a write first returns `Pending`, cleared on progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteTimeout {
    fn new(stream: TcpStream, timeout: Duration) -> WriteTimeout {
        WriteTimeout {
            stream,
            timeout,
            stalled: None,
        }
    }

    /// Runs one write-side operation under the timeout.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match op(Pin::new(&mut self.stream), cx) {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read its answer within WRITE_TIMEOUT",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncRead for WriteTimeout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteTimeout {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |s, cx| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.guard(cx, |s, cx| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guard(cx, |s, cx| s.poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guard(cx, |s, cx| s.poll_shutdown(cx))
    }
}
