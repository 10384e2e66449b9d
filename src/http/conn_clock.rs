//! The two clocks of one connection: how long it has been idle (no request
//! in flight, no byte of the next), and how long the request it is sending
//! has taken since its first byte to reach the end of its headers.
//!
//! hyper's own header timer starts as soon as it waits for a request, the
//! wait between keep-alive requests included, so it cannot give idle
//! connections longer than a slow request's headers; and a proxy that pools
//! connections to us needs them to outlive its own idle timeout.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a connection was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    Idle,
    SlowHeaders,
}

pub(crate) struct ConnClock {
    header_timeout: Duration,
    idle_timeout: Duration,
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    in_flight: usize,
    idle_since: Instant,
    /// When the first byte of the next request arrived.
    head_since: Option<Instant>,
}

impl ConnClock {
    pub(crate) fn new(header_timeout: Duration, idle_timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            header_timeout,
            idle_timeout,
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                head_since: None,
            }),
            changed: Notify::new(),
        })
    }

    /// A request's headers were read whole: it is served, with no clock
    /// running, until its response ends (an event stream may take hours).
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        let mut state = self.state();
        state.in_flight += 1;
        state.head_since = None;
        InFlight(self.clone())
    }

    /// Resolves when the connection has been idle, or sending one request's
    /// headers, for longer than allowed.
    pub(crate) async fn expired(&self) -> Expiry {
        loop {
            let deadline = self.deadline();
            match deadline {
                Some((at, why)) if at <= Instant::now() => return why,
                Some((at, _)) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = self.changed.notified() => {}
                },
                None => self.changed.notified().await,
            }
        }
    }

    fn deadline(&self) -> Option<(Instant, Expiry)> {
        let state = self.state();
        match state.head_since {
            _ if state.in_flight > 0 => None,
            Some(since) => Some((since + self.header_timeout, Expiry::SlowHeaders)),
            None => Some((state.idle_since + self.idle_timeout, Expiry::Idle)),
        }
    }

    /// Bytes arrived.
    fn read(&self) {
        let mut state = self.state();
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
            drop(state);
            self.changed.notify_one();
        }
    }

    fn finished(&self) {
        let mut state = self.state();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.head_since = None;
            drop(state);
            self.changed.notify_one();
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A request being served; the clock restarts when the last one is dropped.
pub(crate) struct InFlight(Arc<ConnClock>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished();
    }
}

/// The connection's IO, telling its clock when bytes arrive.
pub(crate) struct Watched<T> {
    io: T,
    clock: Arc<ConnClock>,
}

impl<T> Watched<T> {
    pub(crate) fn new(io: T, clock: Arc<ConnClock>) -> Self {
        Self { io, clock }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.clock.read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A response body that holds its request's [`InFlight`] until it has been
/// sent (or dropped).
pub(crate) struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl Tracked {
    pub(crate) fn new(body: Body, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADERS: Duration = Duration::from_millis(100);
    const IDLE: Duration = Duration::from_millis(300);

    /// Within scheduling noise of `expected`.
    #[track_caller]
    fn about(took: Duration, expected: Duration) {
        assert!(
            took >= expected && took < expected + Duration::from_millis(150),
            "{took:?}, expected {expected:?}"
        );
    }

    #[tokio::test]
    async fn an_idle_connection_expires_after_the_idle_timeout() {
        let clock = ConnClock::new(HEADERS, IDLE);
        let started = Instant::now();
        assert_eq!(clock.expired().await, Expiry::Idle);
        about(started.elapsed(), IDLE);
    }

    #[tokio::test]
    async fn headers_have_their_own_clock_from_the_first_byte() {
        let clock = ConnClock::new(HEADERS, IDLE);
        let waiting = tokio::spawn({
            let clock = clock.clone();
            async move { clock.expired().await }
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        clock.read();
        let first_byte = Instant::now();
        assert_eq!(waiting.await.unwrap(), Expiry::SlowHeaders);
        about(first_byte.elapsed(), HEADERS);
    }

    #[tokio::test]
    async fn no_clock_runs_while_a_request_is_served() {
        let clock = ConnClock::new(HEADERS, IDLE);
        clock.read();
        let in_flight = clock.request();
        let waiting = tokio::spawn({
            let clock = clock.clone();
            async move { clock.expired().await }
        });
        tokio::time::sleep(IDLE * 2).await;
        assert!(!waiting.is_finished());
        drop(in_flight);
        let done = Instant::now();
        assert_eq!(waiting.await.unwrap(), Expiry::Idle);
        about(done.elapsed(), IDLE);
    }
}
