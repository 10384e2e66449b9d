//! The real binary, started as an operator would start `gtf-bff serve`.

use std::process::{Child, Command, Stdio};

use super::app::{CALLBACK_AUTH, JWT_SECRET, data_key};
use super::{CLIENT_ID, PASS_KEY};

/// A port free a moment ago, for a process that binds it itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `gtf-bff serve` against `db_url` and GTF at `gtf_base`, with the API on
/// `port` and the metrics on `metrics_port`; `extra` adds or overrides
/// variables. Nothing else of the environment reaches it.
pub fn serve(
    db_url: &str,
    gtf_base: &str,
    port: u16,
    metrics_port: u16,
    extra: &[(&str, &str)],
) -> Child {
    Command::new(env!("CARGO_BIN_EXE_gtf-bff"))
        .arg("serve")
        .env_clear()
        .current_dir(std::env::temp_dir())
        .envs([
            ("DATABASE_URL", db_url),
            ("BFF_LISTEN_ADDR", &format!("127.0.0.1:{port}")),
            ("METRICS_LISTEN_ADDR", &format!("127.0.0.1:{metrics_port}")),
            ("GTF_TOKEN_BASE_URL", gtf_base),
            ("GTF_API_BASE_URL", gtf_base),
            ("GTF_CLIENT_ID", CLIENT_ID),
            ("GTF_PASS_KEY", PASS_KEY),
            ("GTF_ONBOARDING_PARTNER", "TEST-BE-COE_KTP_SCAN"),
            ("GTF_PARTNER_USER_ID_TYPE", "TEST_USER_ID"),
            ("AUTH_JWT_SECRET", JWT_SECRET),
            ("CALLBACK_AUTH", CALLBACK_AUTH),
            ("BFF_DATA_KEY", &data_key()),
            ("DB_MAX_CONNECTIONS", "4"),
            ("RUST_LOG", "warn"),
        ])
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until `url` answers 2xx.
pub async fn wait_until_ok(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{url} never answered");
}
