//! Webhooks to the partner's own systems: the event a change is, written
//! in that change's transaction (an outbox: a change that commits always
//! has its events, one that rolls back has none), and its delivery to each
//! endpoint, retried on a schedule, in order per submission and endpoint.

use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::Kyc;
use crate::config::WebhookConfig;
use crate::domain::{ErasureView, EventType, State, Submission, SubmissionView};
use crate::store::webhooks::{self, After, Due, NewEvent};
use crate::telemetry::metrics;
use crate::webhooks::Sender;

/// Each retry waits its scheduled delay, up to this much shorter or longer.
const JITTER: f64 = 0.2;

/// The webhook settings and the sender, when any endpoint is configured.
pub(crate) struct Webhooks {
    config: WebhookConfig,
    sender: Option<Sender>,
}

impl Webhooks {
    pub(crate) fn new(config: WebhookConfig) -> anyhow::Result<Self> {
        let sender = (!config.endpoints.is_empty())
            .then(|| Sender::new(config.secrets.clone(), config.timeout))
            .transpose()?;
        Ok(Self { config, sender })
    }
}

/// `data` of a submission event: the submission as the partner API shows
/// it, with its user, without upload URLs and without KTP personal data.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubmissionData {
    #[serde(flatten)]
    submission: SubmissionView,
    partner_user_id: String,
}

/// Whom an event concerns, and what orders its deliveries.
struct About<'a> {
    submission_id: Option<Uuid>,
    partner_user_id: &'a str,
    ordering_key: &'a str,
}

impl Kyc {
    /// Writes the event that the change from `before` to `after` is, if any
    /// and if anyone is to hear of it, in the change's transaction; true if
    /// it queued deliveries.
    pub(super) async fn record_event(
        &self,
        tx: &mut PgConnection,
        before: &State,
        after: &Submission,
    ) -> Result<bool, sqlx::Error> {
        let Some(kind) = EventType::of_change(before, &after.state) else {
            return Ok(false);
        };
        let mut submission = SubmissionView::from(after.clone());
        submission.uploads = None;
        let data = SubmissionData {
            submission,
            partner_user_id: after.owner.as_str().to_owned(),
        };
        let about = About {
            submission_id: Some(after.id),
            partner_user_id: after.owner.as_str(),
            ordering_key: &after.id.to_string(),
        };
        self.enqueue(tx, kind, about, after.updated_at, &data).await
    }

    /// Writes the `kyc.user.erased` event, in the erasure's transaction;
    /// true if it queued deliveries. It is ordered by the user: it concerns
    /// all of their submissions.
    pub(super) async fn record_erasure_event(
        &self,
        tx: &mut PgConnection,
        erasure: &ErasureView,
    ) -> Result<bool, sqlx::Error> {
        let about = About {
            submission_id: None,
            partner_user_id: &erasure.partner_user_id,
            ordering_key: &erasure.partner_user_id,
        };
        self.enqueue(tx, EventType::UserErased, about, erasure.erased_at, erasure)
            .await
    }

    /// Records an event of `kind` with `data`, at `timestamp`, for each
    /// endpoint that takes it; false if none does.
    async fn enqueue(
        &self,
        tx: &mut PgConnection,
        kind: EventType,
        about: About<'_>,
        timestamp: OffsetDateTime,
        data: &impl Serialize,
    ) -> Result<bool, sqlx::Error> {
        let endpoints = self.webhooks.config.endpoints_for(kind);
        if endpoints.is_empty() {
            return Ok(false);
        }
        let body = json!({
            "type": kind.as_str(),
            "timestamp": timestamp.format(&Rfc3339).unwrap_or_default(),
            "data": data,
        });
        let id = format!("msg_{}", Uuid::new_v4().simple());
        let event = NewEvent {
            id: &id,
            kind: kind.as_str(),
            submission_id: about.submission_id,
            partner_user_id: about.partner_user_id,
            body: &body,
            endpoints: &endpoints,
            ordering_key: about.ordering_key,
        };
        webhooks::enqueue(tx, &event).await?;
        Ok(true)
    }

    /// Whether this replica sends webhooks at all.
    pub(crate) fn sends_webhooks(&self) -> bool {
        self.webhooks.sender.is_some()
    }

    /// Claims up to `limit` due deliveries for one attempt each.
    pub(crate) async fn claim_deliveries(&self, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
        let lease = self.webhooks.config.timeout + Duration::from_secs(10);
        webhooks::claim_due(&self.db, limit, lease.as_secs_f64()).await
    }

    /// One attempt of a claimed delivery, and what follows from it: done,
    /// retried after the schedule's next delay, or marked failed.
    pub(crate) async fn deliver(&self, due: &Due) -> Result<(), sqlx::Error> {
        let Some(sender) = &self.webhooks.sender else {
            return Ok(());
        };
        let attempt = sender
            .send(&due.endpoint, &due.event_id, due.body.as_bytes())
            .await;
        let schedule = &self.webhooks.config.retry_schedule;
        let after = if attempt.succeeded {
            After::Succeeded
        } else {
            match usize::try_from(due.attempts)
                .ok()
                .and_then(|n| schedule.get(n))
            {
                Some(delay) => After::RetryIn(jittered(*delay).as_secs_f64()),
                None => After::Failed,
            }
        };
        let outcome = match after {
            After::Succeeded => "succeeded",
            After::RetryIn(_) => "retrying",
            After::Failed => "failed",
        };
        metrics::webhook_attempt(&due.kind, outcome, attempt.elapsed);
        tracing::info!(
            delivery = %due.id,
            event = %due.event_id,
            r#type = %due.kind,
            status = attempt.status,
            outcome,
            "webhook attempt"
        );
        webhooks::record_attempt(&self.db, due.id, after, attempt.status, &attempt.response).await
    }

    /// How long the oldest pending delivery has waited: the alert.
    pub(crate) async fn oldest_pending_delivery(&self) -> Result<Duration, sqlx::Error> {
        let secs = webhooks::oldest_pending_age_secs(&self.db).await?;
        Ok(Duration::from_secs_f64(secs.max(0.0)))
    }
}

fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(rand::rng().random_range(1.0 - JITTER..=1.0 + JITTER))
}
