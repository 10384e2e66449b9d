//! What support staff and back-office services do: look through every
//! user's submissions, see one whole (history, callbacks, webhook
//! deliveries), read a result, ask GTF again, and send webhooks again.
//! Reads of KTP data and every action are audited.

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::audit::about;
use super::change::announce_committed;
use super::flow::Page;
use super::{Kyc, KycError, ResultDetails};
use crate::domain::{Action, Actor, Cause, Submission};
use crate::store::audit::NewEntry;
use crate::store::inbox::{self, Received};
use crate::store::submissions::{self, Filter, Transition};
use crate::store::webhooks::{self, Delivery};

/// A submission with everything that happened to it.
#[derive(Debug)]
pub(crate) struct Dossier {
    pub(crate) submission: Submission,
    pub(crate) history: Vec<Transition>,
    pub(crate) callbacks: Vec<Received>,
    pub(crate) deliveries: Vec<Delivery>,
}

impl Kyc {
    /// Every user's submissions matching `filter`, newest first, after
    /// `cursor`, at most `limit`.
    pub(crate) async fn search(
        &self,
        filter: &Filter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page, KycError> {
        let after = self.submissions_after(cursor)?;
        let fetch = super::cursor::fetch_for(limit);
        let items = submissions::search(&self.db, filter, after, fetch).await?;
        Ok(self.submissions_page(items, limit))
    }

    /// The submission, whoever owns it.
    async fn any(&self, id: Uuid) -> Result<Submission, KycError> {
        submissions::find(&self.db, id)
            .await?
            .ok_or(KycError::NotFound)
    }

    pub(crate) async fn dossier(&self, id: Uuid) -> Result<Dossier, KycError> {
        let submission = self.any(id).await?;
        Ok(Dossier {
            history: submissions::history(&self.db, id).await?,
            callbacks: inbox::received_for(&self.db, &submission.gtf_submission_id).await?,
            deliveries: webhooks::deliveries_of(&self.db, id).await?,
            submission,
        })
    }

    /// Any submission's result, for an operator; audited like the user's own.
    pub(crate) async fn operator_result(
        &self,
        id: Uuid,
        reader: &Actor,
    ) -> Result<ResultDetails, KycError> {
        let s = self.any(id).await?;
        self.read_result(s, reader).await
    }

    /// Asks GTF now and applies its answer, as a callback would: the
    /// status, then the details when final. Audited before GTF is asked.
    pub(crate) async fn operator_refresh(
        &self,
        id: Uuid,
        actor: &Actor,
    ) -> Result<Submission, KycError> {
        let s = self.any(id).await?;
        self.audit(&self.db, &about(actor, Action::SubmissionRefresh, &s))
            .await?;
        self.sync(&s, Cause::Operator).await
    }

    /// Sends a delivery's event again: a new attempt series, with the same
    /// `webhook-id`. Not while an attempt of it is under way.
    pub(crate) async fn resend(&self, id: Uuid, actor: &Actor) -> Result<Delivery, KycError> {
        let mut tx = self.db.begin().await?;
        match webhooks::lock_delivery(&mut tx, id).await? {
            None => return Err(KycError::DeliveryNotFound),
            Some(true) => return Err(KycError::DeliveryInFlight),
            Some(false) => {}
        }
        let delivery = webhooks::restart(&mut tx, id).await?;
        let entry = NewEntry {
            actor,
            action: Action::WebhookResend,
            partner_user_id: Some(&delivery.partner_user_id),
            submission_id: delivery.submission_id,
            detail: Some(json!({ "deliveryId": id, "type": delivery.kind })),
        };
        self.audit(&mut *tx, &entry).await?;
        tx.commit().await?;
        announce_committed(&self.db, None, true).await;
        Ok(delivery)
    }

    /// Sends again every delivery marked failed at or after `since`;
    /// returns how many.
    pub(crate) async fn resend_failed(
        &self,
        since: OffsetDateTime,
        actor: &Actor,
    ) -> Result<u64, KycError> {
        let mut tx = self.db.begin().await?;
        let resent = webhooks::restart_failed_since(&mut tx, since).await?;
        let entry = NewEntry {
            actor,
            action: Action::WebhookResendFailed,
            partner_user_id: None,
            submission_id: None,
            detail: Some(json!({
                "since": since.format(&Rfc3339).unwrap_or_default(),
                "resent": resent,
            })),
        };
        self.audit(&mut *tx, &entry).await?;
        tx.commit().await?;
        announce_committed(&self.db, None, resent > 0).await;
        Ok(resent)
    }
}
