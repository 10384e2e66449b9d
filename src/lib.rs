//! gtf-bff: the partner backend-for-frontend for GoPay OneKYC (GTF) KTP Scan.
//!
//! The API, its rules and every setting are described in `docs/api.md`;
//! the running service serves `/openapi.json`, generated from this code.
//!
//! # Layout
//!
//! ```text
//! main.rs, cli.rs    the binary: serve (default) | migrate | sim | token | healthcheck
//! app.rs             builds the service from its configuration; serves and runs the workers
//! shutdown.rs        one cancellation token, cancelled on SIGTERM or Ctrl-C
//! config/            typed configuration from the environment (and .env), validated at start
//! domain/            the vocabulary, free of HTTP, SQL and GTF's JSON:
//!   status.rs          the status machine: what a change is, forward only, GTF's statuses mapped
//!   lifecycle.rs       causes of changes, when GTF is asked again (Pacing), settled predicates,
//!                      backoff
//!   gtf_status.rs, submission.rs, user.rs   GTF's words, the submission, the partner user id
//! store/             PostgreSQL: the pool, the embedded migrations, plain queries; no decisions
//! kyc/               the flow, over store and gtf; everything handlers and workers do
//!   change.rs          the one transaction path where a submission changes
//!   create.rs          start a submission (idempotency keys, presign, the row)
//!   flow.rs            read, list (cursors), confirm, and sync (ask GTF, apply its answer)
//!   callbacks.rs       parse and store callbacks; verify them by asking GTF
//!   reconcile.rs       the reconciler's pass: expire lapsed uploads, look at due submissions
//!   result.rs          fetch GTF's details once, seal them, serve them (audited)
//!   operator.rs        the operator API's reads and actions
//!   erasure.rs         erase a user's personal data, in one transaction
//!   audit.rs           the access audit log
//!   cursor.rs          signed list cursors
//!   retention.rs       purge what is past RETENTION_DAYS (the audit log: AUDIT_RETENTION_DAYS)
//! http/              the HTTP edge
//!   mod.rs             routes and middleware (the API's listener, the metrics listener)
//!   server.rs          serving a listener: HTTP/1.1 and HTTP/2, connection cap, head limit
//!   conn_clock.rs      each connection's idle and header clocks
//!   timeout.rs         the request timeout, and the GTF budget within it
//!   submissions.rs, events.rs, ops.rs   handlers: /v1, SSE, health/readiness/metrics
//!   stream_slots.rs    how many event streams may be open, per user and in all
//!   operator.rs        handlers: /ops/v1, the operator API
//!   extract.rs, view.rs                 extractors (JWT, JSON, headers) and response shapes
//!   problem.rs         the one error table: every code, status and title
//!   openapi.rs         the OpenAPI document and which problems each operation answers
//!   callback.rs, callback_guard.rs      the callback endpoint; who may call it
//!   access.rs          one span, log line and metrics sample per request
//! workers/           the background loops only (callback verifier, reconciler, housekeeping)
//! gtf/               the GTF client: client.rs, token.rs (the token manager), retry.rs,
//!                    error.rs (what callers branch on), wire.rs (GTF's JSON, read leniently),
//!                    budget.rs (how long a request's GTF calls may still take)
//! sim/               the GTF simulator
//! auth/              JWTs: verify.rs; scope.rs (operators'); issue.rs for `gtf-bff token`
//! callback_auth.rs   the CALLBACK_AUTH syntax, shared by the callback guard and the simulator
//! crypto.rs          data keys: sealing KTP data, signing list cursors
//! events.rs          the change feed: one LISTEN per process, fanned out to event streams
//! limits.rs          rate limits
//! telemetry/         logs and metrics
//! ```
//!
//! Dependencies point one way (read `←` as "is used by"):
//!
//! ```text
//! domain ← store ← kyc ← http, workers
//! domain ← gtf   ← kyc
//! ```
//!
//! `domain` uses nothing else in the crate, so its rules are tested alone.
//! `store` runs queries and decides nothing; `kyc` decides, over `store`
//! and `gtf`; `http` and `workers` read and change submissions only
//! through `kyc`. Only `app.rs` puts `http` and `workers` together. `sim`
//! shares no code with the GTF client it is meant to test.
//!
//! # Where do I change…?
//!
//! - when the reconciler asks GTF again: `src/domain/lifecycle.rs` (`Pacing`)
//! - what a change of a submission writes: `src/kyc/change.rs`
//! - a status transition rule, or how GTF's statuses map: `src/domain/status.rs`
//! - an error's status, code or title: `src/http/problem.rs`
//! - how a callback is checked: `src/http/callback_guard.rs`
//! - how a callback is stored and verified: `src/kyc/callbacks.rs`
//! - the JSON clients see: `src/http/view.rs`
//! - a query: `src/store/`, then `scripts/sqlx-prepare`
//! - a setting: `src/config/mod.rs`, `.env.example` and `docs/api.md`

pub mod app;
pub mod auth;
pub mod callback_auth;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod domain;
pub mod events;
pub mod gtf;
pub mod http;
pub mod kyc;
pub mod limits;
pub mod shutdown;
pub mod sim;
pub mod store;
pub mod telemetry;
pub mod webhooks;
pub mod workers;
