//! `Idempotency-Key` bookkeeping for creates: per user, with
//! a fingerprint of the request, kept for 24 hours.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

/// What the key says about a new request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The key is this request's: go ahead, then `complete` or `release` it.
    Acquired,
    /// An earlier request with the key created this submission.
    Replay(Uuid),
    /// An earlier request with the key is still running.
    InUse,
    /// The key was used for a different request.
    Mismatch,
}

/// Claims `key` for a request with `fingerprint`, for at most `lock_secs`
/// (after which a request that crashed no longer holds it). Keys older than
/// 24 hours are forgotten.
pub(crate) async fn claim(
    db: &PgPool,
    owner: &str,
    key: &str,
    fingerprint: &[u8],
    lock_secs: f64,
) -> Result<Claim, sqlx::Error> {
    let acquired = sqlx::query_scalar!(
        r#"INSERT INTO idempotency_keys (owner_id, key, fingerprint, locked_until)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4))
           ON CONFLICT (owner_id, key) DO UPDATE
             SET fingerprint = EXCLUDED.fingerprint,
                 locked_until = EXCLUDED.locked_until,
                 submission_id = NULL,
                 created_at = now()
             WHERE idempotency_keys.created_at < now() - interval '24 hours'
                OR (idempotency_keys.submission_id IS NULL
                    AND idempotency_keys.locked_until < now()
                    AND idempotency_keys.fingerprint = EXCLUDED.fingerprint)
           RETURNING owner_id"#,
        owner,
        key,
        fingerprint,
        lock_secs
    )
    .fetch_optional(db)
    .await?;
    if acquired.is_some() {
        return Ok(Claim::Acquired);
    }
    let existing = sqlx::query!(
        "SELECT fingerprint, submission_id FROM idempotency_keys WHERE owner_id = $1 AND key = $2",
        owner,
        key
    )
    .fetch_optional(db)
    .await?;
    Ok(match existing {
        // Deleted between the two statements: the holder gave up.
        None => Claim::InUse,
        Some(row) if row.fingerprint != fingerprint => Claim::Mismatch,
        Some(row) => row.submission_id.map_or(Claim::InUse, Claim::Replay),
    })
}

/// Ties the key to the submission its request created, in that request's
/// transaction.
pub(crate) async fn complete(
    tx: &mut Transaction<'_, Postgres>,
    owner: &str,
    key: &str,
    submission_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE idempotency_keys SET submission_id = $3, locked_until = NULL
           WHERE owner_id = $1 AND key = $2"#,
        owner,
        key,
        submission_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives the key up after a failed request, so that a retry can run.
pub(crate) async fn release(db: &PgPool, owner: &str, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE owner_id = $1 AND key = $2 AND submission_id IS NULL",
        owner,
        key
    )
    .execute(db)
    .await?;
    Ok(())
}
