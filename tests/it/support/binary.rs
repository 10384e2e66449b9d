//! The real `gtf-bff serve` process, for what only a process can show: a
//! SIGKILL, with no drain and no cleanup.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::app::{CALLBACK_AUTH, JWT_SECRET, data_key};
use super::wait::wait_until;
use super::{CLIENT_ID, PASS_KEY};

/// How to start the service on one port, again and again.
pub struct Service {
    pub base_url: String,
    pub metrics_url: String,
    env: Vec<(String, String)>,
}

/// The binary, running; killed (SIGKILL) and reaped when dropped, so that a
/// failed assertion leaves no process behind.
pub struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        // Already gone when the test killed it itself.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Service {
    /// Against `database_url` and GTF at `gtf`, on a free port, with `extra`
    /// settings on top of the tests' usual ones.
    pub fn new(database_url: &str, gtf: &str, extra: &[(&str, &str)]) -> Self {
        let (port, metrics_port) = (free_port(), free_port());
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", database_url),
            ("BFF_LISTEN_ADDR", &format!("127.0.0.1:{port}")),
            ("METRICS_LISTEN_ADDR", &format!("127.0.0.1:{metrics_port}")),
            ("GTF_TOKEN_BASE_URL", gtf),
            ("GTF_API_BASE_URL", gtf),
            ("GTF_CLIENT_ID", CLIENT_ID),
            ("GTF_PASS_KEY", PASS_KEY),
            ("GTF_ONBOARDING_PARTNER", "TEST-BE-COE_KTP_SCAN"),
            ("GTF_PARTNER_USER_ID_TYPE", "TEST_USER_ID"),
            ("AUTH_JWT_SECRET", JWT_SECRET),
            ("CALLBACK_AUTH", CALLBACK_AUTH),
            ("BFF_DATA_KEY", &data_key()),
            ("DB_MAX_CONNECTIONS", "4"),
            ("RUST_LOG", "warn"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            metrics_url: format!("http://127.0.0.1:{metrics_port}"),
            env,
        }
    }

    /// Starts it and waits until it is ready.
    pub async fn start(&self) -> Process {
        let child = Command::new(env!("CARGO_BIN_EXE_gtf-bff"))
            .arg("serve")
            .env_clear()
            .current_dir(std::env::temp_dir())
            .envs(self.env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let process = Process(child);
        let http = reqwest::Client::new();
        let readyz = format!("{}/readyz", self.base_url);
        wait_until(
            "the service to become ready",
            Duration::from_secs(10),
            || async {
                http.get(&readyz)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                    .then_some(())
            },
        )
        .await;
        process
    }
}

/// A port free a moment ago, for a process that binds it itself.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
