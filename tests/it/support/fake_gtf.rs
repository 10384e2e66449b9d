//! A scripted GTF over real HTTP, for answers the simulator never gives:
//! outages, timeouts, odd bodies. Each reply is chosen from the path and how
//! many times that path was hit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

type Script = dyn Fn(String, usize) -> BoxFuture<'static, Response> + Send + Sync;

pub struct FakeGtf {
    pub base_url: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: CancellationToken,
}

impl Drop for FakeGtf {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FakeGtf {
    /// `script(path, n)` answers the n-th (1-based) request to `path`.
    pub async fn start<F>(script: F) -> Self
    where
        F: Fn(String, usize) -> BoxFuture<'static, Response> + Send + Sync + 'static,
    {
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let counter = hits.clone();
        let app = Router::new().fallback(move |req: Request<Body>| {
            let path = req.uri().path().to_owned();
            let n = {
                let mut hits = counter.lock().unwrap();
                let n = hits.entry(path.clone()).or_default();
                *n += 1;
                *n
            };
            script(path, n)
        });
        let (addr, stop) = super::serve(app).await;
        Self {
            base_url: format!("http://{addr}"),
            hits,
            stop,
        }
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

pub const TOKEN_PATH: &str = "/v2/coe/authentication";
pub const URLS_PATH: &str = "/coe/v1/submissions/urls";
pub const DETAILS_PATH: &str = "/coe/v1/submissions";

pub fn status_path(id: &str) -> String {
    format!("/coe/v1/submissions/{id}/status")
}

pub fn json(status: u16, body: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_owned(),
    )
        .into_response()
}

/// A token answer whose token names the mint, so tests can tell tokens apart.
pub fn token_ok(n: usize, ttl_secs: u64) -> Response {
    json(
        200,
        &format!(
            r#"{{"success":true,"data":{{"token":"token-{n}","expiry_seconds":"{ttl_secs}","expires_at":"{}"}}}}"#,
            time::OffsetDateTime::now_utc().unix_timestamp() + ttl_secs as i64
        ),
    )
}

pub fn status_ok(status: &str) -> Response {
    json(
        200,
        &format!(
            r#"{{"success":true,"data":{{"submissionId":"S","status":"{status}","submissionType":"KTP_SCAN","createdAt":"2026-04-29T10:00:00Z"}}}}"#
        ),
    )
}

pub fn ready(response: Response) -> BoxFuture<'static, Response> {
    Box::pin(async move { response })
}

pub fn after(delay: Duration, response: Response) -> BoxFuture<'static, Response> {
    Box::pin(async move {
        tokio::time::sleep(delay).await;
        response
    })
}
