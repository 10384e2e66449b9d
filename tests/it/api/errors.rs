//! Client mistakes and refusals: always a
//! problem+json body with a stable code, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::app::{Reply, TestApp, spawn_app, spawn_app_against, working_gtf};
use crate::support::fake_gtf::{FakeGtf, status_path};

const CREATE: &str = "/v1/kyc/submissions";

/// A create as `alice` with this raw body and `Content-Type`.
async fn create_raw(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
    app.send(
        app.request(Method::POST, CREATE, Some("alice"))
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn created_id(app: &TestApp, user: &str) -> String {
    let created = app.create(user).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in [
        r#"{"type":"#,
        "{type: KTP_SCAN}",
        r#"{"type":"KTP_SCAN"}}"#,
        "\u{1}",
    ] {
        let reply = create_raw(&app, "application/json", body).await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "MALFORMED_JSON");
    }
    assert_eq!(app.submission_rows().await, 0);
}

#[tokio::test]
async fn a_wrongly_typed_body_is_422() {
    let app = spawn_app().await;
    for body in [
        json!({"type": 5}),
        json!({"type": ["KTP_SCAN"]}),
        json!("KTP_SCAN"),
        json!(7),
    ] {
        let reply = create_raw(&app, "application/json", body.to_string()).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY");
    }
    assert_eq!(app.submission_rows().await, 0);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let app = spawn_app().await;
    let reply = create_raw(
        &app,
        "application/json",
        json!({"type": "KTP_SCAN", "extra": 1, "nested": {"a": [1, 2]}}).to_string(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["type"], "KTP_SCAN");
    // An empty body and `{}` mean the default type.
    for body in ["", "{}"] {
        let reply = create_raw(&app, "application/json", body).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "{body:?}: {:?}",
            reply.body
        );
        assert_eq!(reply.body["type"], "KTP_SCAN");
    }
}

#[tokio::test]
async fn types_other_than_ktp_scan_are_refused() {
    let app = spawn_app().await;
    for kind in ["FACE_MATCH", "ktp_scan", ""] {
        let reply = create_raw(&app, "application/json", json!({"type": kind}).to_string()).await;
        reply.assert_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNSUPPORTED_SUBMISSION_TYPE",
        );
    }
    assert_eq!(app.submission_rows().await, 0);
}

