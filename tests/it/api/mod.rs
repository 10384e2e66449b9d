//! The partner API (partner-api.md §2), over HTTP, with a real database.

mod auth;
mod flow;
mod idempotency;
