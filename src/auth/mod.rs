//! End-user JWTs (partner-api.md §2).

pub mod issue;
pub mod verify;
