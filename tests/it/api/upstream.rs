//! GTF's trouble, as partner apps see it:
//! 502 when GTF answers with an error, 503 + Retry-After when it is
//! unavailable, 504 when it times out, 429 for an exhausted quota; nothing
//! stored, and no token or pass-key in the answer.

use std::time::Duration;

use axum::http::header::RETRY_AFTER;
use axum::response::Response;
use reqwest::StatusCode;

use crate::support::PASS_KEY;
use crate::support::app::{
    Reply, TestApp, gtf_error, gtf_presigning, presign_ok, spawn_app_against, spawn_app_with,
    working_gtf,
};
use crate::support::fake_gtf::{FakeGtf, TOKEN_PATH, URLS_PATH, after, json, ready};
use crate::support::{gtf_config, sim_config};

/// Tries to create a submission against `fake`; asserts that nothing was
/// stored and that no credential leaked into the answer.
async fn create_against(fake: &FakeGtf) -> Reply {
    let app = spawn_app_against(fake).await;
    create_and_check_nothing_stored(&app).await
}

async fn create_and_check_nothing_stored(app: &TestApp) -> Reply {
    let reply = app.create("alice").await;
    assert_eq!(app.submission_rows().await, 0, "{:?}", reply.body);
    let text = reply.text();
    assert!(!text.contains("token-"), "a GTF token leaked: {text}");
    assert!(!text.contains(PASS_KEY), "the pass-key leaked: {text}");
    reply
}

fn with_retry_after(secs: &str, mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(RETRY_AFTER, secs.parse().unwrap());
    response
}

#[tokio::test]
async fn presign_503_is_503_with_a_default_retry_after() {
    let fake = gtf_presigning(|_| ready(gtf_error(503, "SERVICE_UNAVAILABLE"))).await;
    let reply = create_against(&fake).await;
    reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "GTF_UNAVAILABLE");
    let after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!(after >= 1, "{after}");
}

#[tokio::test]
async fn presign_503_passes_gtfs_retry_after_on() {
    let fake = gtf_presigning(|_| {
        ready(with_retry_after(
            "30",
            gtf_error(503, "SERVICE_UNAVAILABLE"),
        ))
    })
    .await;
    let reply = create_against(&fake).await;
    reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "GTF_UNAVAILABLE");
    assert_eq!(reply.header("retry-after"), Some("30"));
}

#[tokio::test]
async fn a_brief_presign_503_is_retried_and_succeeds() {
    let fake = gtf_presigning(|n| match n {
        1 => ready(gtf_error(503, "SERVICE_UNAVAILABLE")),
        _ => ready(presign_ok(n)),
    })
    .await;
    let app = spawn_app_against(&fake).await;
    let reply = app.create("alice").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(fake.hits(URLS_PATH), 2);
    assert_eq!(app.submission_rows().await, 1);
}

#[tokio::test]
async fn presign_quota_exceeded_is_429() {
    let fake = gtf_presigning(|_| ready(gtf_error(429, "SUBMISSION_QUOTA_EXCEEDED"))).await;
    let reply = create_against(&fake).await;
    reply.assert_problem(StatusCode::TOO_MANY_REQUESTS, "SUBMISSION_QUOTA_EXCEEDED");
    assert_eq!(fake.hits(URLS_PATH), 1, "an exhausted quota is not retried");
}

#[tokio::test]
async fn presign_500_is_502() {
    let fake = gtf_presigning(|_| ready(gtf_error(500, "GENERIC_SERVICE_ERROR"))).await;
    let reply = create_against(&fake).await;
    reply.assert_problem(StatusCode::BAD_GATEWAY, "GTF_ERROR");
    assert_eq!(
        fake.hits(URLS_PATH),
        1,
        "GTF may have created it: presign is not repeated"
    );
}

#[tokio::test]
async fn a_presign_answer_that_is_not_gtfs_shape_is_502() {
    let fake = gtf_presigning(|_| ready(json(200, "<html>maintenance</html>"))).await;
    let reply = create_against(&fake).await;
    reply.assert_problem(StatusCode::BAD_GATEWAY, "GTF_ERROR");
}

