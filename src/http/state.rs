use std::sync::Arc;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::callback_guard::CallbackGuard;
use crate::auth::verify::JwtVerifier;
use crate::events::ChangeFeed;
use crate::kyc::Kyc;
use crate::limits::Limits;

/// What handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Every read and change of a submission goes through the flow.
    pub kyc: Kyc,
    /// Only for readiness and the pool gauges; data goes through `kyc`.
    pub db: PgPool,
    pub auth: Arc<JwtVerifier>,
    pub callbacks: Arc<CallbackGuard>,
    pub changes: ChangeFeed,
    pub limits: Arc<Limits>,
    /// Cancelled at shutdown: long-lived responses (event streams) end.
    pub shutdown: CancellationToken,
}
