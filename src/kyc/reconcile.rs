//! The reconciler's work on submissions: expiring lapsed uploads, and
//! looking at those due a look, each claimed for the work lease so that
//! replicas never look at one at the same moment.

use std::time::Duration;

use tracing::Instrument;

use super::Kyc;
use crate::domain::{Cause, Event, Submission};
use crate::store::submissions;
use crate::telemetry::metrics;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tick {
    pub(crate) checked: usize,
    pub(crate) expired: usize,
}

impl Kyc {
    /// One pass over up to `batch` lapsed uploads (past their URLs' expiry by
    /// `expiry_grace`) and `batch` submissions due a look.
    pub(crate) async fn reconcile(
        &self,
        batch: i64,
        expiry_grace: Duration,
    ) -> Result<Tick, sqlx::Error> {
        let mut done = Tick::default();
        for id in submissions::lapsed_uploads(&self.db, expiry_grace.as_secs_f64(), batch).await? {
            let span = tracing::info_span!("expiry", submission = %id);
            if self
                .apply(id, &Event::UploadWindowClosed, Cause::Expiry)
                .instrument(span)
                .await
                .is_ok()
            {
                done.expired += 1;
            }
        }
        metrics::reconciler_expired(done.expired);
        let due = submissions::claim_due(&self.db, batch, self.work_lease().as_secs_f64()).await?;
        // Looked at all at once, so the batch ends well within its lease.
        let looks = due.iter().map(|(s, attempts)| {
            let span = tracing::info_span!("reconcile", submission = %s.id);
            self.look(s, *attempts).instrument(span)
        });
        futures::future::join_all(looks)
            .await
            .into_iter()
            .collect::<Result<Vec<()>, _>>()?;
        done.checked = due.len();
        Ok(done)
    }

    /// Brings one claimed submission closer to GTF's truth, then releases it
    /// with its next look scheduled, as the submission now stands.
    async fn look(&self, s: &Submission, attempts: i32) -> Result<(), sqlx::Error> {
        let outcome = if s.state.status.is_final() {
            self.fetch_result(s, Cause::Reconciler).await
        } else {
            self.sync(s, Cause::Reconciler).await
        };
        metrics::reconciler_check(if outcome.is_ok() { "ok" } else { "failed" });
        if let Err(e) = &outcome {
            tracing::warn!(error = %e, "reconciler: GTF check failed");
        }
        // Read under the lock: a callback may have settled it meanwhile.
        let mut tx = self.db.begin().await?;
        let Some(now) = submissions::lock(&mut tx, s.id).await? else {
            return Ok(());
        };
        let next = self.pacing.next_look(&now.state, attempts);
        submissions::release_check(&mut tx, s.id, next.map(|d| d.as_secs_f64())).await?;
        tx.commit().await
    }
}
