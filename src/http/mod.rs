//! The HTTP layer: routes, extractors, error mapping, and the middleware
//! every request passes through.

mod callback;
mod events;
mod extract;
mod ops;
mod problem;
mod state;
mod submissions;
mod view;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, header};
use axum::middleware;
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

pub use problem::ApiError;
pub use state::AppState;

/// Request bodies on `/v1` (partner-api.md §2) and callbacks (§3).
const V1_BODY_LIMIT: usize = 16 * 1024;
const CALLBACK_BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route(
            "/v1/kyc/submissions",
            post(submissions::create).get(submissions::list),
        )
        .route("/v1/kyc/submissions/{id}", get(submissions::get_one))
        .route(
            "/v1/kyc/submissions/{id}/confirm",
            post(submissions::confirm),
        )
        .route("/v1/kyc/submissions/{id}/result", get(submissions::result))
        .route("/v1/kyc/submissions/{id}/events", get(events::events))
        .layer(DefaultBodyLimit::max(V1_BODY_LIMIT));
    let callbacks = Router::new()
        .route(
            "/coe/submissions-callback",
            post(callback::receive)
                .put(callback::receive)
                .patch(callback::receive),
        )
        .layer(DefaultBodyLimit::max(CALLBACK_BODY_LIMIT));
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(v1)
        .merge(callbacks)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state)
        // Outermost last: secrets are marked before anything can log them,
        // then every request gets an id that its response and errors carry.
        .layer(middleware::from_fn(problem::scope_request_id))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
}
