//! The partner API's JSON shapes, built from domain types.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Action, ActorKind, Status, Submission};
pub(crate) use crate::domain::{ErasureView, SubmissionView};
use crate::kyc::{AuditEntry, AuditPage, Delivery, Dossier, Page, ResultDetails};

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

/// A submission as operators see it: with its user, and when their data
/// was erased. Without upload URLs: support has no use for them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperatorSubmission {
    #[serde(flatten)]
    pub(crate) submission: SubmissionView,
    pub(crate) partner_user_id: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) erased_at: Option<OffsetDateTime>,
}

impl From<Submission> for OperatorSubmission {
    fn from(s: Submission) -> Self {
        let partner_user_id = s.owner.as_str().to_owned();
        let erased_at = s.erased_at;
        let mut submission = SubmissionView::from(s);
        submission.uploads = None;
        Self {
            submission,
            partner_user_id,
            erased_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OperatorSubmissionList {
    pub(crate) items: Vec<OperatorSubmission>,
    pub(crate) next_cursor: Option<String>,
}

impl From<Page> for OperatorSubmissionList {
    fn from(page: Page) -> Self {
        Self {
            items: page
                .items
                .into_iter()
                .map(OperatorSubmission::from)
                .collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// One submission with everything that happened to it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubmissionDossier {
    #[serde(flatten)]
    pub(crate) submission: OperatorSubmission,
    /// Every transition, oldest first.
    pub(crate) history: Vec<TransitionView>,
    /// Every callback received from GTF, oldest first.
    pub(crate) callbacks: Vec<CallbackView>,
    /// Every webhook delivery of its events, oldest first.
    pub(crate) webhooks: Vec<DeliveryView>,
}

impl From<Dossier> for SubmissionDossier {
    fn from(d: Dossier) -> Self {
        Self {
            submission: d.submission.into(),
            history: d
                .history
                .into_iter()
                .map(|t| TransitionView {
                    from: t.from,
                    to: t.to,
                    cause: t.cause,
                    at: t.at,
                })
                .collect(),
            callbacks: d
                .callbacks
                .into_iter()
                .map(|c| CallbackView {
                    received_at: c.received_at,
                    status: c.status,
                    result: c.result,
                    outcome: c.outcome,
                })
                .collect(),
            webhooks: d.deliveries.into_iter().map(DeliveryView::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransitionView {
    /// Null for the entry that created the submission.
    pub(crate) from: Option<Status>,
    pub(crate) to: Status,
    /// What caused it: `created`, `confirm`, `refresh`, `callback`,
    /// `reconciler`, `expiry`, `result_fetch` or `operator`.
    pub(crate) cause: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallbackView {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) received_at: OffsetDateTime,
    /// GTF's words, as it sent them.
    pub(crate) status: String,
    pub(crate) result: Option<String>,
    /// What verifying it with GTF found; null while it waits.
    pub(crate) outcome: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

/// A webhook delivery: one event to one endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryView {
    pub(crate) id: Uuid,
    /// The endpoint's URL, without credentials or query string.
    pub(crate) endpoint: String,
    /// The event's type, e.g. `kyc.submission.completed`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) status: DeliveryStatus,
    /// Attempts in the current series.
    pub(crate) attempts: i32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) last_attempt_at: Option<OffsetDateTime>,
    /// When the next attempt is due; null unless pending.
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) next_attempt_at: Option<OffsetDateTime>,
    /// The HTTP status of the last answer; null when there was none.
    pub(crate) last_response_status: Option<i32>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            endpoint: shown_endpoint(&d.endpoint),
            kind: d.kind,
            status: match d.status.as_str() {
                "pending" => DeliveryStatus::Pending,
                "succeeded" => DeliveryStatus::Succeeded,
                // The table allows no other value.
                _ => DeliveryStatus::Failed,
            },
            attempts: d.attempts,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at,
            last_response_status: d.last_response_status,
        }
    }
}

/// A webhook URL may carry a credential in its user info or query string:
/// operators are shown neither.
fn shown_endpoint(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            // Only a URL that cannot be a base refuses these, and an endpoint
            // is always http(s).
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.to_string()
        }
        Err(_) => String::new(),
    }
}

/// How many deliveries were sent again.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Resent {
    pub(crate) resent: u64,
}

/// An entry of the access audit log. It never holds KTP data.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditEntryView {
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) at: OffsetDateTime,
    /// The token's `sub`.
    pub(crate) actor: String,
    pub(crate) actor_kind: ActorKind,
    pub(crate) action: Action,
    pub(crate) partner_user_id: Option<String>,
    pub(crate) submission_id: Option<Uuid>,
    /// The request's `x-request-id`: its log lines carry it too.
    pub(crate) request_id: String,
    /// What else the action concerned: a delivery, a count.
    #[schema(value_type = Option<Object>)]
    pub(crate) detail: Option<Value>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        Self {
            at: e.at,
            actor: e.actor,
            actor_kind: e.actor_kind,
            action: e.action,
            partner_user_id: e.partner_user_id,
            submission_id: e.submission_id,
            request_id: e.request_id,
            detail: e.detail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditList {
    pub(crate) items: Vec<AuditEntryView>,
    pub(crate) next_cursor: Option<String>,
}

impl From<AuditPage> for AuditList {
    fn from(page: AuditPage) -> Self {
        Self {
            items: page.items.into_iter().map(AuditEntryView::from).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shown_endpoint;

    #[test]
    fn endpoints_are_shown_without_credentials() {
        assert_eq!(
            shown_endpoint("https://user:secret@hooks.example/kyc?token=abc#x"),
            "https://hooks.example/kyc"
        );
        assert_eq!(
            shown_endpoint("http://127.0.0.1:9494/"),
            "http://127.0.0.1:9494/"
        );
    }
}