#[tokio::test]
async fn a_body_over_16_kib_is_413() {
    let app = spawn_app().await;
    let padding = "x".repeat(16 * 1024);
    let body = json!({"type": "KTP_SCAN", "padding": padding}).to_string();
    let reply = create_raw(&app, "application/json", body).await;
    reply.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    assert_eq!(app.submission_rows().await, 0);
    // Just under the limit is fine.
    let padding = "x".repeat(16 * 1024 - 64);
    let body = json!({"type": "KTP_SCAN", "padding": padding}).to_string();
    assert!(body.len() <= 16 * 1024);
    let reply = create_raw(&app, "application/json", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let reply = create_raw(&app, content_type, r#"{"type":"KTP_SCAN"}"#).await;
        reply.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
    }
    assert_eq!(app.submission_rows().await, 0);
    let reply = create_raw(
        &app,
        "application/json; charset=utf-8",
        r#"{"type":"KTP_SCAN"}"#,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn deeply_nested_json_is_400_not_a_crash() {
    let app = spawn_app().await;
    // Not JSON at all: it never closes.
    let unclosed = create_raw(&app, "application/json", "[".repeat(10_000)).await;
    // JSON nested past any sane depth, within the 16 KiB limit.
    let objects = format!("{}{}", r#"{"a":"#.repeat(2_000), "}".repeat(2_000));
    let too_deep = create_raw(&app, "application/json", objects).await;
    too_deep.assert_problem(StatusCode::BAD_REQUEST, "MALFORMED_JSON");
    unclosed.assert_problem(StatusCode::BAD_REQUEST, "MALFORMED_JSON");
    assert_eq!(app.submission_rows().await, 0);
}

#[tokio::test]
async fn deeply_nested_json_of_the_wrong_shape_is_a_client_error() {
    let app = spawn_app().await;
    let arrays = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let reply = create_raw(&app, "application/json", arrays).await;
    match reply.status {
        StatusCode::BAD_REQUEST => reply.assert_problem(StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
        _ => reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY"),
    }
    // Still serving.
    assert_eq!(app.create("alice").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_path_id_that_is_not_a_uuid_is_422() {
    let app = spawn_app().await;
    for path in [
        "/v1/kyc/submissions/not-a-uuid",
        "/v1/kyc/submissions/123/result",
        "/v1/kyc/submissions/5f0c6a52-8d1e-4c55-9a3c-2a7c2b8f0f1/result",
        "/v1/kyc/submissions/%00",
    ] {
        let reply = app.get("alice", path).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
    let reply = app.confirm("alice", "' OR 1=1 --").await;
    reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
}

#[tokio::test]
async fn a_refresh_flag_that_is_not_a_boolean_is_422() {
    let app = spawn_app().await;
    let id = created_id(&app, "alice").await;
    for flag in ["maybe", "yes"] {
        let reply = app
            .get("alice", &format!("/v1/kyc/submissions/{id}?refresh={flag}"))
            .await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
    for flag in ["true", "false"] {
        let reply = app
            .get("alice", &format!("/v1/kyc/submissions/{id}?refresh={flag}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{flag}: {:?}", reply.body);
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    for path in [
        "/nope",
        "/v1/kyc",
        "/v1/kyc/submissions/x/y/z",
        "/v2/kyc/submissions",
    ] {
        let reply = app.get("alice", path).await;
        reply.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    }
    // Without a token too: nothing about the route is secret.
    let reply = app.send(app.request(Method::GET, "/nope", None)).await;
    reply.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn a_wrong_method_is_a_405_problem() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4();
    for (method, path) in [
        (Method::DELETE, CREATE.to_owned()),
        (Method::PUT, CREATE.to_owned()),
        (Method::DELETE, format!("/v1/kyc/submissions/{id}")),
        (Method::GET, format!("/v1/kyc/submissions/{id}/confirm")),
    ] {
        let reply = app.call(method.clone(), &path, Some("alice")).await;
        reply.assert_problem(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    }
    // RFC 9110: a 405 says what is allowed.
    let reply = app.call(Method::DELETE, CREATE, Some("alice")).await;
    let allow = reply.header("allow").unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow:?}");
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let id = created_id(&app, "alice").await;
    let replies = [
        app.create("alice").await,
        app.get("alice", CREATE).await,
        app.get("alice", &format!("/v1/kyc/submissions/{id}")).await,
        app.get("alice", "/v1/kyc/submissions/x").await,
        app.get("bob", &format!("/v1/kyc/submissions/{id}")).await,
        app.send(app.request(Method::GET, CREATE, None)).await,
        app.get("alice", "/nope").await,
        app.call(Method::DELETE, CREATE, Some("alice")).await,
        app.get("alice", "/healthz").await,
    ];
    let mut seen = std::collections::HashSet::new();
    for reply in &replies {
        let request_id = reply.header("x-request-id").unwrap_or_default();
        assert!(
            !request_id.is_empty(),
            "{} without x-request-id",
            reply.status
        );
        assert!(seen.insert(request_id.to_owned()), "a fresh id per request");
    }
}

#[tokio::test]
async fn a_clients_request_id_is_echoed() {
    let app = spawn_app().await;
    let ok = app
        .send(
            app.request(Method::GET, CREATE, Some("alice"))
                .header("x-request-id", "client-chosen-1"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.header("x-request-id"), Some("client-chosen-1"));

    let refused = app
        .send(
            app.request(Method::GET, "/v1/kyc/submissions/x", Some("alice"))
                .header("x-request-id", "client-chosen-2"),
        )
        .await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    assert_eq!(refused.header("x-request-id"), Some("client-chosen-2"));
    assert_eq!(refused.body["requestId"], "client-chosen-2");

    let unauthenticated = app
        .send(
            app.request(Method::POST, CREATE, None)
                .header("x-request-id", "client-chosen-3"),
        )
        .await;
    unauthenticated.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(unauthenticated.body["requestId"], "client-chosen-3");
}

#[tokio::test]
async fn refresh_asks_gtf_at_most_once_per_five_seconds_per_submission() {
    let fake = FakeGtf::start(working_gtf).await;
    let app = spawn_app_against(&fake).await;
    let created = app.create("alice").await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let gtf_id = created.body["gtfSubmissionId"].as_str().unwrap();

    let refresh = format!("/v1/kyc/submissions/{id}?refresh=true");
    for _ in 0..3 {
        let reply = app.get("alice", &refresh).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.body["id"], id);
    }
    assert_eq!(fake.hits(&status_path(gtf_id)), 1);
    // A plain read never asks GTF.
    app.get("alice", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(fake.hits(&status_path(gtf_id)), 1);

    // The limit is per submission: another one is asked about at once.
    let other = app.create("alice").await;
    let other_id = other.body["id"].as_str().unwrap();
    let other_gtf_id = other.body["gtfSubmissionId"].as_str().unwrap();
    let reply = app
        .get(
            "alice",
            &format!("/v1/kyc/submissions/{other_id}?refresh=true"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(fake.hits(&status_path(other_gtf_id)), 1);
}

#[tokio::test]
async fn confirming_an_expired_submission_is_409() {
    let app = spawn_app().await;
    let created = app.create("alice").await;
    let id = created.body["id"].as_str().unwrap();
    sqlx::query("UPDATE submissions SET status = 'EXPIRED' WHERE id = $1::uuid")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();

    let reply = app.confirm("alice", id).await;
    reply.assert_problem(StatusCode::CONFLICT, "SUBMISSION_EXPIRED");
    let gtf_id = created.body["gtfSubmissionId"].as_str().unwrap();
    assert_eq!(app.sim.confirm_calls(gtf_id), 0, "GTF is not asked");
    let now = app.get("alice", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(now.body["status"], "EXPIRED");
}

#[tokio::test]
async fn the_result_before_a_final_state_is_409() {
    let app = spawn_app().await;
    let id = created_id(&app, "alice").await;
    let result = format!("/v1/kyc/submissions/{id}/result");
    app.get("alice", &result)
        .await
        .assert_problem(StatusCode::CONFLICT, "RESULT_NOT_READY");

    let id = app.submit("alice").await;
    let result = format!("/v1/kyc/submissions/{id}/result");
    let reply = app.get("alice", &result).await;
    reply.assert_problem(StatusCode::CONFLICT, "RESULT_NOT_READY");
}
