//! The vocabulary of gtf-bff and the lifecycle's rules, free of HTTP, SQL
//! and GTF wire formats.

mod audit;
mod gtf_status;
mod lifecycle;
mod resource;
mod status;
mod submission;
mod user;
mod webhook;

pub(crate) use audit::{Action, Actor, ActorKind};
pub use gtf_status::{GtfResult, GtfStatus};
pub(crate) use lifecycle::{Cause, Pacing, backoff};
pub(crate) use resource::{ErasureView, SubmissionView};
pub(crate) use status::{Event, Outcome, State, Status};
pub(crate) use submission::{KTP_SCAN, Submission, Upload};
pub use user::PartnerUserId;
pub use webhook::EventType;
