//! Standard Webhooks on the wire (standardwebhooks.com): secrets, the
//! signature, one signed POST, and the small receiver `gtf-bff
//! webhook-listen` runs. What is sent and when is the flow's
//! (`kyc::webhooks`).

mod listener;
mod secret;
mod sender;

pub use listener::listen;
pub use secret::WebhookSecret;
pub(crate) use sender::Sender;
