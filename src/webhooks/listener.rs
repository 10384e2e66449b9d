//! `gtf-bff webhook-listen`: a receiver for local runs that checks each
//! delivery's signature and timestamp and prints the verified events, so
//! that the quick start shows them arriving.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::WebhookSecret;

/// A timestamp further from now than this is refused (a replay).
const TOLERANCE_SECS: i64 = 5 * 60;

/// Serves on `addr` until `shutdown`, on any path.
pub async fn listen(
    addr: SocketAddr,
    secrets: Vec<WebhookSecret>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = Router::new()
        .route("/", post(receive))
        .route("/{*path}", post(receive))
        .with_state(Arc::new(secrets));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!("webhook-listen: waiting for events on http://{addr}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("serving")
}

async fn receive(
    State(secrets): State<Arc<Vec<WebhookSecret>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    match verify(&secrets, &headers, &body) {
        Ok(id) => {
            println!("verified {id}: {}", String::from_utf8_lossy(&body));
            StatusCode::NO_CONTENT
        }
        Err(why) => {
            println!("rejected a delivery: {why}");
            StatusCode::UNAUTHORIZED
        }
    }
}

fn verify<'a>(
    secrets: &[WebhookSecret],
    headers: &'a HeaderMap,
    body: &[u8],
) -> Result<&'a str, &'static str> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let id = header("webhook-id").ok_or("no webhook-id")?;
    let timestamp: i64 = header("webhook-timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or("no webhook-timestamp")?;
    if (OffsetDateTime::now_utc().unix_timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return Err("the timestamp is too far from now");
    }
    let signatures = header("webhook-signature").ok_or("no webhook-signature")?;
    let signed = signatures.split(' ').any(|sig| {
        secrets
            .iter()
            .any(|secret| secret.verifies(id, timestamp, body, sig))
    });
    signed.then_some(id).ok_or("no signature matches")
}
