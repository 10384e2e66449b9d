//! Verifying end users' JWTs. The algorithm family is
//! pinned by the configuration and never taken from the token, so `alg:
//! none` and HS/RS confusion are refused.

mod verified;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::scope::{Granted, ScopeClaims};
use crate::config::{AuthConfig, JwtKeyConfig};
use crate::domain::PartnerUserId;
use verified::{Lookup, VerifiedTokens};

/// `exp` and `nbf` tolerate this much clock skew.
const LEEWAY_SECS: u64 = 60;
/// An unknown `kid` refetches the key set at most this often.
const JWKS_REFETCH: Duration = Duration::from_secs(60);
/// The key set is also refetched in the background, so that a key the
/// identity provider withdrew stops being accepted whatever `kid` tokens
/// carry.
const JWKS_REFRESH: Refresh = Refresh {
    default: Duration::from_secs(600),
    min: Duration::from_secs(60),
    max: Duration::from_secs(3600),
    retry: Duration::from_secs(60),
};

/// When the next background refetch is due.
#[derive(Debug, Clone, Copy)]
struct Refresh {
    /// Without a `Cache-Control: max-age`.
    default: Duration,
    /// A `max-age` is held within these bounds.
    min: Duration,
    max: Duration,
    /// After a failed refetch (the last good set is kept meanwhile).
    retry: Duration,
}

impl Refresh {
    fn after(&self, max_age: Option<Duration>) -> Duration {
        max_age.map_or(self.default, |age| age.clamp(self.min, self.max))
    }
}

/// Why a token was refused: for logs and metrics, never for the client,
/// which is told only that its token is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not accepted")]
    Algorithm,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("missing or invalid subject")]
    Subject,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    /// Checked by `jsonwebtoken`; read here for the verified-token cache. A
    /// float is a valid NumericDate.
    exp: Option<f64>,
    #[serde(flatten)]
    scopes: ScopeClaims,
}

/// A token that passed every check: whose it is, and the operator scopes
/// it grants.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) user: PartnerUserId,
    pub(crate) scopes: Granted,
}

pub(crate) struct JwtVerifier {
    keys: Keys,
    issuer: Option<String>,
    audience: Option<String>,
    verified: VerifiedTokens,
}

enum Keys {
    Fixed(Arc<DecodingKey>, Algorithm),
    Jwks(Box<Jwks>),
}

impl JwtVerifier {
    /// Builds the verifier; with `AUTH_JWKS_URL`, fetches the key set now so
    /// that a wrong URL stops the start rather than every request.
    pub(crate) async fn new(config: &AuthConfig) -> anyhow::Result<Self> {
        let keys = match &config.key {
            JwtKeyConfig::Secret(secret) => Keys::Fixed(
                Arc::new(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
                Algorithm::HS256,
            ),
            JwtKeyConfig::PublicKeyPem(pem) => {
                let pem = pem.as_bytes();
                match (
                    DecodingKey::from_rsa_pem(pem),
                    DecodingKey::from_ec_pem(pem),
                ) {
                    (Ok(key), _) => Keys::Fixed(Arc::new(key), Algorithm::RS256),
                    (_, Ok(key)) => Keys::Fixed(Arc::new(key), Algorithm::ES256),
                    _ => anyhow::bail!(
                        "AUTH_JWT_PUBLIC_KEY is neither an RSA nor a P-256 public key"
                    ),
                }
            }
            JwtKeyConfig::JwksUrl(url) => Keys::Jwks(Box::new(Jwks::fetch(url.clone()).await?)),
        };
        Ok(Self {
            keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            verified: VerifiedTokens::new(),
        })
    }

    /// With a JWKS, refetches it in the background until `shutdown` (or
    /// until the verifier is dropped).
    pub(crate) fn keep_fresh(self: &Arc<Self>, shutdown: CancellationToken) {
        self.refresh_in_background(JWKS_REFRESH, shutdown);
    }

    fn refresh_in_background(self: &Arc<Self>, refresh: Refresh, shutdown: CancellationToken) {
        let Keys::Jwks(jwks) = &self.keys else {
            return;
        };
        let mut wait = refresh.after(jwks.max_age);
        let verifier = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                let Some(verifier) = verifier.upgrade() else {
                    return;
                };
                let Keys::Jwks(jwks) = &verifier.keys else {
                    return;
                };
                wait = match jwks.reload().await {
                    Ok(max_age) => refresh.after(max_age),
                    Err(e) => {
                        tracing::warn!(error = %e, "refreshing the JWKS failed; keeping the last good set");
                        refresh.retry
                    }
                };
            }
        });
    }

    pub(crate) async fn verify(&self, token: &str) -> Result<PartnerUserId, AuthError> {
        self.verify_with_scopes(token).await.map(|v| v.user)
    }

    pub(crate) async fn verify_with_scopes(&self, token: &str) -> Result<Verified, AuthError> {
        // Read before the key is looked up: a reload in between makes the
        // entry stale, never the other way round.
        let generation = self.keys.generation();
        match self.verified.get(token, generation).await {
            Lookup::Hit(verified) => return Ok(verified),
            Lookup::Expired => return Err(AuthError::Expired),
            Lookup::Miss => {}
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        let (key, alg) = match &self.keys {
            Keys::Fixed(key, alg) => (key.clone(), *alg),
            Keys::Jwks(jwks) => jwks.key(header.kid.as_deref()).await?,
        };
        if header.alg != alg {
            return Err(AuthError::Algorithm);
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        // A configured issuer or audience must be present, not just right
        // when present.
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        if self.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            ErrorKind::InvalidSignature => AuthError::Signature,
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => AuthError::NotYetValid,
            ErrorKind::InvalidIssuer => AuthError::Issuer,
            ErrorKind::InvalidAudience => AuthError::Audience,
            ErrorKind::InvalidAlgorithm => AuthError::Algorithm,
            ErrorKind::MissingRequiredClaim(c) => match c.as_str() {
                "sub" => AuthError::Subject,
                "iss" => AuthError::Issuer,
                "aud" => AuthError::Audience,
                _ => AuthError::Malformed,
            },
            _ => AuthError::Malformed,
        })?;
        let verified = Verified {
            user: PartnerUserId::parse(&data.claims.sub).map_err(|_| AuthError::Subject)?,
            scopes: Granted::from(&data.claims.scopes),
        };
        if let Some(exp) = data.claims.exp {
            // Whole seconds down: the entry expires no later than the token.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let exp = exp.floor() as u64;
            self.verified
                .insert(token, &verified, exp, generation)
                .await;
        }
        Ok(verified)
    }
}

