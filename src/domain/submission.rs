use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{GtfStatus, PartnerUserId, State};

/// The only submission type GTF's KTP Scan flow has, for now.
pub(crate) const KTP_SCAN: &str = "KTP_SCAN";

/// One KYC attempt of one end user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Submission {
    pub(crate) id: Uuid,
    pub(crate) owner: PartnerUserId,
    pub(crate) kind: String,
    pub(crate) gtf_submission_id: String,
    pub(crate) partner_session_id: String,
    pub(crate) sdk_session_id: String,
    pub(crate) state: State,
    /// GTF's last reported status, verbatim.
    pub(crate) gtf_status: Option<GtfStatus>,
    pub(crate) uploads: Vec<Upload>,
    pub(crate) uploads_expire_at: OffsetDateTime,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) updated_at: OffsetDateTime,
    pub(crate) completed_at: Option<OffsetDateTime>,
    /// When its user's personal data was erased: its details are gone, and
    /// a result that arrives later is not stored.
    pub(crate) erased_at: Option<OffsetDateTime>,
}

/// Where and how the app uploads one document GTF asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Upload {
    pub(crate) document: String,
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) headers: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) expires_at: OffsetDateTime,
}
