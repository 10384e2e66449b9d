//! GTF's words for a submission's progress, kept verbatim
//! when GTF uses one this code does not know.

use serde::{Deserialize, Serialize};

/// GTF's submission status. Unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum GtfStatus {
    Initiated,
    InProgress,
    PartiallyCompleted,
    Completed,
    Error,
    Other(String),
}

impl From<String> for GtfStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "INITIATED" => Self::Initiated,
            "IN_PROGRESS" => Self::InProgress,
            "PARTIALLY_COMPLETED" => Self::PartiallyCompleted,
            "COMPLETED" => Self::Completed,
            "ERROR" => Self::Error,
            _ => Self::Other(s),
        }
    }
}

impl From<GtfStatus> for String {
    fn from(s: GtfStatus) -> Self {
        s.as_str().to_owned()
    }
}

impl GtfStatus {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Initiated => "INITIATED",
            Self::InProgress => "IN_PROGRESS",
            Self::PartiallyCompleted => "PARTIALLY_COMPLETED",
            Self::Completed => "COMPLETED",
            Self::Error => "ERROR",
            Self::Other(s) => s,
        }
    }

    /// One of the statuses GTF documents.
    pub fn is_documented(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// COMPLETED and ERROR end processing (GTF's status-polling guidance).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Completed | Self::Error)
    }
}

/// GTF's verification result. Unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum GtfResult {
    Valid,
    Invalid,
    Other(String),
}

impl From<String> for GtfResult {
    fn from(s: String) -> Self {
        match s.as_str() {
            "VALID" => Self::Valid,
            "INVALID" => Self::Invalid,
            _ => Self::Other(s),
        }
    }
}

impl From<GtfResult> for String {
    fn from(r: GtfResult) -> Self {
        r.as_str().to_owned()
    }
}

impl GtfResult {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Valid => "VALID",
            Self::Invalid => "INVALID",
            Self::Other(s) => s,
        }
    }
}
