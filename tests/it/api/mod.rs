//! The partner API (partner-api.md §2), over HTTP, with a real database.

mod auth;
mod errors;
mod flow;
mod idempotency;
mod pagination;
mod upstream;
