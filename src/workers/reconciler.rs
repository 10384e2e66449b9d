//! Brings every submission to GTF's truth when no callback does: polls
//! PROCESSING submissions with backoff until final, fetches results that
//! are missing, and expires submissions whose upload window lapsed.

use tokio_util::sync::CancellationToken;

use super::{backoff, pause};
use crate::config::ReconcilerConfig;
use crate::domain::{Event, Submission};
use crate::kyc::Kyc;
use crate::store::submissions::{self, Cause};
use crate::telemetry::metrics;

const BATCH: i64 = 20;

/// What one tick did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    pub checked: usize,
    pub expired: usize,
}

pub async fn run(kyc: Kyc, config: ReconcilerConfig, shutdown: CancellationToken) {
    loop {
        match tick(&kyc, &config).await {
            Ok(t) if t.checked as i64 >= BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reconciler: database unavailable"),
        }
        if !pause(config.interval, None, &shutdown).await {
            return;
        }
    }
}

pub async fn tick(kyc: &Kyc, config: &ReconcilerConfig) -> Result<Tick, sqlx::Error> {
    let mut done = Tick::default();
    for id in
        submissions::lapsed_uploads(kyc.db(), config.expiry_grace.as_secs_f64(), BATCH).await?
    {
        if kyc
            .apply(id, &Event::UploadWindowClosed, Cause::Expiry)
            .await
            .is_ok()
        {
            done.expired += 1;
        }
    }
    metrics::reconciler_expired(done.expired);
    // Checked all at once, so the batch ends well within its lease.
    let due = submissions::claim_due(kyc.db(), BATCH, kyc.work_lease().as_secs_f64()).await?;
    let checks = due
        .iter()
        .map(|(s, attempts)| check(kyc, config, s, *attempts));
    futures::future::join_all(checks)
        .await
        .into_iter()
        .collect::<Result<Vec<()>, _>>()?;
    done.checked = due.len();
    Ok(done)
}

/// Brings one claimed submission closer to GTF's truth, then releases it
/// with the next look scheduled (if any is needed).
async fn check(
    kyc: &Kyc,
    config: &ReconcilerConfig,
    s: &Submission,
    attempts: i32,
) -> Result<(), sqlx::Error> {
    let outcome = if s.state.status.is_final() {
        kyc.fetch_result(s, Cause::Reconciler).await
    } else {
        kyc.sync(s, Cause::Reconciler).await
    };
    metrics::reconciler_check(if outcome.is_ok() { "ok" } else { "failed" });
    if let Err(e) = &outcome {
        tracing::warn!(submission = %s.id, error = %e, "reconciler: GTF check failed");
    }
    let delay = backoff(config.first_delay, config.max_delay, attempts);
    submissions::release_check(kyc.db(), s.id, delay.as_secs_f64()).await
}
