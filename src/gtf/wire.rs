//! GTF's JSON as it arrives: read leniently. Codes come as
//! strings or integers, numbers as strings, unknown fields and enum values are
//! kept rather than rejected. Only this module knows these shapes.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::domain::{GtfResult, GtfStatus};

/// `{"success": true, "data": …}`; `errors` may ride along.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope<T> {
    #[serde(default)]
    pub(crate) success: Option<bool>,
    #[serde(default = "Option::default")]
    pub(crate) data: Option<T>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) errors: Vec<ErrorItem>,
}

/// The body of an error answer; `data` (null, `{}` or absent) is ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorEnvelope {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub(crate) errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ErrorItem {
    #[serde(default, deserialize_with = "string_or_number")]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) cause: Option<String>,
}

/// Get User Token: snake_case, numbers as strings.
#[derive(Deserialize)]
pub(crate) struct TokenData {
    pub(crate) token: String,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) expiry_seconds: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) expires_at: Option<i64>,
}

// The token is a credential: never print it.
impl fmt::Debug for TokenData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenData")
            .field("token", &"[redacted]")
            .field("expiry_seconds", &self.expiry_seconds)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Get Presigned URLs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PresignData {
    pub(crate) submission_id: String,
    #[serde(default)]
    pub(crate) status: Option<GtfStatus>,
    #[serde(default)]
    pub(crate) documents: BTreeMap<String, DocumentUpload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentUpload {
    pub(crate) document_url: String,
    #[serde(default)]
    pub(crate) document_reference: Option<String>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub(crate) expiry_in_seconds: Option<i64>,
}

/// Get Submission Status.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusData {
    pub(crate) status: GtfStatus,
    #[serde(default)]
    pub(crate) completed_at: Option<String>,
    #[serde(default)]
    pub(crate) error_message: Option<String>,
}

/// Get Submission Details: the fields gtf-bff reads. The client keeps
/// the whole `data` object beside it, so nothing GTF sent is lost.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DetailsData {
    #[serde(default)]
    pub(crate) status: Option<GtfStatus>,
    #[serde(default)]
    pub(crate) result: Option<GtfResult>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub(crate) reason_code: Option<String>,
    #[serde(default)]
    pub(crate) processed_at: Option<String>,
    #[serde(default)]
    pub(crate) submission_details: Option<Value>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `"1539"` and `1539` alike.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// `"600"`, `600` and `600.0` alike; anything unreadable is treated as absent
/// rather than failing the whole response.
fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    })
}

/// GTF sends `""` for "no reason code" on VALID results.
fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_parse_as_strings_and_integers() {
        let s: ErrorEnvelope = serde_json::from_str(
            r#"{"success":false,"errors":[{"code":"1539","cause":"COE_PARTNER_CAN_NOT_BE_EMPTY"}]}"#,
        )
        .unwrap();
        let i: ErrorEnvelope = serde_json::from_str(
            r#"{"success":false,"data":null,"errors":[{"code":1539,"entity":"ONEKYC_TOKEN_SERVICE","cause":"UNAUTHORIZED"}]}"#,
        )
        .unwrap();
        assert_eq!(s.errors[0].code.as_deref(), Some("1539"));
        assert_eq!(i.errors[0].code.as_deref(), Some("1539"));
        assert_eq!(i.errors[0].cause.as_deref(), Some("UNAUTHORIZED"));
    }

    #[test]
    fn token_numbers_arrive_as_strings_or_numbers() {
        let t: Envelope<TokenData> = serde_json::from_str(
            r#"{"success":true,"data":{"token":"t","expiry_seconds":"5184000","expires_at":1738384686}}"#,
        )
        .unwrap();
        let data = t.data.unwrap();
        assert_eq!(data.expiry_seconds, Some(5_184_000));
        assert_eq!(data.expires_at, Some(1_738_384_686));
        assert!(!format!("{data:?}").contains("\"t\""));
    }

    #[test]
    fn unknown_statuses_and_fields_are_kept() {
        let s: StatusData = serde_json::from_str(
            r#"{"submissionId":"x","status":"ON_HOLD","submissionType":"KTP_SCAN","newField":1}"#,
        )
        .unwrap();
        assert_eq!(s.status, GtfStatus::Other("ON_HOLD".into()));
        assert_eq!(String::from(s.status), "ON_HOLD");

        let d: DetailsData = serde_json::from_str(
            r#"{"status":"COMPLETED","result":"REJECTED","reasonCode":"","flow":"KTP_SCAN"}"#,
        )
        .unwrap();
        assert_eq!(d.result, Some(GtfResult::Other("REJECTED".into())));
        assert_eq!(d.reason_code, None);
    }

    #[test]
    fn presign_keeps_every_document() {
        let p: PresignData = serde_json::from_str(
            r#"{"submissionId":"S","status":"INITIATED","documents":{
                "KTP_FRONT":{"documentUrl":"https://s/f","documentReference":"S_KTP_FRONT","expiryInSeconds":"600"},
                "KTP_BACK":{"documentUrl":"https://s/b","expiryInSeconds":600}}}"#,
        )
        .unwrap();
        assert_eq!(p.documents.len(), 2);
        assert_eq!(p.documents["KTP_BACK"].expiry_in_seconds, Some(600));
        assert_eq!(p.documents["KTP_BACK"].document_reference, None);
    }
}
