//! The service as partner apps see it: running on a free port, against a
//! fresh database and an in-process simulator, spoken to over HTTP.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use futures::future::BoxFuture;
use gtf_bff::app::App;
use gtf_bff::callback_auth::CallbackCredential;
use gtf_bff::config::{
    AuthConfig, CallbackConfig, Env, JwtKeyConfig, ReconcilerConfig, ServerConfig, ServiceConfig,
    StreamConfig, TokenIssuerConfig, WebhookConfig,
};
use gtf_bff::sim::SimConfig;
use reqwest::{Method, RequestBuilder, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::db::TestDb;
use super::fake_gtf::{FakeGtf, TOKEN_PATH, URLS_PATH, json, ready, status_ok, token_ok};
use super::tcp_proxy::TcpProxy;
use super::wait::wait_until;
use super::{JPEG, Sim, client, fast_retries, gtf_config, session, sim_config, start_sim};

/// The callback secret: 32 characters or more, as the service requires.
macro_rules! callback_secret {
    () => {
        "test-callback-secret-0123456789abcdef"
    };
}
/// The credential GTF (the simulator) sends with callbacks.
pub const CALLBACK_AUTH: &str = concat!("bearer:", callback_secret!());
/// The `Authorization` header that carries it.
pub const CALLBACK_BEARER: &str = concat!("Bearer ", callback_secret!());
pub const JWT_SECRET: &str = "test-jwt-secret-that-is-long-enough-0123456789";
/// base64 of 32 bytes of 7.
pub fn data_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([7u8; 32])
}

