//! The partner API, over HTTP, with a real database.

mod auth;
mod errors;
mod flow;
mod idempotency;
mod pagination;
mod upstream;
