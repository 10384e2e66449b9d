use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{GtfStatus, PartnerUserId, State};

/// The only submission type GTF's KTP Scan flow has, for now.
pub const KTP_SCAN: &str = "KTP_SCAN";

/// One KYC attempt of one end user.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub id: Uuid,
    pub owner: PartnerUserId,
    pub kind: String,
    pub gtf_submission_id: String,
    pub partner_session_id: String,
    pub sdk_session_id: String,
    pub state: State,
    /// GTF's last reported status, verbatim.
    pub gtf_status: Option<GtfStatus>,
    pub uploads: Vec<Upload>,
    pub uploads_expire_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

/// Where and how the app uploads one document GTF asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    pub document: String,
    pub url: String,
    pub method: String,
    pub headers: BTreeMap<String, String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}
