//! `/v1/kyc/submissions`: the partner-facing flow.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiPath, ApiQuery, AuthUser, OptionalJson, printable_header};
use super::problem::ApiError;
use super::state::AppState;
use super::view::{ResultView, SubmissionList, SubmissionView};
use crate::domain::KTP_SCAN;
use crate::kyc::CreateRequest;

const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 20;

/// Optional: an empty body means `{"type": "KTP_SCAN"}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct CreateBody {
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
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
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
    ),
    security(("bearer" = []))
)]
pub(crate) async fn confirm(
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
pub(crate) struct GetQuery {
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
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<GetQuery>,
) -> Result<Json<SubmissionView>, ApiError> {
    Ok(Json(state.kyc.get(&user, id, query.refresh).await?.into()))
}

/// A listing's `limit`: 1 to 100, default 20.
pub(super) fn page_limit(limit: Option<i64>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidParameter(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(limit.unsigned_abs() as usize)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
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
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<SubmissionList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let page = state
        .kyc
        .list(&user, query.cursor.as_deref(), limit)
        .await?;
    Ok(Json(SubmissionList {
        items: page.items.into_iter().map(SubmissionView::from).collect(),
        next_cursor: page.next_cursor,
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
    ),
    security(("bearer" = []))
)]
pub(crate) async fn result(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ResultView>, ApiError> {
    let reader = user.actor();
    Ok(Json(state.kyc.result(&user.0, id, &reader).await?.into()))
}
