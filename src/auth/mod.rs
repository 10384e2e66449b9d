//! End-user JWTs.

pub mod issue;
pub(crate) mod verify;
