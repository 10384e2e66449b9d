//! `/v1/kyc/submissions`: the partner-facing flow (partner-api.md §2).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, AuthUser, OptionalJson, printable_header};
use super::problem::{ApiError, Problem};
use super::state::AppState;
use super::view::{ResultView, SubmissionList, SubmissionView};
use crate::crypto::DataKeys;
use crate::domain::KTP_SCAN;
use crate::kyc::CreateRequest;

const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 20;

/// Optional: an empty body means `{"type": "KTP_SCAN"}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateBody {
    /// `KTP_SCAN`, the default and, for now, the only accepted type.
    #[serde(rename = "type")]
    #[schema(example = "KTP_SCAN")]
    kind: Option<String>,
}

/// Starts a KYC attempt: gets the user's GTF token, asks GTF for presigned
/// upload URLs, stores the submission.
#[utoipa::path(
    post,
    path = "/v1/kyc/submissions",
    tag = "submissions",
    request_body(content = Option<CreateBody>, content_type = "application/json"),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 printable characters: the same key from the same user within 24 h answers the same submission without calling GTF again"),
        ("x-sdk-session-id" = Option<String>, Header, description = "GTF SDK session id, for apps that use GTF's SDK; generated otherwise"),
    ),
    responses(
        (status = 201, description = "Created; `Location` names it; `Idempotent-Replayed: true` on a replay", body = SubmissionView),
        (status = 400, description = "MALFORMED_JSON, INVALID_HEADER", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "UNAUTHORIZED", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "IDEMPOTENCY_KEY_IN_USE", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "INVALID_BODY, UNSUPPORTED_SUBMISSION_TYPE, IDEMPOTENCY_KEY_REUSED", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "SUBMISSION_QUOTA_EXCEEDED, RATE_LIMITED (with Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "GTF_ERROR", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "GTF_UNAVAILABLE, DATABASE_UNAVAILABLE (with Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "GTF_TIMEOUT", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<CreateBody>,
) -> Result<Response, ApiError> {
    state
        .limits
        .users
        .check(&user)
        .map_err(ApiError::RateLimited)?;
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

/// Tells GTF the upload is done. Idempotent.
#[utoipa::path(
    post,
    path = "/v1/kyc/submissions/{id}/confirm",
    tag = "submissions",
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses(
        (status = 200, description = "The submission, PROCESSING (or as it was, if past the upload)", body = SubmissionView),
        (status = 401, description = "UNAUTHORIZED", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "SUBMISSION_NOT_FOUND", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "SUBMISSION_EXPIRED", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "UPLOAD_MISSING, INVALID_PARAMETER", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "RATE_LIMITED (with Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "GTF_ERROR", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "GTF_UNAVAILABLE, DATABASE_UNAVAILABLE", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "GTF_TIMEOUT", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn confirm(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<SubmissionView>, ApiError> {
    state
        .limits
        .users
        .check(&user)
        .map_err(ApiError::RateLimited)?;
    Ok(Json(state.kyc.confirm(&user, id).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetQuery {
    /// Ask GTF's status API first (at most once per 5 s per submission).
    #[serde(default)]
    refresh: bool,
}

/// The submission as stored, or as GTF says it is with `?refresh=true`.
#[utoipa::path(
    get,
    path = "/v1/kyc/submissions/{id}",
    tag = "submissions",
    params(("id" = Uuid, Path, description = "The submission's id"), GetQuery),
    responses(
        (status = 200, description = "The submission", body = SubmissionView),
        (status = 401, description = "UNAUTHORIZED", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "SUBMISSION_NOT_FOUND", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "INVALID_PARAMETER", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "GTF_ERROR (refresh)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "GTF_UNAVAILABLE, DATABASE_UNAVAILABLE", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "GTF_TIMEOUT (refresh)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<GetQuery>,
) -> Result<Json<SubmissionView>, ApiError> {
    Ok(Json(state.kyc.get(&user, id, query.refresh).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's submissions, newest first.
#[utoipa::path(
    get,
    path = "/v1/kyc/submissions",
    tag = "submissions",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = SubmissionList),
        (status = 401, description = "UNAUTHORIZED", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "INVALID_PARAMETER (limit out of range, tampered cursor)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "DATABASE_UNAVAILABLE", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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

/// The verification result once COMPLETED or FAILED.
#[utoipa::path(
    get,
    path = "/v1/kyc/submissions/{id}/result",
    tag = "submissions",
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses(
        (status = 200, description = "The result, with GTF's ktpData", body = ResultView),
        (status = 401, description = "UNAUTHORIZED", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "SUBMISSION_NOT_FOUND", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "RESULT_NOT_READY", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "RESULT_PURGED: the details were deleted under the retention policy", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "INVALID_PARAMETER", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "GTF_ERROR", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "GTF_UNAVAILABLE, DATABASE_UNAVAILABLE", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "GTF_TIMEOUT", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
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
