//! `gtf-bff demo`: the reference web app for the KTP Scan flow, served from
//! files compiled into the binary, with a demo sign-in that mints the JWTs a
//! partner's identity provider would. Only this command has the sign-in;
//! `serve` never mints tokens.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::issue::issue_hs256;
use crate::config::{BaseUrl, ConfigError, Env, TokenIssuerConfig};
use crate::domain::PartnerUserId;

/// How long a demo sign-in lasts; the page asks to sign in again after.
const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// What `gtf-bff demo` needs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// `DEMO_LISTEN_ADDR`, default `127.0.0.1:3000`.
    pub listen_addr: SocketAddr,
    /// `DEMO_API_URL`: the gtf-bff the browser calls, default
    /// `http://127.0.0.1:8080`. This page's origin must be in its
    /// `CORS_ALLOWED_ORIGINS`.
    pub api_url: BaseUrl,
    /// `AUTH_JWT_SECRET` (with the issuer and audience) of that gtf-bff.
    pub issuer: TokenIssuerConfig,
}

impl DemoConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_addr: env.parse_or(
                "DEMO_LISTEN_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 3000)),
                "an address such as 127.0.0.1:3000",
            )?,
            api_url: BaseUrl::parse(
                env.optional("DEMO_API_URL")
                    .unwrap_or("http://127.0.0.1:8080"),
            )
            .map_err(|problem| ConfigError::new("DEMO_API_URL", problem))?,
            issuer: TokenIssuerConfig::from_env(env)?,
        })
    }
}

/// The app's files. No CDN and no build step: what is here is what runs.
const FILES: [(&str, &str); 9] = [
    ("index.html", include_str!("assets/index.html")),
    ("app.css", include_str!("assets/app.css")),
    ("main.js", include_str!("assets/main.js")),
    ("api.js", include_str!("assets/api.js")),
    ("events.js", include_str!("assets/events.js")),
    ("photo.js", include_str!("assets/photo.js")),
    ("upload.js", include_str!("assets/upload.js")),
    ("i18n.js", include_str!("assets/i18n.js")),
    ("view.js", include_str!("assets/view.js")),
];

/// The page, its files, its settings and the demo sign-in.
pub fn router(config: DemoConfig) -> Router {
    Router::new()
        .route("/", get(async || file("index.html")))
        .route("/{name}", get(async |Path(name): Path<String>| file(&name)))
        .route("/config.json", get(settings))
        .route("/sign-in", post(sign_in))
        .layer(middleware::from_fn(security_headers))
        .with_state(Arc::new(config))
}

/// Runs the demo until `shutdown` is cancelled.
pub async fn serve(config: DemoConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("binding {}", config.listen_addr))?;
    tracing::info!(
        url = %format!("http://{}", listener.local_addr()?),
        api = config.api_url.as_str(),
        "demo web app listening"
    );
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("serving the demo")
}

fn file(name: &str) -> Response {
    let Some((_, body)) = FILES.iter().find(|(n, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "text/javascript; charset=utf-8",
    };
    ([(header::CONTENT_TYPE, content_type)], *body).into_response()
}

/// What the page learns from the server it came from.
async fn settings(State(config): State<Arc<DemoConfig>>) -> Json<serde_json::Value> {
    Json(json!({ "apiUrl": config.api_url.as_str() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignIn {
    user_id: String,
}

/// A user id, no password: a JWT for it, signed as `gtf-bff token` signs.
async fn sign_in(State(config): State<Arc<DemoConfig>>, Json(body): Json<SignIn>) -> Response {
    let Ok(user) = PartnerUserId::parse(body.user_id.trim()) else {
        let refusal = json!({ "code": "INVALID_USER_ID" });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(refusal)).into_response();
    };
    match issue_hs256(&config.issuer, user.as_str(), TOKEN_TTL) {
        Ok(token) => Json(json!({ "token": token, "userId": user.as_str() })).into_response(),
        Err(err) => {
            tracing::error!(%err, "signing a demo token");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Scripts only from this origin (so an injected inline script cannot run);
/// connections anywhere over HTTP(S), since the upload URLs come from GTF
/// and their host is not known here. Nothing is cached: sign-in answers
/// carry tokens, and a rebuilt binary's files should be seen at once.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; \
             img-src 'self' blob: data:; connect-src 'self' http: https:; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(self), microphone=()",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-demo-secret-that-is-long-enough-0123";

    #[test]
    fn defaults_are_loopback_and_the_local_service() {
        let cfg = DemoConfig::from_env(&Env::from_pairs([("AUTH_JWT_SECRET", SECRET)])).unwrap();
        assert_eq!(cfg.listen_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(cfg.api_url.as_str(), "http://127.0.0.1:8080");
    }

    #[test]
    fn each_bad_variable_is_named() {
        let cases = [
            ("AUTH_JWT_SECRET", ""),
            ("DEMO_LISTEN_ADDR", "localhost"),
            ("DEMO_API_URL", "ftp://api.example"),
        ];
        for (var, value) in cases {
            let env = Env::from_pairs([("AUTH_JWT_SECRET", SECRET), (var, value)]);
            assert_eq!(DemoConfig::from_env(&env).unwrap_err().var, var);
        }
    }
}
