//! `POST|PUT|PATCH /coe/submissions-callback`: GTF's pushes. The sender is
//! checked here ([`super::callback_guard`]); storing and acting on the
//! callback is the flow's (`kyc::callbacks`). The acknowledgement never
//! waits on GTF.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::RawBody;
use super::problem::ApiError;
use super::state::AppState;
use crate::kyc::{CallbackBody, Stored, parse_callback};
use crate::telemetry::metrics;

#[derive(Serialize, ToSchema)]
pub(super) struct Ack {
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
    ),
    security(("callback" = []))
)]
pub(super) async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Ack>, ApiError> {
    let outcome = store(&state, peer, &headers, &body).await;
    metrics::callback_received(match &outcome {
        Ok(Stored::New) => "stored",
        Ok(Stored::Duplicate) => "duplicate",
        Ok(Stored::OverCap) => "over_cap",
        Err(ApiError::CallbackForbidden) => "forbidden",
        Err(ApiError::CallbackUnauthorized) => "unauthorized",
        Err(ApiError::CallbackNotStored) => "not_stored",
        Err(ApiError::RateLimited(_)) => "rate_limited",
        Err(_) => "invalid",
    });
    match outcome? {
        Stored::New => {}
        Stored::Duplicate => tracing::info!("duplicate callback acknowledged"),
        Stored::OverCap => {
            tracing::warn!("callback acknowledged but not stored: its submissionId has too many");
        }
    }
    Ok(Json(Ack { success: true }))
}

/// Checks the sender and the body, and hands the callback to the flow.
async fn store(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Stored, ApiError> {
    if !state.callbacks.source_allowed(peer.ip(), headers) {
        return Err(ApiError::CallbackForbidden);
    }
    // The client's address behind a trusted proxy, so that one guesser
    // behind the ingress does not lock GTF out.
    let sender = state.callbacks.sender(peer.ip(), headers);
    let failures = &state.limits.callback_failures;
    // Refused before the credential is compared: once over budget, the
    // answer is the same whether a guess is right or not.
    failures.check(&sender).map_err(ApiError::RateLimited)?;
    if !state.callbacks.authenticates(headers) {
        failures.record_failure(sender);
        return Err(ApiError::CallbackUnauthorized);
    }
    let callback = parse_callback(body).map_err(ApiError::InvalidCallback)?;
    tracing::debug!(status = %callback.fields.status, reason = ?callback.fields.reason_code, "callback received");
    state.kyc.receive_callback(&callback).await.map_err(|e| {
        tracing::error!(error = %e, "callback not stored; GTF will retry");
        ApiError::CallbackNotStored
    })
}
