//! JWTs: end users', and operators' with their scopes.

pub mod issue;
pub(crate) mod scope;
pub(crate) mod verify;
