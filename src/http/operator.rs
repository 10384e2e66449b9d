//! `/ops/v1`: the operator API, for the partner's support staff and
//! back-office services. The same tokens as `/v1` (same keys, issuer and
//! audience), holding the scope each operation names: `kyc:read` to look,
//! `kyc:admin` to act.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{Admin, ApiPath, ApiQuery, OptionalJson, Reader};
use super::problem::ApiError;
use super::state::AppState;
use super::submissions::page_limit;
use super::view::{
    AuditList, DeliveryView, ErasureView, OperatorSubmission, OperatorSubmissionList, Resent,
    ResultView, SubmissionDossier,
};
use crate::domain::{Action, PartnerUserId, Status};
use crate::kyc::{AuditFilter, SubmissionFilter};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub(crate) struct SearchQuery {
    /// Only this user's submissions.
    partner_user_id: Option<String>,
    status: Option<Status>,
    /// Created at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    created_from: Option<OffsetDateTime>,
    /// Created before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    created_to: Option<OffsetDateTime>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// Every user's submissions, newest first.
#[utoipa::path(
    get,
    path = "/ops/v1/submissions",
    tag = "operator",
    params(SearchQuery),
    responses((status = 200, description = "A page", body = OperatorSubmissionList)),
    security(("bearer" = ["kyc:read"]))
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<OperatorSubmissionList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let filter = SubmissionFilter {
        owner: query
            .partner_user_id
            .as_deref()
            .map(|u| user_id("partnerUserId", u))
            .transpose()?,
        status: query.status,
        created_from: query.created_from,
        created_to: query.created_to,
    };
    let page = state
        .kyc
        .search(&filter, query.cursor.as_deref(), limit)
        .await?;
    Ok(Json(page.into()))
}

/// One submission, with its user, its history, the callbacks received and
/// its webhook deliveries.
#[utoipa::path(
    get,
    path = "/ops/v1/submissions/{id}",
    tag = "operator",
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses((status = 200, description = "The submission and what happened to it", body = SubmissionDossier)),
    security(("bearer" = ["kyc:read"]))
)]
pub(crate) async fn submission(
    State(state): State<AppState>,
    _: Reader,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<SubmissionDossier>, ApiError> {
    Ok(Json(state.kyc.dossier(id).await?.into()))
}

/// The result with the KTP data, as the user sees it. Recorded in the
/// audit log before it is returned.
#[utoipa::path(
    get,
    path = "/ops/v1/submissions/{id}/result",
    tag = "operator",
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses((status = 200, description = "The result, with GTF's ktpData", body = ResultView)),
    security(("bearer" = ["kyc:read"]))
)]
pub(crate) async fn result(
    State(state): State<AppState>,
    Reader(reader): Reader,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ResultView>, ApiError> {
    Ok(Json(state.kyc.operator_result(id, &reader).await?.into()))
}

/// Asks GTF now (its status, then its details when final) and applies the
/// answer.
#[utoipa::path(
    post,
    path = "/ops/v1/submissions/{id}/refresh",
    tag = "operator",
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses((status = 200, description = "The submission as GTF now says it is", body = OperatorSubmission)),
    security(("bearer" = ["kyc:admin"]))
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<OperatorSubmission>, ApiError> {
    Ok(Json(state.kyc.operator_refresh(id, &actor).await?.into()))
}

/// Sends a delivery's event again: a new series of attempts, the same
/// `webhook-id`.
#[utoipa::path(
    post,
    path = "/ops/v1/webhooks/{deliveryId}/resend",
    tag = "operator",
    params(("deliveryId" = Uuid, Path, description = "The delivery's id (`webhooks[].id` of a submission)")),
    responses((status = 200, description = "The delivery, pending and due now", body = DeliveryView)),
    security(("bearer" = ["kyc:admin"]))
)]
pub(crate) async fn resend(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<DeliveryView>, ApiError> {
    Ok(Json(state.kyc.resend(id, &actor).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ResendFailedBody {
    /// Deliveries marked failed at or after this time (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    since: OffsetDateTime,
}

/// Sends again every delivery marked failed since a time.
#[utoipa::path(
    post,
    path = "/ops/v1/webhooks/resend-failed",
    tag = "operator",
    request_body(content = ResendFailedBody, content_type = "application/json"),
    responses((status = 200, description = "How many deliveries were sent again", body = Resent)),
    security(("bearer" = ["kyc:admin"]))
)]
pub(crate) async fn resend_failed(
    State(state): State<AppState>,
    Admin(actor): Admin,
    OptionalJson(body): OptionalJson<ResendFailedBody>,
) -> Result<Json<Resent>, ApiError> {
    let body = body
        .ok_or_else(|| ApiError::InvalidBody("expected {\"since\": \"<RFC 3339 time>\"}".into()))?;
    let resent = state.kyc.resend_failed(body.since, &actor).await?;
    Ok(Json(Resent { resent }))
}

/// Erases a user's personal data: the KTP details and stored callback
/// bodies of every submission of theirs. The submissions, their outcomes
/// and history, and the audit log stay. Idempotent.
#[utoipa::path(
    delete,
    path = "/ops/v1/users/{partnerUserId}",
    tag = "operator",
    params(("partnerUserId" = String, Path, description = "The partner's user id (the `sub` of the user's tokens)")),
    responses((status = 200, description = "What was erased, and when (on a repeat: the first erasure)", body = ErasureView)),
    security(("bearer" = ["kyc:admin"]))
)]
pub(crate) async fn erase(
    State(state): State<AppState>,
    Admin(actor): Admin,
    ApiPath(user): ApiPath<String>,
) -> Result<Json<ErasureView>, ApiError> {
    let user = user_id("partnerUserId", &user)?;
    Ok(Json(state.kyc.erase(&user, &actor).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub(crate) struct AuditQuery {
    /// Entries about this user.
    partner_user_id: Option<String>,
    /// Entries of this actor (a token's `sub`).
    actor: Option<String>,
    action: Option<Action>,
    /// At or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<OffsetDateTime>,
    /// Before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<OffsetDateTime>,
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The access audit log, newest first: every read of KTP data and every
/// operator action.
#[utoipa::path(
    get,
    path = "/ops/v1/audit",
    tag = "operator",
    params(AuditQuery),
    responses((status = 200, description = "A page", body = AuditList)),
    security(("bearer" = ["kyc:read"]))
)]
pub(crate) async fn audit(
    State(state): State<AppState>,
    _: Reader,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let filter = AuditFilter {
        partner_user_id: query
            .partner_user_id
            .as_deref()
            .map(|u| user_id("partnerUserId", u))
            .transpose()?,
        actor: query
            .actor
            .as_deref()
            .map(|a| user_id("actor", a))
            .transpose()?,
        action: query.action,
        from: query.from,
        to: query.to,
    };
    let page = state
        .kyc
        .audit_log(&filter, query.cursor.as_deref(), limit)
        .await?;
    Ok(Json(page.into()))
}

/// A user id (or an operator's, which follows the same rules: both are a
/// token's `sub`).
fn user_id(name: &str, raw: &str) -> Result<PartnerUserId, ApiError> {
    PartnerUserId::parse(raw).map_err(|e| ApiError::InvalidParameter(format!("{name}: {e}")))
}
