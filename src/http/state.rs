use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::auth::verify::JwtVerifier;
use crate::callback::guard::CallbackGuard;
use crate::events::ChangeFeed;
use crate::kyc::Kyc;
use crate::limits::Limits;

/// What handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub kyc: Kyc,
    pub auth: Arc<JwtVerifier>,
    pub callbacks: Arc<CallbackGuard>,
    /// Wakes the inbox worker when a callback was stored.
    pub nudge: Arc<Notify>,
    pub changes: ChangeFeed,
    pub limits: Arc<Limits>,
    /// Cancelled at shutdown: long-lived responses (event streams) end.
    pub shutdown: CancellationToken,
}
