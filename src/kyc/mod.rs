//! The KYC flow: everything the partner API's handlers and the background
//! workers do to submissions, in one place, over the store and the GTF
//! client. Every change of a submission goes through [`change`]'s one
//! transaction path.

mod audit;
mod callbacks;
mod change;
mod create;
mod cursor;
mod data_keys;
mod erasure;
mod flow;
mod operator;
mod reconcile;
mod result;
mod retention;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::crypto::{DataKeys, OpenError};
use crate::domain::{Pacing, Submission};
use crate::gtf::{GtfClient, GtfError, Session};

pub(crate) use crate::store::audit::{Entry as AuditEntry, Filter as AuditFilter};
pub(crate) use crate::store::submissions::Filter as SubmissionFilter;
pub(crate) use crate::store::webhooks::Delivery;
pub(crate) use audit::AuditPage;
pub(crate) use callbacks::Stored;
pub use callbacks::{Callback, CallbackBody, parse_callback};
pub(crate) use create::CreateRequest;
pub(crate) use data_keys::check_data_keys;
pub(crate) use data_keys::reseal;
pub(crate) use flow::Page;
pub(crate) use operator::Dossier;
pub(crate) use result::ResultDetails;
pub(crate) use webhooks::Webhooks;

/// What the flow can refuse, beyond "not found".
#[derive(Debug, thiserror::Error)]
pub(crate) enum KycError {
    #[error("no such submission for this user")]
    NotFound,
    #[error("the submission's upload window has closed")]
    Expired,
    #[error("GTF has not received every document")]
    UploadMissing,
    #[error("the result is not available yet")]
    ResultNotReady,
    #[error("the result's details were purged under the retention policy")]
    ResultPurged,
    #[error("the user's personal data was erased")]
    ResultErased,
    #[error("no such webhook delivery")]
    DeliveryNotFound,
    #[error("an attempt of this webhook delivery is under way")]
    DeliveryInFlight,
    /// The audit entry could not be written, so what it records did not
    /// happen (nothing was read, nothing was changed).
    #[error("audit log: {0}")]
    NotAudited(sqlx::Error),
    #[error("only KTP_SCAN submissions are supported")]
    UnsupportedType,
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this idempotency key is still running")]
    IdempotencyKeyInUse,
    #[error("the list cursor is not one this service issued")]
    InvalidCursor,
    #[error(transparent)]
    Gtf(#[from] GtfError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored result: {0}")]
    Sealed(#[from] OpenError),
}

/// The flow's dependencies; cheap to clone.
#[derive(Clone)]
pub(crate) struct Kyc {
    db: PgPool,
    gtf: GtfClient,
    keys: Arc<DataKeys>,
    pacing: Pacing,
    /// Wakes the callback verifier when this replica stored a callback.
    callback_stored: Arc<Notify>,
    /// Creates that run on after their client hung up; shutdown waits.
    detached: TaskTracker,
    webhooks: Arc<Webhooks>,
}

impl Kyc {
    pub(crate) fn new(
        db: PgPool,
        gtf: GtfClient,
        keys: Arc<DataKeys>,
        pacing: Pacing,
        webhooks: Webhooks,
    ) -> Self {
        Self {
            db,
            gtf,
            keys,
            pacing,
            callback_stored: Arc::new(Notify::new()),
            detached: TaskTracker::new(),
            webhooks: Arc::new(webhooks),
        }
    }

    /// Waits for the creates still running; none start after this.
    pub(crate) async fn finish_detached(&self) {
        self.detached.close();
        self.detached.wait().await;
    }

    /// Resolves when a callback was stored here since the last call.
    pub(crate) async fn callback_stored(&self) {
        self.callback_stored.notified().await;
    }

    /// The longest one item of background work can take: a status and a
    /// details call, each with its retries, plus the database. Claims last
    /// this long, so work a crashed process had claimed is taken up again
    /// soon, but never while a live one is still on it.
    fn work_lease(&self) -> Duration {
        self.gtf.timeout() * 8 + Duration::from_secs(10)
    }
}

/// The session ids GTF correlates this submission's calls by.
fn session(s: &Submission) -> Session {
    Session {
        partner_session_id: s.partner_session_id.clone(),
        sdk_session_id: s.sdk_session_id.clone(),
    }
}
