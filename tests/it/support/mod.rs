//! Shared pieces of the integration tests.

pub mod app;
pub mod db;
pub mod fake_gtf;
pub mod logs;
pub mod process;
pub mod tcp_proxy;

use std::net::SocketAddr;
use std::time::Duration;

use gtf_bff::config::{BaseUrl, GtfConfig};
use gtf_bff::domain::PartnerUserId;
use gtf_bff::gtf::{ClientOptions, GtfClient, RetryPolicy, Session};
use gtf_bff::sim::{ConfirmRepeat, SimConfig, SimHandle};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

pub const CLIENT_ID: &str = "test-client";
pub const PASS_KEY: &str = "test-pass-key-0123456789";

/// A simulator configuration for tests: port 0, fast processing, no callbacks.
pub fn sim_config() -> SimConfig {
    SimConfig {
        listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        public_url: None,
        client_id: CLIENT_ID.into(),
        pass_key: SecretString::from(PASS_KEY),
        callback_url: None,
        callback_auth: None,
        processing: Duration::from_millis(200),
        token_ttl: Duration::from_secs(1800),
        upload_ttl: Duration::from_secs(600),
        documents: vec!["KTP".into()],
        confirm_repeat: ConfirmRepeat::Ok,
        callback_retry_base: Duration::from_millis(50),
        callback_attempts: 3,
    }
}

/// A running simulator, stopped when dropped.
pub struct Sim {
    pub handle: SimHandle,
    stop: CancellationToken,
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl std::ops::Deref for Sim {
    type Target = SimHandle;
    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

pub async fn start_sim(config: SimConfig) -> Sim {
    let stop = CancellationToken::new();
    let handle = SimHandle::start(config, stop.clone())
        .await
        .expect("the simulator starts on a free port");
    Sim { handle, stop }
}

pub fn gtf_config(base_url: &str, timeout: Duration) -> GtfConfig {
    GtfConfig {
        token_base_url: BaseUrl::parse(base_url).unwrap(),
        api_base_url: BaseUrl::parse(base_url).unwrap(),
        client_id: CLIENT_ID.into(),
        pass_key: SecretString::from(PASS_KEY),
        onboarding_partner: "TEST-BE-COE_KTP_SCAN".into(),
        partner_user_id_type: "TEST_USER_ID".into(),
        timeout,
    }
}

/// Retries as in production, but with short delays.
pub fn fast_retries() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(2),
        },
        ..ClientOptions::default()
    }
}

pub fn client(base_url: &str) -> GtfClient {
    GtfClient::with_options(gtf_config(base_url, Duration::from_secs(5)), fast_retries()).unwrap()
}

pub fn user(id: &str) -> PartnerUserId {
    PartnerUserId::parse(id).unwrap()
}

/// A unique user id, so tests sharing a simulator never share a user.
pub fn new_user(suffix: &str) -> PartnerUserId {
    user(&format!("u-{}{suffix}", uuid::Uuid::new_v4().simple()))
}

pub fn session() -> Session {
    Session {
        partner_session_id: uuid::Uuid::new_v4().to_string(),
        sdk_session_id: uuid::Uuid::new_v4().to_string(),
    }
}

/// The smallest byte string the simulator's storage accepts as a JPEG.
pub const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0xFF, 0xD9,
];
