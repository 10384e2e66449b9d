//! The whole flow, as a partner app drives it.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::app::spawn_app;

#[tokio::test]
async fn a_valid_ktp_goes_from_create_to_result() {
    let app = spawn_app().await;
    let user = "alice";

    let created = app.create(user).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/kyc/submissions/{id}").as_str())
    );
    assert_eq!(created.body["type"], "KTP_SCAN");
    assert_eq!(created.body["status"], "AWAITING_UPLOAD");
    assert_eq!(created.body["result"], json!(null));
    let uploads = created.body["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0]["document"], "KTP");
    assert_eq!(uploads[0]["method"], "PUT");
    assert_eq!(uploads[0]["headers"]["Content-Type"], "image/jpeg");
    assert!(uploads[0]["expiresAt"].as_str().unwrap().ends_with('Z'));
    assert!(created.header("x-request-id").is_some());

    // Before the upload, confirming is refused and changes nothing.
    let early = app.confirm(user, &id).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(early.code(), "UPLOAD_MISSING");
    let result = app
        .get(user, &format!("/v1/kyc/submissions/{id}/result"))
        .await;
    assert_eq!(result.status, StatusCode::CONFLICT);
    assert_eq!(result.code(), "RESULT_NOT_READY");

    app.upload_all(&created.body).await;
    let confirmed = app.confirm(user, &id).await;
    assert_eq!(confirmed.status, StatusCode::OK);
    assert_eq!(confirmed.body["status"], "PROCESSING");
    assert!(
        confirmed.body.get("uploads").is_none(),
        "uploads are omitted after AWAITING_UPLOAD"
    );
    // Confirming again returns it unchanged, without asking GTF.
    let again = app.confirm(user, &id).await;
    assert_eq!(again.body["status"], "PROCESSING");
    let gtf_id = created.body["gtfSubmissionId"].as_str().unwrap();
    assert_eq!(
        app.sim.confirm_calls(gtf_id),
        2,
        "the early refusal and the real confirm"
    );

    let done = app.refresh_until_final(user, &id).await;
    assert_eq!(done.body["status"], "COMPLETED");
    assert_eq!(done.body["result"], "VALID");
    assert_eq!(done.body["reasonCode"], json!(null));
    assert!(done.body["completedAt"].is_string());

    let result = app
        .get(user, &format!("/v1/kyc/submissions/{id}/result"))
        .await;
    assert_eq!(result.status, StatusCode::OK, "{:?}", result.body);
    assert_eq!(result.body["id"], id.as_str());
    assert_eq!(result.body["status"], "COMPLETED");
    assert_eq!(result.body["result"], "VALID");
    assert_eq!(result.body["ktp"]["nik"].as_str().map(str::len), Some(16));
    assert!(result.body["ktp"]["name"].is_string());
    assert!(result.body["processedAt"].is_string());

    // The personal data is sealed at rest: the NIK is nowhere in the row.
    let nik = result.body["ktp"]["nik"].as_str().unwrap();
    let row: (Vec<u8>, String) = sqlx::query_as(
        "SELECT ciphertext, key_id FROM submission_results WHERE submission_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&row.0).contains(nik));
    assert_eq!(row.1.len(), 16);

    // Served from the database from now on: the same answer.
    let again = app
        .get(user, &format!("/v1/kyc/submissions/{id}/result"))
        .await;
    assert_eq!(again.body, result.body);

    // The history tells the whole story.
    let causes: Vec<(Option<String>, String, String)> = sqlx::query_as(
        "SELECT from_status, to_status, cause FROM submission_history WHERE submission_id = $1::uuid ORDER BY id",
    )
    .bind(&id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        causes,
        vec![
            (None, "AWAITING_UPLOAD".into(), "created".into()),
            (
                Some("AWAITING_UPLOAD".into()),
                "PROCESSING".into(),
                "confirm".into()
            ),
            (
                Some("PROCESSING".into()),
                "COMPLETED".into(),
                "refresh".into()
            ),
        ]
    );
}

#[tokio::test]
async fn invalid_and_error_outcomes_reach_the_user() {
    let app = spawn_app().await;
    for (user, status, result, reason) in [
        (
            "bob-invalid",
            "COMPLETED",
            json!("INVALID"),
            json!("NOT_EKTP"),
        ),
        (
            "carol-error",
            "FAILED",
            json!(null),
            json!("VERIFICATION_FAILED"),
        ),
    ] {
        let id = app.submit(user).await;
        let done = app.refresh_until_final(user, &id).await;
        assert_eq!(done.body["status"], status, "{user}");
        assert_eq!(done.body["result"], result, "{user}");
        assert_eq!(done.body["reasonCode"], reason, "{user}");
        let r = app
            .get(user, &format!("/v1/kyc/submissions/{id}/result"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{user}: {:?}", r.body);
        assert_eq!(r.body["ktp"], json!(null), "{user}");
        assert_eq!(r.body["reasonCode"], reason, "{user}");
    }
}

#[tokio::test]
async fn a_two_document_profile_needs_both_uploads() {
    let app = crate::support::app::spawn_app_with(
        gtf_bff::sim::SimConfig {
            documents: vec!["KTP_FRONT".into(), "KTP_BACK".into()],
            ..crate::support::sim_config()
        },
        |_| {},
    )
    .await;
    let created = app.create("dave").await;
    let uploads = created.body["uploads"].as_array().unwrap();
    let docs: Vec<&str> = uploads
        .iter()
        .map(|u| u["document"].as_str().unwrap())
        .collect();
    assert_eq!(docs, ["KTP_BACK", "KTP_FRONT"]);
    let id = created.body["id"].as_str().unwrap();

    // Only the front: GTF refuses, the submission waits.
    let front = app
        .http
        .put(uploads[1]["url"].as_str().unwrap())
        .header("Content-Type", "image/jpeg")
        .body(crate::support::JPEG)
        .send()
        .await
        .unwrap();
    assert!(front.status().is_success());
    let r = app.confirm("dave", id).await;
    assert_eq!(r.code(), "UPLOAD_MISSING");
    let r = app.get("dave", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(r.body["status"], "AWAITING_UPLOAD");

    app.upload_all(&created.body).await;
    assert_eq!(app.confirm("dave", id).await.body["status"], "PROCESSING");
}
