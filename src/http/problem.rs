//! Every error a client can see, mapped to `application/problem+json`
//! (RFC 9457) in one place, with a stable `code` and the request id.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::scope::Scope;
use crate::auth::verify::AuthError;
use crate::gtf::GtfError;
use crate::kyc::KycError;
use crate::store;

tokio::task_local! {
    /// The request id of the request being served, for error bodies.
    static REQUEST_ID: String;
}

/// Runs `work` with `id` in scope, so that any error it answers, extractor
/// rejections included, can name its request.
pub(super) async fn with_request_id<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The request id of the request being served (empty outside one).
pub(crate) fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// How long clients are asked to wait when a dependency is down and did not
/// say for how long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("authentication failed: {0}")]
    Unauthorized(AuthError),
    #[error("the token lacks the {} scope", .0.as_str())]
    MissingScope(Scope),
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
    #[error("the request was not answered within the request timeout")]
    RequestTimeout,
    #[error("the user has as many event streams open as allowed")]
    TooManyStreams,
    #[error("this process serves as many event streams as allowed")]
    StreamsExhausted,
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

/// The one table of problems: each `code` a problem body can carry (stable,
/// for clients to branch on), with its status, title and the detail it
/// gives unless the error has a more precise one.
macro_rules! problem_codes {
    ($($code:ident => $status:ident, $title:literal, $detail:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub(crate) enum ProblemCode {
            $($code,)*
        }

        impl ProblemCode {
            pub(crate) fn status(self) -> StatusCode {
                match self {
                    $(Self::$code => StatusCode::$status,)*
                }
            }

            fn title(self) -> &'static str {
                match self {
                    $(Self::$code => $title,)*
                }
            }

            fn detail(self) -> &'static str {
                match self {
                    $(Self::$code => $detail,)*
                }
            }
        }
    };
}

problem_codes! {
    Unauthorized => UNAUTHORIZED, "Authentication required", "A valid bearer token is required.";
    NotFound => NOT_FOUND, "Not found", "No such resource.";
    MethodNotAllowed => METHOD_NOT_ALLOWED, "Method not allowed", "This resource does not support that method.";
    MalformedJson => BAD_REQUEST, "Malformed JSON", "The body is not valid JSON.";
    InvalidBody => UNPROCESSABLE_ENTITY, "Invalid request body", "The body does not have the expected shape.";
    UnsupportedMediaType => UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", "Request bodies must be application/json.";
    PayloadTooLarge => PAYLOAD_TOO_LARGE, "Request body too large", "The request body is larger than this endpoint accepts.";
    InvalidParameter => UNPROCESSABLE_ENTITY, "Invalid parameter", "A query or path parameter is invalid.";
    InvalidHeader => BAD_REQUEST, "Invalid header", "A request header is invalid.";
    Forbidden => FORBIDDEN, "Forbidden", "Callbacks are not accepted from this address.";
    InvalidCallback => BAD_REQUEST, "Malformed callback", "The callback body is not one GTF sends.";
    CallbackNotStored => SERVICE_UNAVAILABLE, "Callback not stored", "The callback could not be stored; send it again later.";
    SubmissionNotFound => NOT_FOUND, "Submission not found", "No submission with this id exists for this user.";
    SubmissionExpired => CONFLICT, "Submission expired", "The upload URLs lapsed before the upload was confirmed; start a new submission.";
    UploadMissing => UNPROCESSABLE_ENTITY, "Upload missing", "GTF has not received every document; upload each one to its URL, then confirm again.";
    ResultNotReady => CONFLICT, "Result not ready", "The result is available once the submission is COMPLETED or FAILED.";
    UnsupportedSubmissionType => UNPROCESSABLE_ENTITY, "Unsupported submission type", "Only KTP_SCAN submissions are supported.";
    IdempotencyKeyReused => UNPROCESSABLE_ENTITY, "Idempotency key reused", "This Idempotency-Key was used for a different request.";
    IdempotencyKeyInUse => CONFLICT, "Idempotency key in use", "A request with this Idempotency-Key is still being processed; retry shortly.";
    SubmissionQuotaExceeded => TOO_MANY_REQUESTS, "Submission quota exceeded", "GTF allows no more submission attempts for this user now.";
    GtfUnavailable => SERVICE_UNAVAILABLE, "GTF unavailable", "GTF cannot be reached or is overloaded; retry later.";
    GtfTimeout => GATEWAY_TIMEOUT, "GTF timed out", "GTF did not answer in time; retry later.";
    GtfError => BAD_GATEWAY, "GTF error", "GTF answered with an error.";
    DatabaseUnavailable => SERVICE_UNAVAILABLE, "Service unavailable", "The service's database is unavailable; retry later.";
    RateLimited => TOO_MANY_REQUESTS, "Too many requests", "Slow down; retry after the time in Retry-After.";
    ResultPurged => GONE, "Result purged", "The result's details were deleted under the retention policy.";
    RequestTimeout => SERVICE_UNAVAILABLE, "Request timed out", "The request could not be answered in time; retry later.";
    TooManyStreams => TOO_MANY_REQUESTS, "Too many event streams", "This user has as many event streams open as allowed; close one first.";
    StreamsExhausted => SERVICE_UNAVAILABLE, "Event streams exhausted", "This server has as many event streams open as it allows; retry later.";
    ResultErased => GONE, "Result erased", "The user's personal data was erased at their request.";
    DeliveryInFlight => CONFLICT, "Delivery in flight", "An attempt of this webhook delivery is under way; resend it once that has finished.";
    Internal => INTERNAL_SERVER_ERROR, "Internal error", "Something went wrong on our side; it has been logged.";
}

