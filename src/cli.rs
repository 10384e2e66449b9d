//! The `gtf-bff` command line.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gtf-bff",
    version,
    about = "Partner backend-for-frontend for GoPay OneKYC (GTF) KTP Scan",
    long_about = "Partner backend-for-frontend for GoPay OneKYC (GTF) KTP Scan.\n\n\
                  Configuration comes from the environment (and a .env file when present); \
                  see .env.example."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply database migrations, then serve the partner API and run the
    /// background workers (the default command).
    Serve,
    /// Apply database migrations to DATABASE_URL and exit.
    Migrate,
    /// Re-encrypt every stored result under BFF_DATA_KEY, so that the keys
    /// in BFF_DATA_KEY_PREVIOUS can be retired; safe while the service runs.
    Reseal,
    /// Receive webhooks for local runs: check each delivery's signature and
    /// print the verified events.
    WebhookListen {
        /// A `whsec_` secret (WEBHOOK_SECRET's value); several, comma-separated.
        #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:9494")]
        addr: std::net::SocketAddr,
    },
    /// Run the GTF simulator: token gateway, API gateway, object storage for
    /// the presigned URLs, and the callback sender, on SIM_LISTEN_ADDR.
    Sim,
    /// Serve the reference web app on DEMO_LISTEN_ADDR: the KTP Scan flow in
    /// a browser against the gtf-bff at DEMO_API_URL, with a demo sign-in
    /// that signs JWTs with AUTH_JWT_SECRET. For local runs only.
    Demo,
    /// Exit 0 if the service at URL answers 200, else 1: a container
    /// health check that needs no curl in the image. By default, /readyz on
    /// the port of BFF_LISTEN_ADDR.
    Healthcheck {
        #[arg(long)]
        url: Option<String>,
    },
    /// Print a JWT for a user, signed with AUTH_JWT_SECRET (and carrying
    /// AUTH_JWT_ISSUER / AUTH_JWT_AUDIENCE when set), for trying the API with curl.
    Token {
        /// The partner user id (the `sub` claim); an operator's name with --scope.
        #[arg(long)]
        sub: String,
        /// Operator scopes for /ops/v1, space-separated: "kyc:read" or
        /// "kyc:read kyc:admin" (the `scope` claim).
        #[arg(long)]
        scope: Option<String>,
        /// Lifetime of the token in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl_secs: u64,
    },
}
