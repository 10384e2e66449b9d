//! End-user JWTs.

pub mod issue;
pub mod verify;
