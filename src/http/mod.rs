//! The HTTP layer: routes, extractors, error mapping, and the middleware
//! every request passes through.

mod access;
mod callback;
mod callback_guard;
mod conn_clock;
mod events;
mod extract;
mod openapi;
mod operator;
mod ops;
mod problem;
mod server;
mod state;
mod stream_slots;
mod submissions;
mod timeout;
mod view;

use std::convert::Infallible;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use axum::response::Response;
use axum::routing::{delete, get, post};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use callback_guard::CallbackGuard;
pub(crate) use server::{ConnLimits, serve};
pub use state::AppState;
pub(crate) use stream_slots::StreamSlots;
pub(crate) use timeout::RequestTimeout;

/// Request bodies on `/v1` and `/ops/v1`, and callbacks.
const V1_BODY_LIMIT: usize = 16 * 1024;
const CALLBACK_BODY_LIMIT: usize = 64 * 1024;

/// The API's routes and middleware; `cors_origins` are the web frontends
/// allowed to call `/v1` from a browser (none: no CORS headers). Every
/// route but the event stream is bounded by `timeout`.
pub(crate) fn router(
    state: AppState,
    cors_origins: &[HeaderValue],
    timeout: RequestTimeout,
) -> HttpService {
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
        .layer(DefaultBodyLimit::max(V1_BODY_LIMIT));
    let callbacks = Router::new()
        .route(
            "/coe/submissions-callback",
            post(callback::receive)
                .put(callback::receive)
                .patch(callback::receive),
        )
        .layer(DefaultBodyLimit::max(CALLBACK_BODY_LIMIT));
    let operators = Router::new()
        .route("/ops/v1/submissions", get(operator::search))
        .route("/ops/v1/submissions/{id}", get(operator::submission))
        .route("/ops/v1/submissions/{id}/result", get(operator::result))
        .route("/ops/v1/submissions/{id}/refresh", post(operator::refresh))
        .route(
            "/ops/v1/webhooks/{deliveryId}/resend",
            post(operator::resend),
        )
        .route(
            "/ops/v1/webhooks/resend-failed",
            post(operator::resend_failed),
        )
        .route("/ops/v1/users/{partnerUserId}", delete(operator::erase))
        .route("/ops/v1/audit", get(operator::audit))
        .layer(DefaultBodyLimit::max(V1_BODY_LIMIT));
    let bounded = Router::new()
        .merge(v1)
        .merge(operators)
        .merge(callbacks)
        .merge(probes())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::ApiDoc::openapi()))
        .layer(middleware::from_fn_with_state(timeout, timeout::bounded));
    let streams = Router::new().route("/v1/kyc/submissions/{id}/events", get(events::events));
    let routes = bounded
        .merge(streams)
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state);
    outer(routes, cors(cors_origins))
}

/// The metrics listener's routes: `/metrics`, and the probes, so that a
/// scraper or a kubelet may use either listener.
pub(crate) fn metrics_router(state: AppState, timeout: RequestTimeout) -> HttpService {
    let routes = Router::new()
        .route("/metrics", get(ops::metrics))
        .merge(probes())
        .layer(middleware::from_fn_with_state(timeout, timeout::bounded))
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .with_state(state);
    outer(routes, None)
}

fn probes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
}

/// What a listener serves: the routes inside the middleware every request
/// passes through.
pub(crate) type HttpService = BoxCloneSyncService<Request, Response, Infallible>;

/// The middleware, outermost first: secrets are marked before anything can
/// log them; every request gets an id that its response and errors carry;
/// CORS answers browsers' preflights. Inside the router (it knows the
/// route), one span, log line and metrics sample per request.
///
/// Only `access::record` is a router layer: axum wraps and boxes every
/// route once per router layer and clones that chain for each request, so
/// each layer there costs every request an allocation and a clone; around
/// the router it costs one.
fn outer(routes: Router, cors: Option<CorsLayer>) -> HttpService {
    let x_request_id = HeaderName::from_static("x-request-id");
    let routes = routes.layer(middleware::from_fn(access::record));
    let service = ServiceBuilder::new()
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(SetRequestIdLayer::new(
            x_request_id.clone(),
            MakeRequestUuid,
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .option_layer(cors)
        .service(routes);
    BoxCloneSyncService::new(service)
}

/// Browsers may call the API from these origins with the headers the API
/// uses, and read the headers it answers with. No origins, no CORS layer:
/// it would only add a `Vary` header to every response.
fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-sdk-session-id"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    Some(cors)
}
