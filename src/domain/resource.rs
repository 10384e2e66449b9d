//! A submission as partners see it, and an erasure: the JSON of the API and
//! of the webhooks' `data`, one shape for both.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Status, Submission, Upload};

/// The submission resource.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubmissionView {
    pub(crate) id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "KTP_SCAN")]
    pub(crate) kind: String,
    pub(crate) status: Status,
    pub(crate) result: Option<String>,
    pub(crate) reason_code: Option<String>,
    /// Present while AWAITING_UPLOAD, omitted after.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub(crate) uploads: Option<Vec<Upload>>,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) completed_at: Option<OffsetDateTime>,
    /// GTF's id, for support conversations with GTF.
    pub(crate) gtf_submission_id: String,
}

impl From<Submission> for SubmissionView {
    fn from(s: Submission) -> Self {
        Self {
            id: s.id,
            kind: s.kind,
            status: s.state.status,
            result: s.state.outcome.result.map(String::from),
            reason_code: s.state.outcome.reason_code,
            uploads: (s.state.status == Status::AwaitingUpload).then_some(s.uploads),
            created_at: s.created_at,
            updated_at: s.updated_at,
            completed_at: s.completed_at,
            gtf_submission_id: s.gtf_submission_id,
        }
    }
}

/// An erasure of a user's personal data: the operator API's answer, and
/// `kyc.user.erased`'s `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErasureView {
    pub(crate) partner_user_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) erased_at: OffsetDateTime,
    /// Every submission of the user whose personal data is erased.
    pub(crate) submissions: Vec<Uuid>,
}
