//! Every request but an event stream is answered within
//! `HTTP_REQUEST_TIMEOUT_SECS`: `503 REQUEST_TIMEOUT` otherwise. Its GTF
//! calls get a budget that ends earlier, so that GTF's slowness is answered
//! as GTF's (`504 GTF_TIMEOUT`, `503 GTF_UNAVAILABLE`), not as ours.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::problem::ApiError;
use crate::config::ServerConfig;
use crate::gtf::budget;

#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestTimeout {
    total: Duration,
    gtf: Duration,
}

impl From<&ServerConfig> for RequestTimeout {
    fn from(config: &ServerConfig) -> Self {
        Self {
            total: config.request_timeout,
            gtf: config.gtf_budget(),
        }
    }
}

pub(crate) async fn bounded(
    State(limit): State<RequestTimeout>,
    request: Request,
    next: Next,
) -> Response {
    let work = budget::within(Instant::now() + limit.gtf, next.run(request));
    match tokio::time::timeout(limit.total, work).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}
