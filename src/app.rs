//! Assembling the service from its configuration, and running it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::verify::JwtVerifier;
use crate::config::ServiceConfig;
use crate::crypto::DataKeys;
use crate::gtf::{ClientOptions, GtfClient};
use crate::http::{self, AppState};
use crate::kyc::Kyc;
use crate::store;

/// Everything `serve` runs, built and migrated, not yet listening.
pub struct App {
    pub state: AppState,
}

impl App {
    /// Connects, migrates, and builds the GTF client and JWT verifier.
    pub async fn build(config: &ServiceConfig, gtf_options: ClientOptions) -> anyhow::Result<Self> {
        let db = store::pool(&config.database_url, config.db_max_connections)?;
        store::migrate(&db).await.context("applying migrations")?;
        let gtf = GtfClient::with_options(config.gtf.clone(), gtf_options)?;
        let keys = DataKeys::from_base64(&config.data_key, &config.previous_data_keys)
            .map_err(anyhow::Error::msg)?;
        let auth = JwtVerifier::new(&config.auth)
            .await
            .context("loading the JWT verification keys")?;
        Ok(Self {
            state: AppState {
                kyc: Kyc::new(db, gtf, Arc::new(keys)),
                auth: Arc::new(auth),
            },
        })
    }

    /// Serves on `listener` until `shutdown` is cancelled, then lets
    /// in-flight requests finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let router = http::router(self.state);
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("serving HTTP")
    }
}

/// `gtf-bff serve`.
pub async fn run(config: ServiceConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let app = App::build(&config, ClientOptions::default()).await?;
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("binding {}", config.listen_addr))?;
    tracing::info!(addr = %config.listen_addr, "gtf-bff listening");
    app.serve(listener, shutdown).await
}
