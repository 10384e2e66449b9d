//! GTF's callbacks: what one must carry to be stored, storing it before it
//! is acknowledged, and acting on it afterwards. A callback is a hint to ask
//! GTF ("verify by fetch"), never the truth itself.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tracing::Instrument;
use utoipa::ToSchema;

use super::{Kyc, KycError};
use crate::domain::{Cause, GtfStatus, Status, backoff};
use crate::store::{self, inbox, submissions};
use crate::telemetry::metrics;

pub(crate) use crate::store::inbox::{Pending as PendingCallback, Stored};

/// A failed verification is retried after this long, growing to `RETRY_CAP`.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_CAP: Duration = Duration::from_secs(300);
/// Inbox rows per submissionId. GTF sends a handful per submission (one per
/// status it reaches); beyond this, new callbacks are acknowledged and
/// dropped, so that callbacks naming one id cannot grow the inbox.
const ROWS_PER_SUBMISSION: i64 = 20;

/// GTF's four documented fields; anything else is kept in the stored body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackBody {
    pub submission_id: String,
    #[schema(example = "COMPLETED")]
    pub status: String,
    #[serde(default)]
    #[schema(example = "VALID")]
    pub result: Option<String>,
    #[serde(default)]
    pub reason_code: Option<String>,
}

/// A callback as it is stored: its fields, and the body whole.
#[derive(Debug)]
pub struct Callback {
    pub fields: CallbackBody,
    pub raw: Value,
}

/// Parses and checks a callback body; the error says what is wrong, for a
/// 400 the sender will not retry. The fuzz target calls it too.
pub fn parse_callback(body: &[u8]) -> Result<Callback, String> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| format!("not JSON (line {} column {})", e.line(), e.column()))?;
    let fields: CallbackBody = serde_json::from_value(raw.clone())
        .map_err(|_| "expected submissionId and status strings".to_owned())?;
    // PostgreSQL cannot store U+0000 in text or jsonb: refusing it now is a
    // 400 GTF will not retry, rather than a 503 it would retry forever.
    if has_nul(&raw) {
        return Err("contains U+0000".into());
    }
    let fits = |s: &str, max: usize| (1..=max).contains(&s.len());
    if !fits(&fields.submission_id, 128)
        || !fits(&fields.status, 64)
        || fields.result.as_deref().is_some_and(|r| !fits(r, 64))
    {
        return Err("a field is empty or too long".into());
    }
    Ok(Callback { fields, raw })
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// What checking one callback with GTF found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verification {
    /// No submission has that GTF id: kept in the inbox (for a while),
    /// nothing to change.
    UnknownSubmission,
    /// A status GTF does not document: GTF is not asked.
    UnknownStatus,
    /// The submission already had its final state and result.
    AlreadyFinal,
    /// GTF was asked; the submission is now in this state.
    Checked(Status),
}

impl Verification {
    /// A label for metrics.
    fn kind(&self) -> &'static str {
        match self {
            Self::UnknownSubmission => "unknown_submission",
            Self::UnknownStatus => "unknown_status",
            Self::AlreadyFinal => "already_final",
            Self::Checked(_) => "checked",
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::UnknownSubmission => "unknown submission".to_owned(),
            Self::UnknownStatus => "ignored: unknown status".to_owned(),
            Self::AlreadyFinal => "already final".to_owned(),
            Self::Checked(status) => format!("checked: {}", status.as_str()),
        }
    }
}

impl Kyc {
    /// Stores a callback (a duplicate, or one past its submissionId's cap,
    /// changes nothing) and wakes this replica's verifier. The
    /// acknowledgement waits for this, never for GTF.
    pub(crate) async fn receive_callback(
        &self,
        callback: &Callback,
    ) -> Result<Stored, sqlx::Error> {
        let f = &callback.fields;
        let stored = inbox::insert(
            &self.db,
            &f.submission_id,
            &f.status,
            f.result.as_deref(),
            &callback.raw,
            ROWS_PER_SUBMISSION,
        )
        .await?;
        if stored == Stored::New {
            self.callback_stored.notify_one();
        }
        Ok(stored)
    }

    /// Claims up to `limit` stored callbacks that wait for verification;
    /// other replicas skip them for the work lease.
    pub(crate) async fn claim_callbacks(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingCallback>, sqlx::Error> {
        inbox::claim(&self.db, limit, self.work_lease().as_secs_f64()).await
    }

    /// Verifies one claimed callback with GTF and records what came of it;
    /// a failure is retried later with backoff.
    pub(crate) async fn settle_callback(&self, item: &PendingCallback) -> Result<(), sqlx::Error> {
        let span = tracing::info_span!(
            "callback",
            callback = item.id,
            submission = tracing::field::Empty
        );
        async {
            match self.verify_callback(item).await {
                Ok(verification) => {
                    metrics::callback_verified(verification.kind());
                    tracing::info!(outcome = %verification.describe(), "callback verified");
                    let unmatched = verification == Verification::UnknownSubmission;
                    inbox::finish(&self.db, item.id, &verification.describe(), unmatched).await
                }
                Err(e) => {
                    metrics::callback_verified("failed");
                    let delay = backoff(RETRY_FIRST, RETRY_CAP, item.attempts);
                    tracing::warn!(error = %e, retry_in_s = delay.as_secs(), "callback verification failed");
                    if matches!(&e, KycError::Database(db) if store::is_unavailable(db)) {
                        // The lease lapses and another pass picks it up.
                        return Ok(());
                    }
                    inbox::retry_later(&self.db, item.id, delay.as_secs_f64(), "verification failed")
                        .await
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Asks GTF about the submission a callback names and applies only what
    /// GTF's own API says, so a forged or stale callback changes nothing. A
    /// status GTF does not document is no news GTF would send: it costs no
    /// GTF call.
    async fn verify_callback(&self, item: &PendingCallback) -> Result<Verification, KycError> {
        let Some(s) = submissions::find_by_gtf_id(&self.db, &item.gtf_submission_id).await? else {
            return Ok(Verification::UnknownSubmission);
        };
        tracing::Span::current().record("submission", tracing::field::display(s.id));
        if !GtfStatus::from(item.status.clone()).is_documented() {
            return Ok(Verification::UnknownStatus);
        }
        if s.state.is_concluded() {
            return Ok(Verification::AlreadyFinal);
        }
        let s = self.sync(&s, Cause::Callback).await?;
        Ok(Verification::Checked(s.state.status))
    }
}
