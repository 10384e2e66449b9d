//! The token gateway: user tokens (integer codes) and partner
//! tokens (string codes).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use time::OffsetDateTime;

use super::envelope::{Code, GtfError, success};
use super::state::{Principal, UserKey, later};
use super::{Sim, header};

const ENTITY: &str = "ONEKYC_TOKEN_SERVICE";
/// "Token validity is typically 1 hour" (GTF's partner token documentation).
const PARTNER_TOKEN_TTL: Duration = Duration::from_secs(3600);

/// The two specs give the same errors with differently typed codes.
struct Errors {
    missing_credentials: GtfError,
    unauthorized: GtfError,
}

const USER_ERRORS: Errors = Errors {
    missing_credentials: GtfError::new(
        StatusCode::BAD_REQUEST,
        Code::Int(1539),
        "MISSING_CLIENT_ID_OR_PASS_KEY",
    )
    .entity(ENTITY),
    unauthorized: GtfError::new(StatusCode::UNAUTHORIZED, Code::Int(110), "UNAUTHORIZED")
        .entity(ENTITY)
        .null_data(),
};

const PARTNER_ERRORS: Errors = Errors {
    missing_credentials: GtfError::new(
        StatusCode::BAD_REQUEST,
        Code::Str("1539"),
        "CLIENT_ID_CAN_NOT_BE_EMPTY",
    )
    .entity(ENTITY)
    .null_data(),
    unauthorized: GtfError::new(StatusCode::UNAUTHORIZED, Code::Str("110"), "UNAUTHORIZED")
        .entity(ENTITY)
        .null_data(),
};

/// `GET /v2/coe/authentication`
pub(crate) async fn user_token(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
) -> Result<Response, GtfError> {
    check_credentials(&sim, &headers, &USER_ERRORS)?;
    let user = user_key(&headers)?;
    Ok(mint(&sim, Principal::User(user), sim.config.token_ttl))
}

/// `GET /v1/coe/partner/authentication`
pub(crate) async fn partner_token(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
) -> Result<Response, GtfError> {
    check_credentials(&sim, &headers, &PARTNER_ERRORS)?;
    Ok(mint(&sim, Principal::Partner, PARTNER_TOKEN_TTL))
}

fn check_credentials(sim: &Sim, headers: &HeaderMap, errors: &Errors) -> Result<(), GtfError> {
    let (Some(client_id), Some(pass_key)) =
        (header(headers, "client-id"), header(headers, "pass-key"))
    else {
        return Err(errors.missing_credentials);
    };
    // Both compared, always, so timing tells nothing about which one is wrong.
    let id_ok = client_id == sim.config.client_id;
    let key_ok = sim.signer.verify(pass_key.as_bytes(), &sim.pass_key_tag);
    if id_ok & key_ok {
        Ok(())
    } else {
        Err(errors.unauthorized)
    }
}

/// GAP in GTF's user token documentation: GTF documents no error for missing user headers;
/// these mirror the nearest documented analogues (1539, Esign causes).
fn user_key(headers: &HeaderMap) -> Result<UserKey, GtfError> {
    let required = |name, cause| {
        header(headers, name)
            .map(str::to_owned)
            .ok_or(GtfError::new(StatusCode::BAD_REQUEST, Code::Int(1539), cause).entity(ENTITY))
    };
    Ok(UserKey {
        onboarding_partner: required(
            "x-onboarding-partner",
            "ONBOARDING_PARTNER_CAN_NOT_BE_EMPTY",
        )?,
        user_id: required("x-partner-user-id", "PARTNER_USER_ID_CAN_NOT_BE_EMPTY")?,
        user_id_type: required(
            "x-partner-user-id-type",
            "PARTNER_USER_ID_TYPE_CAN_NOT_BE_EMPTY",
        )?,
    })
}

/// Numbers travel as strings, snake_case field names (GTF's user token).
fn mint(sim: &Sim, principal: Principal, ttl: Duration) -> Response {
    let expires_at = later(OffsetDateTime::now_utc(), ttl);
    let token = sim.store.mint(principal, expires_at);
    success(json!({
        "token": token,
        "expiry_seconds": ttl.as_secs().to_string(),
        "expires_at": expires_at.unix_timestamp().to_string(),
    }))
}
