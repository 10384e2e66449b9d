//! The GTF simulator (partner-api.md §6, "The simulator"): token gateway, API
//! gateway and object storage on one address, plus the callback sender.

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

use crate::config::SimConfig;

/// A running simulator, for tests and for `gtf-bff sim`.
pub struct SimHandle {
    addr: SocketAddr,
}

impl SimHandle {
    /// Binds `config.listen_addr` (port 0 picks a free port) and serves in the
    /// background until `shutdown` is cancelled.
    pub async fn start(config: SimConfig, shutdown: CancellationToken) -> std::io::Result<Self> {
        let _ = (config, shutdown);
        todo!()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: the base URL of the token gateway, the API gateway and
    /// the storage alike.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Runs the simulator until `shutdown` is cancelled.
pub async fn serve(config: SimConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let _ = (config, shutdown);
    todo!()
}
