//! The reconciler: results arrive even when callbacks
//! never do, on one replica or several.

use std::time::Duration;

use gtf_bff::sim::SimConfig;
use reqwest::StatusCode;

use crate::support::app::{TestApp, spawn_app_with};
use crate::support::sim_config;

async fn transitions_to(app: &TestApp, id: &str, status: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT cause FROM submission_history WHERE submission_id = $1::uuid AND to_status = $2 ORDER BY id",
    )
    .bind(id)
    .bind(status)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_submission_gtf_never_calls_back_about_is_finished_by_polling() {
    let app = spawn_app_with(sim_config(), |c| c.reconcile_after = Duration::from_secs(1)).await;
    let user = "gina-nocallback";
    let id = app.submit(user).await;
    let done = app.wait_for_status(user, &id, "COMPLETED").await;
    assert_eq!(done["result"], "VALID");
    assert_eq!(transitions_to(&app, &id, "COMPLETED").await, ["reconciler"]);
    // The result was fetched and stored without anyone asking for it.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM submission_results WHERE submission_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, 1);
    let r = app
        .get(user, &format!("/v1/kyc/submissions/{id}/result"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["ktp"]["nik"].is_string());
}

#[tokio::test]
async fn two_replicas_share_the_work_and_finish_each_submission_once() {
    let a = spawn_app_with(sim_config(), |c| c.reconcile_after = Duration::from_secs(1)).await;
    let b = a.sibling().await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let user = format!("user{i}-nocallback");
        // Half the submissions start on each replica.
        let app = if i % 2 == 0 { &a } else { &b };
        ids.push((user.clone(), app.submit(&user).await));
    }
    for (user, id) in &ids {
        a.wait_for_status(user, id, "COMPLETED").await;
    }
    // Nothing more may happen: let any straggling poll land before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (_, id) in &ids {
        let completions = transitions_to(&a, id, "COMPLETED").await;
        assert_eq!(completions, ["reconciler"], "{id}: finished once");
        let results: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM submission_results WHERE submission_id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&a.db)
        .await
        .unwrap();
        assert_eq!(results, 1);
        let leases: Option<i32> = sqlx::query_scalar(
            "SELECT check_attempts FROM submissions WHERE id = $1::uuid AND check_lease_until IS NULL AND next_check_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&a.db)
        .await
        .unwrap();
        assert!(
            leases.is_some(),
            "{id}: nothing left to do and no lease held"
        );
    }
}

#[tokio::test]
async fn an_upload_window_that_lapses_expires_the_submission() {
    let app = spawn_app_with(
        SimConfig {
            upload_ttl: Duration::from_secs(1),
            ..sim_config()
        },
        |c| c.reconciler.expiry_grace = Duration::ZERO,
    )
    .await;
    let created = app.create("hana").await;
    let id = created.body["id"].as_str().unwrap();
    let expired = app.wait_for_status("hana", id, "EXPIRED").await;
    assert!(expired.get("uploads").is_none());
    assert_eq!(transitions_to(&app, id, "EXPIRED").await, ["expiry"]);
    let r = app.confirm("hana", id).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "SUBMISSION_EXPIRED");
}
