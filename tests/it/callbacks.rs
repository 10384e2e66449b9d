//! `POST /coe/submissions-callback`: who may call it,
//! what it stores, and that a callback is only ever a hint.

use std::time::Duration;

use futures::future::join_all;
use gtf_bff::callback_auth::CallbackCredential;
use gtf_bff::config::{CallbackConfig, parse_networks};
use gtf_bff::sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::app::{
    CALLBACK_AUTH, CALLBACK_BEARER, Reply, TestApp, spawn_app, spawn_app_against,
    spawn_app_behind_db_proxy, spawn_app_receiving_callbacks, spawn_app_with, working_gtf,
};
use crate::support::fake_gtf::{FakeGtf, status_path};
use crate::support::sim_config;
use crate::support::wait::wait_until;

const CALLBACK: &str = "/coe/submissions-callback";
/// How long the verifier, or a recovery, may take.
const PATIENCE: Duration = Duration::from_secs(10);

async fn callback(app: &TestApp, method: Method, authorization: Option<&str>, body: &str) -> Reply {
    let mut req = app
        .request(method, CALLBACK, None)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(auth) = authorization {
        req = req.header("authorization", auth);
    }
    app.send(req).await
}

fn body(gtf_id: &str, status: &str, result: Option<&str>) -> String {
    json!({ "submissionId": gtf_id, "status": status, "result": result, "reasonCode": null })
        .to_string()
}

async fn inbox_outcome(app: &TestApp, gtf_id: &str) -> Option<String> {
    sqlx::query_scalar::<_, Option<String>>(
        "SELECT outcome FROM callback_inbox WHERE gtf_submission_id = $1 AND processed_at IS NOT NULL",
    )
    .bind(gtf_id)
    .fetch_optional(&app.db)
    .await
    .unwrap()
    .flatten()
}

