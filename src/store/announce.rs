//! Wake-ups for every replica's change feed (`crate::events`): which
//! submission changed, and that webhook deliveries are due.
//!
//! They are sent after the commit they announce, in a statement of their
//! own. PostgreSQL commits transactions that NOTIFY one at a time, each
//! holding a server-wide lock until its commit is durable, so a NOTIFY in
//! every change kept concurrent changes from sharing a WAL flush; a
//! transaction that only notifies writes nothing durable and is quick.

use sqlx::PgExecutor;
use uuid::Uuid;

/// Carries the id of a submission that changed.
pub(crate) const CHANGES_CHANNEL: &str = "submission_changed";

/// Says deliveries are due, so that senders in every replica start at once
/// rather than on their next poll.
pub(crate) const WEBHOOKS_CHANNEL: &str = "webhooks_due";

/// Announces that submission `changed` changed and, with `webhooks_due`,
/// that deliveries are due; one round trip for both.
pub(crate) async fn announce(
    db: impl PgExecutor<'_>,
    changed: Option<Uuid>,
    webhooks_due: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"SELECT CASE WHEN $2::text IS NOT NULL THEN pg_notify($1, $2) END,
                  CASE WHEN $4 THEN pg_notify($3, '') END"#,
        CHANGES_CHANNEL,
        changed.map(|id| id.to_string()),
        WEBHOOKS_CHANNEL,
        webhooks_due,
    )
    .execute(db)
    .await?;
    Ok(())
}
