//! Erasing a user's personal data (the data subject's right under
//! Indonesia's UU PDP), in one transaction: the sealed KTP details and the
//! stored callback bodies of every submission of theirs go; what proves a
//! verification happened stays (the submissions, their statuses, results,
//! reason codes, times and history, and the audit log). The `kyc.user.erased`
//! event and the audit entry are written in the same transaction.
//!
//! A submission still in flight at GTF stays erased: [`super::change`]
//! stores no details for an erased submission (its outcome, yes), and a
//! callback about one is stored without its body.

use serde_json::json;

use super::change::announce_committed;
use super::{Kyc, KycError};
use crate::domain::{Action, Actor, ErasureView, PartnerUserId};
use crate::store::audit::NewEntry;
use crate::store::{erasures, inbox, results, submissions};

impl Kyc {
    /// Erases `user`'s personal data. Idempotent: when nothing of theirs is
    /// left to erase, the erasure already recorded is answered and no event
    /// is sent. Submissions the user started after an erasure are erased by
    /// the next request, which is then a new erasure with its own event.
    pub(crate) async fn erase(
        &self,
        user: &PartnerUserId,
        actor: &Actor,
    ) -> Result<ErasureView, KycError> {
        let mut tx = self.db.begin().await?;
        erasures::lock_user(&mut tx, user.as_str()).await?;
        // Locked before anything is erased: a change of one of them that
        // commits first is erased here; one that waits sees it erased.
        let pending = submissions::lock_unerased_of(&mut tx, user).await?;
        let earlier = erasures::find(&mut tx, user.as_str()).await?;
        let (erasure, repeat, queued) = match earlier {
            Some(earlier) if pending.is_empty() => (view(earlier), true, false),
            _ => {
                let (ids, gtf_ids): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
                submissions::mark_erased(&mut tx, &ids).await?;
                results::erase(&mut tx, &ids).await?;
                inbox::erase_bodies(&mut tx, &gtf_ids).await?;
                let erasure = view(erasures::record(&mut tx, user.as_str(), &ids).await?);
                let queued = self.record_erasure_event(&mut tx, &erasure).await?;
                tracing::info!(submissions = ids.len(), "a user's personal data was erased");
                (erasure, false, queued)
            }
        };
        let entry = NewEntry {
            actor,
            action: Action::UserErase,
            partner_user_id: Some(user.as_str()),
            submission_id: None,
            detail: Some(json!({ "submissions": erasure.submissions.len(), "repeat": repeat })),
        };
        self.audit(&mut *tx, &entry).await?;
        tx.commit().await?;
        announce_committed(&self.db, None, queued).await;
        Ok(erasure)
    }
}

fn view(e: erasures::Erasure) -> ErasureView {
    ErasureView {
        partner_user_id: e.partner_user_id,
        erased_at: e.erased_at,
        submissions: e.submission_ids,
    }
}
