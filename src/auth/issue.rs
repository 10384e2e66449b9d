//! Signing JWTs like a partner's identity provider would, for `gtf-bff token`
//! (end users', and operators' with scopes) and for tests.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::TokenIssuerConfig;

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    /// Operator scopes, space-separated (`kyc:read kyc:admin`).
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

/// An HS256 token for `sub`, valid for `ttl` from now.
pub fn issue_hs256(
    cfg: &TokenIssuerConfig,
    sub: &str,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    issue_hs256_with_scope(cfg, sub, None, ttl)
}

/// Like [`issue_hs256`], granting `scope` (space-separated) when given.
pub fn issue_hs256_with_scope(
    cfg: &TokenIssuerConfig,
    sub: &str,
    scope: Option<&str>,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub,
        iat: now,
        exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        iss: cfg.issuer.as_deref(),
        aud: cfg.audience.as_deref(),
        scope,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(cfg.secret.expose_secret().as_bytes()),
    )
}
