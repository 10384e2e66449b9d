//! One integration-test binary: a real simulator (or a small fake GTF) over
//! real HTTP, and a real PostgreSQL where a test needs one.

mod api;
mod cli;
mod gtf_client;
mod sim;
mod support;
