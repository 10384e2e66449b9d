//! Verifies stored callbacks with GTF, soon after they arrive, and again
//! after a restart or on another replica if need be.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::kyc::Kyc;

/// Callbacks claimed per pass.
const BATCH: i64 = 20;
/// Looks for callbacks other replicas stored at least this often.
const POLL: Duration = Duration::from_secs(1);

pub(super) async fn run(kyc: Kyc, shutdown: CancellationToken) {
    loop {
        match drain(&kyc).await {
            // A full batch: there may be more.
            Ok(n) if n as i64 >= BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "callback inbox unavailable"),
        }
        if !pause(POLL, kyc.callback_stored(), &shutdown).await {
            return;
        }
    }
}

/// One pass: claims pending callbacks and verifies them all at once, so
/// that the batch ends well within its lease. Returns how many it claimed.
async fn drain(kyc: &Kyc) -> Result<usize, sqlx::Error> {
    let pending = kyc.claim_callbacks(BATCH).await?;
    let settled = futures::future::join_all(pending.iter().map(|p| kyc.settle_callback(p))).await;
    settled.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(pending.len())
}
