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
use crate::store::idempotency::{self, Claim};
use crate::store::submissions;

/// Beyond GTF's calls, what a create may spend on the database and waiting
/// for its turn: added to the longest presign to make the key's hold.
const KEY_HOLD_MARGIN: Duration = Duration::from_secs(30);
/// How long a key is remembered: a retry within this long replays.
pub(super) const KEY_KEPT: Duration = Duration::from_secs(24 * 3600);
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
            let submission = self.presign(owner, &req).await?;
            submissions::insert(&self.db, &submission).await?;
            return Ok(created(submission));
        };
        let fingerprint = Sha256::digest(format!("create v1\0{}", req.kind));
        // This request's claim: only its holder may complete or release the
        // key, so a request whose hold lapsed cannot touch its successor's.
        let token = Uuid::new_v4();
        if let Some(earlier) = self.claim_key(owner, key, &fingerprint, token).await? {
            return Ok(earlier);
        }
        let stored = async {
            let submission = self.presign(owner, &req).await?;
            let held = self.store_keyed(&submission, key, token).await?;
            Ok::<_, KycError>((submission, held))
        }
        .await;
        match stored {
            Ok((submission, true)) => Ok(created(submission)),
            Ok((orphan, false)) => self.lost_key(owner, key, &fingerprint, &orphan).await,
            Err(err) => {
                // Let a retry with the same key run instead of waiting it out.
                if let Err(release) =
                    idempotency::release(&self.db, owner.as_str(), key, token).await
                {
                    tracing::warn!(error = %release, "could not release an idempotency key");
                }
                Err(err)
            }
        }
    }

    /// The longest a request holds its key before another may take it over
    /// (the first must have crashed): as long as GTF may take to presign,
    /// and a margin.
    fn key_hold(&self) -> Duration {
        self.gtf.longest_presign() + KEY_HOLD_MARGIN
    }

    /// Claims the key for this request under `token`, waiting up to
    /// `KEY_WAIT` while an earlier request with it runs. `Some`: the earlier
    /// request's submission, to answer instead.
    async fn claim_key(
        &self,
        owner: &PartnerUserId,
        key: &str,
        fingerprint: &[u8],
        token: Uuid,
    ) -> Result<Option<Created>, KycError> {
        let deadline = tokio::time::Instant::now() + KEY_WAIT;
        let (hold, kept) = (self.key_hold().as_secs_f64(), KEY_KEPT.as_secs_f64());
        loop {
            match idempotency::claim(
                &self.db,
                owner.as_str(),
                key,
                fingerprint,
                token,
                hold,
                kept,
            )
            .await?
            {
                Claim::Acquired => return Ok(None),
                Claim::Mismatch => return Err(KycError::IdempotencyKeyReused),
                Claim::Replay(id) => return self.replay(owner, id).await.map(Some),
                Claim::InUse if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Claim::InUse => return Err(KycError::IdempotencyKeyInUse),
            }
        }
    }

    /// The key's hold lapsed while this request ran, and another request
    /// took the key over: this request's GTF submission is never stored.
    /// Its client gets what a retry would: the submission the key now
    /// names, or `IDEMPOTENCY_KEY_IN_USE` while the new holder runs.
    async fn lost_key(
        &self,
        owner: &PartnerUserId,
        key: &str,
        fingerprint: &[u8],
        orphan: &Submission,
    ) -> Result<Created, KycError> {
        tracing::warn!(
            gtf_submission = %orphan.gtf_submission_id,
            "the idempotency key was taken over while this create ran; its GTF submission is orphaned"
        );
        match idempotency::find(&self.db, owner.as_str(), key, fingerprint).await? {
            Claim::Replay(id) => self.replay(owner, id).await,
            _ => Err(KycError::IdempotencyKeyInUse),
        }
    }

    async fn replay(&self, owner: &PartnerUserId, id: Uuid) -> Result<Created, KycError> {
        let submission = submissions::find_owned(&self.db, id, owner)
            .await?
            .ok_or(KycError::NotFound)?;
        Ok(Created {
            submission,
            replayed: true,
        })
    }

    /// Starts a submission at GTF; the result is not stored yet. The type is
    /// checked here, after the idempotency key, so that a key reused for
    /// another type is reported as such.
    async fn presign(
        &self,
        owner: &PartnerUserId,
        req: &CreateRequest,
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
        Ok(new_submission(
            id,
            owner,
            &req.kind,
            session,
            presigned,
            OffsetDateTime::now_utc(),
        ))
    }

    /// Stores the submission and ties the key to it in one transaction, if
    /// this request still holds the key under `token`; else stores nothing
    /// and answers false.
    async fn store_keyed(
        &self,
        submission: &Submission,
        key: &str,
        token: Uuid,
    ) -> Result<bool, KycError> {
        let mut tx = self.db.begin().await?;
        submissions::insert(&mut *tx, submission).await?;
        let owner = submission.owner.as_str();
        if !idempotency::complete(&mut tx, owner, key, token, submission.id).await? {
            // Dropped: rolled back.
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}

fn created(submission: Submission) -> Created {
    tracing::info!(submission = %submission.id, documents = submission.uploads.len(), "submission created");
    Created {
        submission,
        replayed: false,
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
        erased_at: None,
    }
}
