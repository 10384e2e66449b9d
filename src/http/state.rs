use std::sync::Arc;

use crate::auth::verify::JwtVerifier;
use crate::kyc::Kyc;

/// What handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub kyc: Kyc,
    pub auth: Arc<JwtVerifier>,
}
