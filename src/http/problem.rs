//! Every error a client can see, mapped to `application/problem+json`
//! (RFC 9457) in one place, with a stable `code` and the request id.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::verify::AuthError;
use crate::gtf::GtfError;
use crate::kyc::KycError;
use crate::store;

tokio::task_local! {
    /// The request id of the request being served, for error bodies.
    static REQUEST_ID: String;
}

/// Runs the rest of the stack with the request id in scope, so that any
/// error, extractor rejections included, can name it.
pub async fn scope_request_id(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    REQUEST_ID.scope(id, next.run(request)).await
}

/// How long clients are asked to wait when a dependency is down and did not
/// say for how long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication failed: {0}")]
    Unauthorized(AuthError),
    #[error("no route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("invalid body: {0}")]
    InvalidBody(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("body too large")]
    PayloadTooLarge,
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error("invalid header: {0}")]
    InvalidHeader(String),
    #[error("callback from a source address that is not allowed")]
    CallbackForbidden,
    #[error("callback without an accepted credential")]
    CallbackUnauthorized,
    #[error("malformed callback: {0}")]
    InvalidCallback(String),
    #[error("callback could not be stored")]
    CallbackNotStored,
    #[error("rate limited")]
    RateLimited(Duration),
    #[error(transparent)]
    Kyc(#[from] KycError),
}

impl From<GtfError> for ApiError {
    fn from(e: GtfError) -> Self {
        Self::Kyc(e.into())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Kyc(e.into())
    }
}

/// Every `code` a problem body can carry: stable, for clients to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProblemCode {
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    MalformedJson,
    InvalidBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    InvalidParameter,
    InvalidHeader,
    Forbidden,
    InvalidCallback,
    CallbackNotStored,
    SubmissionNotFound,
    SubmissionExpired,
    UploadMissing,
    ResultNotReady,
    UnsupportedSubmissionType,
    IdempotencyKeyReused,
    IdempotencyKeyInUse,
    SubmissionQuotaExceeded,
    GtfUnavailable,
    GtfTimeout,
    GtfError,
    DatabaseUnavailable,
    RateLimited,
    ResultPurged,
    Internal,
}

/// An RFC 9457 problem body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    code: ProblemCode,
    detail: &'a str,
    request_id: String,
}

/// What the client is told: status, stable code, title, a detail that
/// never carries secrets, SQL or GTF's internals, and maybe a Retry-After.
struct Answer {
    status: StatusCode,
    code: ProblemCode,
    title: &'static str,
    detail: String,
    retry_after: Option<Duration>,
}

impl Answer {
    fn new(
        status: StatusCode,
        code: ProblemCode,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            retry_after: None,
        }
    }

    fn retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = Some(after.unwrap_or(DEFAULT_RETRY_AFTER));
        self
    }
}

impl ApiError {
    fn answer(&self) -> Answer {
        use StatusCode as S;
        match self {
            Self::Unauthorized(_) => Answer::new(
                S::UNAUTHORIZED,
                ProblemCode::Unauthorized,
                "Authentication required",
                "A valid bearer token is required.",
            ),
            Self::RouteNotFound => Answer::new(
                S::NOT_FOUND,
                ProblemCode::NotFound,
                "Not found",
                "No such resource.",
            ),
            Self::MethodNotAllowed => Answer::new(
                S::METHOD_NOT_ALLOWED,
                ProblemCode::MethodNotAllowed,
                "Method not allowed",
                "This resource does not support that method.",
            ),
            Self::MalformedJson(d) => Answer::new(
                S::BAD_REQUEST,
                ProblemCode::MalformedJson,
                "Malformed JSON",
                d.clone(),
            ),
            Self::InvalidBody(d) => Answer::new(
                S::UNPROCESSABLE_ENTITY,
                ProblemCode::InvalidBody,
                "Invalid request body",
                d.clone(),
            ),
            Self::UnsupportedMediaType => Answer::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                ProblemCode::UnsupportedMediaType,
                "Unsupported media type",
                "Request bodies must be application/json.",
            ),
            Self::PayloadTooLarge => Answer::new(
                S::PAYLOAD_TOO_LARGE,
                ProblemCode::PayloadTooLarge,
                "Request body too large",
                "The request body is larger than this endpoint accepts.",
            ),
            Self::InvalidParameter(d) => Answer::new(
                S::UNPROCESSABLE_ENTITY,
                ProblemCode::InvalidParameter,
                "Invalid parameter",
                d.clone(),
            ),
            Self::InvalidHeader(d) => Answer::new(
                S::BAD_REQUEST,
                ProblemCode::InvalidHeader,
                "Invalid header",
                d.clone(),
            ),
            Self::CallbackForbidden => Answer::new(
                S::FORBIDDEN,
                ProblemCode::Forbidden,
                "Forbidden",
                "Callbacks are not accepted from this address.",
            ),
            Self::CallbackUnauthorized => Answer::new(
                S::UNAUTHORIZED,
                ProblemCode::Unauthorized,
                "Authentication required",
                "The callback credential is missing or not accepted.",
            ),
            Self::InvalidCallback(d) => Answer::new(
                S::BAD_REQUEST,
                ProblemCode::InvalidCallback,
                "Malformed callback",
                d.clone(),
            ),
            Self::CallbackNotStored => Answer::new(
                S::SERVICE_UNAVAILABLE,
                ProblemCode::CallbackNotStored,
                "Callback not stored",
                "The callback could not be stored; send it again later.",
            )
            .retry_after(None),
            Self::RateLimited(wait) => Answer::new(
                S::TOO_MANY_REQUESTS,
                ProblemCode::RateLimited,
                "Too many requests",
                "Slow down; retry after the time in Retry-After.",
            )
            .retry_after(Some(*wait)),
            Self::Kyc(e) => kyc_answer(e),
        }
    }
}

