//! GTF's JSON envelopes. Whether `code` is a string or an
//! integer depends on the endpoint's spec, so each error says which.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `errors[].code` as the endpoint's spec spells it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Code {
    Str(&'static str),
    Int(u16),
}

/// One documented error response: `{"success":false,"errors":[{...}]}`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GtfError {
    status: StatusCode,
    code: Code,
    cause: &'static str,
    entity: Option<&'static str>,
    /// Some examples carry `"data": null`, others no `data` at all.
    null_data: bool,
}

impl GtfError {
    pub(crate) const fn new(status: StatusCode, code: Code, cause: &'static str) -> Self {
        Self {
            status,
            code,
            cause,
            entity: None,
            null_data: false,
        }
    }

    pub(crate) const fn entity(mut self, entity: &'static str) -> Self {
        self.entity = Some(entity);
        self
    }

    pub(crate) const fn null_data(mut self) -> Self {
        self.null_data = true;
        self
    }
}

impl IntoResponse for GtfError {
    fn into_response(self) -> Response {
        let mut item = json!({ "cause": self.cause });
        item["code"] = match self.code {
            Code::Str(code) => json!(code),
            Code::Int(code) => json!(code),
        };
        if let Some(entity) = self.entity {
            item["entity"] = json!(entity);
        }
        let mut body = json!({ "success": false, "errors": [item] });
        if self.null_data {
            body["data"] = Value::Null;
        }
        (self.status, Json(body)).into_response()
    }
}

/// `{"success":true,"data":...}` with 200.
pub(crate) fn success(data: Value) -> Response {
    Json(json!({ "success": true, "data": data })).into_response()
}
