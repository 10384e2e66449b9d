//! Verifies stored callbacks with GTF, soon after they arrive, and again
//! after a restart or on another replica if need be.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{backoff, pause};
use crate::kyc::{Kyc, KycError};
use crate::store::{self, inbox};
use crate::telemetry::metrics;

/// Callbacks claimed per pass.
const BATCH: i64 = 20;
/// Looks for callbacks other replicas stored at least this often.
const POLL: Duration = Duration::from_secs(1);
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_CAP: Duration = Duration::from_secs(300);

pub async fn run(kyc: Kyc, nudge: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        match drain(&kyc).await {
            // A full batch: there may be more.
            Ok(n) if n as i64 >= BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "callback inbox unavailable"),
        }
        if !pause(POLL, Some(&nudge), &shutdown).await {
            return;
        }
    }
}

/// One pass: claims pending callbacks and verifies them with GTF, all at
/// once so that the batch ends well within its lease. Returns how many it
/// claimed.
pub async fn drain(kyc: &Kyc) -> Result<usize, sqlx::Error> {
    let pending = inbox::claim(kyc.db(), BATCH, kyc.work_lease().as_secs_f64()).await?;
    let outcomes = futures::future::join_all(pending.iter().map(|item| verify(kyc, item))).await;
    outcomes.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(pending.len())
}

async fn verify(kyc: &Kyc, item: &inbox::Pending) -> Result<(), sqlx::Error> {
    match kyc.verify_callback(&item.gtf_submission_id).await {
        Ok(verification) => {
            metrics::callback_verified(verification.kind());
            tracing::info!(callback = item.id, outcome = %verification.describe(), "callback verified");
            inbox::finish(kyc.db(), item.id, &verification.describe()).await
        }
        Err(e) => {
            metrics::callback_verified("failed");
            let delay = backoff(RETRY_FIRST, RETRY_CAP, item.attempts);
            tracing::warn!(callback = item.id, error = %e, retry_in_s = delay.as_secs(), "callback verification failed");
            if matches!(&e, KycError::Database(db) if store::is_unavailable(db)) {
                // The lease lapses and another pass picks it up.
                return Ok(());
            }
            inbox::retry_later(
                kyc.db(),
                item.id,
                delay.as_secs_f64(),
                "verification failed",
            )
            .await
        }
    }
}
