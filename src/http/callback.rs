//! `POST|PUT|PATCH /coe/submissions-callback`: GTF's pushes (partner-api.md
//! §3). Stored before they are acknowledged, verified with GTF afterwards;
//! the acknowledgement never waits on GTF.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::RawBody;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::callback::parse::{CallbackBody, ParsedCallback, parse};
use crate::store::inbox;
use crate::telemetry::metrics;

#[derive(Serialize, ToSchema)]
pub struct Ack {
    success: bool,
}

/// Where GTF pushes results. Stored before the acknowledgement, verified
/// with GTF afterwards. PUT and PATCH are accepted too.
#[utoipa::path(
    post,
    path = "/coe/submissions-callback",
    tag = "callbacks",
    request_body = CallbackBody,
    responses(
        (status = 200, description = "Stored (or a duplicate)", body = Ack),
        (status = 400, description = "INVALID_CALLBACK", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "UNAUTHORIZED", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "FORBIDDEN", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED: too many failed authentications from this address", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "CALLBACK_NOT_STORED (with Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("callback" = []))
)]
pub async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Ack>, ApiError> {
    let outcome = store(&state, peer, &headers, &body).await;
    metrics::callback_received(match &outcome {
        Ok(inbox::Stored::New) => "stored",
        Ok(inbox::Stored::Duplicate) => "duplicate",
        Err(ApiError::CallbackForbidden) => "forbidden",
        Err(ApiError::CallbackUnauthorized) => "unauthorized",
        Err(ApiError::CallbackNotStored) => "not_stored",
        Err(ApiError::RateLimited(_)) => "rate_limited",
        Err(_) => "invalid",
    });
    match outcome? {
        inbox::Stored::New => state.nudge.notify_one(),
        inbox::Stored::Duplicate => tracing::info!("duplicate callback acknowledged"),
    }
    Ok(Json(Ack { success: true }))
}

/// Checks the sender and the body, and stores the callback.
async fn store(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<inbox::Stored, ApiError> {
    if !state.callbacks.source_allowed(peer.ip(), headers) {
        return Err(ApiError::CallbackForbidden);
    }
    if !state.callbacks.authenticates(headers) {
        // Only failures count: a sender that authenticates is never limited.
        state
            .limits
            .callback_failures
            .check(&peer.ip())
            .map_err(ApiError::RateLimited)?;
        return Err(ApiError::CallbackUnauthorized);
    }
    let ParsedCallback { fields, raw } = parse(body).map_err(ApiError::InvalidCallback)?;
    tracing::debug!(status = %fields.status, reason = ?fields.reason_code, "callback received");
    inbox::insert(
        state.kyc.db(),
        &fields.submission_id,
        &fields.status,
        fields.result.as_deref(),
        &raw,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "callback not stored; GTF will retry");
        ApiError::CallbackNotStored
    })
}
