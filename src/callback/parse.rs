//! Reading a callback body: what GTF's callback must carry to be stored
//! (gtf-api.md §11). Shared by the endpoint and the fuzz target.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

/// GTF's four documented fields; anything else is kept in the stored body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackBody {
    pub submission_id: String,
    #[schema(example = "COMPLETED")]
    pub status: String,
    #[serde(default)]
    #[schema(example = "VALID")]
    pub result: Option<String>,
    #[serde(default)]
    pub reason_code: Option<String>,
}

/// The fields, and the body as it is to be stored (extra fields included).
#[derive(Debug)]
pub struct ParsedCallback {
    pub fields: CallbackBody,
    pub raw: Value,
}

/// Parses and checks a callback body; the error says what is wrong, for a
/// 400 the sender will not retry.
pub fn parse(body: &[u8]) -> Result<ParsedCallback, String> {
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| format!("not JSON (line {} column {})", e.line(), e.column()))?;
    let fields: CallbackBody = serde_json::from_value(raw.clone())
        .map_err(|_| "expected submissionId and status strings".to_owned())?;
    // PostgreSQL cannot store U+0000 in text or jsonb: refusing it now is a
    // 400 GTF will not retry, rather than a 503 it would retry forever.
    if has_nul(&raw) {
        return Err("contains U+0000".into());
    }
    let fits = |s: &str, max: usize| (1..=max).contains(&s.len());
    if !fits(&fields.submission_id, 128)
        || !fits(&fields.status, 64)
        || fields.result.as_deref().is_some_and(|r| !fits(r, 64))
    {
        return Err("a field is empty or too long".into());
    }
    Ok(ParsedCallback { fields, raw })
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}
