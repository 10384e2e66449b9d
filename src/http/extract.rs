//! Extractors whose rejections are problem+json like every other error.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::problem::{ApiError, request_id};
use super::state::AppState;
use crate::auth::scope::Scope;
use crate::auth::verify::AuthError;
use crate::domain::{Actor, ActorKind, PartnerUserId};

/// The authenticated end user: the JWT's `sub`.
pub(crate) struct AuthUser(pub(crate) PartnerUserId);

impl AuthUser {
    /// The user, acting in this request.
    pub(crate) fn actor(&self) -> Actor {
        Actor {
            id: self.0.as_str().to_owned(),
            kind: ActorKind::User,
            request_id: request_id(),
        }
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized(AuthError::Missing))?;
        let state = AppState::from_ref(state);
        match state.auth.verify(token).await {
            Ok(user) => Ok(Self(user)),
            Err(reason) => {
                tracing::info!(reason = %reason, "bearer token refused");
                Err(ApiError::Unauthorized(reason))
            }
        }
    }
}

/// An operator whose token grants `kyc:read` (or `kyc:admin`), acting in
/// this request.
pub(crate) struct Reader(pub(crate) Actor);

/// An operator whose token grants `kyc:admin`.
pub(crate) struct Admin(pub(crate) Actor);

impl<S> FromRequestParts<S> for Reader
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        operator(parts, &AppState::from_ref(state), Scope::Read)
            .await
            .map(Self)
    }
}

impl<S> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        operator(parts, &AppState::from_ref(state), Scope::Admin)
            .await
            .map(Self)
    }
}

/// The same token checks as for end users (401), then the scope (403).
async fn operator(parts: &Parts, state: &AppState, needed: Scope) -> Result<Actor, ApiError> {
    let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized(AuthError::Missing))?;
    let verified = state
        .auth
        .verify_with_scopes(token)
        .await
        .map_err(|reason| {
            tracing::info!(reason = %reason, "bearer token refused");
            ApiError::Unauthorized(reason)
        })?;
    if !verified.scopes.allows(needed) {
        tracing::info!(scope = needed.as_str(), "operator token without the scope");
        return Err(ApiError::MissingScope(needed));
    }
    Ok(Actor {
        id: verified.user.as_str().to_owned(),
        kind: ActorKind::Operator,
        request_id: request_id(),
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A path parameter, with a problem body for a malformed one.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| {
                tracing::debug!(error = %e, "bad path parameter");
                ApiError::InvalidParameter("a path parameter is malformed: ids are UUIDs".into())
            })
    }
}

/// Query parameters, with a problem body for malformed ones.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| ApiError::InvalidParameter(e.body_text()))
    }
}

/// The body as bytes, over the route's limit answered 413.
pub(crate) struct RawBody(pub(crate) Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|e: BytesRejection| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::MalformedJson("the request body could not be read".into())
                }
            })
    }
}

/// A JSON body that may be absent (an empty body reads as `None`). Bodies
/// that are present must be JSON: malformed is 400, wrong types 422, over
/// the route's limit 413.
pub(crate) struct OptionalJson<T>(pub(crate) Option<T>);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
        let RawBody(body) = RawBody::from_request(req, state).await?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if let Some(ct) = content_type {
            let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
            let essence = ct.split(';').next().unwrap_or_default().trim();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(ApiError::UnsupportedMediaType);
            }
        }
        // Syntax first (with serde_json's depth limit), then shape: a body
        // that is not JSON at all is 400 whatever shape it starts with.
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::MalformedJson(format!(
                "invalid JSON at line {} column {}",
                e.line(),
                e.column()
            ))
        })?;
        let value =
            serde_json::from_value(json).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
        Ok(Self(Some(value)))
    }
}

/// An optional header that must be 1 to `max` printable ASCII characters.
pub(crate) fn printable_header(
    headers: &HeaderMap,
    name: &'static str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|v| (1..=max).contains(&v.len()) && v.bytes().all(|b| (0x20..0x7f).contains(&b)))
        .map(|v| Some(v.to_owned()))
        .ok_or_else(|| {
            ApiError::InvalidHeader(format!(
                "{name} must be 1 to {max} printable ASCII characters"
            ))
        })
}