#[tokio::test]
async fn a_presign_past_the_timeout_is_504() {
    let fake = gtf_presigning(|n| after(Duration::from_secs(3), presign_ok(n))).await;
    // Timed from the request: a loaded machine may take seconds to start
    // the app.
    let app = spawn_app_against(&fake).await;
    let started = std::time::Instant::now();
    let reply = create_and_check_nothing_stored(&app).await;
    reply.assert_problem(StatusCode::GATEWAY_TIMEOUT, "GTF_TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the answer does not wait for GTF"
    );
}

/// A GTF slow on every call, each within `GTF_TIMEOUT_MS`: retried, its
/// token refused and minted again, the calls of one request would outlast
/// the request timeout. The request's GTF budget ends them first, so the
/// answer is GTF's timeout, not the request's.
#[tokio::test]
async fn a_gtf_slow_on_every_call_is_answered_as_a_gtf_timeout_within_the_request() {
    let slow = Duration::from_millis(1500);
    let fake = gtf_presigning(move |n| match n {
        3 => after(slow, gtf_error(401, "UNAUTHORIZED")),
        _ => after(slow, gtf_error(503, "SERVICE_UNAVAILABLE")),
    })
    .await;
    let base_url = fake.base_url.clone();
    let app = spawn_app_with(sim_config(), move |c| {
        c.gtf = gtf_config(&base_url, Duration::from_secs(2));
        // The shortest the start check allows for that GTF timeout: a 3 s
        // budget for GTF, where six 1.5 s attempts would take 9 s.
        c.server.request_timeout = Duration::from_secs(8);
    })
    .await;
    let started = std::time::Instant::now();
    let reply = create_and_check_nothing_stored(&app).await;
    let elapsed = started.elapsed();
    reply.assert_problem(StatusCode::GATEWAY_TIMEOUT, "GTF_TIMEOUT");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(fake.hits(URLS_PATH), 2, "no attempt after the budget");
}

#[tokio::test]
async fn refused_partner_credentials_are_502() {
    let fake = FakeGtf::start(|path, n| match path.as_str() {
        TOKEN_PATH => ready(gtf_error(401, "UNAUTHORIZED")),
        _ => working_gtf(path, n),
    })
    .await;
    let reply = create_against(&fake).await;
    reply.assert_problem(StatusCode::BAD_GATEWAY, "GTF_ERROR");
    assert_eq!(fake.hits(URLS_PATH), 0);
}

#[tokio::test]
async fn an_unreachable_gtf_is_503() {
    // A port held (bound, never listening) so that connections are refused.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    let base_url = format!("http://127.0.0.1:{port}");
    let app = spawn_app_with(sim_config(), move |config| {
        config.gtf = gtf_config(&base_url, Duration::from_millis(500));
    })
    .await;
    let reply = create_and_check_nothing_stored(&app).await;
    reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "GTF_UNAVAILABLE");
    assert!(reply.header("retry-after").is_some());
}

#[tokio::test]
async fn gtfs_state_conflict_on_confirm_counts_as_confirmed() {
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        // The first call to the path is the presign, the second the confirm.
        (URLS_PATH, 2) => ready(gtf_error(409, "SUBMISSION_STATE_CONFLICT")),
        _ => working_gtf(path, n),
    })
    .await;
    let app = spawn_app_against(&fake).await;
    let created = app.create("alice").await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();

    let confirmed = app.confirm("alice", id).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    assert_eq!(confirmed.body["status"], "PROCESSING");
    assert_eq!(fake.hits(URLS_PATH), 2);
    let stored = app.get("alice", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(stored.body["status"], "PROCESSING");
}

#[tokio::test]
async fn gtf_trouble_on_confirm_leaves_the_submission_awaiting_upload() {
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (URLS_PATH, 2) => ready(gtf_error(500, "GENERIC_SERVICE_ERROR")),
        _ => working_gtf(path, n),
    })
    .await;
    let app = spawn_app_against(&fake).await;
    let created = app.create("alice").await;
    let id = created.body["id"].as_str().unwrap();

    let reply = app.confirm("alice", id).await;
    reply.assert_problem(StatusCode::BAD_GATEWAY, "GTF_ERROR");
    assert!(!reply.text().contains("token-"));
    let stored = app.get("alice", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(stored.body["status"], "AWAITING_UPLOAD");
}
