//! The client side of the GTF boundary: typed calls, the shared token
//! manager, retries, and the error shapes callers branch on.

pub(crate) mod budget;
mod client;
mod error;
mod retry;
mod token;
mod wire;

pub use crate::domain::{GtfResult, GtfStatus};
pub use client::{
    ClientOptions, Details, Endpoint, GtfClient, Presigned, Session, StatusReport, UploadTarget,
};
pub use error::GtfError;
pub use retry::{Repeatable, RetryPolicy};
