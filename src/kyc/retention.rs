//! Retention: result details, verified callback bodies and finished
//! webhook deliveries are purged once older than `RETENTION_DAYS`; what
//! proves a verification happened stays. The access audit log is kept
//! longer, `AUDIT_RETENTION_DAYS`. Callbacks for no known submission go
//! after a week, idempotency keys once they can no longer be replayed.

use std::time::Duration;

use super::Kyc;
use super::create::KEY_KEPT;
use crate::store::{audit, idempotency, inbox, results, webhooks};

/// How long callbacks naming no known submission are kept: long enough to
/// look into what sent them, short enough that junk does not pile up.
const UNMATCHED_CALLBACKS_KEPT: Duration = Duration::from_secs(7 * 86_400);

/// What one purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Purged {
    pub(crate) details: u64,
    pub(crate) callbacks: u64,
    pub(crate) deliveries: u64,
    pub(crate) unmatched_callbacks: u64,
    pub(crate) idempotency_keys: u64,
    pub(crate) audit_entries: u64,
}

impl Purged {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Kyc {
    /// Purges everything past its time (`retention` for details and
    /// callbacks, `audit_retention` for the audit log), a batch at a time.
    pub(crate) async fn purge(
        &self,
        retention: Duration,
        audit_retention: Duration,
    ) -> Result<Purged, sqlx::Error> {
        let age = retention.as_secs_f64();
        let unmatched_age = UNMATCHED_CALLBACKS_KEPT.as_secs_f64();
        Ok(Purged {
            details: in_batches(|| results::purge_older_than(&self.db, age)).await?,
            callbacks: in_batches(|| inbox::purge_older_than(&self.db, age)).await?,
            deliveries: in_batches(|| webhooks::purge_older_than(&self.db, age)).await?,
            unmatched_callbacks: in_batches(|| {
                inbox::purge_unmatched_older_than(&self.db, unmatched_age)
            })
            .await?,
            idempotency_keys: in_batches(|| {
                idempotency::purge_older_than(&self.db, KEY_KEPT.as_secs_f64())
            })
            .await?,
            audit_entries: in_batches(|| {
                audit::purge_older_than(&self.db, audit_retention.as_secs_f64())
            })
            .await?,
        })
    }
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
