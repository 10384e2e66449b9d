//! The GTF simulator: token gateway, API
//! gateway and object storage on one address, plus the callback sender.
//! It follows GTF's documented API, not the client's convenience.

mod callback_sender;
mod config;
mod envelope;
mod gateway;
mod outcome;
mod signer;
mod state;
mod storage;
mod token;
mod views;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use self::config::{ConfirmRepeat, SimConfig};
use self::envelope::{Code, GtfError};
use self::signer::Signer;
use self::state::{Store, Submission};

/// Everything the handlers share.
struct Sim {
    config: SimConfig,
    /// Base of the storage URLs, without a trailing slash.
    public_base: String,
    signer: Signer,
    /// The configured pass-key under `signer`, compared in constant time.
    pass_key_tag: Vec<u8>,
    store: Store,
    callbacks: Option<Arc<callback_sender::Sender>>,
    shutdown: CancellationToken,
}

impl Sim {
    fn new(config: SimConfig, addr: SocketAddr, shutdown: CancellationToken) -> io::Result<Self> {
        let public_base = match &config.public_url {
            Some(url) => url.as_str().to_owned(),
            None => format!("http://{addr}"),
        };
        let callbacks = match &config.callback_url {
            Some(url) => {
                let auth = config
                    .callback_auth
                    .as_ref()
                    .map(|credential| credential.header())
                    .transpose()
                    .map_err(|problem| io::Error::new(io::ErrorKind::InvalidInput, problem))?;
                let sender = callback_sender::Sender::new(
                    url.clone(),
                    auth,
                    config.callback_attempts,
                    config.callback_retry_base,
                )
                .map_err(io::Error::other)?;
                Some(Arc::new(sender))
            }
            None => None,
        };
        let signer = Signer::random();
        Ok(Self {
            pass_key_tag: signer.tag(config.pass_key.expose_secret().as_bytes()),
            signer,
            public_base,
            store: Store::default(),
            callbacks,
            shutdown,
            config,
        })
    }

    /// Sends the callback once the submission turns final, unless its user
    /// opted out or no callback URL is configured.
    fn schedule_callback(&self, submission: &Submission) {
        let Some(sender) = self
            .callbacks
            .clone()
            .filter(|_| submission.scenario.callback)
        else {
            return;
        };
        let (id, verdict) = (submission.id, submission.scenario.verdict);
        let (delay, shutdown) = (self.config.processing, self.shutdown.clone());
        tokio::spawn(async move {
            sender.deliver_after(delay, id, verdict, &shutdown).await;
        });
    }
}

/// A header's value when present, text and not blank.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then_some(value)
}

fn router(sim: Arc<Sim>) -> Router {
    let storage_cors = storage::cors(&sim.config.cors_origins);
    Router::new()
        .route("/v2/coe/authentication", get(token::user_token))
        .route("/v1/coe/partner/authentication", get(token::partner_token))
        .route(
            "/coe/v1/submissions/urls",
            get(gateway::presign).put(gateway::confirm),
        )
        .route(
            "/coe/v1/submissions/{submission_id}/status",
            get(gateway::status),
        )
        .route("/coe/v1/submissions", get(gateway::details))
        // A fallback of its own, or the router's would replace it and the
        // CORS layer would never see a preflight (OPTIONS).
        .route(
            "/storage/{*key}",
            put(storage::upload)
                .fallback(async || storage::S3Error::MethodNotAllowed)
                .layer(storage_cors),
        )
        .route("/_sim/stats", get(stats))
        .fallback(async || GtfError::new(StatusCode::NOT_FOUND, Code::Str("404"), "NOT_FOUND"))
        .method_not_allowed_fallback(async || {
            GtfError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                Code::Str("405"),
                "METHOD_NOT_ALLOWED",
            )
        })
        .with_state(sim)
}

/// Mint counts for a benchmark in another process.
async fn stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let (total, per_user) = sim.store.mint_counts();
    Json(json!({ "totalMints": total, "mints": per_user }))
}

/// A running simulator, for tests and for `gtf-bff sim`. Cheap to hold: the
/// state is shared with the server task.
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
}

impl SimHandle {
    /// Binds `config.listen_addr` (port 0 picks a free port) and serves in the
    /// background until `shutdown` is cancelled.
    pub async fn start(config: SimConfig, shutdown: CancellationToken) -> io::Result<Self> {
        let (handle, server) = bind(config, shutdown).await?;
        tokio::spawn(async move {
            if let Err(err) = server.await {
                tracing::error!(%err, "simulator stopped");
            }
        });
        Ok(handle)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: the base URL of the token gateway, the API gateway and
    /// the storage alike.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// User tokens minted for this `x-partner-user-id`.
    pub fn mints(&self, partner_user_id: &str) -> usize {
        self.sim.store.mints(partner_user_id)
    }

    pub fn total_mints(&self) -> usize {
        self.sim.store.mint_counts().0
    }

    /// The user's live tokens: for tests that prove no token leaks.
    pub fn live_tokens(&self, partner_user_id: &str) -> Vec<String> {
        self.sim.store.live_tokens(partner_user_id)
    }

    /// Every token minted so far for this user is refused from now on.
    pub fn revoke_tokens(&self, partner_user_id: &str) {
        self.sim.store.revoke(partner_user_id);
    }

    /// Confirm requests that named this submission id, whatever the answer.
    pub fn confirm_calls(&self, gtf_submission_id: &str) -> usize {
        self.sim.store.confirm_calls(gtf_submission_id)
    }
}

async fn bind(
    config: SimConfig,
    shutdown: CancellationToken,
) -> io::Result<(
    SimHandle,
    impl Future<Output = io::Result<()>> + Send + 'static,
)> {
    let listener = TcpListener::bind(config.listen_addr).await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(Sim::new(config, addr, shutdown.clone())?);
    let server = axum::serve(listener, router(Arc::clone(&sim)))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .into_future();
    Ok((SimHandle { addr, sim }, server))
}

/// Runs the simulator until `shutdown` is cancelled.
pub async fn serve(config: SimConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listen_addr = config.listen_addr;
    let (handle, server) = bind(config, shutdown)
        .await
        .with_context(|| format!("starting the simulator on {listen_addr}"))?;
    tracing::info!(addr = %handle.addr(), "GTF simulator listening");
    server.await.context("serving the simulator")
}
