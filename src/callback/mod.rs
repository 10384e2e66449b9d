//! GTF → gtf-bff callbacks (partner-api.md §3).

pub mod credential;
pub mod guard;
pub mod parse;
