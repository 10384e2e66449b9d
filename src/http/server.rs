//! Serving a router on a listener: HTTP/1.1 and HTTP/2 (cleartext), each
//! connection bounded in number, in the size of its request heads, and in
//! how long it may sit idle or take to send a request's headers; a graceful
//! drain at shutdown.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use futures::FutureExt;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::HttpService;
use super::conn_clock::{ConnClock, Tracked, Watched};

/// The request line and headers of one request, at most: a larger head is
/// answered `431` (HTTP/1.1) or refused (HTTP/2). hyper's default, ~400 KiB
/// per connection, let a few hundred slow clients hold a pod's memory.
pub(crate) const MAX_HEAD_BYTES: usize = 32 * 1024;

/// What each connection may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    /// Open connections; more wait in the listen backlog to be accepted.
    pub(crate) max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown`; then stops accepting and
/// returns once every connection has finished its requests (the caller
/// bounds that wait).
pub(crate) async fn serve(
    listener: TcpListener,
    router: HttpService,
    limits: ConnLimits,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let protocols = Arc::new(Protocols::new());
    // One for the process, cloned for each request: a clone kept by every
    // connection cost each open event stream a few hundred bytes.
    let router = Arc::new(router);
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let (slot, stream, peer) = accepted;
        let watcher = graceful.watcher();
        let (protocols, router, shutdown) = (protocols.clone(), router.clone(), shutdown.clone());
        tokio::spawn(async move {
            let clock = ConnClock::new(limits.header_timeout, limits.idle_timeout);
            let requests = clock.clone();
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let in_flight = requests.request();
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                let router = HttpService::clone(&router);
                // Boxed: hyper keeps room for this future in every connection
                // for as long as it is open; an event stream needs it only
                // until its response starts.
                async move {
                    let response = router.oneshot(request).await?;
                    Ok::<_, Infallible>(response.map(|body| Tracked::new(body, in_flight)))
                }
                .boxed()
            });
            let connection = async {
                let h2 = tokio::select! {
                    h2 = speaks_h2(&stream) => h2?,
                    // Nothing asked yet: nothing to finish.
                    () = shutdown.cancelled() => return Ok(()),
                };
                let io = TokioIo::new(Watched::new(stream, clock.clone()));
                if h2 {
                    // Boxed: inline, the larger HTTP/2 connection sized the
                    // task of every connection, each event stream's included.
                    Box::pin(watcher.watch(protocols.http2.serve_connection(io, service))).await
                } else {
                    // In one expression: a named connection, moved into
                    // `watch`, still had its own room in the task.
                    watcher
                        .watch(protocols.http1.serve_connection(io, service))
                        .await
                }
                .map_err(io::Error::other)
            };
            tokio::select! {
                served = connection => {
                    if let Err(e) = served {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                why = clock.expired() => tracing::debug!(%peer, ?why, "connection closed"),
            }
            drop(slot);
        });
    }
    // Dropping the listener refuses new connections at once.
    drop(listener);
    graceful.shutdown().await;
}

/// How each protocol is served. No timer is given to hyper: its header
/// timer would also cut the wait between keep-alive requests (see
/// `conn_clock`).
struct Protocols {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
}

impl Protocols {
    fn new() -> Self {
        let mut http1 = http1::Builder::new();
        // The head's bound, checked as it is parsed; the buffer's alone
        // depends on how its reads happen to fall.
        http1
            .max_header_size(MAX_HEAD_BYTES)
            .max_buf_size(MAX_HEAD_BYTES);
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2.max_header_list_size(MAX_HEAD_BYTES as u32);
        Self { http1, http2 }
    }
}

/// What every HTTP/2 connection starts with (RFC 9113, section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the client speaks HTTP/2 (cleartext, prior knowledge), from its
/// first bytes, peeked: hyper then reads the whole first request into one
/// buffer. (hyper-util's `auto` builder reads those bytes itself and hands
/// hyper the first 24, and hyper's buffer grew to 16 KiB on every HTTP/1.1
/// connection, doubling what an open event stream holds.)
async fn speaks_h2(stream: &TcpStream) -> io::Result<bool> {
    let mut first = [0; H2_PREFACE.len()];
    loop {
        let n = stream.peek(&mut first).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if first[..n] != H2_PREFACE[..n] {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
        // A part of the preface: the rest is on its way (the connection's
        // idle clock bounds the wait).
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The next connection, once one of the slots is free.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (OwnedSemaphorePermit, TcpStream, SocketAddr) {
    let Ok(slot) = slots.clone().acquire_owned().await else {
        // The semaphore is never closed.
        return std::future::pending().await;
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (slot, stream, peer),
            // The client gave up before we accepted: nothing to do.
            Err(e) if is_connection_error(&e) => {}
            // Out of file descriptors, most likely: give connections time
            // to close instead of spinning.
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
