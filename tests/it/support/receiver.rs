//! A partner's webhook endpoint over real HTTP. It checks every delivery
//! with the `standardwebhooks` crate, an implementation of the
//! specification independent of the service's own signer, and answers as
//! the test scripts it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::wait::wait_until;

/// A secret in the specification's format: `whsec_` + base64 of 32 bytes.
pub fn secret(byte: u8) -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

/// One request the endpoint received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub headers: HeaderMap,
    pub raw: Bytes,
    pub body: Value,
    /// Whether `standardwebhooks` accepted it with the receiver's secret.
    pub verified: bool,
}

impl Delivery {
    pub fn kind(&self) -> &str {
        self.body["type"].as_str().unwrap_or_default()
    }
}

/// How the endpoint answers a delivery.
pub enum Answer {
    Status(u16),
    /// Holds the request open past any timeout.
    Hang,
    Redirect(String),
}

type Script = dyn Fn(&Delivery, usize) -> Answer + Send + Sync;

#[derive(Clone)]
struct Shared {
    secret: String,
    log: Arc<Mutex<Vec<Delivery>>>,
    script: Arc<Script>,
}

pub struct Receiver {
    pub url: String,
    log: Arc<Mutex<Vec<Delivery>>>,
    stop: CancellationToken,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Receiver {
    /// An endpoint that always answers 204.
    pub async fn accepting(secret: &str) -> Self {
        Self::start(secret, |_, _| Answer::Status(204)).await
    }

    /// `script(delivery, n)` answers the n-th (1-based) delivery of that
    /// `webhook-id`.
    pub async fn start(
        secret: &str,
        script: impl Fn(&Delivery, usize) -> Answer + Send + Sync + 'static,
    ) -> Self {
        let shared = Shared {
            secret: secret.to_owned(),
            log: Arc::default(),
            script: Arc::new(script),
        };
        let log = shared.log.clone();
        let app = Router::new().fallback(receive).with_state(shared);
        let (addr, stop) = super::serve(app).await;
        let url = format!("http://{addr}/hooks/kyc");
        Self { url, log, stop }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what arrived, and returns it.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        wait_until(what, Duration::from_secs(15), || async {
            let got = self.deliveries();
            done(&got).then_some(got)
        })
        .await
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, raw: Bytes) -> Response {
    let verified = standardwebhooks::Webhook::new(&shared.secret)
        .and_then(|wh| wh.verify(&raw, &headers))
        .is_ok();
    let delivery = Delivery {
        id: headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        headers,
        raw,
        verified,
    };
    let n = {
        let mut log = shared.log.lock().unwrap();
        log.push(delivery.clone());
        log.iter().filter(|d| d.id == delivery.id).count()
    };
    match (shared.script)(&delivery, n) {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Answer::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
    }
}
