//! Limits and retention: abuse is slowed without dropping
//! legitimate traffic, and personal data does not outlive its retention.

use std::num::NonZeroU32;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::app::{spawn_app_receiving_callbacks, spawn_app_with};
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

#[tokio::test]
async fn failed_callback_authentications_are_limited_but_gtf_never_is() {
    let app = spawn_app_with(sim_config(), |_| {}).await;
    let post = |auth: &'static str, id: String| {
        app.request(Method::POST, "/coe/submissions-callback", None)
            .header("authorization", auth)
            .body(
                json!({ "submissionId": id, "status": "COMPLETED", "result": "VALID" }).to_string(),
            )
    };
    let mut codes = Vec::new();
    for i in 0..40 {
        codes.push(
            app.send(post("Bearer guess", format!("g-{i}")))
                .await
                .status,
        );
    }
    assert!(
        codes[..30].iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{codes:?}"
    );
    assert!(
        codes[30..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{codes:?}"
    );
    // From the same address, GTF's own callbacks still get through.
    for i in 0..50 {
        let r = app
            .send(post(
                "Bearer test-callback-secret-0123456789",
                format!("real-{i}"),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
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