/// An RFC 9457 problem body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    code: ProblemCode,
    detail: &'a str,
    request_id: String,
}

/// What the client is told: the code, a detail that never carries secrets,
/// SQL or GTF's internals, and maybe a Retry-After.
struct Answer {
    code: ProblemCode,
    detail: Option<String>,
    retry_after: Option<Duration>,
}

impl From<ProblemCode> for Answer {
    fn from(code: ProblemCode) -> Self {
        Self {
            code,
            detail: None,
            retry_after: None,
        }
    }
}

impl Answer {
    fn detail(code: ProblemCode, detail: &str) -> Self {
        Self {
            detail: Some(detail.to_owned()),
            ..code.into()
        }
    }

    /// A dependency is down: ask to come back after `after`, or a default.
    fn retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = Some(after.unwrap_or(DEFAULT_RETRY_AFTER));
        self
    }
}

impl ApiError {
    fn answer(&self) -> Answer {
        use ProblemCode as C;
        match self {
            Self::Unauthorized(_) => C::Unauthorized.into(),
            Self::MissingScope(scope) => Answer::detail(
                C::Forbidden,
                &format!(
                    "This token does not grant the {} scope this operation needs.",
                    scope.as_str()
                ),
            ),
            Self::RouteNotFound => C::NotFound.into(),
            Self::MethodNotAllowed => C::MethodNotAllowed.into(),
            Self::MalformedJson(d) => Answer::detail(C::MalformedJson, d),
            Self::InvalidBody(d) => Answer::detail(C::InvalidBody, d),
            Self::UnsupportedMediaType => C::UnsupportedMediaType.into(),
            Self::PayloadTooLarge => C::PayloadTooLarge.into(),
            Self::InvalidParameter(d) => Answer::detail(C::InvalidParameter, d),
            Self::InvalidHeader(d) => Answer::detail(C::InvalidHeader, d),
            Self::CallbackForbidden => C::Forbidden.into(),
            Self::CallbackUnauthorized => Answer::detail(
                C::Unauthorized,
                "The callback credential is missing or not accepted.",
            ),
            Self::InvalidCallback(d) => Answer::detail(C::InvalidCallback, d),
            Self::CallbackNotStored => Answer::from(C::CallbackNotStored).retry_after(None),
            Self::RateLimited(wait) => Answer::from(C::RateLimited).retry_after(Some(*wait)),
            Self::RequestTimeout => Answer::from(C::RequestTimeout).retry_after(None),
            Self::TooManyStreams => C::TooManyStreams.into(),
            Self::StreamsExhausted => Answer::from(C::StreamsExhausted).retry_after(None),
            Self::Kyc(e) => kyc_answer(e),
        }
    }
}

