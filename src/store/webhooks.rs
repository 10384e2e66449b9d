//! The webhook outbox: events, and their deliveries to each endpoint.

use serde_json::Value;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// An event to record, with a delivery for each of `endpoints`.
pub(crate) struct NewEvent<'a> {
    pub(crate) id: &'a str,
    pub(crate) kind: &'a str,
    pub(crate) submission_id: Option<Uuid>,
    pub(crate) partner_user_id: &'a str,
    pub(crate) body: &'a Value,
    pub(crate) endpoints: &'a [String],
    /// Deliveries with the same key reach an endpoint in creation order.
    pub(crate) ordering_key: &'a str,
}

/// Records the event and its deliveries; the caller announces them
/// (`super::announce`) once they are committed.
pub(crate) async fn enqueue(conn: &mut PgConnection, e: &NewEvent<'_>) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = e.endpoints.iter().map(|_| Uuid::new_v4()).collect();
    sqlx::query!(
        r#"WITH event AS (
             INSERT INTO webhook_events (id, type, submission_id, partner_user_id, body)
             VALUES ($1, $2, $3, $4, $5)
             RETURNING id)
           INSERT INTO webhook_deliveries (id, event_id, endpoint, ordering_key)
           SELECT d.id, event.id, d.endpoint, $8
           FROM event, unnest($6::uuid[], $7::text[]) AS d (id, endpoint)"#,
        e.id,
        e.kind,
        e.submission_id,
        e.partner_user_id,
        e.body,
        &ids,
        e.endpoints,
        e.ordering_key,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery claimed for an attempt.
#[derive(Debug)]
pub(crate) struct Due {
    pub(crate) id: Uuid,
    pub(crate) event_id: String,
    pub(crate) kind: String,
    pub(crate) endpoint: String,
    pub(crate) attempts: i32,
    pub(crate) body: String,
}

/// Claims up to `limit` due deliveries for `lease_secs`. A delivery waits
/// while an earlier one with its endpoint and ordering key is pending: it
/// must be the first unfinished one.
///
/// Shaped so that no plan depends on the statistics or on the limit (the
/// prepared statement's generic plan, made once per connection, often when
/// the tables were small, lasts until they are next analyzed):
/// - the ordering check is a subquery, one probe of
///   `webhook_deliveries_unfinished` per candidate (see migration 0009),
///   with `<=` (estimated as passing a third, where `=` on the unique `seq`
///   looked like one row in all and made a full scan look as cheap);
/// - the claimed ids are an array the update looks up by key;
/// - each claimed delivery's event is a lateral lookup that the planner
///   cannot turn into a join: a join with the events, planned while they
///   were few, hashed all of them for every claim (9 ms at 25,000).
pub(crate) async fn claim_due(
    db: impl PgExecutor<'_>,
    limit: i64,
    lease_secs: f64,
) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query_as!(
        Due,
        r#"WITH claimed AS (
             UPDATE webhook_deliveries d
             SET lease_until = now() + make_interval(secs => $2)
             WHERE d.id = ANY (ARRAY(
                 SELECT c.id FROM webhook_deliveries c
                 WHERE c.status = 'pending'
                   AND c.next_attempt_at <= now()
                   AND (c.lease_until IS NULL OR c.lease_until < now())
                   AND c.seq <= (
                     SELECT p.seq FROM webhook_deliveries p
                     WHERE p.finished_at IS NULL AND p.endpoint = c.endpoint
                       AND p.ordering_key = c.ordering_key
                     ORDER BY p.seq
                     LIMIT 1)
                 ORDER BY c.next_attempt_at
                 LIMIT $1
                 FOR UPDATE SKIP LOCKED))
             RETURNING d.id, d.event_id, d.endpoint, d.attempts)
           SELECT c.id AS "id!", c.event_id AS "event_id!", e.type AS "kind!",
                  c.endpoint AS "endpoint!", c.attempts AS "attempts!", e.body AS "body!"
           FROM claimed c
           -- OFFSET 0 keeps the subquery from being pulled up into a join.
           CROSS JOIN LATERAL (
             SELECT type, body::text FROM webhook_events WHERE id = c.event_id OFFSET 0
           ) AS e"#,
        limit,
        lease_secs
    )
    .fetch_all(db)
    .await
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum After {
    Succeeded,
    RetryIn(f64),
    Failed,
}

