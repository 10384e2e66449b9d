//! `POST|PUT|PATCH /coe/submissions-callback`: GTF's pushes (partner-api.md
//! §3). Stored before they are acknowledged, verified with GTF afterwards;
//! the acknowledgement never waits on GTF.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::extract::RawBody;
use super::problem::{ApiError, Problem};
use super::state::AppState;
use crate::store::inbox;
use crate::telemetry::metrics;

/// GTF's four documented fields (gtf-api.md §11); anything else is kept in
/// the stored body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackBody {
    submission_id: String,
    #[schema(example = "COMPLETED")]
    status: String,
    #[serde(default)]
    #[schema(example = "VALID")]
    result: Option<String>,
    #[serde(default)]
    reason_code: Option<String>,
}

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
    let raw: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::InvalidCallback(format!(
            "not JSON (line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    let parsed: CallbackBody = serde_json::from_value(raw.clone()).map_err(|_| {
        ApiError::InvalidCallback("expected submissionId and status strings".into())
    })?;
    tracing::debug!(status = %parsed.status, reason = ?parsed.reason_code, "callback received");
    // PostgreSQL cannot store U+0000 in text or jsonb: refusing it now is a
    // 400 GTF will not retry, rather than a 503 it would retry forever.
    if has_nul(&raw) {
        return Err(ApiError::InvalidCallback("contains U+0000".into()));
    }
    let fits = |s: &str, max: usize| (1..=max).contains(&s.len());
    if !fits(&parsed.submission_id, 128)
        || !fits(&parsed.status, 64)
        || parsed.result.as_deref().is_some_and(|r| !fits(r, 64))
    {
        return Err(ApiError::InvalidCallback(
            "a field is empty or too long".into(),
        ));
    }
    inbox::insert(
        state.kyc.db(),
        &parsed.submission_id,
        &parsed.status,
        parsed.result.as_deref(),
        &raw,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "callback not stored; GTF will retry");
        ApiError::CallbackNotStored
    })
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}
