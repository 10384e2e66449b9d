//! Retention: result details, verified callback bodies and finished
//! webhook deliveries are purged once older than `RETENTION_DAYS`; what proves a verification happened stays.

use std::time::Duration;

use super::Kyc;
use crate::store::{inbox, results, webhooks};

/// What one purge removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Purged {
    pub(crate) details: u64,
    pub(crate) callbacks: u64,
    pub(crate) deliveries: u64,
}

impl Purged {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Kyc {
    /// Purges everything past `retention`, a batch at a time.
    pub(crate) async fn purge(&self, retention: Duration) -> Result<Purged, sqlx::Error> {
        let age = retention.as_secs_f64();
        Ok(Purged {
            details: in_batches(|| results::purge_older_than(&self.db, age)).await?,
            callbacks: in_batches(|| inbox::purge_older_than(&self.db, age)).await?,
            deliveries: in_batches(|| webhooks::purge_older_than(&self.db, age)).await?,
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
