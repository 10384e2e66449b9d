//! Limits and retention: abuse is slowed without dropping
//! legitimate traffic, and personal data does not outlive its retention.

use std::num::NonZeroU32;
use std::time::Duration;

use gtf_bff::config::parse_networks;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::app::{
    CALLBACK_BEARER, Reply, TestApp, spawn_app, spawn_app_receiving_callbacks, spawn_app_with,
};
use crate::support::sim_config;
use crate::support::wait::wait_until;

#[tokio::test]
async fn creates_and_confirms_are_limited_per_user() {
    let app = spawn_app_with(sim_config(), |c| {
        c.user_rate_limit = NonZeroU32::new(2).unwrap()
    })
    .await;
    assert_eq!(app.create("nina").await.status, StatusCode::CREATED);
    let second = app.create("nina").await;
    assert_eq!(second.status, StatusCode::CREATED);
    // The third within the minute is refused, and says when to come back.
    let third = app.create("nina").await;
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.code(), "RATE_LIMITED");
    let wait: u64 = third.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Confirm shares the budget; other users are unaffected.
    let id = second.body["id"].as_str().unwrap();
    assert_eq!(
        app.confirm("nina", id).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(app.create("oscar").await.status, StatusCode::CREATED);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM submissions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 3, "a refused request creates nothing");
}

/// A callback from `client` (an HTTP client, bound to its own source
/// address) with `authorization`, optionally through a proxy.
async fn callback_from(
    app: &TestApp,
    client: &reqwest::Client,
    authorization: &str,
    forwarded_for: Option<&str>,
) -> Reply {
    let mut req = client
        .post(format!("{}/coe/submissions-callback", app.base_url))
        .header("authorization", authorization)
        .body(
            json!({ "submissionId": format!("g-{}", uuid::Uuid::new_v4()), "status": "COMPLETED" })
                .to_string(),
        );
    if let Some(hop) = forwarded_for {
        req = req.header("x-forwarded-for", hop);
    }
    app.send(req).await
}

/// Another loopback address: a second source address on this machine.
fn client_at(addr: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(addr))
        .build()
        .unwrap()
}

#[track_caller]
fn assert_rate_limited(reply: &Reply) {
    reply.assert_problem(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
}

#[tokio::test]
async fn an_address_that_guessed_too_often_is_refused_even_with_the_right_secret() {
    let app = spawn_app_with(sim_config(), |_| {}).await;
    let here = client_at([127, 0, 0, 1]);
    // Authenticated callbacks never count, however many.
    for _ in 0..30 {
        let r = callback_from(&app, &here, CALLBACK_BEARER, None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    for _ in 0..21 {
        let r = callback_from(&app, &here, "Bearer guess", None).await;
        r.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    }
    // Past 20 failures in a minute, the answer no longer depends on the
    // credential: a right guess looks like a wrong one.
    assert_rate_limited(&callback_from(&app, &here, CALLBACK_BEARER, None).await);
    assert_rate_limited(&callback_from(&app, &here, "Bearer guess", None).await);
    // GTF, calling from elsewhere, is not held back by the guesser.
    let elsewhere = client_at([127, 0, 0, 2]);
    for _ in 0..30 {
        let r = callback_from(&app, &elsewhere, CALLBACK_BEARER, None).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM callback_inbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 60, "nothing refused was stored");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_guessers_own_address_is_limited() {
    let app = spawn_app_with(sim_config(), |c| {
        c.callback.trusted_proxies = parse_networks(&["127.0.0.1/32".to_owned()]).unwrap();
    })
    .await;
    let proxy = client_at([127, 0, 0, 1]);
    let (guesser, gtf) = (Some("198.51.100.9"), Some("203.0.113.7"));
    for _ in 0..21 {
        let r = callback_from(&app, &proxy, "Bearer guess", guesser).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(&callback_from(&app, &proxy, CALLBACK_BEARER, guesser).await);
    // The proxy carries GTF's callbacks too: they are not the guesser's.
    let r = callback_from(&app, &proxy, CALLBACK_BEARER, gtf).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn result_details_and_callback_bodies_are_purged_after_retention() {
    let app =
        spawn_app_receiving_callbacks(sim_config(), |c| c.retention = Duration::from_secs(1)).await;
    let id = app.submit("paula").await;
    // The callback completes it and its result is stored (and readable)...
    let result = format!("/v1/kyc/submissions/{id}/result");
    let first = wait_until("the result to arrive", Duration::from_secs(5), || async {
        let r = app.get("paula", &result).await;
        (r.status == StatusCode::OK).then_some(r)
    })
    .await;
    assert!(first.body["ktp"]["nik"].is_string());
    // ...until the worker purges it.
    let purged = wait_until(
        "the details to be purged",
        Duration::from_secs(10),
        || async {
            let r = app.get("paula", &result).await;
            (r.status == StatusCode::GONE).then_some(r)
        },
    )
    .await;
    assert_eq!(purged.code(), "RESULT_PURGED");
    // The sealed details and the raw callback are gone from the tables; the
    // submission, its outcome and its history stay.
    let sealed: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT ciphertext FROM submission_results WHERE submission_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(sealed, None);
    let callbacks: i64 = sqlx::query_scalar("SELECT count(*) FROM callback_inbox")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(callbacks, 0);
    let s = app.get("paula", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(s.body["status"], "COMPLETED");
    assert_eq!(s.body["result"], "VALID");
}

#[tokio::test]
async fn idempotency_keys_are_purged_a_day_after_their_first_use() {
    let app = spawn_app().await;
    for key in ["yesterday", "today"] {
        let r = app
            .send(
                app.request(Method::POST, "/v1/kyc/submissions", Some("quinn"))
                    .header("idempotency-key", key),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    sqlx::query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'yesterday'")
        .execute(&app.db)
        .await
        .unwrap();
    let left = wait_until(
        "housekeeping to purge the day-old key",
        Duration::from_secs(10),
        || async {
            let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM idempotency_keys")
                .fetch_all(&app.db)
                .await
                .unwrap();
            (keys.len() == 1).then_some(keys)
        },
    )
    .await;
    assert_eq!(left, ["today"]);
}
