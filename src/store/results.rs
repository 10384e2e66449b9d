//! GTF's result details, sealed at rest.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::Sealed;

/// A stored result: the plain summary beside the sealed details.
#[derive(Clone)]
pub(crate) struct StoredResult {
    pub(crate) status: String,
    pub(crate) result: Option<String>,
    pub(crate) reason_code: Option<String>,
    pub(crate) processed_at: Option<OffsetDateTime>,
    pub(crate) sealed: Sealed,
}

/// A result as read back: its details are gone once retention purged them,
/// or once its user's data was erased.
pub(crate) struct ReadResult {
    pub(crate) processed_at: Option<OffsetDateTime>,
    pub(crate) sealed: Option<Sealed>,
    pub(crate) erased: bool,
}

/// Stores the result once; a second fetch of the same result changes
/// nothing. `erased`: its user's data was erased, so only the summary is
/// kept, marked erased.
pub(crate) async fn insert(
    db: impl PgExecutor<'_>,
    submission_id: Uuid,
    r: &StoredResult,
    erased: bool,
) -> Result<(), sqlx::Error> {
    let sealed = (!erased).then_some(&r.sealed);
    sqlx::query!(
        r#"INSERT INTO submission_results
             (submission_id, status, result, reason_code, processed_at, key_id, nonce, ciphertext,
              erased_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN now() END)
           ON CONFLICT (submission_id) DO NOTHING"#,
        submission_id,
        r.status,
        r.result,
        r.reason_code,
        r.processed_at,
        sealed.map(|s| &s.key_id),
        sealed.map(|s| &s.nonce),
        sealed.map(|s| &s.ciphertext),
        erased,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Destroys the sealed details of these submissions' results, keeping the
/// summary.
pub(crate) async fn erase(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE submission_results
           SET key_id = NULL, nonce = NULL, ciphertext = NULL, erased_at = now()
           WHERE submission_id = ANY($1)"#,
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn find(
    db: impl PgExecutor<'_>,
    submission_id: Uuid,
) -> Result<Option<ReadResult>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT processed_at, key_id, nonce, ciphertext, erased_at IS NOT NULL AS "erased!"
           FROM submission_results WHERE submission_id = $1"#,
        submission_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| ReadResult {
        processed_at: r.processed_at,
        erased: r.erased,
        sealed: match (r.key_id, r.nonce, r.ciphertext) {
            (Some(key_id), Some(nonce), Some(ciphertext)) => Some(Sealed {
                key_id,
                nonce,
                ciphertext,
            }),
            _ => None,
        },
    }))
}

/// Drops the sealed details of results stored more than `age_secs` ago,
/// a batch at a time; returns how many.
pub(crate) async fn purge_older_than(
    db: impl PgExecutor<'_>,
    age_secs: f64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE submission_results
           SET key_id = NULL, nonce = NULL, ciphertext = NULL, purged_at = now()
           WHERE submission_id IN (
               SELECT submission_id FROM submission_results
               WHERE purged_at IS NULL AND fetched_at < now() - make_interval(secs => $1)
               LIMIT 1000)"#,
        age_secs
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// The ids of the keys that sealed stored details: one index probe per
/// distinct key (a loose index scan), however many results there are.
pub(crate) async fn key_ids(db: impl PgExecutor<'_>) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH RECURSIVE ids (key_id) AS (
               SELECT min(key_id) FROM submission_results WHERE key_id IS NOT NULL
               UNION ALL
               SELECT (SELECT min(r.key_id) FROM submission_results r WHERE r.key_id > ids.key_id)
               FROM ids WHERE ids.key_id IS NOT NULL)
           SELECT key_id AS "key_id!" FROM ids WHERE key_id IS NOT NULL"#
    )
    .fetch_all(db)
    .await
}

/// Locks up to `limit` stored details sealed with a key other than
/// `current_key_id`, skipping rows another resealer holds.
pub(crate) async fn lock_sealed_with_other_keys(
    conn: &mut PgConnection,
    current_key_id: &str,
    limit: i64,
) -> Result<Vec<(Uuid, Sealed)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT submission_id, key_id AS "key_id!", nonce AS "nonce!", ciphertext AS "ciphertext!"
           FROM submission_results
           WHERE key_id IS NOT NULL AND key_id <> $1
           LIMIT $2
           FOR UPDATE SKIP LOCKED"#,
        current_key_id,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let sealed = Sealed {
                key_id: r.key_id,
                nonce: r.nonce,
                ciphertext: r.ciphertext,
            };
            (r.submission_id, sealed)
        })
        .collect())
}

/// Replaces a record's sealed details.
pub(crate) async fn replace_sealed(
    conn: &mut PgConnection,
    submission_id: Uuid,
    sealed: &Sealed,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE submission_results SET key_id = $2, nonce = $3, ciphertext = $4 WHERE submission_id = $1",
        submission_id,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext
    )
    .execute(conn)
    .await?;
    Ok(())
}
