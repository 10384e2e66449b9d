//! `Idempotency-Key` bookkeeping for creates: per user, with a fingerprint
//! of the request. Each claim carries a random token: only the request that
//! holds the key under it may complete or release it.

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

/// Claims `key` under `token` for a request with `fingerprint`, for at most
/// `hold_secs` (after which a request that crashed no longer holds it).
/// Keys older than `kept_secs` are forgotten.
pub(crate) async fn claim(
    db: &PgPool,
    owner: &str,
    key: &str,
    fingerprint: &[u8],
    token: Uuid,
    hold_secs: f64,
    kept_secs: f64,
) -> Result<Claim, sqlx::Error> {
    let acquired = sqlx::query_scalar!(
        r#"INSERT INTO idempotency_keys (owner_id, key, fingerprint, locked_until, claim_token)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)
           ON CONFLICT (owner_id, key) DO UPDATE
             SET fingerprint = EXCLUDED.fingerprint,
                 locked_until = EXCLUDED.locked_until,
                 claim_token = EXCLUDED.claim_token,
                 submission_id = NULL,
                 created_at = now()
             WHERE idempotency_keys.created_at < now() - make_interval(secs => $6)
                OR (idempotency_keys.submission_id IS NULL
                    AND idempotency_keys.locked_until < now()
                    AND idempotency_keys.fingerprint = EXCLUDED.fingerprint)
           RETURNING owner_id"#,
        owner,
        key,
        fingerprint,
        hold_secs,
        token,
        kept_secs
    )
    .fetch_optional(db)
    .await?;
    if acquired.is_some() {
        return Ok(Claim::Acquired);
    }
    find(db, owner, key, fingerprint).await
}

/// What the key says about a request with `fingerprint`, without claiming
/// it: never `Acquired`.
pub(crate) async fn find(
    db: &PgPool,
    owner: &str,
    key: &str,
    fingerprint: &[u8],
) -> Result<Claim, sqlx::Error> {
    let existing = sqlx::query!(
        "SELECT fingerprint, submission_id FROM idempotency_keys WHERE owner_id = $1 AND key = $2",
        owner,
        key
    )
    .fetch_optional(db)
    .await?;
    Ok(match existing {
        // Deleted meanwhile: its holder gave up, and a retry claims it anew.
        None => Claim::InUse,
        Some(row) if row.fingerprint != fingerprint => Claim::Mismatch,
        Some(row) => row.submission_id.map_or(Claim::InUse, Claim::Replay),
    })
}

/// Ties the key to the submission its request created, in that request's
/// transaction, if the request still holds it under `token`. False: the
/// hold lapsed and another request took the key over.
pub(crate) async fn complete(
    tx: &mut Transaction<'_, Postgres>,
    owner: &str,
    key: &str,
    token: Uuid,
    submission_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE idempotency_keys
           SET submission_id = $4, locked_until = NULL, claim_token = NULL
           WHERE owner_id = $1 AND key = $2 AND claim_token = $3 AND submission_id IS NULL"#,
        owner,
        key,
        token,
        submission_id
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the key up after a failed request, so that a retry can run; a
/// key another request has taken over meanwhile stays its.
pub(crate) async fn release(
    db: &PgPool,
    owner: &str,
    key: &str,
    token: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"DELETE FROM idempotency_keys
           WHERE owner_id = $1 AND key = $2 AND claim_token = $3 AND submission_id IS NULL"#,
        owner,
        key,
        token
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes keys created more than `age_secs` ago, a batch at a time;
/// returns how many. The age is checked again on the row itself, so a key
/// claimed anew meanwhile stays.
pub(crate) async fn purge_older_than(db: &PgPool, age_secs: f64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"DELETE FROM idempotency_keys
           WHERE created_at < now() - make_interval(secs => $1)
             AND (owner_id, key) IN (
               SELECT owner_id, key FROM idempotency_keys
               WHERE created_at < now() - make_interval(secs => $1)
               LIMIT 1000)"#,
        age_secs
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}
