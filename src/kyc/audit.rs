//! The access audit log: an entry for every read of KTP personal data and
//! every operator action, written before the data leaves (a read that
//! cannot be recorded is refused) or in the action's own transaction.

use sqlx::PgExecutor;
use time::OffsetDateTime;

use super::cursor::{self, Listing};
use super::{Kyc, KycError};
use crate::domain::{Action, Actor, Submission};
use crate::store::audit::{self, Entry, Filter, NewEntry};

/// One page of the log, newest first.
#[derive(Debug)]
pub(crate) struct AuditPage {
    pub(crate) items: Vec<Entry>,
    /// Opaque; `None` on the last page.
    pub(crate) next_cursor: Option<String>,
}

/// An entry for `action` by `actor` on `submission` and its user.
pub(super) fn about<'a>(
    actor: &'a Actor,
    action: Action,
    submission: &'a Submission,
) -> NewEntry<'a> {
    NewEntry {
        actor,
        action,
        partner_user_id: Some(submission.owner.as_str()),
        submission_id: Some(submission.id),
        detail: None,
    }
}

impl Kyc {
    /// Appends `entry`. A failure is [`KycError::NotAudited`]: what it
    /// was to record must not happen.
    pub(super) async fn audit(
        &self,
        db: impl PgExecutor<'_>,
        entry: &NewEntry<'_>,
    ) -> Result<(), KycError> {
        audit::insert(db, entry).await.map_err(KycError::NotAudited)
    }

    /// The entries matching `filter` after `cursor`, at most `limit`.
    pub(crate) async fn audit_log(
        &self,
        filter: &Filter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AuditPage, KycError> {
        let after: Option<(OffsetDateTime, i64)> = cursor
            .map(|c| cursor::decode(&self.keys, Listing::Audit, c))
            .transpose()?;
        let items = audit::list(&self.db, filter, after, cursor::fetch_for(limit)).await?;
        let (items, next_cursor) = cursor::page(items, limit, |e| {
            cursor::encode(&self.keys, Listing::Audit, e.at, e.id)
        });
        Ok(AuditPage { items, next_cursor })
    }
}
