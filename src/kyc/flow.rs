//! Reading, listing, confirming and refreshing submissions.

use time::OffsetDateTime;
use uuid::Uuid;

use super::cursor::{self, Listing};
use super::{Kyc, KycError, session};
use crate::domain::{Cause, Event, Outcome, PartnerUserId, Status, Submission};
use crate::store::submissions;

/// `?refresh=true` asks GTF at most this often per submission.
const REFRESH_INTERVAL_SECS: f64 = 5.0;

/// GTF's causes that the flow answers specially.
const STATE_CONFLICT: &str = "SUBMISSION_STATE_CONFLICT";
const INVALID_UPLOAD_ARTIFACT: &str = "INVALID_UPLOAD_ARTIFACT";

/// One page of a listing, newest first.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) items: Vec<Submission>,
    /// Opaque; `None` on the last page.
    pub(crate) next_cursor: Option<String>,
}

impl Kyc {
    pub(crate) async fn get(
        &self,
        owner: &PartnerUserId,
        id: Uuid,
        refresh: bool,
    ) -> Result<Submission, KycError> {
        let s = self.owned(owner, id).await?;
        if refresh
            && !s.state.is_settled()
            && submissions::claim_refresh(&self.db, id, REFRESH_INTERVAL_SECS).await?
        {
            // Boxed: the GTF call's state is large, and every read would
            // carry (and move) it otherwise.
            return Box::pin(self.sync(&s, Cause::Refresh)).await;
        }
        Ok(s)
    }

    /// `owner`'s submissions after `cursor` (a previous page's
    /// `next_cursor`), at most `limit`.
    pub(crate) async fn list(
        &self,
        owner: &PartnerUserId,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, KycError> {
        let after = self.submissions_after(cursor)?;
        let items =
            submissions::list_owned(&self.db, owner, after, cursor::fetch_for(limit)).await?;
        Ok(self.submissions_page(items, limit))
    }

    /// Tells GTF the upload is done. Idempotent: a submission already past
    /// the upload is returned unchanged, and GTF's "already confirmed" counts
    /// as success.
    pub(crate) async fn confirm(
        &self,
        owner: &PartnerUserId,
        id: Uuid,
    ) -> Result<Submission, KycError> {
        let s = self.owned(owner, id).await?;
        match s.state.status {
            Status::Expired => return Err(KycError::Expired),
            Status::Processing | Status::Completed | Status::Failed => return Ok(s),
            Status::AwaitingUpload => {}
        }
        match self
            .gtf
            .confirm(owner, &session(&s), &s.gtf_submission_id)
            .await
        {
            Ok(()) => {}
            Err(e) if e.status() == Some(409) && e.cause() == Some(STATE_CONFLICT) => {
                tracing::info!(submission = %id, "GTF says the submission was already confirmed");
            }
            Err(e) if e.status() == Some(422) && e.cause() == Some(INVALID_UPLOAD_ARTIFACT) => {
                // Too late to upload now: the submission cannot be finished.
                if OffsetDateTime::now_utc() >= s.uploads_expire_at {
                    self.apply(id, &Event::UploadWindowClosed, Cause::Confirm)
                        .await?;
                    return Err(KycError::Expired);
                }
                return Err(KycError::UploadMissing);
            }
            Err(e) => return Err(e.into()),
        }
        self.apply(id, &Event::Confirmed, Cause::Confirm).await
    }

    /// Asks GTF where the submission is and applies the answer. Once GTF
    /// says it is final, the result is fetched first, so that the final
    /// status and its outcome land in one change (a client never sees
    /// COMPLETED without its result unless the details cannot be had). The
    /// one path by which GTF's word reaches a submission: refresh, callbacks
    /// and the reconciler all come here.
    pub(crate) async fn sync(&self, s: &Submission, cause: Cause) -> Result<Submission, KycError> {
        let report = self
            .gtf
            .status(&s.owner, &session(s), &s.gtf_submission_id)
            .await?;
        if report.status.is_final() {
            match self.fetch_result(s, cause).await {
                Ok(s) => return Ok(s),
                // The status is GTF's truth already; the reconciler fetches
                // the result later.
                Err(err) => {
                    tracing::warn!(submission = %s.id, error = %err, "fetching the result failed");
                }
            }
        }
        let event = Event::Reported {
            status: report.status,
            outcome: Outcome::default(),
        };
        self.apply(s.id, &event, cause).await
    }

    /// Where a listing of submissions resumes after `cursor`.
    pub(super) fn submissions_after(
        &self,
        cursor: Option<&str>,
    ) -> Result<Option<(OffsetDateTime, Uuid)>, KycError> {
        cursor
            .map(|c| cursor::decode(&self.keys, Listing::Submissions, c))
            .transpose()
    }

    /// A page of at most `limit` of `items` (fetched with one more).
    pub(super) fn submissions_page(&self, items: Vec<Submission>, limit: usize) -> Page {
        let (items, next_cursor) = cursor::page(items, limit, |s| {
            cursor::encode(&self.keys, Listing::Submissions, s.created_at, s.id)
        });
        Page { items, next_cursor }
    }

    pub(crate) async fn owned(
        &self,
        owner: &PartnerUserId,
        id: Uuid,
    ) -> Result<Submission, KycError> {
        submissions::find_owned(&self.db, id, owner)
            .await?
            .ok_or(KycError::NotFound)
    }
}
