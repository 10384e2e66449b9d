//! The one place a submission changes: lock the row, run the status
//! machine, write the new state with the reconciler's next look, record the
//! history and write the webhook event it is, all in one transaction; then
//! announce it to every replica.

use sqlx::{Connection, PgExecutor};
use uuid::Uuid;

use super::{Kyc, KycError};
use crate::domain::{Cause, Event, Submission};
use crate::store::announce;
use crate::store::results::{self, StoredResult};
use crate::store::submissions::{self, NewState};

impl Kyc {
    /// Applies `event` to the submission; returns it as it now is.
    pub(crate) async fn apply(
        &self,
        id: Uuid,
        event: &Event,
        cause: Cause,
    ) -> Result<Submission, KycError> {
        self.change(id, event, cause, None).await
    }

    /// Like [`Self::apply`], storing GTF's result details in the same
    /// transaction, so the outcome and the details that carry it land
    /// together or not at all.
    pub(crate) async fn apply_with_result(
        &self,
        id: Uuid,
        event: &Event,
        cause: Cause,
        result: &StoredResult,
    ) -> Result<Submission, KycError> {
        self.change(id, event, cause, Some(result)).await
    }

    async fn change(
        &self,
        id: Uuid,
        event: &Event,
        cause: Cause,
        result: Option<&StoredResult>,
    ) -> Result<Submission, KycError> {
        // Held past the commit: the announcement goes on the same connection.
        let mut conn = self.db.acquire().await?;
        let mut tx = conn.begin().await?;
        let current = submissions::lock(&mut tx, id)
            .await?
            .ok_or(KycError::NotFound)?;
        if let Some(result) = result {
            // Details that arrive after their user's erasure are not
            // stored: the outcome is, below, and the summary.
            results::insert(&mut *tx, id, result, current.erased_at.is_some()).await?;
        }
        let reported = match event {
            Event::Reported { status, .. } => Some(status),
            _ => None,
        };
        let Some(next) = current.state.apply(event) else {
            if let Some(status) = reported.filter(|s| Some(*s) != current.gtf_status.as_ref()) {
                // Not a state change, but GTF's latest word is worth keeping.
                submissions::set_gtf_status(&mut tx, id, status).await?;
            }
            tx.commit().await?;
            return Ok(current);
        };
        let next_check = self.pacing.first_look(&next).map(|d| d.as_secs_f64());
        let change = NewState {
            from: current.state.status,
            to: &next,
            cause,
            gtf_status: reported,
            next_check_secs: next_check,
        };
        let changed = submissions::update_state(&mut tx, id, &change).await?;
        let queued = self.record_event(&mut tx, &current.state, &changed).await?;
        tx.commit().await?;
        tracing::info!(submission = %id, status = next.status.as_str(), cause = cause.as_str(), "submission changed");
        announce_committed(&mut *conn, Some(id), queued).await;
        Ok(changed)
    }
}

/// Wakes every replica's streams of submission `changed` and, with
/// `webhooks_due`, their webhook senders, once the change is committed
/// (`store::announce` says why not in its transaction). A failure costs only
/// the wake-up, not the change: senders also poll every second and streams
/// reload every 30 s.
pub(super) async fn announce_committed(
    db: impl PgExecutor<'_>,
    changed: Option<Uuid>,
    webhooks_due: bool,
) {
    if changed.is_none() && !webhooks_due {
        return;
    }
    if let Err(e) = announce::announce(db, changed, webhooks_due).await {
        tracing::warn!(error = %e, "a committed change was not announced");
    }
}
