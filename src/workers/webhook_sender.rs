//! Sends due webhook deliveries: woken by every replica's NOTIFY once an
//! event commits, polling once a second besides. Each delivery runs in its
//! own task, so a slow or dead endpoint holds one slot, never the others.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::events::{Change, ChangeFeed};
use crate::kyc::Kyc;
use crate::telemetry::metrics;

/// Attempts in flight at once, per replica.
const IN_FLIGHT: usize = 64;
/// Looks for due deliveries (retries, other replicas' leases) this often.
const POLL: Duration = Duration::from_secs(1);
/// Claims at most this often, so that a burst is claimed in batches: each
/// claim is a durable commit, and one for every event and every finished
/// attempt cost a burst two commits per delivery.
const CLAIM_EVERY: Duration = Duration::from_millis(5);

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
        let claimed_at = Instant::now();
        let free = slots.available_permits();
        // Every slot taken (or filled now): more may be due, to be claimed
        // once an attempt ends.
        let mut full = free == 0;
        if !full {
            let claimed = match kyc.claim_deliveries(free as i64).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook outbox unavailable");
                    vec![]
                }
            };
            full = claimed.len() == free;
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
        }
        while in_flight.try_join_next().is_some() {}
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(POLL) => {}
            due = deliveries_due(&mut wake) => if !due { break },
            Some(_) = in_flight.join_next(), if full && !in_flight.is_empty() => {}
        }
        tokio::time::sleep_until(claimed_at + CLAIM_EVERY).await;
        // What came meanwhile, the next claim answers.
        drain(&mut wake);
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

/// Drops the news already waiting; the feed's end is left for
/// [`deliveries_due`] to see.
fn drain(wake: &mut broadcast::Receiver<Change>) {
    while matches!(wake.try_recv(), Ok(_) | Err(TryRecvError::Lagged(_))) {}
}
