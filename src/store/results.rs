//! GTF's result details, sealed at rest.

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::crypto::Sealed;

/// A stored result: the plain summary beside the sealed details.
#[derive(Clone)]
pub struct StoredResult {
    pub status: String,
    pub result: Option<String>,
    pub reason_code: Option<String>,
    pub processed_at: Option<OffsetDateTime>,
    pub sealed: Sealed,
}

/// Stores the result once; a second fetch of the same result changes
/// nothing. The reconciler has nothing more to do for the submission.
pub async fn insert(db: &PgPool, submission_id: Uuid, r: &StoredResult) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        r#"INSERT INTO submission_results
             (submission_id, status, result, reason_code, processed_at, key_id, nonce, ciphertext)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (submission_id) DO NOTHING"#,
        submission_id,
        r.status,
        r.result,
        r.reason_code,
        r.processed_at,
        r.sealed.key_id,
        r.sealed.nonce,
        r.sealed.ciphertext,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE submissions SET next_check_at = NULL WHERE id = $1",
        submission_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn find(db: &PgPool, submission_id: Uuid) -> Result<Option<StoredResult>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT status, result, reason_code, processed_at, key_id, nonce, ciphertext
           FROM submission_results WHERE submission_id = $1"#,
        submission_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| StoredResult {
        status: r.status,
        result: r.result,
        reason_code: r.reason_code,
        processed_at: r.processed_at,
        sealed: Sealed {
            key_id: r.key_id,
            nonce: r.nonce,
            ciphertext: r.ciphertext,
        },
    }))
}
