//! Acting on a stored callback: a hint to ask GTF, never the truth itself
//! (partner-api.md §3, "verify-by-fetch").

use super::{Kyc, KycError};
use crate::domain::Status;
use crate::store::submissions::{self, Cause};

/// What checking one callback with GTF found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// No submission has that GTF id: kept in the inbox, nothing to change.
    UnknownSubmission,
    /// The submission already had its final state and result.
    AlreadyFinal,
    /// GTF was asked; the submission is now in this state.
    Checked(Status),
}

impl Verification {
    /// A label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownSubmission => "unknown_submission",
            Self::AlreadyFinal => "already_final",
            Self::Checked(_) => "checked",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::UnknownSubmission => "unknown submission".to_owned(),
            Self::AlreadyFinal => "already final".to_owned(),
            Self::Checked(status) => format!("checked: {}", status.as_str()),
        }
    }
}

impl Kyc {
    /// Asks GTF about the submission a callback names and applies only what
    /// GTF's own API says, so a forged or stale callback changes nothing.
    pub async fn verify_callback(&self, gtf_submission_id: &str) -> Result<Verification, KycError> {
        let Some(s) = submissions::find_by_gtf_id(&self.db, gtf_submission_id).await? else {
            return Ok(Verification::UnknownSubmission);
        };
        if s.state.status.is_final() && s.state.outcome.is_known() {
            return Ok(Verification::AlreadyFinal);
        }
        let s = self.sync(&s, Cause::Callback).await?;
        Ok(Verification::Checked(s.state.status))
    }
}
