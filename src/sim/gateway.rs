//! The API gateway: presign, confirm and status
//! with string codes and the user token; details with integer codes
//! and either token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ConfirmRepeat;
use super::envelope::{Code, GtfError, success};
use super::state::{ConfirmError, Confirmed, Principal, Submission, UserKey};
use super::storage::presigned_url;
use super::{Sim, header, views};

const SUBMISSION_TYPES: [&str; 5] = [
    "KTP_SCAN",
    "STANDALONE_LIVENESS",
    "FACE_MATCH",
    "FACE_VERIFICATION",
    "KYC_LITE",
];

const fn err(status: StatusCode, code: &'static str, cause: &'static str) -> GtfError {
    GtfError::new(status, Code::Str(code), cause)
}

/// Details' errors use integer codes.
const fn int_err(code: u16, cause: &'static str) -> GtfError {
    GtfError::new(StatusCode::BAD_REQUEST, Code::Int(code), cause)
}

const UNAUTHORIZED: GtfError = err(StatusCode::UNAUTHORIZED, "110", "UNAUTHORIZED");
const MISSING_HEADERS: GtfError = err(
    StatusCode::BAD_REQUEST,
    "1539",
    "COE_PARTNER_CAN_NOT_BE_EMPTY",
);

/// The caller behind `x-onekyc-token`, if the token is live.
fn caller(sim: &Sim, headers: &HeaderMap) -> Option<Principal> {
    let token = header(headers, "x-onekyc-token")?;
    sim.store.principal(token, OffsetDateTime::now_utc())
}

/// Presign, confirm and status take only a user token.
fn user(sim: &Sim, headers: &HeaderMap) -> Result<UserKey, GtfError> {
    match caller(sim, headers) {
        Some(Principal::User(user)) => Ok(user),
        Some(Principal::Partner) | None => Err(UNAUTHORIZED),
    }
}

/// Both session headers are required; returns the partner session id.
fn sessions(headers: &HeaderMap, missing: GtfError) -> Result<&str, GtfError> {
    let partner = header(headers, "x-partner-session-id").ok_or(missing)?;
    header(headers, "x-sdk-session-id").ok_or(missing)?;
    Ok(partner)
}

