//! Erasures of users' personal data: one row per user, so that a repeated
//! request answers what the erasure did.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Erasure {
    pub(crate) partner_user_id: String,
    pub(crate) erased_at: OffsetDateTime,
    /// Every submission of the user whose personal data was erased.
    pub(crate) submission_ids: Vec<Uuid>,
}

/// Serialises erasures of one user (whether or not they have submissions
/// to lock) until the transaction ends.
pub(crate) async fn lock_user(conn: &mut PgConnection, user: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('user_erasures'), hashtext($1))",
        user
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn find(
    conn: &mut PgConnection,
    user: &str,
) -> Result<Option<Erasure>, sqlx::Error> {
    sqlx::query_as!(
        Erasure,
        r#"SELECT partner_user_id, erased_at, submission_ids FROM user_erasures
           WHERE partner_user_id = $1"#,
        user
    )
    .fetch_optional(conn)
    .await
}

/// Records that `ids` were erased now, beside those erased before.
pub(crate) async fn record(
    conn: &mut PgConnection,
    user: &str,
    ids: &[Uuid],
) -> Result<Erasure, sqlx::Error> {
    sqlx::query_as!(
        Erasure,
        r#"INSERT INTO user_erasures (partner_user_id, erased_at, submission_ids)
           VALUES ($1, now(), $2)
           ON CONFLICT (partner_user_id) DO UPDATE
             SET erased_at = now(),
                 submission_ids = user_erasures.submission_ids || EXCLUDED.submission_ids
           RETURNING partner_user_id, erased_at, submission_ids"#,
        user,
        ids
    )
    .fetch_one(conn)
    .await
}
