//! The partner API's JSON shapes, built from domain types.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Status;
pub(crate) use crate::domain::SubmissionView;
use crate::kyc::ResultDetails;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubmissionList {
    pub(crate) items: Vec<SubmissionView>,
    pub(crate) next_cursor: Option<String>,
}

/// The result resource. `ktp` is personal data: no `Debug`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResultView {
    pub(crate) id: Uuid,
    pub(crate) status: Status,
    pub(crate) result: Option<String>,
    pub(crate) reason_code: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) processed_at: Option<OffsetDateTime>,
    /// GTF's `ktpData`, field names unchanged (`nik`, `name`,
    /// `dateOfBirth`, `address`, …), or null when GTF returned none.
    #[schema(value_type = Option<Object>)]
    pub(crate) ktp: Option<Value>,
}

impl From<ResultDetails> for ResultView {
    fn from(r: ResultDetails) -> Self {
        Self {
            id: r.submission.id,
            status: r.submission.state.status,
            result: r.submission.state.outcome.result.map(String::from),
            reason_code: r.submission.state.outcome.reason_code,
            processed_at: r.processed_at,
            ktp: r.ktp,
        }
    }
}
