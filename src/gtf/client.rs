//! Typed calls to GTF's token and API gateways, and the presigned upload.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use failsafe::StateMachine;
use failsafe::backoff::{self, Constant};
use failsafe::failure_policy::{self, ConsecutiveFailures};
use http::HeaderValue;
use reqwest::{RequestBuilder, Response};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;

use super::budget;
use super::error::GtfError;
use super::retry::{Repeatable, RetryPolicy};
use super::token::{self, Lookup, TokenKey, TokenManager, UserToken};
use super::wire::{DetailsData, Envelope, PresignData, StatusData, TokenData};
use crate::config::GtfConfig;
use crate::domain::PartnerUserId;
use crate::domain::{GtfResult, GtfStatus};
use crate::telemetry::metrics;

/// GTF's answers are small; anything larger is not GTF speaking.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The ids GTF correlates one submission's calls by. GTF is silent on their
/// scope; we use one partner session id and one SDK session id per
/// submission, reused on every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub partner_session_id: String,
    pub sdk_session_id: String,
}

/// Where to upload one document GTF asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTarget {
    pub document: String,
    pub url: String,
    pub reference: Option<String>,
    pub expires_in: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub submission_id: String,
    pub status: Option<GtfStatus>,
    /// One per document, in key order; never assumed to be a single `KTP`.
    pub uploads: Vec<UploadTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub status: GtfStatus,
    pub completed_at: Option<String>,
    pub error_message: Option<String>,
}

/// The verification result. `ktp` and `raw` hold personal data: `Debug`
/// leaves them out.
#[derive(Clone, PartialEq)]
pub struct Details {
    pub status: Option<GtfStatus>,
    pub result: Option<GtfResult>,
    pub reason_code: Option<String>,
    pub processed_at: Option<String>,
    /// `submissionDetails.ktpData`, GTF's field names unchanged.
    pub ktp: Option<Value>,
    /// The whole `data` object, whatever its shape.
    pub raw: Value,
}

impl fmt::Debug for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Details")
            .field("status", &self.status)
            .field("result", &self.result)
            .field("reason_code", &self.reason_code)
            .field("processed_at", &self.processed_at)
            .field("ktp", &self.ktp.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// The calls, named for logs and metrics, with what repeating each could do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    Presign,
    Confirm,
    Status,
    Details,
    Upload,
}

impl Endpoint {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Presign => "presign",
            Self::Confirm => "confirm",
            Self::Status => "status",
            Self::Details => "details",
            Self::Upload => "upload",
        }
    }

    fn repeatable(self) -> Repeatable {
        match self {
            Self::Token | Self::Status | Self::Details | Self::Upload => Repeatable::Always,
            Self::Presign => Repeatable::IfNotProcessed,
            Self::Confirm => Repeatable::Never,
        }
    }
}

/// Tuning that tests and operators may change; the defaults suit production.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// Users whose tokens are kept.
    pub token_capacity: u64,
    /// This many GTF failures in a row (unreachable, timeout, 5xx) open the
    /// circuit: calls then fail at once, with `Retry-After`, for
    /// `breaker_open_for`, after which one call tries again.
    pub breaker_failures: u32,
    pub breaker_open_for: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            token_capacity: 200_000,
            breaker_failures: 5,
            breaker_open_for: Duration::from_secs(10),
        }
    }
}

type Breaker = StateMachine<ConsecutiveFailures<Constant>, ()>;

#[derive(Clone)]
pub struct GtfClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: GtfConfig,
    pass_key: HeaderValue,
    onboarding_partner: Arc<str>,
    user_id_type: Arc<str>,
    submissions_url: Url,
    tokens: TokenManager,
    retry: RetryPolicy,
    /// Stops hammering GTF while it is down.
    breaker: Breaker,
    breaker_open_for: Duration,
}

/// Why a single attempt failed, and whether GTF can have seen it.
struct AttemptError {
    error: GtfError,
    connect_failed: bool,
}

impl From<GtfError> for AttemptError {
    fn from(error: GtfError) -> Self {
        Self {
            error,
            connect_failed: false,
        }
    }
}

