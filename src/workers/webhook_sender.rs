//! Sends due webhook deliveries: woken by every replica's NOTIFY the moment
//! an event commits, polling once a second besides. Each delivery runs in
//! its own task, so a slow or dead endpoint holds one slot, never the
//! others.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::events::{Change, ChangeFeed};
use crate::kyc::Kyc;
use crate::telemetry::metrics;

/// Attempts in flight at once, per replica.
const IN_FLIGHT: usize = 64;
/// Looks for due deliveries (retries, other replicas' leases) this often.
const POLL: Duration = Duration::from_secs(1);

pub(super) async fn run(kyc: Kyc, changes: ChangeFeed, shutdown: CancellationToken) {
    if !kyc.sends_webhooks() {
        return;
    }
    let mut wake = changes.subscribe();
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut in_flight = JoinSet::new();
    let mut gauged = Instant::now() - POLL;
    loop {
        if gauged.elapsed() >= POLL {
            gauged = Instant::now();
            if let Ok(age) = kyc.oldest_pending_delivery().await {
                metrics::webhook_oldest_pending(age);
            }
        }
        let free = slots.available_permits();
        let claimed = match kyc.claim_deliveries(free as i64).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "webhook outbox unavailable");
                vec![]
            }
        };
        let full = free > 0 && claimed.len() == free;
        for due in claimed {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let kyc = kyc.clone();
            let span = tracing::info_span!("webhook", delivery = %due.id);
            in_flight.spawn(
                async move {
                    let _slot = slot;
                    if let Err(e) = kyc.deliver(&due).await {
                        tracing::warn!(error = %e, "webhook attempt not recorded; it is retried after its lease");
                    }
                }
                .instrument(span),
            );
        }
        while in_flight.try_join_next().is_some() {}
        if full {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(POLL) => {}
            due = deliveries_due(&mut wake) => if !due { break },
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
        }
    }
    // Attempts under way finish (the shutdown grace bounds the wait); one
    // cut short is taken up again by any replica once its lease lapses.
    while in_flight.join_next().await.is_some() {}
}

/// Waits for news of due deliveries (or of notifications that may have been
/// missed: every [`Change`] is a reason to claim). False once the feed ends.
async fn deliveries_due(wake: &mut broadcast::Receiver<Change>) -> bool {
    !matches!(wake.recv().await, Err(RecvError::Closed))
}
