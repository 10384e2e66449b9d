//! Brings every submission to GTF's truth when no callback does: polls
//! PROCESSING submissions with backoff until final, fetches results that
//! are missing, and expires submissions whose upload window lapsed. When it
//! looks is decided by `domain::Pacing`.

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::config::ReconcilerConfig;
use crate::kyc::Kyc;

const BATCH: i64 = 20;

pub(super) async fn run(kyc: Kyc, config: ReconcilerConfig, shutdown: CancellationToken) {
    loop {
        match kyc.reconcile(BATCH, config.expiry_grace).await {
            Ok(t) if t.checked as i64 >= BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reconciler: database unavailable"),
        }
        if !pause(config.interval, std::future::pending(), &shutdown).await {
            return;
        }
    }
}
