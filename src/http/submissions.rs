//! `/v1/kyc/submissions`: the partner-facing flow (partner-api.md §2).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, AuthUser, OptionalJson, printable_header};
use super::problem::ApiError;
use super::state::AppState;
use super::view::{ResultView, SubmissionList, SubmissionView};
use crate::crypto::DataKeys;
use crate::domain::KTP_SCAN;
use crate::kyc::CreateRequest;

const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 20;

#[derive(Debug, Default, Deserialize)]
pub struct CreateBody {
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<CreateBody>,
) -> Result<Response, ApiError> {
    let request = CreateRequest {
        kind: body
            .and_then(|b| b.kind)
            .unwrap_or_else(|| KTP_SCAN.to_owned()),
        sdk_session_id: printable_header(&headers, "x-sdk-session-id", 128)?,
        idempotency_key: printable_header(&headers, "idempotency-key", 255)?,
    };
    let created = state.kyc.create(&user, request).await?;
    let location = format!("/v1/kyc/submissions/{}", created.submission.id);
    let mut response = (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(SubmissionView::from(created.submission)),
    )
        .into_response();
    if created.replayed {
        response.headers_mut().insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

pub async fn confirm(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<SubmissionView>, ApiError> {
    Ok(Json(state.kyc.confirm(&user, id).await?.into()))
}

#[derive(Debug, Deserialize)]
pub struct GetQuery {
    #[serde(default)]
    refresh: bool,
}

pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<GetQuery>,
) -> Result<Json<SubmissionView>, ApiError> {
    Ok(Json(state.kyc.get(&user, id, query.refresh).await?.into()))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<SubmissionList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidParameter(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let keys = state.kyc.keys();
    let after = query
        .cursor
        .as_deref()
        .map(|c| decode_cursor(keys, c))
        .transpose()?;
    // One more than asked tells whether there is a next page.
    let mut page = state.kyc.list(&user, after, limit + 1).await?;
    let next_cursor = if page.len() as i64 > limit {
        page.truncate(limit as usize);
        page.last().map(|s| encode_cursor(keys, s.created_at, s.id))
    } else {
        None
    };
    Ok(Json(SubmissionList {
        items: page.into_iter().map(SubmissionView::from).collect(),
        next_cursor,
    }))
}

pub async fn result(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ResultView>, ApiError> {
    Ok(Json(state.kyc.result(&user, id).await?.into()))
}

/// Cursors carry the last item's `(created_at, id)`, signed so that a
/// client cannot forge one.
fn encode_cursor(keys: &DataKeys, created_at: OffsetDateTime, id: Uuid) -> String {
    keys.sign_token(format!("v1:{}:{id}", created_at.unix_timestamp_nanos() / 1000).as_bytes())
}

fn decode_cursor(keys: &DataKeys, cursor: &str) -> Result<(OffsetDateTime, Uuid), ApiError> {
    let invalid = || ApiError::InvalidParameter("cursor is not one this service issued".into());
    let payload = keys.verify_token(cursor).ok_or_else(invalid)?;
    let text = String::from_utf8(payload).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, ':');
    let (Some("v1"), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let micros: i128 = micros.parse().map_err(|_| invalid())?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).map_err(|_| invalid())?;
    Ok((at, id.parse().map_err(|_| invalid())?))
}
