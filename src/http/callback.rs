//! `POST|PUT|PATCH /coe/submissions-callback`: GTF's pushes (partner-api.md
//! §3). Stored before they are acknowledged, verified with GTF afterwards;
//! the acknowledgement never waits on GTF.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::RawBody;
use super::problem::ApiError;
use super::state::AppState;
use crate::store::inbox;

/// The four documented fields; anything else is kept in the stored body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CallbackBody {
    submission_id: String,
    status: String,
    #[serde(default)]
    result: Option<String>,
}

pub async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>, ApiError> {
    if !state.callbacks.source_allowed(peer.ip(), &headers) {
        return Err(ApiError::CallbackForbidden);
    }
    if !state.callbacks.authenticates(&headers) {
        return Err(ApiError::CallbackUnauthorized);
    }
    let raw: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::InvalidCallback(format!(
            "not JSON (line {} column {})",
            e.line(),
            e.column()
        ))
    })?;
    let parsed: CallbackBody = serde_json::from_value(raw.clone()).map_err(|_| {
        ApiError::InvalidCallback("expected submissionId and status strings".into())
    })?;
    let fits = |s: &str, max: usize| (1..=max).contains(&s.len());
    if !fits(&parsed.submission_id, 128)
        || !fits(&parsed.status, 64)
        || parsed.result.as_deref().is_some_and(|r| !fits(r, 64))
    {
        return Err(ApiError::InvalidCallback(
            "a field is empty or too long".into(),
        ));
    }
    let stored = inbox::insert(
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
    })?;
    match stored {
        inbox::Stored::New => state.nudge.notify_one(),
        inbox::Stored::Duplicate => tracing::info!("duplicate callback acknowledged"),
    }
    Ok(Json(json!({ "success": true })))
}