impl Keys {
    /// Changes whenever the key set may have: a fixed key never does.
    fn generation(&self) -> u64 {
        match self {
            Self::Fixed(..) => 0,
            Self::Jwks(jwks) => jwks.generation.load(Ordering::Acquire),
        }
    }
}

/// Keys published by the partner's identity provider, by `kid`.
struct Jwks {
    url: Url,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    /// Counts reloads, so that tokens verified with an earlier set are
    /// verified again.
    generation: AtomicU64,
    last_fetch: Mutex<Instant>,
    /// The first fetch's `Cache-Control: max-age`.
    max_age: Option<Duration>,
}

impl Jwks {
    async fn fetch(url: Url) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let (keys, max_age) = load(&http, &url).await?;
        Ok(Self {
            url,
            http,
            keys: RwLock::new(keys),
            generation: AtomicU64::new(0),
            last_fetch: Mutex::new(Instant::now()),
            max_age,
        })
    }

    /// Replaces the key set with the provider's current one; returns its
    /// `max-age`. A failure leaves the set as it was.
    async fn reload(&self) -> anyhow::Result<Option<Duration>> {
        let (keys, max_age) = load(&self.http, &self.url).await?;
        *self.keys.write().await = keys;
        self.generation.fetch_add(1, Ordering::Release);
        Ok(max_age)
    }

    async fn key(&self, kid: Option<&str>) -> Result<(Arc<DecodingKey>, Algorithm), AuthError> {
        let kid = kid.ok_or(AuthError::UnknownKey)?;
        if let Some(found) = self.keys.read().await.get(kid) {
            return Ok(found.clone());
        }
        // An unknown kid may mean the provider rotated its keys; look again,
        // but at most once a minute however many tokens ask.
        {
            let mut last = self.last_fetch.lock().await;
            if last.elapsed() >= JWKS_REFETCH {
                *last = Instant::now();
                if let Err(e) = self.reload().await {
                    tracing::warn!(error = %e, "refetching the JWKS failed");
                }
            }
        }
        self.keys
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or(AuthError::UnknownKey)
    }
}

type KeySet = HashMap<String, (Arc<DecodingKey>, Algorithm)>;

/// The provider's key set, and how long it says to cache it.
async fn load(http: &reqwest::Client, url: &Url) -> anyhow::Result<(KeySet, Option<Duration>)> {
    let response = http.get(url.clone()).send().await?.error_for_status()?;
    let max_age = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(max_age);
    let set: JwkSet = response.json().await?;
    Ok((keys_of(&set), max_age))
}

/// `max-age=N` of a `Cache-Control` value.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let (name, value) = directive.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| value.trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

fn keys_of(set: &JwkSet) -> KeySet {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            // Only the RS256 and ES256 families are accepted, whatever the
            // key set offers.
            let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => return None,
            };
            Some((kid, (Arc::new(DecodingKey::from_jwk(jwk).ok()?), alg)))
        })
        .collect()
}

#[cfg(test)]
mod tests;
