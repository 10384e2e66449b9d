//! gtf-bff: the partner backend-for-frontend for GoPay OneKYC (GTF) KTP Scan.
//!
//! Layout: `domain` is pure vocabulary; `gtf` talks to GTF; `sim` imitates
//! GTF; `callback` receives GTF's pushes; `config`, `telemetry` and `auth`
//! serve the binary's commands.

pub mod app;
pub mod auth;
pub mod callback;
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
pub mod workers;
