//! Faults: GTF and the database failing in every way they can,
//! and the service keeping its promises: the documented status, nothing
//! half-done, confirm never sent twice, and GTF's truth reached afterwards.

use std::process::Child;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::json;

use crate::support::app::{TestApp, gtf_error, presign_ok, spawn_app_against, spawn_app_with};
use crate::support::db::TestDb;
use crate::support::fake_gtf::{
    FakeGtf, TOKEN_PATH, URLS_PATH, after, json as reply, ready, token_ok,
};
use crate::support::tcp_proxy::TcpProxy;
use crate::support::{gtf_config, process, sim_config, start_sim};

async fn rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM submissions")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn wait_for(app: &TestApp, user: &str, id: &str, status: &str) {
    for _ in 0..200 {
        let s = app.get(user, &format!("/v1/kyc/submissions/{id}")).await;
        if s.body["status"] == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} never became {status}");
}

/// A server that accepts connections and closes them at once: a reset.
async fn resetting_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_create_that_gtf_fails_leaves_nothing_behind() {
    let malformed = FakeGtf::start(|path, n| match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        _ => ready(reply(200, r#"{"success":true,"data":{"submissionId":"#)),
    })
    .await;
    let app = spawn_app_against(&malformed).await;
    let r = app.create("quinn").await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(r.code(), "GTF_ERROR");
    assert_eq!(rows(&app).await, 0);

    // Connections reset by GTF: unavailable, and retried as far as is safe.
    let tokens = FakeGtf::start(|_, n| ready(token_ok(n, 3600))).await;
    let reset = resetting_server().await;
    let app = spawn_app_with(sim_config(), |c| {
        c.gtf = gtf_config(&reset, Duration::from_millis(500));
        c.gtf.token_base_url = gtf_bff::config::BaseUrl::parse(&tokens.base_url).unwrap();
    })
    .await;
    let r = app.create("quinn").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.body);
    assert_eq!(r.code(), "GTF_UNAVAILABLE");
    assert!(r.header("retry-after").is_some());
    assert_eq!(rows(&app).await, 0);
}

#[tokio::test]
async fn a_confirm_gtf_did_not_answer_is_never_resent_blindly() {
    // Confirm #1 hangs past the timeout; GTF had in fact accepted it, so a
    // retry by the user is answered 409 SUBMISSION_STATE_CONFLICT.
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (TOKEN_PATH, _) => ready(token_ok(n, 3600)),
        (URLS_PATH, 1) => ready(presign_ok(n)),
        (URLS_PATH, 2) => after(
            Duration::from_secs(2),
            reply(200, r#"{"success":true,"data":{}}"#),
        ),
        (URLS_PATH, _) => ready(gtf_error(409, "SUBMISSION_STATE_CONFLICT")),
        _ => ready(reply(404, "{}")),
    })
    .await;
    let app = spawn_app_against(&fake).await;
    let id = app.create("rosa").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.confirm("rosa", &id).await;
    assert_eq!(r.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(r.code(), "GTF_TIMEOUT");
    assert_eq!(
        fake.hits(URLS_PATH),
        2,
        "presign, then one confirm: no automatic resend"
    );
    let s = app.get("rosa", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(s.body["status"], "AWAITING_UPLOAD", "nothing half-done");

    let r = app.confirm("rosa", &id).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "PROCESSING");
    assert_eq!(fake.hits(URLS_PATH), 3);
}

#[tokio::test]
async fn a_gtf_error_on_confirm_is_passed_on_and_the_submission_waits() {
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (TOKEN_PATH, _) => ready(token_ok(n, 3600)),
        (URLS_PATH, 1) => ready(presign_ok(n)),
        (URLS_PATH, 2) => {
            let mut r = gtf_error(429, "TOO_MANY_REQUESTS");
            r.headers_mut().insert("retry-after", "7".parse().unwrap());
            ready(r)
        }
        (URLS_PATH, _) => ready(reply(200, r#"{"success":true,"data":{}}"#)),
        _ => ready(reply(404, "{}")),
    })
    .await;
    let app = spawn_app_against(&fake).await;
    let id = app.create("sam").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.confirm("sam", &id).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(
        fake.hits(URLS_PATH),
        2,
        "confirm is not retried, even on 429"
    );
    assert_eq!(
        app.get("sam", &format!("/v1/kyc/submissions/{id}"))
            .await
            .body["status"],
        "AWAITING_UPLOAD"
    );
    assert_eq!(app.confirm("sam", &id).await.body["status"], "PROCESSING");
}

#[tokio::test]
async fn a_token_revoked_between_calls_costs_one_mint_and_no_second_confirm() {
    let app = spawn_app_with(sim_config(), |_| {}).await;
    let created = app.create("tara").await;
    app.upload_all(&created.body).await;
    app.sim.revoke_tokens("tara");
    let id = created.body["id"].as_str().unwrap();
    let r = app.confirm("tara", id).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "PROCESSING");
    assert_eq!(app.sim.mints("tara"), 2);
    let gtf_id = created.body["gtfSubmissionId"].as_str().unwrap();
    assert_eq!(
        app.sim.confirm_calls(gtf_id),
        2,
        "the refused one and its single retry"
    );
}

