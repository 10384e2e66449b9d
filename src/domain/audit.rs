//! The access audit log's vocabulary: who did what. An entry never holds a
//! KTP field: only who, which action, on which user and submission.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whose token it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ActorKind {
    /// An end user, on `/v1`.
    User,
    /// Support staff or a back-office service, on `/ops/v1`.
    Operator,
}

impl ActorKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Operator => "operator",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::User, Self::Operator]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub(crate) enum Action {
    /// KTP personal data was returned.
    #[serde(rename = "result.read")]
    ResultRead,
    /// GTF was asked about a submission on an operator's request.
    #[serde(rename = "submission.refresh")]
    SubmissionRefresh,
    #[serde(rename = "webhook.resend")]
    WebhookResend,
    #[serde(rename = "webhook.resend_failed")]
    WebhookResendFailed,
    #[serde(rename = "user.erase")]
    UserErase,
}

impl Action {
    pub(crate) const ALL: [Action; 5] = [
        Self::ResultRead,
        Self::SubmissionRefresh,
        Self::WebhookResend,
        Self::WebhookResendFailed,
        Self::UserErase,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::ResultRead => "result.read",
            Self::SubmissionRefresh => "submission.refresh",
            Self::WebhookResend => "webhook.resend",
            Self::WebhookResendFailed => "webhook.resend_failed",
            Self::UserErase => "user.erase",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Who is acting, and in which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actor {
    /// The token's `sub`.
    pub(crate) id: String,
    pub(crate) kind: ActorKind,
    /// The request's `x-request-id`.
    pub(crate) request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_the_json() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for k in [ActorKind::User, ActorKind::Operator] {
            assert_eq!(ActorKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(Action::parse("result.write"), None);
    }
}