impl GtfClient {
    pub fn with_options(config: GtfConfig, options: ClientOptions) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            // Never follow a redirect with a token or pass-key attached.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gtf-bff/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let pass_key = sensitive(secrecy::ExposeSecret::expose_secret(&config.pass_key))
            .ok_or_else(|| anyhow::anyhow!("GTF_PASS_KEY is not a valid header value"))?;
        let submissions_url = Url::parse(&config.api_base_url.join("/coe/v1/submissions"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                submissions_url,
                pass_key,
                onboarding_partner: config.onboarding_partner.as_str().into(),
                user_id_type: config.partner_user_id_type.as_str().into(),
                config,
                tokens: TokenManager::new(options.token_capacity),
                retry: options.retry,
                breaker: failsafe::Config::new()
                    .failure_policy(failure_policy::consecutive_failures(
                        options.breaker_failures,
                        backoff::constant(options.breaker_open_for),
                    ))
                    .build(),
                breaker_open_for: options.breaker_open_for,
            }),
        })
    }

    /// `GTF_TIMEOUT_MS`: the most one attempt can take.
    pub(crate) fn timeout(&self) -> Duration {
        self.inner.config.timeout
    }

    /// The longest [`GtfClient::presign`] can take: a token mint and the
    /// presign, each with its retries, and both once more when GTF refuses
    /// the token.
    pub(crate) fn longest_presign(&self) -> Duration {
        self.inner.retry.longest(self.timeout()) * 4
    }

    /// Get Presigned URLs: starts a submission at GTF.
    pub async fn presign(
        &self,
        user: &PartnerUserId,
        session: &Session,
        submission_type: &str,
    ) -> Result<Presigned, GtfError> {
        let url = self.api_url(&["urls"]);
        let data: PresignData = self
            .call(Endpoint::Presign, user, |token| {
                self.with_session(self.inner.http.get(url.clone()), token, session)
                    .query(&[("submissionType", submission_type)])
            })
            .await?;
        Ok(Presigned {
            submission_id: data.submission_id,
            status: data.status,
            uploads: data
                .documents
                .into_iter()
                .map(|(document, doc)| UploadTarget {
                    document,
                    url: doc.document_url,
                    reference: doc.document_reference,
                    expires_in: doc
                        .expiry_in_seconds
                        .filter(|s| *s > 0)
                        .map(|s| Duration::from_secs(s.unsigned_abs())),
                })
                .collect(),
        })
    }

    /// Confirm Upload. Sent once: a caller that repeats it must be ready
    /// for `409 SUBMISSION_STATE_CONFLICT`, which means "already confirmed".
    pub async fn confirm(
        &self,
        user: &PartnerUserId,
        session: &Session,
        submission_id: &str,
    ) -> Result<(), GtfError> {
        let url = self.api_url(&["urls"]);
        let body = serde_json::json!({ "submissionId": submission_id });
        let _: IgnoredAny = self
            .call(Endpoint::Confirm, user, |token| {
                self.with_session(self.inner.http.put(url.clone()), token, session)
                    .json(&body)
            })
            .await?;
        Ok(())
    }

    /// Get Submission Status.
    pub async fn status(
        &self,
        user: &PartnerUserId,
        session: &Session,
        submission_id: &str,
    ) -> Result<StatusReport, GtfError> {
        let url = self.api_url(&[submission_id, "status"]);
        let data: StatusData = self
            .call(Endpoint::Status, user, |token| {
                self.with_session(self.inner.http.get(url.clone()), token, session)
            })
            .await?;
        Ok(StatusReport {
            status: data.status,
            completed_at: data.completed_at,
            error_message: data.error_message,
        })
    }

    /// Get Submission Details, by `x-submission-id` plus the session.
    pub async fn details(
        &self,
        user: &PartnerUserId,
        session: &Session,
        submission_id: &str,
    ) -> Result<Details, GtfError> {
        let url = self.api_url(&[]);
        let raw: Value = self
            .call(Endpoint::Details, user, |token| {
                self.with_session(self.inner.http.get(url.clone()), token, session)
                    .header("x-submission-id", submission_id)
                    .header("x-partner-user-id", user.as_str())
                    .header("x-partner-user-id-type", &*self.inner.user_id_type)
            })
            .await?;
        let data: DetailsData =
            serde_json::from_value(raw.clone()).map_err(|e| malformed("details data", &e))?;
        let ktp = data
            .submission_details
            .as_ref()
            .and_then(|d| d.get("ktpData"))
            .filter(|k| k.is_object())
            .cloned();
        Ok(Details {
            status: data.status,
            result: data.result,
            reason_code: data.reason_code,
            processed_at: data.processed_at,
            ktp,
            raw,
        })
    }

    /// PUTs a document to a presigned URL, exactly as GTF gave it.
    pub async fn upload(&self, url: &str, content_type: &str, body: Bytes) -> Result<(), GtfError> {
        let url = Url::parse(url).map_err(|_| GtfError::MalformedResponse("upload URL".into()))?;
        self.send(Endpoint::Upload, || {
            self.inner
                .http
                .put(url.clone())
                .header(http::header::CONTENT_TYPE, content_type)
                .body(body.clone())
        })
        .await
        .map(drop)
    }

    /// The user's token, minting one if needed.
    async fn token(&self, key: &TokenKey) -> Result<Arc<UserToken>, GtfError> {
        let (token, lookup) = self.inner.tokens.get(key, self.mint(&key.user)).await?;
        metrics::token_lookup(lookup == Lookup::Hit);
        Ok(token)
    }

    /// Get User Token.
    async fn mint(&self, user: &PartnerUserId) -> Result<UserToken, GtfError> {
        let minted = self.mint_once(user).await;
        metrics::token_mint(minted.as_ref().map_or_else(GtfError::kind, |_| "ok"));
        minted
    }

    async fn mint_once(&self, user: &PartnerUserId) -> Result<UserToken, GtfError> {
        let inner = &self.inner;
        let url = inner.config.token_base_url.join("/v2/coe/authentication");
        let body = self
            .send(Endpoint::Token, || {
                inner
                    .http
                    .get(&url)
                    .header("client-id", &inner.config.client_id)
                    .header("pass-key", inner.pass_key.clone())
                    .header("x-onboarding-partner", &*inner.onboarding_partner)
                    .header("x-partner-user-id", user.as_str())
                    .header("x-partner-user-id-type", &*inner.user_id_type)
            })
            .await?;
        let minted_at = Instant::now();
        let data: TokenData = parse_data(&body)?;
        let header = sensitive(&data.token)
            .filter(|_| !data.token.is_empty())
            .ok_or_else(|| GtfError::MalformedResponse("token is not a header value".into()))?;
        let lifetime = token::lifetime(
            OffsetDateTime::now_utc().unix_timestamp(),
            data.expiry_seconds,
            data.expires_at,
        );
        Ok(UserToken::new(header, minted_at, lifetime))
    }

    /// An API-gateway call with the user's token. On a 401 the token is
    /// dropped (if still current), one new one is minted, and the call is
    /// sent once more; a second 401 is final.
    async fn call<T, B>(
        &self,
        endpoint: Endpoint,
        user: &PartnerUserId,
        request: B,
    ) -> Result<T, GtfError>
    where
        T: DeserializeOwned,
        B: Fn(&HeaderValue) -> RequestBuilder,
    {
        let key = TokenKey {
            onboarding_partner: self.inner.onboarding_partner.clone(),
            user: user.clone(),
            user_id_type: self.inner.user_id_type.clone(),
        };
        let token = self.token(&key).await?;
        let body = match self.send(endpoint, || request(token.header())).await {
            Err(GtfError::Unauthorized) => {
                tracing::info!(
                    endpoint = endpoint.name(),
                    "GTF refused the user token; minting a new one"
                );
                self.inner.tokens.invalidate_if_current(&key, &token).await;
                let token = self.token(&key).await?;
                self.send(endpoint, || request(token.header())).await?
            }
            other => other?,
        };
        parse_data(&body)
    }

    /// Sends with retries as the endpoint allows; returns a success body.
    async fn send(
        &self,
        endpoint: Endpoint,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Bytes, GtfError> {
        let mut attempts = 0;
        // Storage is not GTF's API: its failures say nothing of GTF's health.
        let guarded = endpoint != Endpoint::Upload;
        loop {
            attempts += 1;
            if guarded && !self.inner.breaker.is_call_permitted() {
                metrics::gtf_call(endpoint.name(), "circuit_open", Duration::ZERO);
                tracing::warn!(endpoint = endpoint.name(), "GTF circuit open; not calling");
                return Err(GtfError::Unavailable {
                    status: None,
                    retry_after: Some(self.inner.breaker_open_for),
                });
            }
            // Within a request, an attempt gets at most what its budget has left.
            let left = budget::remaining();
            if left.is_some_and(|left| left.is_zero()) {
                tracing::warn!(
                    endpoint = endpoint.name(),
                    "the request's time for GTF is spent; not calling"
                );
                return Err(GtfError::Timeout);
            }
            let timeout = left.map_or(self.timeout(), |left| left.min(self.timeout()));
            let started = Instant::now();
            let outcome = self.attempt(build().timeout(timeout)).await;
            // A timeout of an attempt cut short says nothing of GTF's health.
            let cut_short = timeout < self.timeout()
                && matches!(&outcome, Err(e) if matches!(e.error, GtfError::Timeout));
            if guarded && !cut_short {
                match &outcome {
                    Err(e) if e.error.means_gtf_is_down() => self.inner.breaker.on_error(),
                    _ => self.inner.breaker.on_success(),
                }
            }
            let elapsed = started.elapsed();
            let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
            let kind = outcome.as_ref().map_or_else(|e| e.error.kind(), |_| "ok");
            metrics::gtf_call(endpoint.name(), kind, elapsed);
            match outcome {
                Ok(body) => {
                    tracing::debug!(
                        endpoint = endpoint.name(),
                        attempts,
                        elapsed_ms,
                        "GTF call succeeded"
                    );
                    return Ok(body);
                }
                Err(AttemptError {
                    error,
                    connect_failed,
                }) => {
                    let delay = self
                        .inner
                        .retry
                        .next_delay(endpoint.repeatable(), attempts, &error, connect_failed)
                        // No retry that the request's budget would end.
                        .filter(|delay| budget::remaining().is_none_or(|left| *delay < left));
                    tracing::warn!(
                        endpoint = endpoint.name(),
                        attempts,
                        elapsed_ms,
                        error = error.kind(),
                        status = error.status(),
                        cause = error.cause(),
                        retry_in_ms = delay.map(|d| d.as_millis() as u64),
                        "GTF call failed"
                    );
                    match delay {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => return Err(error),
                    }
                }
            }
        }
    }

    async fn attempt(&self, request: RequestBuilder) -> Result<Bytes, AttemptError> {
        let response = request.send().await.map_err(|e| AttemptError {
            error: GtfError::from_transport(&e),
            connect_failed: e.is_connect(),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_limited(response).await?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(GtfError::from_response(status, &headers, &body).into())
        }
    }

    /// `/coe/v1/submissions` with `segments` appended, each percent-encoded.
    fn api_url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.submissions_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        url
    }

    fn with_session(
        &self,
        request: RequestBuilder,
        token: &HeaderValue,
        session: &Session,
    ) -> RequestBuilder {
        request
            .header("x-onekyc-token", token.clone())
            .header("x-partner-session-id", &session.partner_session_id)
            .header("x-sdk-session-id", &session.sdk_session_id)
    }
}

