//! Submissions and their history.

use serde_json::Value;
use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::corrupt;
use crate::domain::{
    Event, GtfResult, GtfStatus, Outcome, PartnerUserId, State, Status, Submission,
};

/// The PostgreSQL channel on which every change of a submission is
/// announced, with its id as the payload.
pub const CHANGES_CHANNEL: &str = "submission_changed";

/// What caused a state change, recorded in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Created,
    Confirm,
    Refresh,
    Callback,
    Reconciler,
    Expiry,
    ResultFetch,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Confirm => "confirm",
            Self::Refresh => "refresh",
            Self::Callback => "callback",
            Self::Reconciler => "reconciler",
            Self::Expiry => "expiry",
            Self::ResultFetch => "result_fetch",
        }
    }
}

struct Row {
    id: Uuid,
    owner_id: String,
    kind: String,
    gtf_submission_id: String,
    partner_session_id: String,
    sdk_session_id: String,
    status: String,
    gtf_status: Option<String>,
    result: Option<String>,
    reason_code: Option<String>,
    uploads: Value,
    uploads_expire_at: OffsetDateTime,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    completed_at: Option<OffsetDateTime>,
    check_attempts: i32,
    // Part of `SELECT *`; only SQL reads these (the refresh limit and the
    // reconciler's schedule).
    #[allow(dead_code)]
    refreshed_at: Option<OffsetDateTime>,
    #[allow(dead_code)]
    next_check_at: Option<OffsetDateTime>,
    #[allow(dead_code)]
    check_lease_until: Option<OffsetDateTime>,
}

impl TryFrom<Row> for Submission {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, sqlx::Error> {
        Ok(Submission {
            id: r.id,
            owner: PartnerUserId::parse(&r.owner_id).map_err(|_| corrupt("owner id"))?,
            kind: r.kind,
            gtf_submission_id: r.gtf_submission_id,
            partner_session_id: r.partner_session_id,
            sdk_session_id: r.sdk_session_id,
            state: State {
                status: Status::parse(&r.status).ok_or_else(|| corrupt("status"))?,
                outcome: Outcome {
                    result: r.result.map(GtfResult::from),
                    reason_code: r.reason_code,
                },
            },
            gtf_status: r.gtf_status.map(GtfStatus::from),
            uploads: serde_json::from_value(r.uploads).map_err(|_| corrupt("uploads"))?,
            uploads_expire_at: r.uploads_expire_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            completed_at: r.completed_at,
        })
    }
}

/// Stores a new submission with the first entry of its history, in one
/// statement: atomic without BEGIN/COMMIT, and one round trip on the path
/// whose latency partners feel most (BENCHMARKS.md).
pub async fn insert(db: impl PgExecutor<'_>, s: &Submission) -> Result<(), sqlx::Error> {
    let uploads = serde_json::to_value(&s.uploads).map_err(|_| corrupt("uploads"))?;
    sqlx::query!(
        r#"WITH created AS (
             INSERT INTO submissions
               (id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                status, gtf_status, uploads, uploads_expire_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
             RETURNING id, status, gtf_status)
           INSERT INTO submission_history
             (submission_id, from_status, to_status, cause, gtf_status, result, reason_code)
           SELECT id, NULL, status, $12, gtf_status, $13, $14 FROM created"#,
        s.id,
        s.owner.as_str(),
        s.kind,
        s.gtf_submission_id,
        s.partner_session_id,
        s.sdk_session_id,
        s.state.status.as_str(),
        s.gtf_status.as_ref().map(GtfStatus::as_str),
        uploads,
        s.uploads_expire_at,
        s.created_at,
        Cause::Created.as_str(),
        s.state.outcome.result.as_ref().map(GtfResult::as_str),
        s.state.outcome.reason_code,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The submission, if it exists and belongs to `owner`.
pub async fn find_owned(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: &PartnerUserId,
) -> Result<Option<Submission>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "SELECT * FROM submissions WHERE id = $1 AND owner_id = $2",
        id,
        owner.as_str()
    )
    .fetch_optional(db)
    .await?
    .map(Submission::try_from)
    .transpose()
}