fn kyc_answer(e: &KycError) -> Answer {
    use ProblemCode as C;
    match e {
        KycError::NotFound => C::SubmissionNotFound.into(),
        KycError::Expired => C::SubmissionExpired.into(),
        KycError::UploadMissing => C::UploadMissing.into(),
        KycError::ResultNotReady => C::ResultNotReady.into(),
        KycError::ResultPurged => C::ResultPurged.into(),
        KycError::ResultErased => C::ResultErased.into(),
        KycError::DeliveryNotFound => Answer::detail(C::NotFound, "No webhook delivery with this id."),
        KycError::DeliveryInFlight => Answer::from(C::DeliveryInFlight).retry_after(None),
        KycError::NotAudited(_) => Answer::detail(
            C::DatabaseUnavailable,
            "The access could not be recorded in the audit log, so it was not allowed; retry later.",
        )
        .retry_after(None),
        KycError::UnsupportedType => C::UnsupportedSubmissionType.into(),
        KycError::IdempotencyKeyReused => C::IdempotencyKeyReused.into(),
        KycError::IdempotencyKeyInUse => {
            Answer::from(C::IdempotencyKeyInUse).retry_after(Some(Duration::from_secs(1)))
        }
        KycError::InvalidCursor => {
            Answer::detail(C::InvalidParameter, "cursor is not one this service issued")
        }
        KycError::Gtf(g) => gtf_answer(g),
        KycError::Database(db) if store::is_unavailable(db) => {
            Answer::from(C::DatabaseUnavailable).retry_after(None)
        }
        KycError::Database(_) | KycError::Sealed(_) => C::Internal.into(),
    }
}

fn gtf_answer(e: &GtfError) -> Answer {
    use ProblemCode as C;
    match e {
        // GTF's own wait, or none: a quota is no outage to come back from.
        GtfError::QuotaExceeded { retry_after } => Answer {
            retry_after: *retry_after,
            ..C::SubmissionQuotaExceeded.into()
        },
        GtfError::Unavailable { retry_after, .. } => {
            Answer::from(C::GtfUnavailable).retry_after(*retry_after)
        }
        GtfError::Timeout => C::GtfTimeout.into(),
        GtfError::Unauthorized | GtfError::Rejected { .. } | GtfError::MalformedResponse(_) => {
            C::GtfError.into()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let answer = self.answer();
        // The cause goes to the log (never to the client); secrets and
        // personal data never appear in these messages.
        if answer.code.status().is_server_error() {
            tracing::error!(code = ?answer.code, error = %self, "request failed");
        } else {
            tracing::debug!(code = ?answer.code, error = %self, "request refused");
        }
        let mut response = problem_response(&answer);
        let challenge = match &self {
            Self::Unauthorized(AuthError::Missing) => Some("Bearer"),
            Self::Unauthorized(_) => Some("Bearer error=\"invalid_token\""),
            Self::MissingScope(Scope::Read) => {
                Some("Bearer error=\"insufficient_scope\", scope=\"kyc:read\"")
            }
            Self::MissingScope(Scope::Admin) => {
                Some("Bearer error=\"insufficient_scope\", scope=\"kyc:admin\"")
            }
            _ => None,
        };
        if let Some(value) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(value));
        }
        response
    }
}

fn problem_response(answer: &Answer) -> Response {
    let status = answer.code.status();
    let body = Problem {
        kind: "about:blank",
        title: answer.code.title(),
        status: status.as_u16(),
        code: answer.code,
        detail: answer.detail.as_deref().unwrap_or(answer.code.detail()),
        request_id: request_id(),
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
    (status, headers, json).into_response()
}

/// For routes nobody registered.
pub(crate) async fn not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