/// Reads a body, refusing to buffer more than GTF would ever send.
async fn read_limited(response: Response) -> Result<Bytes, AttemptError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(GtfError::MalformedResponse("response too large".into()).into());
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| AttemptError {
        error: GtfError::from_transport(&e),
        connect_failed: false,
    })? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(GtfError::MalformedResponse("response too large".into()).into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

/// The `data` of a success envelope. A 2xx saying `success: false` is GTF
/// refusing, not a malformed answer.
fn parse_data<T: DeserializeOwned>(body: &[u8]) -> Result<T, GtfError> {
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(|e| malformed("body", &e))?;
    if envelope.success == Some(false) {
        let first = envelope.errors.into_iter().next();
        return Err(GtfError::Rejected {
            status: 200,
            code: first.as_ref().and_then(|e| e.code.clone()),
            cause: first.and_then(|e| e.cause),
        });
    }
    envelope
        .data
        .ok_or_else(|| GtfError::MalformedResponse("no data in a success response".into()))
}

/// Says where parsing failed without quoting the body: it may hold
/// personal data or a token.
fn malformed(what: &str, err: &serde_json::Error) -> GtfError {
    GtfError::MalformedResponse(format!(
        "{what}: {:?} error at line {} column {}",
        err.classify(),
        err.line(),
        err.column()
    ))
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}
