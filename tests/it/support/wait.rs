//! Waiting for a condition instead of sleeping for a guessed while: the
//! one poll loop of the tests.

use std::future::Future;
use std::time::Duration;

/// How long a probe rests between looks.
const POLL: Duration = Duration::from_millis(50);

/// Runs `probe` until it returns `Some`, and returns what it found; panics
/// naming `what` (a phrase such as "the callback to be processed") when
/// `timeout` has passed without it. The probe always runs at least once.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}