/// A page of `owner`'s submissions, newest first, strictly after `after`
/// (the `(created_at, id)` of the last one already seen).
pub async fn list_owned(
    db: &PgPool,
    owner: &PartnerUserId,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<Submission>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as!(
        Row,
        r#"SELECT * FROM submissions
           WHERE owner_id = $1
             AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
           ORDER BY created_at DESC, id DESC
           LIMIT $4"#,
        owner.as_str(),
        after_at,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(Submission::try_from)
    .collect()
}

/// Applies `event` through the status machine, under a row lock, and
/// records any change in the history. Returns the submission as it now is
/// and whether it changed; `None` if there is no such submission.
pub async fn apply(
    db: &PgPool,
    id: Uuid,
    event: &Event,
    cause: Cause,
    schedule: Schedule,
) -> Result<Option<(Submission, bool)>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(row) = sqlx::query_as!(
        Row,
        "SELECT * FROM submissions WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let current = Submission::try_from(row)?;
    let reported = match event {
        Event::Reported { status, .. } => Some(status),
        _ => None,
    };
    let Some(next) = current.state.apply(event) else {
        if reported.is_some() && reported != current.gtf_status.as_ref() {
            // Not a state change, but GTF's latest word is worth keeping.
            sqlx::query!(
                "UPDATE submissions SET gtf_status = $2 WHERE id = $1",
                id,
                reported.map(GtfStatus::as_str)
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        return Ok(Some((current, false)));
    };
    let next_check_secs = match next.status {
        Status::Processing => Some(schedule.reconcile_after_secs),
        Status::Completed | Status::Failed => Some(schedule.result_fetch_after_secs),
        Status::AwaitingUpload | Status::Expired => None,
    };
    let row = sqlx::query_as!(
        Row,
        r#"UPDATE submissions
           SET status = $2, result = $3, reason_code = $4,
               gtf_status = COALESCE($5, gtf_status),
               updated_at = now(),
               completed_at = CASE WHEN $6 THEN COALESCE(completed_at, now()) ELSE completed_at END,
               next_check_at = CASE WHEN $8 THEN now() + make_interval(secs => $7)
                                    ELSE next_check_at END,
               check_attempts = CASE WHEN $8 THEN 0 ELSE check_attempts END
           WHERE id = $1
           RETURNING *"#,
        id,
        next.status.as_str(),
        next.outcome.result.as_ref().map(GtfResult::as_str),
        next.outcome.reason_code,
        reported.map(GtfStatus::as_str),
        next.status.is_final(),
        next_check_secs,
        next.status != current.state.status,
    )
    .fetch_one(&mut *tx)
    .await?;
    record(&mut *tx, id, current.state.status, &next, cause, reported).await?;
    // Delivered on commit, to every replica's event stream.
    sqlx::query!("SELECT pg_notify($1, $2)", CHANGES_CHANNEL, id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some((Submission::try_from(row)?, true)))
}

/// When the reconciler should look at a submission after it changes.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// A PROCESSING submission with no final word after this long is polled.
    pub reconcile_after_secs: f64,
    /// A final submission's result is fetched inline; the reconciler only
    /// steps in if that has not happened after this long.
    pub result_fetch_after_secs: f64,
}

/// The submission whose GTF id this is.
pub async fn find_by_gtf_id(
    db: &PgPool,
    gtf_submission_id: &str,
) -> Result<Option<Submission>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        "SELECT * FROM submissions WHERE gtf_submission_id = $1",
        gtf_submission_id
    )
    .fetch_optional(db)
    .await?
    .map(Submission::try_from)
    .transpose()
}

/// Claims up to `limit` submissions due for a look by the reconciler, for
/// `lease_secs`: other replicas skip them meanwhile. Returns each with how
/// many looks it has had.
pub async fn claim_due(
    db: &PgPool,
    limit: i64,
    lease_secs: f64,
) -> Result<Vec<(Submission, i32)>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"UPDATE submissions SET check_lease_until = now() + make_interval(secs => $2)
           WHERE id IN (
               SELECT id FROM submissions
               WHERE next_check_at <= now()
                 AND (check_lease_until IS NULL OR check_lease_until < now())
               ORDER BY next_check_at
               LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING *"#,
        limit,
        lease_secs
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|row| {
        let attempts = row.check_attempts;
        Submission::try_from(row).map(|s| (s, attempts))
    })
    .collect()
}

/// Releases a claimed submission: looked at again after `delay_secs` if
/// there is still something to do (a PROCESSING status, or a final one
/// without its result), else never.
pub async fn release_check(db: &PgPool, id: Uuid, delay_secs: f64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE submissions s
           SET check_attempts = check_attempts + 1,
               check_lease_until = NULL,
               next_check_at = CASE
                   WHEN s.status = 'PROCESSING'
                     OR (s.status IN ('COMPLETED', 'FAILED')
                         AND NOT EXISTS (SELECT 1 FROM submission_results r WHERE r.submission_id = s.id))
                   THEN now() + make_interval(secs => $2)
               END
           WHERE id = $1"#,
        id,
        delay_secs
    )
    .execute(db)
    .await?;
    Ok(())
}

/// AWAITING_UPLOAD submissions whose upload URLs lapsed more than
/// `grace_secs` ago.
pub async fn lapsed_uploads(
    db: &PgPool,
    grace_secs: f64,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT id FROM submissions
           WHERE status = 'AWAITING_UPLOAD'
             AND uploads_expire_at < now() - make_interval(secs => $1)
           ORDER BY uploads_expire_at
           LIMIT $2"#,
        grace_secs,
        limit
    )
    .fetch_all(db)
    .await
}

/// Claims the right to ask GTF on a client's behalf, at most once per
/// `min_interval` per submission, whichever replica asks.
pub async fn claim_refresh(
    db: &PgPool,
    id: Uuid,
    min_interval_secs: f64,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query_scalar!(
        r#"UPDATE submissions SET refreshed_at = now()
           WHERE id = $1
             AND (refreshed_at IS NULL OR refreshed_at <= now() - make_interval(secs => $2))
           RETURNING id"#,
        id,
        min_interval_secs
    )
    .fetch_optional(db)
    .await?;
    Ok(claimed.is_some())
}

/// One entry of a submission's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub from_status: Option<String>,
    pub to_status: String,
    pub cause: String,
    pub recorded_at: OffsetDateTime,
}

pub async fn history(db: &PgPool, id: Uuid) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        r#"SELECT from_status, to_status, cause, recorded_at
           FROM submission_history WHERE submission_id = $1 ORDER BY id"#,
        id
    )
    .fetch_all(db)
    .await
}

async fn record(
    db: impl PgExecutor<'_>,
    id: Uuid,
    from: Status,
    to: &State,
    cause: Cause,
    gtf_status: Option<&GtfStatus>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO submission_history
             (submission_id, from_status, to_status, cause, gtf_status, result, reason_code)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        id,
        from.as_str(),
        to.status.as_str(),
        cause.as_str(),
        gtf_status.map(GtfStatus::as_str),
        to.outcome.result.as_ref().map(GtfResult::as_str),
        to.outcome.reason_code,
    )
    .execute(db)
    .await?;
    Ok(())
}
