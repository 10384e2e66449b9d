//! What can go wrong talking to GTF, in the few shapes callers branch on.
//! Classified by HTTP status first, then by GTF's `cause` (GTF's error catalogue:
//! `code` is not unique, so it is never the thing to branch on).

use std::time::Duration;

use http::{HeaderMap, StatusCode};

use super::wire::ErrorEnvelope;

/// GTF's cause for an exhausted submission quota (Get Presigned URLs).
const QUOTA_EXCEEDED: &str = "SUBMISSION_QUOTA_EXCEEDED";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtfError {
    /// GTF refused our credentials or the user token (after one refresh).
    #[error("GTF refused the credentials")]
    Unauthorized,
    /// GTF answered with an error: a 4xx it documents, or a 5xx other than 503.
    #[error("GTF answered {status} ({})", cause.as_deref().unwrap_or("no cause"))]
    Rejected {
        status: u16,
        code: Option<String>,
        cause: Option<String>,
    },
    /// The user's submission attempts are exhausted (429 SUBMISSION_QUOTA_EXCEEDED).
    #[error("GTF submission quota exceeded")]
    QuotaExceeded { retry_after: Option<Duration> },
    /// GTF could not be reached, or said it cannot serve now (503, or a 429
    /// rate limit).
    #[error("GTF unavailable")]
    Unavailable {
        status: Option<u16>,
        retry_after: Option<Duration>,
    },
    /// No answer within `GTF_TIMEOUT_MS`.
    #[error("GTF timed out")]
    Timeout,
    /// A success status with a body that is not what GTF documents.
    #[error("GTF sent a malformed response: {0}")]
    MalformedResponse(String),
}

impl GtfError {
    /// The `cause` GTF gave, for callers that branch on documented causes
    /// such as `SUBMISSION_STATE_CONFLICT`.
    pub fn cause(&self) -> Option<&str> {
        match self {
            Self::Rejected { cause, .. } => cause.as_deref(),
            _ => None,
        }
    }

    /// GTF could not serve at all (as opposed to refusing this request):
    /// what opens the circuit breaker.
    pub(crate) fn means_gtf_is_down(&self) -> bool {
        match self {
            Self::Unavailable { status, .. } => *status != Some(429),
            Self::Timeout => true,
            Self::Rejected { status, .. } => *status >= 500,
            Self::Unauthorized | Self::QuotaExceeded { .. } | Self::MalformedResponse(_) => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } => Some(*status),
            Self::Unavailable { status, .. } => *status,
            Self::Unauthorized => Some(401),
            Self::QuotaExceeded { .. } => Some(429),
            Self::Timeout | Self::MalformedResponse(_) => None,
        }
    }

    /// A short, stable label for metrics and logs.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Rejected { .. } => "rejected",
            Self::QuotaExceeded { .. } => "quota_exceeded",
            Self::Unavailable { .. } => "unavailable",
            Self::Timeout => "timeout",
            Self::MalformedResponse(_) => "malformed",
        }
    }

    /// Classifies a non-success answer.
    pub(crate) fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let first = serde_json::from_slice::<ErrorEnvelope>(body)
            .unwrap_or_default()
            .errors
            .into_iter()
            .next();
        let (code, cause) = match first {
            Some(e) => (e.code, e.cause),
            // Object storage answers in S3's XML (`<Code>AccessDenied</Code>`).
            None => (None, xml_code(body)),
        };
        let retry_after = retry_after(headers);
        match status {
            StatusCode::UNAUTHORIZED => Self::Unauthorized,
            StatusCode::TOO_MANY_REQUESTS if cause.as_deref() == Some(QUOTA_EXCEEDED) => {
                Self::QuotaExceeded { retry_after }
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable {
                status: Some(status.as_u16()),
                retry_after,
            },
            _ => Self::Rejected {
                status: status.as_u16(),
                code,
                cause,
            },
        }
    }

    pub(crate) fn from_transport(err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else {
            Self::Unavailable {
                status: None,
                retry_after: None,
            }
        }
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::QuotaExceeded { retry_after } | Self::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }
}

fn xml_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    let code = &text[start..start + len];
    (!code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| code.to_owned())
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn classify(status: u16, body: &str) -> GtfError {
        GtfError::from_response(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn documented_error_bodies_classify_by_status_then_cause() {
        assert_eq!(
            classify(
                401,
                r#"{"success":false,"data":null,"errors":[{"code":1539,"cause":"UNAUTHORIZED"}]}"#
            ),
            GtfError::Unauthorized
        );
        assert_eq!(
            classify(
                429,
                r#"{"success":false,"errors":[{"code":"429","cause":"SUBMISSION_QUOTA_EXCEEDED"}]}"#
            ),
            GtfError::QuotaExceeded { retry_after: None }
        );
        assert_eq!(
            classify(
                429,
                r#"{"success":false,"errors":[{"code":"429","cause":"TOO_MANY_REQUESTS"}]}"#
            ),
            GtfError::Unavailable {
                status: Some(429),
                retry_after: None
            }
        );
        assert_eq!(
            classify(
                409,
                r#"{"success":false,"errors":[{"code":"409","cause":"SUBMISSION_STATE_CONFLICT"}]}"#
            )
            .cause(),
            Some("SUBMISSION_STATE_CONFLICT")
        );
        assert_eq!(
            classify(
                400,
                r#"{"success":false,"errors":[{"code":1552,"cause":"SUBMISSION_DOES_NOT_EXIST"}]}"#
            ),
            GtfError::Rejected {
                status: 400,
                code: Some("1552".into()),
                cause: Some("SUBMISSION_DOES_NOT_EXIST".into())
            }
        );
    }

    #[test]
    fn bodies_that_are_not_json_still_classify() {
        assert_eq!(
            classify(502, "<html>bad gateway</html>"),
            GtfError::Rejected {
                status: 502,
                code: None,
                cause: None
            }
        );
        assert!(matches!(
            classify(503, ""),
            GtfError::Unavailable {
                status: Some(503),
                ..
            }
        ));
        assert_eq!(
            classify(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>").cause(),
            Some("SignatureDoesNotMatch")
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            http::header::RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let d = retry_after(&headers).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }
}