async fn history(app: &TestApp, id: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT to_status, cause FROM submission_history WHERE submission_id = $1::uuid ORDER BY id")
        .bind(id)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn only_an_accepted_credential_gets_in() {
    let app = spawn_app_with(sim_config(), |c| {
        c.callback = CallbackConfig {
            credentials: vec![
                CallbackCredential::parse("bearer:new-secret-0123456789abcdefghijklmnop").unwrap(),
                CallbackCredential::parse("header:X-Gtf-Key:old-key-0123456789abcdefghijklmnop")
                    .unwrap(),
            ],
            allowed_ips: vec![],
            trusted_proxies: vec![],
        };
    })
    .await;
    let payload = body("unknown-1", "COMPLETED", Some("VALID"));
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Bearer new-secret-0123456789abcdefghijklmno"),
        Some("Basic bmV3LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmZ2hpamtsbW5vcA=="),
    ] {
        let r = callback(&app, Method::POST, auth, &payload).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(r.code(), "UNAUTHORIZED");
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
    }
    // Both credentials of a rotation work.
    let r = callback(
        &app,
        Method::POST,
        Some("Bearer new-secret-0123456789abcdefghijklmnop"),
        &payload,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({ "success": true }));
    let r = app
        .send(
            app.request(Method::POST, CALLBACK, None)
                .header("x-gtf-key", "old-key-0123456789abcdefghijklmnop")
                .body(body("unknown-2", "ERROR", None)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // Nothing refused was stored.
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM callback_inbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 2);
}

#[tokio::test]
async fn the_source_address_is_checked_through_trusted_proxies_only() {
    let guard = |trusted: &[&str]| CallbackConfig {
        credentials: vec![CallbackCredential::parse(CALLBACK_AUTH).unwrap()],
        allowed_ips: parse_networks(&["203.0.113.0/24".to_owned()]).unwrap(),
        trusted_proxies: parse_networks(&trusted.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap(),
    };
    let direct = spawn_app_with(sim_config(), |c| c.callback = guard(&[])).await;
    let payload = body("x", "COMPLETED", Some("VALID"));
    let r = callback(&direct, Method::POST, Some(CALLBACK_BEARER), &payload).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "FORBIDDEN");
    // Claiming to be GTF does not help when the peer is no trusted proxy.
    let r = direct
        .send(
            direct
                .request(Method::POST, CALLBACK, None)
                .header("authorization", CALLBACK_BEARER)
                .header("x-forwarded-for", "203.0.113.7")
                .body(payload.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let proxied = spawn_app_with(sim_config(), |c| c.callback = guard(&["127.0.0.1/32"])).await;
    let r = proxied
        .send(
            proxied
                .request(Method::POST, CALLBACK, None)
                .header("authorization", CALLBACK_BEARER)
                .header("x-forwarded-for", "203.0.113.7")
                .body(payload),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_and_oversized_callbacks_are_refused() {
    let app = spawn_app().await;
    for bad in [
        r#"{"submissionId":"x","status":"COMPLETED","extra":"nul \u0000 here"}"#,
        r#"{"submissionId":"x\u0000","status":"COMPLETED"}"#,
        "not json",
        "[]",
        r#"{"status":"COMPLETED"}"#,
        r#"{"submissionId":5,"status":"COMPLETED"}"#,
        r#"{"submissionId":"","status":"COMPLETED"}"#,
    ] {
        let r = callback(&app, Method::POST, Some(CALLBACK_BEARER), bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.code(), "INVALID_CALLBACK", "{bad}");
    }
    let huge =
        json!({ "submissionId": "x", "status": "COMPLETED", "padding": "a".repeat(65 * 1024) })
            .to_string();
    let r = callback(&app, Method::POST, Some(CALLBACK_BEARER), &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn put_and_patch_are_accepted_and_unknown_submissions_are_kept() {
    let app = spawn_app().await;
    let r = callback(
        &app,
        Method::PUT,
        Some(CALLBACK_BEARER),
        &body("gtf-unknown", "COMPLETED", Some("VALID")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let with_extra = json!({ "submissionId": "gtf-unknown", "status": "ERROR", "result": null, "partnerSessionId": "p-1" });
    let r = callback(
        &app,
        Method::PATCH,
        Some(CALLBACK_BEARER),
        &with_extra.to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let outcome = wait_until("the unknown callback to be processed", PATIENCE, || {
        inbox_outcome(&app, "gtf-unknown")
    })
    .await;
    assert_eq!(outcome, "unknown submission");
    // Extra fields are kept with the callback.
    let kept: Value = sqlx::query_scalar("SELECT body FROM callback_inbox WHERE status = 'ERROR'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kept["partnerSessionId"], "p-1");
}

#[tokio::test]
async fn a_forged_completion_changes_nothing() {
    // GTF takes a minute: a callback claiming COMPLETED now is false.
    let app = spawn_app_with(
        SimConfig {
            processing: Duration::from_secs(60),
            ..sim_config()
        },
        |_| {},
    )
    .await;
    let id = app.submit("erin").await;
    let gtf_id = app
        .get("erin", &format!("/v1/kyc/submissions/{id}"))
        .await
        .body["gtfSubmissionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = callback(
        &app,
        Method::POST,
        Some(CALLBACK_BEARER),
        &body(&gtf_id, "COMPLETED", Some("VALID")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let outcome = wait_until("the forged callback to be checked", PATIENCE, || {
        inbox_outcome(&app, &gtf_id)
    })
    .await;
    assert_eq!(outcome, "checked: PROCESSING");
    let s = app.get("erin", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(s.body["status"], "PROCESSING");
    assert_eq!(s.body["result"], Value::Null);
    assert!(
        history(&app, &id)
            .await
            .iter()
            .all(|(to, _)| to != "COMPLETED")
    );
}

#[tokio::test]
async fn gtf_callbacks_finish_submissions_once_however_often_they_come() {
    let app = spawn_app_receiving_callbacks(sim_config(), |_| {}).await;
    let id = app.submit("frank").await;
    let done = wait_until(
        "the callback to complete the submission",
        PATIENCE,
        || async {
            let s = app.get("frank", &format!("/v1/kyc/submissions/{id}")).await;
            (s.body["status"] == "COMPLETED" && s.body["result"] == "VALID").then_some(s)
        },
    )
    .await;
    let gtf_id = done.body["gtfSubmissionId"].as_str().unwrap();

    // GTF delivers the same callback again: acknowledged, nothing changes.
    let again = body(gtf_id, "COMPLETED", Some("VALID"));
    for _ in 0..2 {
        let r = callback(&app, Method::POST, Some(CALLBACK_BEARER), &again).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM callback_inbox WHERE gtf_submission_id = $1")
            .bind(gtf_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, 1);
    // Nothing more may happen: give the verifier time to act, had it
    // anything to act on.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let h = history(&app, &id).await;
    // One change, with its outcome, however many callbacks came.
    assert_eq!(
        h.iter()
            .filter(|(to, _)| to == "COMPLETED")
            .collect::<Vec<_>>(),
        [&("COMPLETED".to_owned(), "callback".to_owned())],
        "{h:?}"
    );
    let result = app
        .get("frank", &format!("/v1/kyc/submissions/{id}/result"))
        .await;
    assert_eq!(result.status, StatusCode::OK);
    assert!(result.body["ktp"]["nik"].is_string());
}

#[tokio::test]
async fn without_its_database_the_callback_is_refused_so_gtf_retries_and_service_recovers() {
    let (app, proxy) = spawn_app_behind_db_proxy().await;
    let payload = body("gtf-during-outage", "COMPLETED", Some("VALID"));

    proxy.cut();
    let r = callback(&app, Method::POST, Some(CALLBACK_BEARER), &payload).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "CALLBACK_NOT_STORED");
    assert!(r.header("retry-after").is_some());
    let ready = app.call(Method::GET, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    // Where the API needs the database: 503 with Retry-After, not 500.
    let list = app.get("vera", "/v1/kyc/submissions").await;
    assert_eq!(list.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(list.code(), "DATABASE_UNAVAILABLE");
    assert!(list.header("retry-after").is_some());

    proxy.restore();
    let r = wait_until("the service to recover", PATIENCE, || async {
        let r = callback(&app, Method::POST, Some(CALLBACK_BEARER), &payload).await;
        (r.status == StatusCode::OK).then_some(r)
    })
    .await;
    assert_eq!(r.body, json!({ "success": true }));
    let ready = app.call(Method::GET, "/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
}

/// Inbox rows naming `gtf_id`.
async fn inbox_rows(app: &TestApp, gtf_id: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM callback_inbox WHERE gtf_submission_id = $1")
        .bind(gtf_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_status_gtf_does_not_document_costs_no_gtf_call() {
    let fake = FakeGtf::start(working_gtf).await;
    let app = spawn_app_against(&fake).await;
    let created = app.create("gina").await;
    assert_eq!(created.status, StatusCode::CREATED);
    let gtf_id = created.body["gtfSubmissionId"].as_str().unwrap();
    for status in ["MADE_UP", "IN_PROGRESS"] {
        let r = callback(
            &app,
            Method::POST,
            Some(CALLBACK_BEARER),
            &body(gtf_id, status, None),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{status}");
    }
    let outcomes: Vec<(String, String)> =
        wait_until("both callbacks to be processed", PATIENCE, || async {
            let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT status, outcome FROM callback_inbox WHERE processed_at IS NOT NULL ORDER BY id",
        )
        .fetch_all(&app.db)
        .await
        .unwrap();
            let done: Vec<(String, String)> = rows
                .into_iter()
                .filter_map(|(status, outcome)| Some((status, outcome?)))
                .collect();
            (done.len() == 2).then_some(done)
        })
        .await;
    assert_eq!(
        outcomes[0],
        ("MADE_UP".into(), "ignored: unknown status".into())
    );
    assert!(outcomes[1].1.starts_with("checked"), "{outcomes:?}");
    assert_eq!(
        fake.hits(&status_path(gtf_id)),
        1,
        "only the documented status asked GTF"
    );
}

#[tokio::test]
async fn a_submission_id_gets_at_most_20_inbox_rows() {
    let app = spawn_app().await;
    // 40 different callbacks for one id, at once: each acknowledged, 20 kept.
    let app = &app;
    let replies = join_all((0..40).map(|i| async move {
        let payload = body("gtf-junk", &format!("MADE_UP_{i}"), None);
        callback(app, Method::POST, Some(CALLBACK_BEARER), &payload).await
    }))
    .await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body, json!({ "success": true }));
    }
    assert_eq!(inbox_rows(app, "gtf-junk").await, 20);
    // The 21st is acknowledged, counted, and not stored.
    let r = callback(
        app,
        Method::POST,
        Some(CALLBACK_BEARER),
        &body("gtf-junk", "ANOTHER", Some("VALID")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(inbox_rows(app, "gtf-junk").await, 20);
    let metrics = app.metrics().await;
    let over_cap: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"callbacks_received_total{outcome="over_cap"} "#))
        .expect("over_cap is counted")
        .parse()
        .unwrap();
    assert!(over_cap >= 21.0, "{over_cap}");
    // Other ids are not held back.
    let r = callback(
        app,
        Method::POST,
        Some(CALLBACK_BEARER),
        &body("gtf-other", "COMPLETED", Some("VALID")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(inbox_rows(app, "gtf-other").await, 1);
}

#[tokio::test]
async fn callbacks_for_no_known_submission_are_purged_after_a_week() {
    let app = spawn_app().await;
    let created = app.create("hana").await;
    assert_eq!(created.status, StatusCode::CREATED);
    let known = created.body["gtfSubmissionId"].as_str().unwrap();
    for (gtf_id, status) in [
        (known, "IN_PROGRESS"),
        ("gtf-nobody", "COMPLETED"),
        ("gtf-nobody", "MADE_UP"),
    ] {
        let r = callback(
            &app,
            Method::POST,
            Some(CALLBACK_BEARER),
            &body(gtf_id, status, None),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    wait_until("the callbacks to be verified", PATIENCE, || async {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM callback_inbox WHERE processed_at IS NULL")
                .fetch_one(&app.db)
                .await
                .unwrap();
        (pending == 0).then_some(())
    })
    .await;
    // Eight days later, housekeeping drops the unknown submission's; the
    // known one's stay until RETENTION_DAYS.
    sqlx::query("UPDATE callback_inbox SET received_at = now() - interval '8 days'")
        .execute(&app.db)
        .await
        .unwrap();
    wait_until(
        "the unknown submission's callbacks to be purged",
        PATIENCE,
        || async { (inbox_rows(&app, "gtf-nobody").await == 0).then_some(()) },
    )
    .await;
    assert_eq!(inbox_rows(&app, known).await, 1);
}