#[tokio::test]
async fn the_reconciler_reaches_gtfs_truth_once_gtf_is_back() {
    let sim = start_sim(sim_config()).await;
    let upstream = sim.addr();
    let proxy = TcpProxy::start(upstream).await;
    let gtf_url = format!("http://{}", proxy.addr);
    let app = spawn_app_with(sim_config(), |c| {
        c.gtf = gtf_config(&gtf_url, Duration::from_millis(500));
        c.reconcile_after = Duration::from_millis(500);
    })
    .await;
    // The app's own simulator is not used: everything goes through the proxy
    // to `sim`, uploads included (its URLs name `sim` directly).
    let user = "uma-nocallback";
    let id = app.submit(user).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        app.get(user, &format!("/v1/kyc/submissions/{id}"))
            .await
            .body["status"],
        "PROCESSING"
    );
    proxy.restore();
    wait_for(&app, user, &id, "COMPLETED").await;
    let s = app.get(user, &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(s.body["result"], "VALID");
}

#[tokio::test]
async fn connections_the_database_dropped_while_idle_are_replaced_before_use() {
    // The pool itself, without the service's workers, which would otherwise
    // stumble on the dead connections first and hide what is tested.
    let db = TestDb::new().await;
    let (proxy, url) = TcpProxy::in_front_of_database(&db.url).await;
    let pool = gtf_bff::store::pool(&SecretString::from(url), 4).unwrap();
    let select_one_on_each = || {
        futures::future::try_join_all((0..4).map(|_| async {
            let mut conn = pool.acquire().await?;
            sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(&mut *conn)
                .await
        }))
    };
    select_one_on_each().await.unwrap();

    // A database restart while the four connections sit idle in the pool.
    proxy.cut();
    proxy.restore();
    tokio::time::sleep(gtf_bff::store::PING_IF_IDLE_FOR + Duration::from_millis(500)).await;

    let after = select_one_on_each()
        .await
        .expect("a connection the database had dropped was handed out");
    assert_eq!(after, [1; 4]);
}

#[tokio::test]
async fn sql_metacharacters_are_just_characters() {
    let app = spawn_app_with(sim_config(), |_| {}).await;
    let nasty = "x'); DROP TABLE submissions; --";
    let r = app
        .send(
            app.request(
                Method::POST,
                "/v1/kyc/submissions",
                Some("o'brien\" OR 1=1 --"),
            )
            .header("idempotency-key", nasty)
            .header("x-sdk-session-id", nasty),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let again = app
        .send(
            app.request(
                Method::POST,
                "/v1/kyc/submissions",
                Some("o'brien\" OR 1=1 --"),
            )
            .header("idempotency-key", nasty),
        )
        .await;
    assert_eq!(again.body["id"], r.body["id"]);
    let cb = app
        .send(
            app.http
                .post(format!("{}/coe/submissions-callback", app.base_url))
                .header("authorization", "Bearer test-callback-secret-0123456789")
                .body(json!({ "submissionId": nasty, "status": "COMPLETED'--", "result": "'; SELECT 1" }).to_string()),
        )
        .await;
    assert_eq!(cb.status, StatusCode::OK);
    let list = app
        .get(
            "o'brien\" OR 1=1 --",
            "/v1/kyc/submissions?cursor=%27%3B%20--",
        )
        .await;
    assert_eq!(list.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rows(&app).await, 1, "the table is intact, with its one row");
}

/// The real binary, killed with SIGKILL right after acknowledging callbacks:
/// every acknowledged callback is there, and verified, after a restart.
#[tokio::test]
async fn callbacks_acknowledged_before_a_sigkill_survive_it() {
    let sim = start_sim(sim_config()).await;
    let db = crate::support::db::TestDb::new().await;
    let (port, metrics_port) = (process::free_port(), process::free_port());
    let start = || -> Child {
        process::serve(
            &db.url,
            &sim.base_url(),
            port,
            metrics_port,
            // Claims of the killed process lapse after 8 × this + 10 s.
            &[("GTF_TIMEOUT_MS", "500")],
        )
    };
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let ready = async || process::wait_until_ok(&format!("{base}/readyz")).await;

    let mut first = start();
    ready().await;
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let id = format!("gtf-before-kill-{i}");
        let r = http
            .post(format!("{base}/coe/submissions-callback"))
            .header("authorization", "Bearer test-callback-secret-0123456789")
            .body(
                json!({ "submissionId": id, "status": "COMPLETED", "result": "VALID" }).to_string(),
            )
            .send()
            .await
            .unwrap();
        if r.status().is_success() {
            acknowledged.push(id);
        }
    }
    first.kill().unwrap(); // SIGKILL: no drain, no cleanup
    first.wait().unwrap();
    assert_eq!(acknowledged.len(), 20);

    let mut second = start();
    ready().await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut processed = 0;
    for _ in 0..600 {
        processed = sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM callback_inbox WHERE gtf_submission_id LIKE 'gtf-before-kill-%' AND processed_at IS NOT NULL",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if processed == 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();
    pool.close().await;
    assert_eq!(
        processed, 20,
        "every acknowledged callback was stored and acted on"
    );
}
