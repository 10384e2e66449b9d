//! The verification result: fetched from GTF once, sealed, then served from
//! the database.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::audit::about;
use super::{Kyc, KycError, session};
use crate::crypto::{OpenError, Sealed};
use crate::domain::{Action, Actor, Cause, Event, GtfStatus, Outcome, PartnerUserId, Submission};
use crate::store::results::{self, StoredResult};

/// A final submission with its result details, opened for its owner.
#[derive(Clone)]
pub(crate) struct ResultDetails {
    pub(crate) submission: Submission,
    pub(crate) processed_at: Option<OffsetDateTime>,
    /// GTF's `ktpData`, field names unchanged.
    pub(crate) ktp: Option<Value>,
}

impl Kyc {
    /// `owner`'s own result.
    pub(crate) async fn result(
        &self,
        owner: &PartnerUserId,
        id: Uuid,
        reader: &Actor,
    ) -> Result<ResultDetails, KycError> {
        let s = self.owned(owner, id).await?;
        self.read_result(s, reader).await
    }

    /// The result of `s`, opened, and recorded in the audit log before it
    /// is returned: a read that cannot be recorded returns nothing.
    pub(super) async fn read_result(
        &self,
        mut s: Submission,
        reader: &Actor,
    ) -> Result<ResultDetails, KycError> {
        if s.erased_at.is_some() {
            return Err(KycError::ResultErased);
        }
        if !s.state.status.is_final() {
            return Err(KycError::ResultNotReady);
        }
        let stored = match results::find(&self.db, s.id).await? {
            Some(stored) => stored,
            None => {
                s = self.fetch_result(&s, Cause::ResultFetch).await?;
                results::find(&self.db, s.id)
                    .await?
                    .ok_or(KycError::ResultNotReady)?
            }
        };
        let sealed = match stored.sealed {
            Some(sealed) => sealed,
            None if stored.erased => return Err(KycError::ResultErased),
            None => return Err(KycError::ResultPurged),
        };
        let opened: Value = serde_json::from_slice(&self.keys.open(&sealed, s.id.as_bytes())?)
            .map_err(|_| OpenError::Corrupt)?;
        self.audit(&self.db, &about(reader, Action::ResultRead, &s))
            .await?;
        Ok(ResultDetails {
            processed_at: stored.processed_at.or(s.completed_at),
            ktp: opened.get("ktp").filter(|k| k.is_object()).cloned(),
            submission: s,
        })
    }

    /// Fetches GTF's details for a final submission, stores them sealed, and
    /// records the outcome they carry. Fetching twice stores once.
    pub(crate) async fn fetch_result(
        &self,
        s: &Submission,
        cause: Cause,
    ) -> Result<Submission, KycError> {
        let details = self
            .gtf
            .details(&s.owner, &session(s), &s.gtf_submission_id)
            .await?;
        let status = details
            .status
            .clone()
            .unwrap_or(GtfStatus::Other(String::new()));
        if !status.is_final() {
            // GTF's two APIs disagree for a moment; ask again later.
            return Err(KycError::ResultNotReady);
        }
        let plaintext = json!({ "ktp": details.ktp, "details": details.raw });
        let sealed: Sealed = self
            .keys
            .seal(plaintext.to_string().as_bytes(), s.id.as_bytes());
        let stored = StoredResult {
            status: status.as_str().to_owned(),
            result: details.result.as_ref().map(|r| r.as_str().to_owned()),
            reason_code: details.reason_code.clone(),
            processed_at: details
                .processed_at
                .as_deref()
                .and_then(|p| OffsetDateTime::parse(p, &Rfc3339).ok()),
            sealed,
        };
        let event = Event::Reported {
            status,
            outcome: Outcome {
                result: details.result,
                reason_code: details.reason_code,
            },
        };
        self.apply_with_result(s.id, &event, cause, &stored).await
    }
}
