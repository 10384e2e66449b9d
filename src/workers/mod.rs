//! Background work (partner-api.md §4): verifying stored callbacks and
//! reconciling submissions with GTF. Safe to run in every replica at once:
//! rows are claimed with `FOR UPDATE SKIP LOCKED` and a lease, and GTF is
//! called outside any transaction.

pub mod housekeeping;
pub mod inbox;
pub mod reconciler;

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::ReconcilerConfig;
use crate::kyc::Kyc;
use crate::limits::Limits;

/// What the workers need besides the flow itself.
pub struct WorkerDeps {
    pub reconciler: ReconcilerConfig,
    /// Wakes the inbox worker at once when this replica stored a callback.
    pub nudge: Arc<Notify>,
    pub limits: Arc<Limits>,
    pub retention: Duration,
}

/// Starts the workers; they stop, after finishing the item at hand, when
/// `shutdown` is cancelled.
pub fn spawn(kyc: Kyc, deps: WorkerDeps, shutdown: CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(housekeeping::run(
        kyc.db().clone(),
        deps.limits,
        deps.retention,
        deps.reconciler.interval,
        shutdown.clone(),
    ));
    set.spawn(inbox::run(kyc.clone(), deps.nudge, shutdown.clone()));
    set.spawn(reconciler::run(kyc, deps.reconciler, shutdown));
    set
}

/// `min(cap, first × 1.5^attempts)` plus up to `first` of jitter, so that
/// replicas and retries spread out.
pub fn backoff(first: Duration, cap: Duration, attempts: i32) -> Duration {
    let grown = first.as_secs_f64() * 1.5f64.powi(attempts.clamp(0, 64));
    let base = Duration::from_secs_f64(grown.min(cap.as_secs_f64()));
    let jitter = rand::rng().random_range(0.0..=first.as_secs_f64());
    base + Duration::from_secs_f64(jitter)
}

/// Sleeps `period`, or less if woken or told to stop; false once stopping.
async fn pause(period: Duration, wake: Option<&Notify>, shutdown: &CancellationToken) -> bool {
    let woken = async {
        match wake {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(period) => true,
        () = woken => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_five_to_ten_seconds_and_is_capped() {
        let (first, cap) = (Duration::from_secs(5), Duration::from_secs(300));
        for _ in 0..100 {
            let d = backoff(first, cap, 0);
            assert!(d >= first && d <= first * 2, "{d:?}");
            let d = backoff(first, cap, 50);
            assert!(d >= cap && d <= cap + first, "{d:?}");
        }
        assert!(backoff(first, cap, 4) > Duration::from_secs(25));
    }
}