/// Records an attempt and releases the delivery. Its commit does not wait
/// for the disk (`synchronous_commit` off for this transaction only): one
/// such commit per delivery, each waiting for its own flush, bounded the
/// sender. Should PostgreSQL itself crash, the records of its last moments
/// (up to three `wal_writer_delay`s) are lost, and those deliveries, still
/// claimed, are sent again when their lease lapses: at least once, as ever.
pub(crate) async fn record_attempt(
    db: impl PgExecutor<'_>,
    id: Uuid,
    after: After,
    response_status: Option<u16>,
    response: &str,
) -> Result<(), sqlx::Error> {
    let (status, retry_in) = match after {
        After::Succeeded => ("succeeded", None),
        After::RetryIn(secs) => ("pending", Some(secs)),
        After::Failed => ("failed", None),
    };
    sqlx::query!(
        r#"UPDATE webhook_deliveries
           SET status = $2, attempts = attempts + 1, lease_until = NULL,
               last_attempt_at = now(), last_response_status = $3, last_response = $4,
               next_attempt_at = COALESCE(now() + make_interval(secs => $5), next_attempt_at),
               finished_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
           FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
           WHERE id = $1"#,
        id,
        status,
        response_status.map(i32::from),
        response,
        retry_in,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// How long the oldest pending delivery has waited, in seconds (0: none).
pub(crate) async fn oldest_pending_age_secs(db: impl PgExecutor<'_>) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at))::float8, 0) AS "age!"
           FROM webhook_deliveries WHERE status = 'pending'"#
    )
    .fetch_one(db)
    .await
}

/// Deletes finished deliveries older than `age_secs`, and events left with
/// none, a batch at a time; returns how many deliveries.
pub(crate) async fn purge_older_than(
    db: impl PgExecutor<'_>,
    age_secs: f64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query_scalar!(
        r#"WITH gone AS (
             DELETE FROM webhook_deliveries
             WHERE id IN (
               SELECT id FROM webhook_deliveries
               WHERE status <> 'pending' AND finished_at < now() - make_interval(secs => $1)
               LIMIT 1000)
             RETURNING id, event_id),
           -- Both deletes see the rows as they were: a delivery `gone`
           -- removes still shows here, hence the second condition.
           events AS (
             DELETE FROM webhook_events e
             WHERE e.id IN (SELECT event_id FROM gone)
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                               WHERE d.event_id = e.id
                                 AND d.id NOT IN (SELECT id FROM gone)))
           SELECT count(*) AS "n!" FROM gone"#,
        age_secs
    )
    .fetch_one(db)
    .await?;
    Ok(done as u64)
}

/// A delivery as operators see it, with the event it carries.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) id: Uuid,
    pub(crate) endpoint: String,
    pub(crate) kind: String,
    /// `pending`, `succeeded` or `failed`.
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) last_attempt_at: Option<OffsetDateTime>,
    /// None unless pending.
    pub(crate) next_attempt_at: Option<OffsetDateTime>,
    pub(crate) last_response_status: Option<i32>,
    pub(crate) partner_user_id: String,
    pub(crate) submission_id: Option<Uuid>,
}

/// The deliveries of a submission's events, in creation order.
pub(crate) async fn deliveries_of(
    db: impl PgExecutor<'_>,
    submission_id: Uuid,
) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query_as!(
        Delivery,
        r#"SELECT d.id, d.endpoint, e.type AS kind, d.status, d.attempts, d.last_attempt_at,
                  CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
                  d.last_response_status, e.partner_user_id, e.submission_id
           FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
           WHERE e.submission_id = $1
           ORDER BY d.seq"#,
        submission_id
    )
    .fetch_all(db)
    .await
}

/// Locks a delivery; returns whether an attempt of it is under way (a
/// sender holds its lease), or None when there is no such delivery.
pub(crate) async fn lock_delivery(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<bool>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT (status = 'pending' AND COALESCE(lease_until > now(), false)) AS "in_flight!"
           FROM webhook_deliveries WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Starts a new attempt series for a delivery: pending, no attempts yet,
/// due now; the event (and its `webhook-id`) is the same.
pub(crate) async fn restart(conn: &mut PgConnection, id: Uuid) -> Result<Delivery, sqlx::Error> {
    sqlx::query_as!(
        Delivery,
        r#"UPDATE webhook_deliveries d
           SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL,
               finished_at = NULL
           FROM webhook_events e
           WHERE d.id = $1 AND e.id = d.event_id
           RETURNING d.id, d.endpoint, e.type AS kind, d.status, d.attempts, d.last_attempt_at,
                     d.next_attempt_at AS "next_attempt_at?", d.last_response_status,
                     e.partner_user_id, e.submission_id"#,
        id
    )
    .fetch_one(conn)
    .await
}

/// Starts a new attempt series for every delivery marked failed at or
/// after `since`; returns how many.
pub(crate) async fn restart_failed_since(
    conn: &mut PgConnection,
    since: OffsetDateTime,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"UPDATE webhook_deliveries
           SET status = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL,
               finished_at = NULL
           WHERE status = 'failed' AND finished_at >= $1"#,
        since
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
