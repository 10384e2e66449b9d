//! One span, one log line and one metrics sample per request, and its id
//! in scope for error bodies. The span
//! (request id, method, route template: never the raw path, which holds
//! ids) wraps everything the request does, so every line it logs, in the
//! flow, the GTF client or the store, names the request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::problem;
use crate::telemetry::metrics;

pub(crate) async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = bounded(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("request", request_id, method, route);
    let work = problem::with_request_id(request_id, next.run(request));
    let response = work.instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics::http_request(method, &route, status, elapsed);
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    response
}

/// Methods as a bounded set, so a client cannot mint label values.
fn bounded(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
