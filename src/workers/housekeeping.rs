//! Retention and tidying: purges result details and verified callback
//! bodies older than `RETENTION_DAYS`, lets rate limiters forget idle keys,
//! and drains the metrics recorder's histogram samples.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::pause;
use crate::limits::Limits;
use crate::store::{inbox, results};
use crate::telemetry::metrics;

pub async fn run(
    db: PgPool,
    limits: Arc<Limits>,
    retention: Duration,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        limits.forget_idle();
        metrics::upkeep();
        match purge(&db, retention).await {
            Ok((0, 0)) => {}
            Ok((details, callbacks)) => {
                tracing::info!(details, callbacks, "purged data past its retention");
            }
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
        if !pause(every, None, &shutdown).await {
            return;
        }
    }
}

/// One pass; returns the result details and callbacks purged.
pub async fn purge(db: &PgPool, retention: Duration) -> Result<(u64, u64), sqlx::Error> {
    let age = retention.as_secs_f64();
    let details = in_batches(|| results::purge_older_than(db, age)).await?;
    let callbacks = in_batches(|| inbox::purge_older_than(db, age)).await?;
    Ok((details, callbacks))
}

/// Runs `batch` until it finds nothing more to do; returns the total.
async fn in_batches<F: Future<Output = Result<u64, sqlx::Error>>>(
    batch: impl Fn() -> F,
) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        match batch().await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}
