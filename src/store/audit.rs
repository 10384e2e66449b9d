//! The access audit log: append-only (the database refuses updates and
//! deletes, but for the retention purge's).

use serde_json::Value;
use sqlx::{PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::corrupt;
use crate::domain::{Action, Actor, ActorKind, PartnerUserId};

/// An entry to append.
pub(crate) struct NewEntry<'a> {
    pub(crate) actor: &'a Actor,
    pub(crate) action: Action,
    pub(crate) partner_user_id: Option<&'a str>,
    pub(crate) submission_id: Option<Uuid>,
    pub(crate) detail: Option<Value>,
}

pub(crate) async fn insert(db: impl PgExecutor<'_>, e: &NewEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"INSERT INTO access_audit
             (actor, actor_kind, action, partner_user_id, submission_id, request_id, detail)
           VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        e.actor.id,
        e.actor.kind.as_str(),
        e.action.as_str(),
        e.partner_user_id,
        e.submission_id,
        e.actor.request_id,
        e.detail,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An entry as stored.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: i64,
    pub(crate) at: OffsetDateTime,
    pub(crate) actor: String,
    pub(crate) actor_kind: ActorKind,
    pub(crate) action: Action,
    pub(crate) partner_user_id: Option<String>,
    pub(crate) submission_id: Option<Uuid>,
    pub(crate) request_id: String,
    pub(crate) detail: Option<Value>,
}

/// Which entries to list; every field narrows.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub(crate) partner_user_id: Option<PartnerUserId>,
    pub(crate) actor: Option<PartnerUserId>,
    pub(crate) action: Option<Action>,
    /// At or after.
    pub(crate) from: Option<OffsetDateTime>,
    /// Before.
    pub(crate) to: Option<OffsetDateTime>,
}

/// A page of entries matching `filter`, newest first, strictly after
/// `after` (the `(at, id)` of the last one already seen).
pub(crate) async fn list(
    db: impl PgExecutor<'_>,
    filter: &Filter,
    after: Option<(OffsetDateTime, i64)>,
    limit: i64,
) -> Result<Vec<Entry>, sqlx::Error> {
    let (after_at, after_id) = after.unzip();
    let rows = sqlx::query!(
        r#"SELECT id, at, actor, actor_kind, action, partner_user_id, submission_id, request_id,
                  detail
           FROM access_audit
           WHERE ($1::text IS NULL OR partner_user_id = $1)
             AND ($2::text IS NULL OR actor = $2)
             AND ($3::text IS NULL OR action = $3)
             AND ($4::timestamptz IS NULL OR at >= $4)
             AND ($5::timestamptz IS NULL OR at < $5)
             AND ($6::timestamptz IS NULL OR (at, id) < ($6, $7::bigint))
           ORDER BY at DESC, id DESC
           LIMIT $8"#,
        filter.partner_user_id.as_ref().map(PartnerUserId::as_str),
        filter.actor.as_ref().map(PartnerUserId::as_str),
        filter.action.map(Action::as_str),
        filter.from,
        filter.to,
        after_at,
        after_id,
        limit
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Entry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                actor_kind: ActorKind::parse(&r.actor_kind)
                    .ok_or_else(|| corrupt("audit actor kind"))?,
                action: Action::parse(&r.action).ok_or_else(|| corrupt("audit action"))?,
                partner_user_id: r.partner_user_id,
                submission_id: r.submission_id,
                request_id: r.request_id,
                detail: r.detail,
            })
        })
        .collect()
}

/// Deletes entries older than `age_secs`, a batch at a time; returns how
/// many. The table's trigger lets a DELETE through only for rows older than
/// the cutoff set in the deleting transaction itself, which only this
/// purge sets.
pub(crate) async fn purge_older_than(db: &PgPool, age_secs: f64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query_scalar!(
        r#"SELECT set_config('gtf_bff.audit_purge_before',
                             (now() - make_interval(secs => $1))::text, true)"#,
        age_secs
    )
    .fetch_one(&mut *tx)
    .await?;
    let done = sqlx::query!(
        r#"DELETE FROM access_audit
           WHERE id IN (
               SELECT id FROM access_audit
               WHERE at < current_setting('gtf_bff.audit_purge_before')::timestamptz
               LIMIT 1000)"#
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}
