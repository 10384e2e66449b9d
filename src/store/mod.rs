//! PostgreSQL: the pool, the embedded migrations, and the queries, as free
//! functions over a pool or a transaction.

pub(crate) mod announce;
pub(crate) mod audit;
pub(crate) mod erasures;
pub(crate) mod idempotency;
pub(crate) mod inbox;
pub(crate) mod results;
pub(crate) mod submissions;
pub(crate) mod webhooks;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};

/// The migrations in `migrations/`, compiled into the binary.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!();

/// A connection idle for longer than this is pinged before it is handed out.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// A pool that connects lazily, so the service starts (and says it is not
/// ready) while the database is down, and recovers when it returns.
///
/// sqlx pings every connection when it returns to the pool and, by default,
/// again when it leaves: a round trip on every request's path, a quarter of
/// the service's CPU on a GET (BENCHMARKS.md). Only a connection idle for
/// `PING_IF_IDLE_FOR` since that last ping is pinged again: after a database
/// restart, those are replaced before a request sees them, while a request
/// that takes one released within the second before gets an error (503).
pub fn pool(url: &SecretString, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy(url.expose_secret())
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// The database could not be reached or is overloaded: worth retrying, and
/// answered with 503 rather than 500. A connection cut during its start-up
/// surfaces as a protocol error; SQLSTATE classes 08 (connection), 53
/// (insufficient resources, e.g. too many connections) and 57P (shutdown)
/// are the server saying so itself.
pub(crate) fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57P")),
        _ => false,
    }
}

/// Data in a row that the code cannot read: a bug or a hand edit, reported
/// as a decode error of the row.
fn corrupt(what: &'static str) -> sqlx::Error {
    sqlx::Error::Decode(format!("corrupt {what} in the database").into())
}

/// Whether every migration compiled into this binary has been applied.
pub(crate) async fn migrations_applied(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .or_else(|e| match &e {
                // No migrations table yet: nothing applied.
                sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Ok(None),
                _ => Err(e),
            })?;
    Ok(applied.unwrap_or(0) >= latest)
}