fn kyc_answer(e: &KycError) -> Answer {
    use StatusCode as S;
    match e {
        KycError::NotFound => Answer::new(
            S::NOT_FOUND,
            ProblemCode::SubmissionNotFound,
            "Submission not found",
            "No submission with this id exists for this user.",
        ),
        KycError::Expired => Answer::new(
            S::CONFLICT,
            ProblemCode::SubmissionExpired,
            "Submission expired",
            "The upload URLs lapsed before the upload was confirmed; start a new submission.",
        ),
        KycError::UploadMissing => Answer::new(
            S::UNPROCESSABLE_ENTITY,
            ProblemCode::UploadMissing,
            "Upload missing",
            "GTF has not received every document; upload each one to its URL, then confirm again.",
        ),
        KycError::ResultNotReady => Answer::new(
            S::CONFLICT,
            ProblemCode::ResultNotReady,
            "Result not ready",
            "The result is available once the submission is COMPLETED or FAILED.",
        ),
        KycError::ResultPurged => Answer::new(
            S::GONE,
            ProblemCode::ResultPurged,
            "Result purged",
            "The result's details were deleted under the retention policy.",
        ),
        KycError::UnsupportedType => Answer::new(
            S::UNPROCESSABLE_ENTITY,
            ProblemCode::UnsupportedSubmissionType,
            "Unsupported submission type",
            "Only KTP_SCAN submissions are supported.",
        ),
        KycError::IdempotencyKeyReused => Answer::new(
            S::UNPROCESSABLE_ENTITY,
            ProblemCode::IdempotencyKeyReused,
            "Idempotency key reused",
            "This Idempotency-Key was used for a different request.",
        ),
        KycError::IdempotencyKeyInUse => Answer::new(
            S::CONFLICT,
            ProblemCode::IdempotencyKeyInUse,
            "Idempotency key in use",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        )
        .retry_after(Some(Duration::from_secs(1))),
        KycError::Gtf(g) => gtf_answer(g),
        KycError::Database(db) if store::is_unavailable(db) => Answer::new(
            S::SERVICE_UNAVAILABLE,
            ProblemCode::DatabaseUnavailable,
            "Service unavailable",
            "The service's database is unavailable; retry later.",
        )
        .retry_after(None),
        KycError::Database(_) | KycError::Sealed(_) => internal(),
    }
}

fn gtf_answer(e: &GtfError) -> Answer {
    use StatusCode as S;
    match e {
        GtfError::QuotaExceeded { retry_after } => {
            let mut a = Answer::new(
                S::TOO_MANY_REQUESTS,
                ProblemCode::SubmissionQuotaExceeded,
                "Submission quota exceeded",
                "GTF allows no more submission attempts for this user now.",
            );
            a.retry_after = *retry_after;
            a
        }
        GtfError::Unavailable { retry_after, .. } => Answer::new(
            S::SERVICE_UNAVAILABLE,
            ProblemCode::GtfUnavailable,
            "GTF unavailable",
            "GTF cannot be reached or is overloaded; retry later.",
        )
        .retry_after(*retry_after),
        GtfError::Timeout => Answer::new(
            S::GATEWAY_TIMEOUT,
            ProblemCode::GtfTimeout,
            "GTF timed out",
            "GTF did not answer in time; retry later.",
        ),
        GtfError::Unauthorized | GtfError::Rejected { .. } | GtfError::MalformedResponse(_) => {
            Answer::new(
                S::BAD_GATEWAY,
                ProblemCode::GtfError,
                "GTF error",
                "GTF answered with an error.",
            )
        }
    }
}

fn internal() -> Answer {
    Answer::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ProblemCode::Internal,
        "Internal error",
        "Something went wrong on our side; it has been logged.",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let answer = self.answer();
        // The cause goes to the log (never to the client); secrets and
        // personal data never appear in these messages.
        if answer.status.is_server_error() {
            tracing::error!(code = ?answer.code, error = %self, "request failed");
        } else {
            tracing::debug!(code = ?answer.code, error = %self, "request refused");
        }
        let mut response = problem_response(&answer);
        if let Self::Unauthorized(reason) = &self {
            let value = if matches!(reason, AuthError::Missing) {
                "Bearer"
            } else {
                "Bearer error=\"invalid_token\""
            };
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        response
    }
}

fn problem_response(answer: &Answer) -> Response {
    let body = Problem {
        kind: "about:blank",
        title: answer.title,
        status: answer.status.as_u16(),
        code: answer.code,
        detail: &answer.detail,
        request_id: REQUEST_ID.try_with(Clone::clone).unwrap_or_default(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(after) = answer.retry_after {
        // Whole seconds, rounded up: never invite a retry too early.
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    let json = serde_json::to_vec(&body).unwrap_or_default();
    (answer.status, headers, json).into_response()
}

/// For routes nobody registered.
pub async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
