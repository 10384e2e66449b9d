//! The callback inbox: GTF's callbacks, stored before they are acknowledged
//! and verified with GTF afterwards.

use serde_json::Value;
use sqlx::PgExecutor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    New,
    /// The same (submissionId, status, result) was stored before.
    Duplicate,
}

pub(crate) async fn insert(
    db: impl PgExecutor<'_>,
    gtf_submission_id: &str,
    status: &str,
    result: Option<&str>,
    body: &Value,
) -> Result<Stored, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO callback_inbox (gtf_submission_id, status, result, body)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (gtf_submission_id, status, coalesce(result, '')) DO NOTHING
           RETURNING id"#,
        gtf_submission_id,
        status,
        result,
        body
    )
    .fetch_optional(db)
    .await?;
    Ok(if inserted.is_some() {
        Stored::New
    } else {
        Stored::Duplicate
    })
}

/// A stored callback waiting for verification.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) id: i64,
    pub(crate) gtf_submission_id: String,
    pub(crate) attempts: i32,
}

/// Claims up to `limit` pending callbacks for `lease_secs`; another replica
/// skips them until then.
pub(crate) async fn claim(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease_secs: f64,
) -> Result<Vec<Pending>, sqlx::Error> {
    sqlx::query_as!(
        Pending,
        r#"UPDATE callback_inbox SET locked_until = now() + make_interval(secs => $2)
           WHERE id IN (
               SELECT id FROM callback_inbox
               WHERE processed_at IS NULL
                 AND next_attempt_at <= now()
                 AND (locked_until IS NULL OR locked_until < now())
               ORDER BY id
               LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING id, gtf_submission_id, attempts"#,
        limit,
        lease_secs
    )
    .fetch_all(db)
    .await
}

pub(crate) async fn finish(
    db: impl PgExecutor<'_>,
    id: i64,
    outcome: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE callback_inbox
           SET processed_at = now(), outcome = $2, attempts = attempts + 1, locked_until = NULL
           WHERE id = $1"#,
        id,
        outcome
    )
    .execute(db)
    .await?;
    Ok(())
}

pub(crate) async fn retry_later(
    db: impl PgExecutor<'_>,
    id: i64,
    delay_secs: f64,
    outcome: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE callback_inbox
           SET attempts = attempts + 1, outcome = $3, locked_until = NULL,
               next_attempt_at = now() + make_interval(secs => $2)
           WHERE id = $1"#,
        id,
        delay_secs,
        outcome
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes verified callbacks received more than `age_secs` ago, a batch at
/// a time; returns how many. Pending ones are kept whatever their age.
pub(crate) async fn purge_older_than(
    db: impl PgExecutor<'_>,
    age_secs: f64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"DELETE FROM callback_inbox
           WHERE id IN (
               SELECT id FROM callback_inbox
               WHERE processed_at IS NOT NULL AND received_at < now() - make_interval(secs => $1)
               LIMIT 1000)"#,
        age_secs
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
