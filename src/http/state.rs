use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::callback_guard::CallbackGuard;
use super::stream_slots::StreamSlots;
use crate::auth::verify::JwtVerifier;
use crate::events::ChangeFeed;
use crate::kyc::Kyc;
use crate::limits::Limits;

/// What handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Every read and change of a submission goes through the flow.
    pub(crate) kyc: Kyc,
    /// Only for readiness and the pool gauges; data goes through `kyc`.
    pub db: PgPool,
    pub(crate) auth: Arc<JwtVerifier>,
    pub(crate) callbacks: Arc<CallbackGuard>,
    pub(crate) changes: ChangeFeed,
    pub(crate) limits: Arc<Limits>,
    /// Open event streams, per user and in all.
    pub(crate) streams: Arc<StreamSlots>,
    /// Cancelled at shutdown: long-lived responses (event streams) end.
    pub(crate) shutdown: CancellationToken,
}
