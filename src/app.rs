//! Assembling the service from its configuration, and running it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::verify::JwtVerifier;
use crate::config::{DataKeysConfig, ReconcilerConfig, ServerConfig, ServiceConfig};
use crate::crypto::DataKeys;
use crate::domain::Pacing;
use crate::events::ChangeFeed;
use crate::gtf::{ClientOptions, GtfClient};
use crate::http::{self, AppState, CallbackGuard, ConnLimits, RequestTimeout, StreamSlots};
use crate::kyc::{self, Kyc, Webhooks};
use crate::limits::Limits;
use crate::store;
use crate::workers::{self, WorkerDeps};

/// Everything `serve` runs, built and migrated, not yet listening.
pub struct App {
    pub state: AppState,
    reconciler: ReconcilerConfig,
    shutdown_grace: Duration,
    cors_origins: Vec<::http::HeaderValue>,
    retention: Duration,
    server: ServerConfig,
    audit_retention: Duration,
    shutdown: CancellationToken,
}

/// The metrics listener is for one scraper and the odd probe.
const METRICS_MAX_CONNECTIONS: usize = 16;

impl App {
    /// Connects, migrates, and builds the GTF client and JWT verifier. The
    /// change feed starts listening at once and stops with `shutdown`.
    pub async fn build(
        config: &ServiceConfig,
        gtf_options: ClientOptions,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        // Installed first, so that nothing recorded before the first scrape
        // is lost.
        crate::telemetry::metrics::init();
        let db = store::pool(&config.database_url, config.db_max_connections)?;
        store::migrate(&db).await.context("applying migrations")?;
        let gtf = GtfClient::with_options(config.gtf.clone(), gtf_options)?;
        let keys = DataKeys::from_base64(&config.data_key, &config.previous_data_keys)
            .map_err(anyhow::Error::msg)?;
        kyc::check_data_keys(&db, &keys).await?;
        let auth = JwtVerifier::new(&config.auth)
            .await
            .context("loading the JWT verification keys")?;
        let auth = Arc::new(auth);
        auth.keep_fresh(shutdown.clone());
        let pacing = Pacing {
            reconcile_after: config.reconcile_after,
            first_delay: config.reconciler.first_delay,
            max_delay: config.reconciler.max_delay,
        };
        Ok(Self {
            state: AppState {
                changes: ChangeFeed::start(db.clone(), shutdown.clone()),
                kyc: Kyc::new(
                    db.clone(),
                    gtf,
                    Arc::new(keys),
                    pacing,
                    Webhooks::new(config.webhooks.clone())?,
                ),
                db,
                auth,
                callbacks: Arc::new(CallbackGuard::new(&config.callback)),
                limits: Arc::new(Limits::new(config.user_rate_limit)),
                streams: StreamSlots::new(config.streams),
                shutdown: shutdown.clone(),
            },
            reconciler: config.reconciler,
            shutdown_grace: config.shutdown_grace,
            cors_origins: config.cors_origins.clone(),
            retention: config.retention,
            server: config.server,
            audit_retention: config.audit_retention,
            shutdown,
        })
    }

    /// Serves the API on `listener` and the metrics on `metrics`, and runs
    /// the workers until shutdown; then stops accepting, and gives
    /// in-flight requests and the workers' current items `shutdown_grace` to
    /// finish before returning anyway.
    pub async fn serve(self, listener: TcpListener, metrics: TcpListener) {
        let deps = WorkerDeps {
            reconciler: self.reconciler,
            changes: self.state.changes.clone(),
            limits: self.state.limits.clone(),
            retention: self.retention,
            audit_retention: self.audit_retention,
        };
        let kyc = self.state.kyc.clone();
        let mut workers = workers::spawn(kyc.clone(), deps, self.shutdown.clone());
        let timeout = RequestTimeout::from(&self.server);
        let limits = ConnLimits {
            header_timeout: self.server.header_timeout,
            idle_timeout: self.server.idle_timeout,
            max_connections: self.server.max_connections,
        };
        let server = futures::future::join(
            http::serve(
                listener,
                http::router(self.state.clone(), &self.cors_origins, timeout),
                limits,
                self.shutdown.clone(),
            ),
            http::serve(
                metrics,
                http::metrics_router(self.state, timeout),
                ConnLimits {
                    max_connections: METRICS_MAX_CONNECTIONS,
                    ..limits
                },
                self.shutdown.clone(),
            ),
        );
        let grace = self.shutdown_grace;
        let deadline = async {
            self.shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            _ = server => {}
            () = deadline => {
                tracing::warn!(grace_s = grace.as_secs(), "requests still running at the end of the shutdown grace; exiting");
            }
        }
        // Creates whose clients hung up are no open connection, so the
        // server's drain does not wait for them.
        let drained = tokio::time::timeout(grace, async {
            tokio::join!(
                async { while workers.join_next().await.is_some() {} },
                kyc.finish_detached(),
            )
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "workers or creates still busy at the end of the shutdown grace; exiting"
            );
        }
        tracing::info!("stopped");
    }
}

/// `gtf-bff serve`.
pub async fn run(config: ServiceConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    if config.demo {
        tracing::warn!(
            "BFF_DEMO=true: the demo secrets published with gtf-bff are accepted; never run this way with real data"
        );
    }
    let app = App::build(&config, ClientOptions::default(), shutdown).await?;
    let listener = bind("BFF_LISTEN_ADDR", config.listen_addr).await?;
    let metrics = bind("METRICS_LISTEN_ADDR", config.server.metrics_addr).await?;
    tracing::info!(
        addr = %listener.local_addr()?,
        metrics_addr = %metrics.local_addr()?,
        "gtf-bff listening"
    );
    app.serve(listener, metrics).await;
    Ok(())
}

async fn bind(var: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {var} {addr}"))
}

/// `gtf-bff reseal`: every stored result re-encrypted under the current
/// data key, so that the keys in `BFF_DATA_KEY_PREVIOUS` can be retired.
pub async fn reseal(config: DataKeysConfig) -> anyhow::Result<u64> {
    let db = store::pool(&config.database_url, 2)?;
    store::migrate(&db).await.context("applying migrations")?;
    let keys =
        DataKeys::from_base64(&config.current, &config.previous).map_err(anyhow::Error::msg)?;
    kyc::reseal(&db, &keys).await
}
