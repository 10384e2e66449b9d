//! Starting a submission: a GTF token (cached), presigned URLs, the row.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tracing::Instrument;
use uuid::Uuid;

use super::{Kyc, KycError};
use crate::domain::{KTP_SCAN, PartnerUserId, State, Submission, Upload};
use crate::gtf::{Presigned, Session, budget};
use crate::store::{idempotency, submissions};

/// How long a request holds its idempotency key before another may take it
/// over (the first must have crashed): longer than any presign can take.
const KEY_LOCK_SECS: f64 = 120.0;
/// How long a second request with the same key waits for the first.
const KEY_WAIT: Duration = Duration::from_secs(5);
/// GTF's documented URL lifetime, for a presign that does not say.
const DEFAULT_UPLOAD_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CreateRequest {
    pub(crate) kind: String,
    pub(crate) sdk_session_id: Option<String>,
    pub(crate) idempotency_key: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Created {
    pub(crate) submission: Submission,
    /// Answered from an earlier request with the same idempotency key.
    pub(crate) replayed: bool,
}

impl Kyc {
    /// Runs to its end even when the client hangs up: dropped between GTF's
    /// presign and the row, a create would leave its idempotency key held
    /// (a retry would wait the lock out) and its GTF submission unknown.
    pub(crate) async fn create(
        &self,
        owner: &PartnerUserId,
        req: CreateRequest,
    ) -> Result<Created, KycError> {
        let (kyc, owner) = (self.clone(), owner.clone());
        // The request's GTF budget goes with it: GTF's answer must come
        // before the request's timeout, whoever still waits for it.
        let task = budget::carried(async move { kyc.create_to_the_end(&owner, req).await });
        match self.detached.spawn(task.in_current_span()).await {
            Ok(created) => created,
            // Never aborted, and a runtime shutting down drops this caller
            // too: only a panic ends up here, and it stays one.
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }

    async fn create_to_the_end(
        &self,
        owner: &PartnerUserId,
        req: CreateRequest,
    ) -> Result<Created, KycError> {
        let Some(key) = req.idempotency_key.as_deref() else {
            return self
                .start(owner, &req, None)
                .await
                .map(|submission| Created {
                    submission,
                    replayed: false,
                });
        };
        let fingerprint = Sha256::digest(format!("create v1\0{}", req.kind));
        let deadline = tokio::time::Instant::now() + KEY_WAIT;
        loop {
            match idempotency::claim(&self.db, owner.as_str(), key, &fingerprint, KEY_LOCK_SECS)
                .await?
            {
                idempotency::Claim::Acquired => break,
                idempotency::Claim::Mismatch => return Err(KycError::IdempotencyKeyReused),
                idempotency::Claim::Replay(id) => {
                    let submission = submissions::find_owned(&self.db, id, owner)
                        .await?
                        .ok_or(KycError::NotFound)?;
                    return Ok(Created {
                        submission,
                        replayed: true,
                    });
                }
                idempotency::Claim::InUse if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                idempotency::Claim::InUse => return Err(KycError::IdempotencyKeyInUse),
            }
        }
        match self.start(owner, &req, Some(key)).await {
            Ok(submission) => Ok(Created {
                submission,
                replayed: false,
            }),
            Err(err) => {
                // Let a retry with the same key run instead of waiting it out.
                if let Err(release) = idempotency::release(&self.db, owner.as_str(), key).await {
                    tracing::warn!(error = %release, "could not release an idempotency key");
                }
                Err(err)
            }
        }
    }

    /// Presigns and stores. The type is checked here, after the idempotency
    /// key, so that a key reused for another type is reported as such.
    async fn start(
        &self,
        owner: &PartnerUserId,
        req: &CreateRequest,
        key: Option<&str>,
    ) -> Result<Submission, KycError> {
        if req.kind != KTP_SCAN {
            return Err(KycError::UnsupportedType);
        }
        let id = Uuid::new_v4();
        let session = Session {
            // Our id doubles as the partner session id: one per submission,
            // and a support engineer can match the two at a glance.
            partner_session_id: id.to_string(),
            sdk_session_id: req
                .sdk_session_id
                .clone()
                .unwrap_or_else(|| Uuid::new_v4().to_string()),
        };
        let presigned = self.gtf.presign(owner, &session, &req.kind).await?;
        let submission = new_submission(
            id,
            owner,
            &req.kind,
            session,
            presigned,
            OffsetDateTime::now_utc(),
        );
        match key {
            None => submissions::insert(&self.db, &submission).await?,
            Some(key) => {
                let mut tx = self.db.begin().await?;
                submissions::insert(&mut *tx, &submission).await?;
                idempotency::complete(&mut tx, owner.as_str(), key, id).await?;
                tx.commit().await?;
            }
        }
        tracing::info!(submission = %id, documents = submission.uploads.len(), "submission created");
        Ok(submission)
    }
}

fn new_submission(
    id: Uuid,
    owner: &PartnerUserId,
    kind: &str,
    session: Session,
    presigned: Presigned,
    now: OffsetDateTime,
) -> Submission {
    // Whole microseconds, as PostgreSQL stores them, so that what is returned
    // now equals what is read back later (and what list cursors carry).
    let now = now
        .replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now);
    let uploads: Vec<Upload> = presigned
        .uploads
        .into_iter()
        .map(|target| Upload {
            document: target.document,
            url: target.url,
            method: "PUT".to_owned(),
            headers: BTreeMap::from([("Content-Type".to_owned(), "image/jpeg".to_owned())]),
            expires_at: now + target.expires_in.unwrap_or(DEFAULT_UPLOAD_TTL),
        })
        .collect();
    Submission {
        id,
        owner: owner.clone(),
        kind: kind.to_owned(),
        gtf_submission_id: presigned.submission_id,
        partner_session_id: session.partner_session_id,
        sdk_session_id: session.sdk_session_id,
        state: State::new(),
        gtf_status: presigned.status,
        uploads_expire_at: uploads
            .iter()
            .map(|u| u.expires_at)
            .min()
            .unwrap_or(now + DEFAULT_UPLOAD_TTL),
        uploads,
        created_at: now,
        updated_at: now,
        completed_at: None,
    }
}
