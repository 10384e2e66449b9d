//! The vocabulary of gtf-bff, free of HTTP, SQL and GTF wire formats.

mod gtf_status;
mod status;
mod submission;
mod user;

pub use gtf_status::{GtfResult, GtfStatus};
pub use status::{Event, Outcome, State, Status};
pub use submission::{KTP_SCAN, Submission, Upload};
pub use user::PartnerUserId;
