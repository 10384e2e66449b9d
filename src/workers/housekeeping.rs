//! Retention and tidying: purges data past its time (`RETENTION_DAYS`,
//! `AUDIT_RETENTION_DAYS` and the fixed lifetimes in `kyc::retention`), lets rate
//! limiters forget idle keys, and drains the metrics recorder's histogram
//! samples.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::pause;
use crate::kyc::Kyc;
use crate::limits::Limits;
use crate::telemetry::metrics;

pub(super) async fn run(
    kyc: Kyc,
    limits: Arc<Limits>,
    retention: Duration,
    audit_retention: Duration,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        limits.forget_idle();
        metrics::upkeep();
        match kyc.purge(retention, audit_retention).await {
            Ok(p) if p.is_empty() => {}
            Ok(p) => {
                tracing::info!(
                    details = p.details,
                    callbacks = p.callbacks,
                    deliveries = p.deliveries,
                    unmatched_callbacks = p.unmatched_callbacks,
                    idempotency_keys = p.idempotency_keys,
                    audit_entries = p.audit_entries,
                    "purged data past its retention"
                );
            }
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
        if !pause(every, std::future::pending(), &shutdown).await {
            return;
        }
    }
}
