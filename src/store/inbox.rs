//! The callback inbox: GTF's callbacks, stored before they are acknowledged
//! and verified with GTF afterwards.

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor, PgPool};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    New,
    /// The same (submissionId, status, result) was stored before.
    Duplicate,
    /// Its submissionId has as many rows as it may: not stored.
    OverCap,
}

/// Stores a callback unless the same (submissionId, status, result) is
/// stored already or its submissionId has `cap` rows, in one round trip: the
/// function of migration 0010 takes the submissionId's inbox lock for the
/// statement, so that concurrent deliveries cannot pass the cap together,
/// nor miss an erasure: the body of a callback about an erased submission is
/// not kept.
pub(crate) async fn insert(
    db: &PgPool,
    gtf_submission_id: &str,
    status: &str,
    result: Option<&str>,
    body: &Value,
    cap: i64,
) -> Result<Stored, sqlx::Error> {
    let stored = sqlx::query_scalar!(
        r#"SELECT callback_inbox_store($1, $2, $3, $4, $5) AS "stored!""#,
        gtf_submission_id,
        status,
        result,
        body,
        cap
    )
    .fetch_one(db)
    .await?;
    match stored.as_str() {
        "new" => Ok(Stored::New),
        "duplicate" => Ok(Stored::Duplicate),
        "over_cap" => Ok(Stored::OverCap),
        other => Err(sqlx::Error::Protocol(format!(
            "callback_inbox_store returned {other:?}"
        ))),
    }
}

/// Holds the inbox lock of one submissionId until the transaction ends.
async fn lock_submission_id(
    conn: &mut PgConnection,
    gtf_submission_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtext('callback_inbox'), hashtext($1))",
        gtf_submission_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Drops the stored bodies of these submissionIds' callbacks, keeping what
/// they said and what came of them. Each id's inbox lock is taken first, in
/// order: a callback being stored meanwhile either is seen here or sees the
/// erasure.
pub(crate) async fn erase_bodies(
    conn: &mut PgConnection,
    gtf_submission_ids: &[String],
) -> Result<(), sqlx::Error> {
    let mut ids = gtf_submission_ids.to_vec();
    ids.sort_unstable();
    for id in &ids {
        lock_submission_id(conn, id).await?;
    }
    sqlx::query!(
        "UPDATE callback_inbox SET body = NULL WHERE gtf_submission_id = ANY($1)",
        &ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A callback as received, for operators.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) received_at: time::OffsetDateTime,
    pub(crate) status: String,
    pub(crate) result: Option<String>,
    /// What verifying it found; none while pending.
    pub(crate) outcome: Option<String>,
}

/// The callbacks received for a submissionId, oldest first.
pub(crate) async fn received_for(
    db: impl PgExecutor<'_>,
    gtf_submission_id: &str,
) -> Result<Vec<Received>, sqlx::Error> {
    sqlx::query_as!(
        Received,
        r#"SELECT received_at, status, result, outcome FROM callback_inbox
           WHERE gtf_submission_id = $1 ORDER BY id"#,
        gtf_submission_id
    )
    .fetch_all(db)
    .await
}

/// A stored callback waiting for verification.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) id: i64,
    pub(crate) gtf_submission_id: String,
    pub(crate) status: String,
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
           RETURNING id, gtf_submission_id, status, attempts"#,
        limit,
        lease_secs
    )
    .fetch_all(db)
    .await
}

/// Records a verification's outcome; `unmatched`: no submission has the
/// callback's submissionId.
pub(crate) async fn finish(
    db: impl PgExecutor<'_>,
    id: i64,
    outcome: &str,
    unmatched: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE callback_inbox
           SET processed_at = now(), outcome = $2, unmatched = $3, attempts = attempts + 1,
               locked_until = NULL
           WHERE id = $1"#,
        id,
        outcome,
        unmatched
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

/// Deletes callbacks found `unmatched` and received more than `age_secs`
/// ago, a batch at a time, unless a submission has their submissionId by
/// now; returns how many.
pub(crate) async fn purge_unmatched_older_than(
    db: impl PgExecutor<'_>,
    age_secs: f64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"DELETE FROM callback_inbox
           WHERE id IN (
               SELECT c.id FROM callback_inbox c
               WHERE c.unmatched AND c.received_at < now() - make_interval(secs => $1)
                 AND NOT EXISTS (
                     SELECT 1 FROM submissions s WHERE s.gtf_submission_id = c.gtf_submission_id)
               LIMIT 1000)"#,
        age_secs
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
