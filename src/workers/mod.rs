//! Background work: verifying stored callbacks, reconciling submissions with
//! GTF, sending webhooks, and housekeeping. Each worker is a loop that paces calls into the
//! flow (`kyc`); the flow claims rows with `FOR UPDATE SKIP LOCKED` and a
//! lease and calls GTF outside any transaction, so every replica may run
//! them at once.

mod callback_verifier;
mod housekeeping;
mod reconciler;
mod webhook_sender;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::ReconcilerConfig;
use crate::events::ChangeFeed;
use crate::kyc::Kyc;
use crate::limits::Limits;

/// What the workers need besides the flow itself.
pub(crate) struct WorkerDeps {
    pub(crate) reconciler: ReconcilerConfig,
    pub(crate) limits: Arc<Limits>,
    pub(crate) retention: Duration,
    pub(crate) audit_retention: Duration,
    /// Wakes the webhook sender when deliveries commit anywhere.
    pub(crate) changes: ChangeFeed,
}

/// Starts the workers; they stop, after finishing the item at hand, when
/// `shutdown` is cancelled.
pub(crate) fn spawn(kyc: Kyc, deps: WorkerDeps, shutdown: CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(housekeeping::run(
        kyc.clone(),
        deps.limits,
        deps.retention,
        deps.audit_retention,
        deps.reconciler.interval,
        shutdown.clone(),
    ));
    set.spawn(callback_verifier::run(kyc.clone(), shutdown.clone()));
    set.spawn(webhook_sender::run(
        kyc.clone(),
        deps.changes,
        shutdown.clone(),
    ));
    set.spawn(reconciler::run(kyc, deps.reconciler, shutdown));
    set
}

/// Sleeps `period`, or less if `wake` resolves first; false once stopping.
async fn pause(
    period: Duration,
    wake: impl Future<Output = ()>,
    shutdown: &CancellationToken,
) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => false,
        () = tokio::time::sleep(period) => true,
        () = wake => true,
    }
}