pub struct TestApp {
    pub base_url: String,
    /// The metrics listener (`METRICS_LISTEN_ADDR`).
    pub metrics_url: String,
    /// Shared with sibling instances.
    pub sim: Arc<Sim>,
    pub db: PgPool,
    pub http: reqwest::Client,
    stop: CancellationToken,
    serving: tokio::task::JoinHandle<()>,
    // Declared after the pool so it is dropped after it; the last instance
    // sharing it drops the database.
    db_handle: Arc<TestDb>,
    config: ServiceConfig,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub fn service_config(db_url: &str, gtf_base: &str, auth: AuthConfig) -> ServiceConfig {
    ServiceConfig {
        database_url: SecretString::from(db_url),
        db_max_connections: 4,
        listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        gtf: gtf_config(gtf_base, Duration::from_secs(5)),
        auth,
        data_key: SecretString::from(data_key()),
        previous_data_keys: vec![],
        callback: CallbackConfig {
            credentials: vec![CallbackCredential::parse(CALLBACK_AUTH).unwrap()],
            allowed_ips: vec![],
            trusted_proxies: vec![],
        },
        reconcile_after: Duration::from_secs(600),
        reconciler: ReconcilerConfig {
            interval: Duration::from_millis(200),
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            expiry_grace: Duration::from_secs(60),
        },
        shutdown_grace: Duration::from_secs(5),
        cors_origins: vec![],
        user_rate_limit: std::num::NonZeroU32::new(1000).unwrap(),
        retention: Duration::from_secs(90 * 86_400),
        audit_retention: Duration::from_secs(5 * 365 * 86_400),
        demo: false,
        webhooks: WebhookConfig::default(),
        // As in production; `metrics_addr` is unused (tests bind port 0).
        server: ServerConfig::from_env(&Env::default()).unwrap(),
        streams: StreamConfig::from_env(&Env::default()).unwrap(),
    }
}

pub fn hs256_auth() -> AuthConfig {
    AuthConfig {
        key: JwtKeyConfig::Secret(SecretString::from(JWT_SECRET)),
        issuer: None,
        audience: None,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(sim_config(), |_| {}).await
}

/// `tweak` adjusts the service configuration before the start.
pub async fn spawn_app_with(sim: SimConfig, tweak: impl FnOnce(&mut ServiceConfig)) -> TestApp {
    let listener = bind().await;
    let sim = Arc::new(start_sim(sim).await);
    launch(listener, sim, Arc::new(TestDb::new().await), tweak).await
}

/// Like [`spawn_app_with`], with the simulator sending its callbacks to
/// the app, as GTF would.
pub async fn spawn_app_receiving_callbacks(
    sim: SimConfig,
    tweak: impl FnOnce(&mut ServiceConfig),
) -> TestApp {
    let listener = bind().await;
    let callback_url = format!(
        "http://{}/coe/submissions-callback",
        listener.local_addr().unwrap()
    );
    let sim = SimConfig {
        callback_url: Some(callback_url.parse().unwrap()),
        callback_auth: Some(CallbackCredential::parse(CALLBACK_AUTH).unwrap()),
        ..sim
    };
    let sim = Arc::new(start_sim(sim).await);
    launch(listener, sim, Arc::new(TestDb::new().await), tweak).await
}

/// An app whose database connections pass through a proxy the test can
/// cut: a database server that vanishes and returns.
pub async fn spawn_app_behind_db_proxy() -> (TestApp, TcpProxy) {
    let db = TestDb::new().await;
    let (proxy, url) = TcpProxy::in_front_of_database(&db.url).await;
    let listener = bind().await;
    let sim = Arc::new(start_sim(sim_config()).await);
    let app = launch(listener, sim, Arc::new(db), |c| {
        c.database_url = SecretString::from(url)
    })
    .await;
    (app, proxy)
}

impl TestApp {
    /// Starts a graceful shutdown, as SIGTERM does.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    /// Shuts down as SIGTERM does, and waits until `serve` has returned,
    /// after which the process would exit.
    pub async fn shut_down_and_wait(&mut self) {
        self.stop.cancel();
        (&mut self.serving).await.unwrap();
    }

    /// Another replica: the same database and simulator, its own process
    /// state (token cache, change feed, workers).
    pub async fn sibling(&self) -> TestApp {
        self.sibling_with(|_| {}).await
    }

    /// Like [`Self::sibling`], with `tweak` applied to this one's
    /// configuration.
    pub async fn sibling_with(&self, tweak: impl FnOnce(&mut ServiceConfig)) -> TestApp {
        let mut config = self.config.clone();
        tweak(&mut config);
        launch(
            bind().await,
            self.sim.clone(),
            self.db_handle.clone(),
            |c| *c = config,
        )
        .await
    }

    /// Builds (without serving) an app on this one's database with
    /// `tweak` applied: what a start with that configuration would do.
    pub async fn build_sibling(
        &self,
        tweak: impl FnOnce(&mut ServiceConfig),
    ) -> anyhow::Result<App> {
        let mut config = self.config.clone();
        tweak(&mut config);
        App::build(&config, fast_retries(), CancellationToken::new()).await
    }

    pub fn database_url(&self) -> &str {
        &self.db_handle.url
    }
}

async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

async fn launch(
    listener: tokio::net::TcpListener,
    sim: Arc<Sim>,
    db: Arc<TestDb>,
    tweak: impl FnOnce(&mut ServiceConfig),
) -> TestApp {
    let mut config = service_config(&db.url, &sim.base_url(), hs256_auth());
    tweak(&mut config);
    let stop = CancellationToken::new();
    let app = App::build(&config, fast_retries(), stop.clone())
        .await
        .expect("the app builds");
    let pool = app.state.db.clone();
    let addr = listener.local_addr().unwrap();
    let metrics = bind().await;
    let metrics_url = format!("http://{}", metrics.local_addr().unwrap());
    let serving = tokio::spawn(app.serve(listener, metrics));
    TestApp {
        base_url: format!("http://{addr}"),
        metrics_url,
        sim,
        db: pool,
        http: reqwest::Client::new(),
        stop,
        serving,
        db_handle: db,
        config,
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem+json `code`.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

impl TestApp {
    /// A JWT for `sub`, as the partner's identity provider would sign it.
    pub fn token(&self, sub: &str) -> String {
        let cfg = TokenIssuerConfig {
            secret: SecretString::from(JWT_SECRET),
            issuer: None,
            audience: None,
        };
        gtf_bff::auth::issue::issue_hs256(&cfg, sub, Duration::from_secs(600)).unwrap()
    }

    /// The one way a test builds a request to the service: `method` on
    /// `path`, with a token for `user` when given. Headers or a body may be
    /// added before [`TestApp::send`]; the helpers below are built on it.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn request(&self, method: Method, path: &str, user: Option<&str>) -> RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match user {
            Some(user) => req.bearer_auth(self.token(user)),
            None => req,
        }
    }

    /// Sends a request and reads the answer whole.
    pub async fn send(&self, req: RequestBuilder) -> Reply {
        read(req.send().await.unwrap()).await
    }

    /// Sends a request without a body as `user` (no token when `None`).
    pub async fn call(&self, method: Method, path: &str, user: Option<&str>) -> Reply {
        self.send(self.request(method, path, user)).await
    }

    pub async fn create(&self, user: &str) -> Reply {
        self.call(Method::POST, "/v1/kyc/submissions", Some(user))
            .await
    }

    pub async fn get(&self, user: &str, path: &str) -> Reply {
        self.call(Method::GET, path, Some(user)).await
    }

    pub async fn confirm(&self, user: &str, id: &str) -> Reply {
        self.call(
            Method::POST,
            &format!("/v1/kyc/submissions/{id}/confirm"),
            Some(user),
        )
        .await
    }

    /// PUTs a JPEG to every upload URL of a created submission, as the app would.
    pub async fn upload_all(&self, submission: &Value) {
        for upload in submission["uploads"].as_array().expect("uploads") {
            let status = self
                .http
                .put(upload["url"].as_str().unwrap())
                .header("Content-Type", "image/jpeg")
                .body(JPEG)
                .send()
                .await
                .unwrap()
                .status();
            assert!(status.is_success(), "upload answered {status}");
        }
    }

    /// Creates, uploads and confirms a submission for `user`; returns its id.
    pub async fn submit(&self, user: &str) -> String {
        let created = self.create(user).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        self.upload_all(&created.body).await;
        let id = created.body["id"].as_str().unwrap().to_owned();
        let confirmed = self.confirm(user, &id).await;
        assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
        id
    }

    /// Waits until the submission's stored status is `status` (no refresh:
    /// callbacks or the reconciler get it there); its body then.
    pub async fn wait_for_status(&self, user: &str, id: &str, status: &str) -> Value {
        let path = format!("/v1/kyc/submissions/{id}");
        let what = format!("submission {id} to become {status}");
        wait_until(&what, Duration::from_secs(15), || async {
            let s = self.get(user, &path).await;
            (s.body["status"] == status).then_some(s.body)
        })
        .await
    }

    /// Waits until GTF (the simulator) has finished the submission, as its
    /// status API tells any client, then asks the service for one refresh,
    /// which must bring that final word. (Refreshes are allowed once per 5 s
    /// per submission: one asked before GTF finished would hold the next back.)
    pub async fn refresh_until_final(&self, user: &str, id: &str) -> Reply {
        let path = format!("/v1/kyc/submissions/{id}");
        let stored = self.get(user, &path).await;
        assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.body);
        let gtf_id = stored.body["gtfSubmissionId"]
            .as_str()
            .expect("gtfSubmissionId")
            .to_owned();
        // A client of the test's own: the service's token cache and its
        // refresh allowance are left alone.
        let gtf = client(&self.sim.base_url());
        let owner = super::user(user);
        let what = format!("the simulator to finish {id}");
        wait_until(&what, Duration::from_secs(10), || async {
            let report = gtf
                .status(&owner, &session(), &gtf_id)
                .await
                .expect("the simulator answers");
            report.status.is_final().then_some(())
        })
        .await;
        let r = self.get(user, &format!("{path}?refresh=true")).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert!(
            matches!(r.body["status"].as_str(), Some("COMPLETED" | "FAILED")),
            "the refresh after GTF finished brings its final word: {:?}",
            r.body
        );
        r
    }
}

async fn read(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// The service against a scripted fake GTF (a simulator still runs beside
/// it, unused), with a 500 ms GTF timeout.
pub async fn spawn_app_against(fake: &FakeGtf) -> TestApp {
    spawn_app_against_waiting(fake, Duration::from_millis(500)).await
}

/// The same, waiting up to `gtf_timeout` for each GTF call.
pub async fn spawn_app_against_waiting(fake: &FakeGtf, gtf_timeout: Duration) -> TestApp {
    let base_url = fake.base_url.clone();
    spawn_app_with(sim_config(), move |config| {
        config.gtf = gtf_config(&base_url, gtf_timeout);
    })
    .await
}

/// A fake GTF that works (`working_gtf`), but presigns with `presign`.
pub async fn gtf_presigning(
    presign: impl Fn(usize) -> BoxFuture<'static, Response> + Send + Sync + 'static,
) -> FakeGtf {
    FakeGtf::start(move |path, n| match path.as_str() {
        URLS_PATH => presign(n),
        _ => working_gtf(path, n),
    })
    .await
}

/// A fake GTF that works: tokens, presigned URLs (a new submission id per
/// presign: `gtf-<n>`), confirms, and the status `INITIATED`.
pub fn working_gtf(path: String, n: usize) -> BoxFuture<'static, Response> {
    match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        URLS_PATH => ready(presign_ok(n)),
        p if p.ends_with("/status") => ready(status_ok("INITIATED")),
        _ => ready(json(404, r#"{"success":false,"errors":[]}"#)),
    }
}

/// GTF's answer to the n-th presign: one KTP upload URL, submission `gtf-<n>`.
pub fn presign_ok(n: usize) -> Response {
    json(
        200,
        &serde_json::json!({
            "success": true,
            "data": {
                "submissionId": format!("gtf-{n}"),
                "status": "INITIATED",
                "documents": {
                    "KTP": {
                        "documentUrl": format!("https://storage.example/gtf-{n}/KTP?sig=x"),
                        "documentReference": format!("gtf-{n}/KTP"),
                        "expiryInSeconds": "600"
                    }
                }
            }
        })
        .to_string(),
    )
}

/// A GTF error body as GTF shapes it.
pub fn gtf_error(status: u16, cause: &str) -> Response {
    json(
        status,
        &format!(
            r#"{{"success":false,"data":null,"errors":[{{"code":"{status}","cause":"{cause}"}}]}}"#
        ),
    )
}

impl TestApp {
    /// The Prometheus text from the metrics listener.
    pub async fn metrics(&self) -> String {
        let r = self
            .send(self.http.get(format!("{}/metrics", self.metrics_url)))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        r.text()
    }

    /// Rows in `submissions`, whoever owns them.
    pub async fn submission_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM submissions")
            .fetch_one(&self.db)
            .await
            .unwrap()
    }
}

impl Reply {
    /// Asserts an RFC 9457 problem with this status and `code`, whose
    /// `requestId` is the response's `x-request-id`.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.code(), code, "{:?}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:?}",
            self.body
        );
        assert_eq!(self.body["status"], status.as_u16(), "{:?}", self.body);
        for field in ["type", "title", "detail"] {
            assert!(
                self.body[field].as_str().is_some_and(|v| !v.is_empty()),
                "{field} in {:?}",
                self.body
            );
        }
        let request_id = self.header("x-request-id").expect("x-request-id");
        assert!(!request_id.is_empty());
        assert_eq!(self.body["requestId"], request_id, "{:?}", self.body);
    }

    /// The body as text: verbatim when it was not JSON, else as JSON.
    pub fn text(&self) -> String {
        match &self.body {
            Value::String(raw) => raw.clone(),
            other => other.to_string(),
        }
    }
}
