//! The data keys that seal KTP details, and their rotation: a start is
//! refused while stored details need a key that is not configured (they
//! would be unreadable), and `reseal` moves every record to the current key
//! so that an old one can be retired.

use sqlx::PgPool;

use crate::crypto::DataKeys;
use crate::store::results;

/// Records resealed per transaction.
const BATCH: i64 = 200;

/// Stored details that no configured key opens.
#[derive(Debug, thiserror::Error)]
#[error(
    "stored results were sealed with data key id {0}, which is neither BFF_DATA_KEY nor in \
     BFF_DATA_KEY_PREVIOUS: add that key to BFF_DATA_KEY_PREVIOUS (and run `gtf-bff reseal` \
     before retiring it)"
)]
pub(crate) struct MissingDataKey(String);

/// Every key id stored beside sealed details is configured.
pub(crate) async fn check_data_keys(db: &PgPool, keys: &DataKeys) -> anyhow::Result<()> {
    for id in results::key_ids(db).await? {
        if !keys.knows(&id) {
            return Err(MissingDataKey(id).into());
        }
    }
    Ok(())
}

/// Re-encrypts every stored record under the current key, a batch per
/// transaction; returns how many. Safe beside a running service and other
/// resealers: rows are locked, and rows another holds are skipped.
pub(crate) async fn reseal(db: &PgPool, keys: &DataKeys) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let mut tx = db.begin().await?;
        let batch = results::lock_sealed_with_other_keys(&mut tx, keys.current_id(), BATCH).await?;
        if batch.is_empty() {
            return Ok(total);
        }
        for (id, sealed) in &batch {
            if !keys.knows(&sealed.key_id) {
                return Err(MissingDataKey(sealed.key_id.clone()).into());
            }
            let plaintext = keys.open(sealed, id.as_bytes())?;
            results::replace_sealed(&mut tx, *id, &keys.seal(&plaintext, id.as_bytes())).await?;
        }
        tx.commit().await?;
        total += batch.len() as u64;
        tracing::info!(
            resealed = total,
            "resealing stored results under the current key"
        );
    }
}
