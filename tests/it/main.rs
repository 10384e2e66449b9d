//! One integration-test binary: a real simulator (or a small fake GTF) over
//! real HTTP, and a real PostgreSQL where a test needs one.

// A test binary has no users: its modules share helpers with `pub`.
#![allow(unreachable_pub)]

mod api;
mod callbacks;
mod cli;
mod data_keys;
mod demo;
mod deploy;
mod events;
mod faults;
mod gtf_client;
mod operations;
mod ops;
mod reconciler;
mod robustness;
mod server;
mod sim;
mod support;
mod webhooks;
