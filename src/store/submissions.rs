//! Submissions and their history: plain queries, no decisions. What a
//! change means (the state, the schedule) is decided by the caller. Each
//! query spells out `Row`'s columns: sqlx checks literal SQL only.

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::corrupt;
use crate::domain::{
    Cause, GtfResult, GtfStatus, Outcome, PartnerUserId, State, Status, Submission,
};

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
    erased_at: Option<OffsetDateTime>,
    /// How many looks the reconciler has had; read when it claims the row.
    check_attempts: i32,
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
            erased_at: r.erased_at,
        })
    }
}

/// Stores a new submission with the first entry of its history, in one
/// statement: atomic without BEGIN/COMMIT, and one round trip on the path
/// whose latency partners feel most (BENCHMARKS.md).
pub(crate) async fn insert(db: impl PgExecutor<'_>, s: &Submission) -> Result<(), sqlx::Error> {
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
pub(crate) async fn find_owned(
    db: impl PgExecutor<'_>,
    id: Uuid,
    owner: &PartnerUserId,
) -> Result<Option<Submission>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                  status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                  created_at, updated_at, completed_at, erased_at, check_attempts
           FROM submissions WHERE id = $1 AND owner_id = $2"#,
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
pub(crate) async fn list_owned(
    db: impl PgExecutor<'_>,
    owner: &PartnerUserId,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<Submission>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as!(
        Row,
        r#"SELECT id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                  status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                  created_at, updated_at, completed_at, erased_at, check_attempts
           FROM submissions
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

/// Locks the submission for the rest of the transaction.
pub(crate) async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Submission>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                  status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                  created_at, updated_at, completed_at, erased_at, check_attempts
           FROM submissions WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await?
    .map(Submission::try_from)
    .transpose()
}

/// Keeps GTF's latest word when it changes nothing else.
pub(crate) async fn set_gtf_status(
    conn: &mut PgConnection,
    id: Uuid,
    gtf_status: &GtfStatus,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE submissions SET gtf_status = $2 WHERE id = $1",
        id,
        gtf_status.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A change of state, as it is written and recorded in the history.
pub(crate) struct NewState<'a> {
    pub(crate) from: Status,
    pub(crate) to: &'a State,
    pub(crate) cause: Cause,
    /// GTF's latest word, when this change comes from one.
    pub(crate) gtf_status: Option<&'a GtfStatus>,
    /// When the reconciler is to look next; `None`: never.
    pub(crate) next_check_secs: Option<f64>,
}

/// Writes a new state and appends it to the history, in one statement;
/// returns the row.
pub(crate) async fn update_state(
    conn: &mut PgConnection,
    id: Uuid,
    change: &NewState<'_>,
) -> Result<Submission, sqlx::Error> {
    let to = change.to;
    sqlx::query_as!(
        Row,
        r#"WITH history AS (
             INSERT INTO submission_history
               (submission_id, from_status, to_status, cause, gtf_status, result, reason_code)
             VALUES ($1, $8, $2, $9, $5, $3, $4))
           UPDATE submissions
           SET status = $2, result = $3, reason_code = $4,
               gtf_status = COALESCE($5, gtf_status),
               updated_at = now(),
               completed_at = CASE WHEN $6 THEN COALESCE(completed_at, now()) ELSE completed_at END,
               next_check_at = now() + make_interval(secs => $7),
               check_attempts = 0
           WHERE id = $1
           RETURNING id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                     status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                     created_at, updated_at, completed_at, erased_at, check_attempts"#,
        id,
        to.status.as_str(),
        to.outcome.result.as_ref().map(GtfResult::as_str),
        to.outcome.reason_code,
        change.gtf_status.map(GtfStatus::as_str),
        to.status.is_final(),
        change.next_check_secs,
        change.from.as_str(),
        change.cause.as_str(),
    )
    .fetch_one(conn)
    .await
    .and_then(Submission::try_from)
}

/// The submission whose GTF id this is.
pub(crate) async fn find_by_gtf_id(
    db: impl PgExecutor<'_>,
    gtf_submission_id: &str,
) -> Result<Option<Submission>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                  status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                  created_at, updated_at, completed_at, erased_at, check_attempts
           FROM submissions WHERE gtf_submission_id = $1"#,
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
pub(crate) async fn claim_due(
    db: impl PgExecutor<'_>,
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
           RETURNING id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                     status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                     created_at, updated_at, completed_at, erased_at, check_attempts"#,
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

/// Releases a claimed submission after a look, counting it: looked at
/// again after `next_check_secs`, or never (`None`).
pub(crate) async fn release_check(
    conn: &mut PgConnection,
    id: Uuid,
    next_check_secs: Option<f64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"UPDATE submissions
           SET check_attempts = check_attempts + 1,
               check_lease_until = NULL,
               next_check_at = now() + make_interval(secs => $2)
           WHERE id = $1"#,
        id,
        next_check_secs
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// AWAITING_UPLOAD submissions whose upload URLs lapsed more than
/// `grace_secs` ago.
pub(crate) async fn lapsed_uploads(
    db: impl PgExecutor<'_>,
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
pub(crate) async fn claim_refresh(
    db: impl PgExecutor<'_>,
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

/// The submission, whoever owns it: for operators.
pub(crate) async fn find(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Option<Submission>, sqlx::Error> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                  status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                  created_at, updated_at, completed_at, erased_at, check_attempts
           FROM submissions WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .map(Submission::try_from)
    .transpose()
}

/// Which submissions an operator looks for; every field narrows.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub(crate) owner: Option<PartnerUserId>,
    pub(crate) status: Option<Status>,
    /// Created at or after.
    pub(crate) created_from: Option<OffsetDateTime>,
    /// Created before.
    pub(crate) created_to: Option<OffsetDateTime>,
}

/// A page of every user's submissions matching `filter`, newest first,
/// strictly after `after`.
pub(crate) async fn search(
    db: impl PgExecutor<'_>,
    filter: &Filter,
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<Submission>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    sqlx::query_as!(
        Row,
        r#"SELECT id, owner_id, kind, gtf_submission_id, partner_session_id, sdk_session_id,
                  status, gtf_status, result, reason_code, uploads, uploads_expire_at,
                  created_at, updated_at, completed_at, erased_at, check_attempts
           FROM submissions
           WHERE ($1::text IS NULL OR owner_id = $1)
             AND ($2::text IS NULL OR status = $2)
             AND ($3::timestamptz IS NULL OR created_at >= $3)
             AND ($4::timestamptz IS NULL OR created_at < $4)
             AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
           ORDER BY created_at DESC, id DESC
           LIMIT $7"#,
        filter.owner.as_ref().map(PartnerUserId::as_str),
        filter.status.map(Status::as_str),
        filter.created_from,
        filter.created_to,
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

/// One entry of a submission's history.
#[derive(Debug, Clone)]
pub(crate) struct Transition {
    /// None for the entry that created it.
    pub(crate) from: Option<Status>,
    pub(crate) to: Status,
    pub(crate) cause: String,
    pub(crate) at: OffsetDateTime,
}

/// The submission's history, oldest first.
pub(crate) async fn history(
    db: impl PgExecutor<'_>,
    id: Uuid,
) -> Result<Vec<Transition>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT from_status, to_status, cause, recorded_at
           FROM submission_history WHERE submission_id = $1 ORDER BY id"#,
        id
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            let status = |s: &str| Status::parse(s).ok_or_else(|| corrupt("history status"));
            Ok(Transition {
                from: r.from_status.as_deref().map(status).transpose()?,
                to: status(&r.to_status)?,
                cause: r.cause,
                at: r.recorded_at,
            })
        })
        .collect()
}

/// Locks `owner`'s submissions whose data is not erased yet, in id order
/// (so that two erasures cannot deadlock); returns their ids and GTF ids.
pub(crate) async fn lock_unerased_of(
    conn: &mut PgConnection,
    owner: &PartnerUserId,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, gtf_submission_id FROM submissions
           WHERE owner_id = $1 AND erased_at IS NULL
           ORDER BY id
           FOR UPDATE"#,
        owner.as_str()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.gtf_submission_id))
        .collect())
}

/// Marks the submissions' personal data erased, as of the transaction's
/// start.
pub(crate) async fn mark_erased(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE submissions SET erased_at = now() WHERE id = ANY($1)",
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}