/// `GET /coe/v1/submissions/urls?submissionType=…`: a new submission per call.
pub(crate) async fn presign(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, GtfError> {
    let owner = user(&sim, &headers)?;
    let partner_session_id = sessions(&headers, MISSING_HEADERS)?;
    let query = query.unwrap_or_default();
    let requested = url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "submissionType")
        .map(|(_, value)| value);
    // Every type gets the configured KTP document set; only KTP_SCAN matters.
    let submission_type = SUBMISSION_TYPES
        .into_iter()
        .find(|known| requested.as_deref() == Some(*known))
        .ok_or(err(
            StatusCode::BAD_REQUEST,
            "1542",
            "INVALID_SUBMISSION_TYPE",
        ))?;
    let now = OffsetDateTime::now_utc();
    let submission = sim.store.create(
        owner,
        submission_type,
        partner_session_id.to_owned(),
        &sim.config.documents,
        now,
    );
    let expiry = sim.config.upload_ttl.as_secs().to_string();
    let documents: Map<String, Value> = submission
        .documents
        .iter()
        .map(|doc| {
            let entry = json!({
                "documentUrl": presigned_url(&sim, &submission, &doc.key, now),
                "documentReference": submission.reference(&doc.key),
                "expiryInSeconds": expiry,
            });
            (doc.key.clone(), entry)
        })
        .collect();
    Ok(success(json!({
        "submissionId": submission.id,
        "status": "INITIATED",
        "documents": documents,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfirmRequest {
    submission_id: String,
    /// Free-form; accepted and ignored, but it must be an object.
    #[serde(default, rename = "metadata")]
    _metadata: Option<Map<String, Value>>,
}

/// `PUT /coe/v1/submissions/urls`
pub(crate) async fn confirm(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GtfError> {
    let request = body
        .ok()
        .and_then(|body| serde_json::from_slice::<ConfirmRequest>(&body).ok())
        .filter(|request| !request.submission_id.is_empty());
    // Counted before any check: tests count attempts, whatever the answer.
    if let Some(request) = &request {
        sim.store.count_confirm_call(&request.submission_id);
    }
    let owner = user(&sim, &headers)?;
    sessions(
        &headers,
        err(
            StatusCode::BAD_REQUEST,
            "1539",
            "X_SDK_SESSION_ID_CAN_NOT_BE_EMPTY",
        ),
    )?;
    let request = request.ok_or(err(
        StatusCode::BAD_REQUEST,
        "1542",
        "INVALID_CONFIRM_UPLOAD_REQUEST",
    ))?;
    let not_found = err(StatusCode::NOT_FOUND, "404", "SUBMISSION_DOES_NOT_EXIST");
    let id = Uuid::parse_str(&request.submission_id).map_err(|_| not_found)?;
    match sim.store.confirm(id, &owner, OffsetDateTime::now_utc()) {
        Ok(Confirmed::First(submission)) => sim.schedule_callback(&submission),
        Ok(Confirmed::Again) => {
            if sim.config.confirm_repeat == ConfirmRepeat::Conflict {
                return Err(err(
                    StatusCode::CONFLICT,
                    "409",
                    "SUBMISSION_STATE_CONFLICT",
                ));
            }
        }
        Err(ConfirmError::Unknown) => return Err(not_found),
        // The submission stays INITIATED; uploading the rest and confirming
        // again works.
        Err(ConfirmError::Incomplete) => {
            return Err(err(
                StatusCode::UNPROCESSABLE_ENTITY,
                "422",
                "INVALID_UPLOAD_ARTIFACT",
            ));
        }
    }
    Ok(success(json!({
        "submissionId": request.submission_id,
        "uiMessages": {
            "message_1": { "title": "Processing", "message": "Your submission is being processed" }
        },
    })))
}

/// `GET /coe/v1/submissions/{submissionId}/status`
pub(crate) async fn status(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, GtfError> {
    let owner = user(&sim, &headers)?;
    sessions(&headers, MISSING_HEADERS)?;
    let id = path
        .ok()
        .and_then(|Path(raw)| Uuid::parse_str(&raw).ok())
        .ok_or(err(
            StatusCode::BAD_REQUEST,
            "1541",
            "INVALID_SUBMISSION_ID",
        ))?;
    let submission = sim.store.get(id).filter(|s| s.owner == owner).ok_or(err(
        StatusCode::NOT_FOUND,
        "1543",
        "SUBMISSION_DOES_NOT_EXIST",
    ))?;
    Ok(success(views::status(
        &sim,
        &submission,
        OffsetDateTime::now_utc(),
    )))
}

/// `GET /coe/v1/submissions`: by `x-submission-id`, else the newest
/// submission of `x-partner-session-id`. A user token sees only its user's
/// submissions, a partner token all. `x-partner-user-id` and its type may
/// come along and are ignored (GTF's details API).
pub(crate) async fn details(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
) -> Result<Response, GtfError> {
    let principal = caller(&sim, &headers).ok_or(
        GtfError::new(StatusCode::UNAUTHORIZED, Code::Int(1539), "UNAUTHORIZED").null_data(),
    )?;
    let submission_id = header(&headers, "x-submission-id");
    let session_id = header(&headers, "x-partner-session-id");
    if submission_id.is_none() && session_id.is_none() {
        return Err(int_err(1550, "PARTNER_USER_ID_CAN_NOT_BE_EMPTY"));
    }
    let visible = |s: &Submission| match &principal {
        Principal::User(user) => &s.owner == user,
        Principal::Partner => true,
    };
    let in_session = session_id
        .map(|id| sim.store.in_session(id))
        .unwrap_or_default();
    if !in_session.is_empty() && !in_session.iter().any(visible) {
        return Err(int_err(
            1553,
            "PARTNER_SESSION_ID_DOES_NOT_BELONG_TO_THE_USER",
        ));
    }
    let submission = match submission_id {
        Some(raw) => Uuid::parse_str(raw).ok().and_then(|id| sim.store.get(id)),
        None => in_session.into_iter().find(visible),
    }
    .filter(visible)
    .ok_or(int_err(1552, "SUBMISSION_DOES_NOT_EXIST"))?;
    Ok(success(views::details(
        &sim,
        &submission,
        OffsetDateTime::now_utc(),
    )))
}
