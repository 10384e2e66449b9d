//! The simulator, spoken to over HTTP as GTF's clients would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use gtf_bff::callback_auth::CallbackCredential;
use gtf_bff::sim::SimHandle;
use gtf_bff::sim::{ConfirmRepeat, SimConfig};
use reqwest::{Method, RequestBuilder, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::support::wait::wait_until;

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
];
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00];
const SESSION: &str = "3f1c9a2e-partner-session";
const CREDENTIALS: [(&str, &str); 2] = [("client-id", "client-1"), ("pass-key", "pass-key-1")];
const USER: [(&str, &str); 3] = [
    ("x-onboarding-partner", "ACME-SDK-COE_KTP_SCAN"),
    ("x-partner-user-id", "u1"),
    ("x-partner-user-id-type", "MY_USER_ID"),
];

fn config() -> SimConfig {
    SimConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
        client_id: "client-1".to_owned(),
        pass_key: SecretString::from("pass-key-1"),
        callback_url: None,
        callback_auth: None,
        processing: Duration::from_millis(200),
        token_ttl: Duration::from_secs(1800),
        upload_ttl: Duration::from_secs(600),
        documents: vec!["KTP".to_owned()],
        confirm_repeat: ConfirmRepeat::Ok,
        callback_retry_base: Duration::from_millis(50),
        callback_attempts: 3,
        cors_origins: vec![],
    }
}

struct Sim {
    handle: SimHandle,
    http: reqwest::Client,
    _stop: DropGuard,
}

async fn spawn(config: SimConfig) -> Sim {
    let shutdown = CancellationToken::new();
    let handle = SimHandle::start(config, shutdown.clone()).await.unwrap();
    Sim {
        handle,
        http: reqwest::Client::new(),
        _stop: shutdown.drop_guard(),
    }
}

async fn body(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json)
}

impl Sim {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    /// A GET with exactly these headers.
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        body(request.send().await.unwrap()).await
    }

    /// The data of a 200 token response.
    async fn token_data(&self, user: Option<&str>) -> Value {
        let (path, headers) = match user {
            Some(user) => {
                let mut headers = CREDENTIALS.to_vec();
                headers.extend([USER[0], ("x-partner-user-id", user), USER[2]]);
                ("/v2/coe/authentication", headers)
            }
            None => ("/v1/coe/partner/authentication", CREDENTIALS.to_vec()),
        };
        let (status, body) = self.get(path, &headers).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["success"], json!(true));
        body["data"].clone()
    }

    async fn token(&self, user: &str) -> String {
        let data = self.token_data(Some(user)).await;
        data["token"].as_str().unwrap().to_owned()
    }

    async fn partner_token(&self) -> String {
        let data = self.token_data(None).await;
        data["token"].as_str().unwrap().to_owned()
    }

    /// An API-gateway request with the token and both session headers.
    fn gateway(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("x-onekyc-token", token)
            .header("x-partner-session-id", SESSION)
            .header("x-sdk-session-id", "sdk-session-1")
    }

    async fn presign(&self, token: &str) -> Value {
        let response = self
            .gateway(
                Method::GET,
                "/coe/v1/submissions/urls?submissionType=KTP_SCAN",
                token,
            )
            .send()
            .await
            .unwrap();
        let (status, body) = body(response).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    async fn upload(&self, url: &str, content_type: &str, bytes: &'static [u8]) -> Response {
        self.http
            .put(url)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    async fn upload_all(&self, presigned: &Value) {
        for doc in presigned["documents"].as_object().unwrap().values() {
            let url = doc["documentUrl"].as_str().unwrap();
            let response = self.upload(url, "image/jpeg", JPEG).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    }

    async fn confirm(&self, token: &str, submission_id: &str) -> (StatusCode, Value) {
        let response = self
            .gateway(Method::PUT, "/coe/v1/submissions/urls", token)
            .json(&json!({ "submissionId": submission_id, "metadata": { "app": "test" } }))
            .send()
            .await
            .unwrap();
        body(response).await
    }

    async fn status(&self, token: &str, submission_id: &str) -> (StatusCode, Value) {
        let path = format!("/coe/v1/submissions/{submission_id}/status");
        body(
            self.gateway(Method::GET, &path, token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn details(&self, token: &str, submission_id: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url("/coe/v1/submissions"))
            .header("x-onekyc-token", token)
            .header("x-submission-id", submission_id)
            .header("x-partner-session-id", SESSION)
            .send()
            .await
            .unwrap();
        body(response).await
    }

    /// Token, presign, upload and confirm for `user`: (token, submission id).
    async fn submit(&self, user: &str) -> (String, String) {
        let token = self.token(user).await;
        let presigned = self.presign(&token).await;
        self.upload_all(&presigned).await;
        let id = presigned["submissionId"].as_str().unwrap().to_owned();
        let (status, body) = self.confirm(&token, &id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (token, id)
    }

    /// Polls the status until it is final; the data of the last answer.
    async fn until_final(&self, token: &str, submission_id: &str) -> Value {
        let what = format!("{submission_id} to become final");
        wait_until(&what, Duration::from_secs(5), || async {
            let (status, body) = self.status(token, submission_id).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            matches!(body["data"]["status"].as_str(), Some("COMPLETED" | "ERROR"))
                .then(|| body["data"].clone())
        })
        .await
    }
}

#[tokio::test]
async fn tokens_carry_string_encoded_numbers() {
    let sim = spawn(config()).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (user, ttl) in [(Some("u1"), 1800), (None, 3600)] {
        let data = sim.token_data(user).await;
        assert!(data["token"].as_str().unwrap().len() >= 32);
        assert_eq!(data["expiry_seconds"], json!(ttl.to_string()));
        let expires_at: i64 = data["expires_at"].as_str().unwrap().parse().unwrap();
        assert!((now + ttl - 5..=now + ttl + 5).contains(&expires_at));
    }
    // Partner tokens are not user tokens.
    assert_eq!((sim.handle.mints("u1"), sim.handle.total_mints()), (1, 1));
}

#[tokio::test]
async fn token_errors_follow_each_spec() {
    let sim = spawn(config()).await;
    let user_token = "/v2/coe/authentication";

    assert_eq!(
        sim.get(user_token, &[CREDENTIALS[0]]).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "errors": [{"code": 1539, "entity": "ONEKYC_TOKEN_SERVICE", "cause": "MISSING_CLIENT_ID_OR_PASS_KEY"}]})
        )
    );
    let wrong_key = [
        CREDENTIALS[0],
        ("pass-key", "pass-key-2"),
        USER[0],
        USER[1],
        USER[2],
    ];
    assert_eq!(
        sim.get(user_token, &wrong_key).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "data": null, "errors": [{"code": 110, "entity": "ONEKYC_TOKEN_SERVICE", "cause": "UNAUTHORIZED"}]})
        )
    );
    let missing = [
        (USER[0], "ONBOARDING_PARTNER_CAN_NOT_BE_EMPTY"),
        (USER[1], "PARTNER_USER_ID_CAN_NOT_BE_EMPTY"),
        (USER[2], "PARTNER_USER_ID_TYPE_CAN_NOT_BE_EMPTY"),
    ];
    for (left_out, cause) in missing {
        let mut headers = CREDENTIALS.to_vec();
        headers.extend(USER.iter().filter(|h| **h != left_out));
        assert_eq!(
            sim.get(user_token, &headers).await,
            (
                StatusCode::BAD_REQUEST,
                json!({"success": false, "errors": [{"code": 1539, "entity": "ONEKYC_TOKEN_SERVICE", "cause": cause}]})
            )
        );
    }

    let partner_token = "/v1/coe/partner/authentication";
    assert_eq!(
        sim.get(partner_token, &[]).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "data": null, "errors": [{"code": "1539", "entity": "ONEKYC_TOKEN_SERVICE", "cause": "CLIENT_ID_CAN_NOT_BE_EMPTY"}]})
        )
    );
    assert_eq!(
        sim.get(partner_token, &[("client-id", "client-2"), CREDENTIALS[1]])
            .await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "data": null, "errors": [{"code": "110", "entity": "ONEKYC_TOKEN_SERVICE", "cause": "UNAUTHORIZED"}]})
        )
    );
    assert_eq!(sim.handle.total_mints(), 0);
}

#[tokio::test]
async fn presign_creates_a_submission_with_signed_urls() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let data = sim.presign(&token).await;
    let id = data["submissionId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(data["status"], json!("INITIATED"));
    let documents = data["documents"].as_object().unwrap();
    assert_eq!(documents.len(), 1);
    let ktp = &documents["KTP"];
    assert_eq!(ktp["documentReference"], json!(format!("{id}_KTP")));
    assert_eq!(ktp["expiryInSeconds"], json!("600"));
    let url = ktp["documentUrl"].as_str().unwrap();
    let prefix = format!(
        "{}/storage/KTP_SCAN/{id}_KTP?X-Sim-Expires=",
        sim.handle.base_url()
    );
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.contains("&X-Sim-Signature="), "{url}");
    // A new submission per call.
    assert_ne!(sim.presign(&token).await["submissionId"], json!(id));
}

#[tokio::test]
async fn presign_errors_use_string_codes() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let partner = sim.partner_token().await;
    let path = "/coe/v1/submissions/urls?submissionType=KTP_SCAN";
    let unauthorized = (
        StatusCode::UNAUTHORIZED,
        json!({"success": false, "errors": [{"code": "110", "cause": "UNAUTHORIZED"}]}),
    );
    for bad in ["", "not-a-token", partner.as_str()] {
        let response = sim.gateway(Method::GET, path, bad).send().await.unwrap();
        assert_eq!(body(response).await, unauthorized, "token {bad:?}");
    }
    let no_sdk_session = sim
        .get(
            path,
            &[
                ("x-onekyc-token", &token),
                ("x-partner-session-id", SESSION),
            ],
        )
        .await;
    assert_eq!(
        no_sdk_session,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "errors": [{"code": "1539", "cause": "COE_PARTNER_CAN_NOT_BE_EMPTY"}]})
        )
    );
    for query in ["", "?submissionType=KTP", "?submissionType=ktp_scan"] {
        let path = format!("/coe/v1/submissions/urls{query}");
        let response = sim
            .gateway(Method::GET, &path, &token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            body(response).await,
            (
                StatusCode::BAD_REQUEST,
                json!({"success": false, "errors": [{"code": "1542", "cause": "INVALID_SUBMISSION_TYPE"}]})
            ),
            "{query}"
        );
    }
}

async fn xml(response: Response) -> (StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn storage_accepts_only_signed_images() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let url = sim.presign(&token).await["documents"]["KTP"]["documentUrl"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = sim.upload(&url, "image/jpeg", JPEG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("etag"));
    // A second upload overwrites the first.
    let response = sim.upload(&url, "image/png", PNG).await;
    assert_eq!(response.status(), StatusCode::OK);

    let last = url.chars().last().unwrap();
    let tampered = format!(
        "{}{}",
        &url[..url.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let unsigned = url.split('?').next().unwrap();
    let other_key = url.replace("_KTP?", "_SELFIE?");
    for bad in [tampered.as_str(), unsigned, other_key.as_str()] {
        let (status, text) = xml(sim.upload(bad, "image/jpeg", JPEG).await).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{bad}");
        assert!(
            text.contains("<Code>SignatureDoesNotMatch</Code>"),
            "{text}"
        );
    }

    let refused: [(&str, &'static [u8]); 4] = [
        ("image/jpeg", b"hello, not an image"),
        ("image/jpeg", PNG),
        ("image/png", JPEG),
        ("text/plain", JPEG),
    ];
    for (content_type, bytes) in refused {
        let (status, text) = xml(sim.upload(&url, content_type, bytes).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{content_type}");
        assert!(text.contains("<Code>InvalidArgument</Code>"), "{text}");
    }
}

#[tokio::test]
async fn expired_upload_urls_are_refused() {
    let sim = spawn(SimConfig {
        upload_ttl: Duration::from_secs(1),
        ..config()
    })
    .await;
    let token = sim.token("u1").await;
    let data = sim.presign(&token).await;
    assert_eq!(data["documents"]["KTP"]["expiryInSeconds"], json!("1"));
    // Time passing is the point: the URL's 1 s lifetime runs out.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let url = data["documents"]["KTP"]["documentUrl"].as_str().unwrap();
    let (status, text) = xml(sim.upload(url, "image/jpeg", JPEG).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        text.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"),
        "{text}"
    );
}

/// A browser page uploads across origins: the storage answers its
/// preflight as a bucket's CORS rule would, and marks its answers to an
/// allowed page, refusals included, so that the page can read why.
#[tokio::test]
async fn storage_answers_browsers_from_allowed_origins() {
    const PAGE: &str = "http://127.0.0.1:3000";
    let sim = spawn(SimConfig {
        cors_origins: vec![PAGE.parse().unwrap()],
        ..config()
    })
    .await;
    let token = sim.token("u1").await;
    let url = sim.presign(&token).await["documents"]["KTP"]["documentUrl"]
        .as_str()
        .unwrap()
        .to_owned();

    let allowed = preflight(&sim, &url, PAGE).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], PAGE);
    assert_eq!(headers["access-control-allow-methods"], "PUT");
    assert_eq!(headers["access-control-allow-headers"], "content-type");
    assert_eq!(headers["access-control-max-age"], "3000");
    let other = preflight(&sim, &url, "https://evil.example").await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));

    let unsigned = url.split('?').next().unwrap();
    for (target, status) in [
        (url.as_str(), StatusCode::OK),
        (unsigned, StatusCode::FORBIDDEN),
    ] {
        let response = sim
            .http
            .put(target)
            .header("origin", PAGE)
            .header("content-type", "image/jpeg")
            .body(JPEG)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{target}");
        assert_eq!(response.headers()["access-control-allow-origin"], PAGE);
    }
}

#[tokio::test]
async fn storage_admits_no_page_by_default() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let data = sim.presign(&token).await;
    let url = data["documents"]["KTP"]["documentUrl"].as_str().unwrap();
    let response = preflight(&sim, url, "http://127.0.0.1:3000").await;
    assert!(
        !response
            .headers()
            .contains_key("access-control-allow-origin")
    );
}

/// The request a browser sends before a cross-origin PUT of an image.
async fn preflight(sim: &Sim, url: &str, origin: &str) -> Response {
    sim.http
        .request(Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

fn confirmed(id: &str) -> Value {
    json!({"success": true, "data": {"submissionId": id, "uiMessages": {
        "message_1": {"title": "Processing", "message": "Your submission is being processed"}
    }}})
}

#[tokio::test]
async fn confirm_needs_every_document_and_is_idempotent() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let data = sim.presign(&token).await;
    let id = data["submissionId"].as_str().unwrap();

    assert_eq!(
        sim.confirm(&token, id).await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"success": false, "errors": [{"code": "422", "cause": "INVALID_UPLOAD_ARTIFACT"}]})
        )
    );
    assert_eq!(
        sim.status(&token, id).await.1["data"]["status"],
        json!("INITIATED")
    );
    sim.upload_all(&data).await;
    assert_eq!(
        sim.confirm(&token, id).await,
        (StatusCode::OK, confirmed(id))
    );
    assert_eq!(
        sim.confirm(&token, id).await,
        (StatusCode::OK, confirmed(id))
    );
    assert_eq!(sim.handle.confirm_calls(id), 3);
}

#[tokio::test]
async fn a_repeated_confirm_can_conflict() {
    let sim = spawn(SimConfig {
        confirm_repeat: ConfirmRepeat::Conflict,
        ..config()
    })
    .await;
    let (token, id) = sim.submit("u1").await;
    assert_eq!(
        sim.confirm(&token, &id).await,
        (
            StatusCode::CONFLICT,
            json!({"success": false, "errors": [{"code": "409", "cause": "SUBMISSION_STATE_CONFLICT"}]})
        )
    );
    assert_eq!(sim.handle.confirm_calls(&id), 2);
}

#[tokio::test]
async fn confirm_errors_use_string_codes() {
    let sim = spawn(config()).await;
    let (_, id) = sim.submit("u1").await;
    let other = sim.token("u2").await;
    let not_found = (
        StatusCode::NOT_FOUND,
        json!({"success": false, "errors": [{"code": "404", "cause": "SUBMISSION_DOES_NOT_EXIST"}]}),
    );
    assert_eq!(sim.confirm(&other, &id).await, not_found);
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(sim.confirm(&other, &unknown).await, not_found);
    assert_eq!(sim.confirm(&other, "SUBMISSION_123").await, not_found);
    assert_eq!(
        sim.confirm("stale", &id).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "errors": [{"code": "110", "cause": "UNAUTHORIZED"}]})
        )
    );
    // Every attempt counts, whatever the answer.
    assert_eq!(sim.handle.confirm_calls(&id), 3);

    let invalid = (
        StatusCode::BAD_REQUEST,
        json!({"success": false, "errors": [{"code": "1542", "cause": "INVALID_CONFIRM_UPLOAD_REQUEST"}]}),
    );
    for bad in [
        "",
        "{",
        "{}",
        r#"{"submissionId": 7}"#,
        r#"{"submissionId": ""}"#,
    ] {
        let response = sim
            .gateway(Method::PUT, "/coe/v1/submissions/urls", &other)
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(body(response).await, invalid, "{bad}");
    }
    let response = sim
        .http
        .put(sim.url("/coe/v1/submissions/urls"))
        .header("x-onekyc-token", &other)
        .header("x-partner-session-id", SESSION)
        .json(&json!({ "submissionId": id }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(response).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "errors": [{"code": "1539", "cause": "X_SDK_SESSION_ID_CAN_NOT_BE_EMPTY"}]})
        )
    );
}

#[tokio::test]
async fn status_moves_from_initiated_to_completed() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let presigned = sim.presign(&token).await;
    let id = presigned["submissionId"].as_str().unwrap();

    let (status, body) = sim.status(&token, id).await;
    assert_eq!(status, StatusCode::OK);
    let data = &body["data"];
    assert_eq!(data["submissionId"], json!(id));
    assert_eq!(data["status"], json!("INITIATED"));
    assert_eq!(data["submissionType"], json!("KTP_SCAN"));
    assert!(data["createdAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(data["completedAt"], Value::Null);
    assert_eq!(data["verificationResult"], Value::Null);
    assert_eq!(
        data["documents"],
        json!({"KTP": {"status": "PENDING", "documentReference": null}})
    );

    sim.upload_all(&presigned).await;
    let reference = format!("{id}_KTP");
    let data = sim.status(&token, id).await.1["data"].clone();
    assert_eq!(
        data["documents"],
        json!({"KTP": {"status": "UPLOADED", "documentReference": reference}})
    );

    assert_eq!(sim.confirm(&token, id).await.0, StatusCode::OK);
    let data = sim.status(&token, id).await.1["data"].clone();
    assert_eq!(data["status"], json!("IN_PROGRESS"));
    assert_eq!(data["completedAt"], Value::Null);

    let data = sim.until_final(&token, id).await;
    assert_eq!(data["status"], json!("COMPLETED"));
    assert_eq!(
        data["verificationResult"],
        json!({"isApproved": true, "riskLevel": "LOW", "confidence": "95"})
    );
    assert_eq!(data["errorMessage"], Value::Null);
    let completed_at = data["completedAt"].as_str().unwrap();
    time::OffsetDateTime::parse(completed_at, &time::format_description::well_known::Rfc3339)
        .unwrap();
    assert_eq!(
        data["documents"],
        json!({"KTP": {"status": "VERIFIED", "documentReference": reference}})
    );
}

#[tokio::test]
async fn status_errors_use_string_codes() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let id = sim.presign(&token).await["submissionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = sim.token("u2").await;
    let not_found = (
        StatusCode::NOT_FOUND,
        json!({"success": false, "errors": [{"code": "1543", "cause": "SUBMISSION_DOES_NOT_EXIST"}]}),
    );
    assert_eq!(sim.status(&other, &id).await, not_found);
    assert_eq!(
        sim.status(&token, &uuid::Uuid::new_v4().to_string()).await,
        not_found
    );
    assert_eq!(
        sim.status(&token, "SUBMISSION_123").await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "errors": [{"code": "1541", "cause": "INVALID_SUBMISSION_ID"}]})
        )
    );
    let path = format!("/coe/v1/submissions/{id}/status");
    assert_eq!(
        sim.get(
            &path,
            &[("x-onekyc-token", &token), ("x-sdk-session-id", "s")]
        )
        .await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "errors": [{"code": "1539", "cause": "COE_PARTNER_CAN_NOT_BE_EMPTY"}]})
        )
    );
    assert_eq!(sim.status("nope", &id).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn details_of_a_valid_scan_carry_the_ktp_record() {
    let sim = spawn(config()).await;
    let (token, id) = sim.submit("u1").await;
    let (status, body) = sim.details(&token, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"success": true, "data": {
            "status": "IN_PROGRESS", "submissionId": id, "flow": "KTP_SCAN", "partnerSessionId": SESSION
        }})
    );

    sim.until_final(&token, &id).await;
    let (status, body) = sim.details(&token, &id).await;
    assert_eq!(status, StatusCode::OK);
    let data = &body["data"];
    assert_eq!(data["status"], json!("COMPLETED"));
    assert_eq!(data["submissionId"], json!(id));
    assert_eq!(data["flow"], json!("KTP_SCAN"));
    assert_eq!(data["partnerSessionId"], json!(SESSION));
    assert_eq!(data["result"], json!("VALID"));
    assert_eq!(data["reasonCode"], json!(""));
    assert!(data["processedAt"].as_str().unwrap().ends_with('Z'));
    let ktp = data["submissionDetails"]["ktpData"].as_object().unwrap();
    let fields = [
        "nik",
        "name",
        "region",
        "dateOfBirth",
        "bloodType",
        "religion",
        "province",
        "city",
        "address",
        "district",
        "town",
        "gender",
        "rt",
        "rw",
        "occupation",
        "validUntil",
        "citizenship",
        "maritalStatus",
        "issuanceDate",
    ];
    assert_eq!(ktp.len(), fields.len());
    for field in fields {
        assert!(ktp[field].is_string(), "{field}");
    }
    assert_eq!(ktp["nik"].as_str().unwrap().len(), 16);
    assert!(matches!(ktp["gender"].as_str(), Some("male" | "female")));
    assert!(data["submissionDetails"]["imageUrls"]["KTP"].is_string());

    // A partner token sees it too, and so does a lookup by session alone.
    let partner = sim.partner_token().await;
    assert_eq!(sim.details(&partner, &id).await.1, body);
    let by_session = sim
        .get(
            "/coe/v1/submissions",
            &[
                ("x-onekyc-token", &token),
                ("x-partner-session-id", SESSION),
            ],
        )
        .await;
    assert_eq!(by_session, (StatusCode::OK, body));
}

#[tokio::test]
async fn details_of_invalid_and_failed_scans() {
    let sim = spawn(config()).await;
    let (token, id) = sim.submit("u1-invalid").await;
    let status = sim.until_final(&token, &id).await;
    assert_eq!(
        status["verificationResult"],
        json!({"isApproved": false, "riskLevel": "HIGH", "confidence": "90"})
    );
    let data = sim.details(&token, &id).await.1["data"].clone();
    assert_eq!(data["status"], json!("COMPLETED"));
    assert_eq!(data["result"], json!("INVALID"));
    assert_eq!(data["reasonCode"], json!("NOT_EKTP"));
    let details = &data["submissionDetails"];
    assert!(details.get("ktpData").is_none());
    assert_eq!(
        details["rejectionReasonTranslations"]["en_ID"]["message"],
        json!("ID submitted is not eKTP")
    );
    assert_eq!(
        details["rejectionReasonTranslations"]["id_ID"]["message"],
        json!("Kartu identitas bukan eKTP")
    );

    let (token, id) = sim.submit("u1-error").await;
    let status = sim.until_final(&token, &id).await;
    assert_eq!(status["status"], json!("ERROR"));
    assert_eq!(status["verificationResult"], Value::Null);
    assert!(status["errorMessage"].is_string());
    assert!(status["completedAt"].is_string());
    assert_eq!(
        sim.details(&token, &id).await,
        (
            StatusCode::OK,
            json!({"success": true, "data": {"status": "ERROR", "reasonCode": "VERIFICATION_FAILED"}})
        )
    );
}

#[tokio::test]
async fn details_errors_use_integer_codes() {
    let sim = spawn(config()).await;
    let (token, id) = sim.submit("u1").await;
    let other = sim.token("u2").await;
    let details = "/coe/v1/submissions";
    assert_eq!(
        sim.details("nope", &id).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "data": null, "errors": [{"code": 1539, "cause": "UNAUTHORIZED"}]})
        )
    );
    assert_eq!(
        sim.get(details, &[("x-onekyc-token", &token)]).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "errors": [{"code": 1550, "cause": "PARTNER_USER_ID_CAN_NOT_BE_EMPTY"}]})
        )
    );
    let does_not_exist = (
        StatusCode::BAD_REQUEST,
        json!({"success": false, "errors": [{"code": 1552, "cause": "SUBMISSION_DOES_NOT_EXIST"}]}),
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    fn by_id<'a>(token: &'a str, id: &'a str) -> [(&'a str, &'a str); 2] {
        [("x-onekyc-token", token), ("x-submission-id", id)]
    }
    assert_eq!(
        sim.get(details, &by_id(&token, &unknown)).await,
        does_not_exist
    );
    assert_eq!(sim.get(details, &by_id(&other, &id)).await, does_not_exist);
    assert_eq!(
        sim.get(
            details,
            &[
                ("x-onekyc-token", &token),
                ("x-partner-session-id", "never-used")
            ]
        )
        .await,
        does_not_exist
    );
    assert_eq!(
        sim.details(&other, &id).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "errors": [{"code": 1553, "cause": "PARTNER_SESSION_ID_DOES_NOT_BELONG_TO_THE_USER"}]})
        )
    );
}

#[tokio::test]
async fn details_by_session_alone_answer_its_newest_submission() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(sim.presign(&token).await["submissionId"].clone());
        // Another session in between, which must not be picked.
        let other = sim
            .http
            .get(sim.url("/coe/v1/submissions/urls?submissionType=KTP_SCAN"))
            .header("x-onekyc-token", &token)
            .header("x-partner-session-id", "another-session")
            .header("x-sdk-session-id", "s")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), StatusCode::OK);
    }
    let (status, body) = sim
        .get(
            "/coe/v1/submissions",
            &[
                ("x-onekyc-token", &token),
                ("x-partner-session-id", SESSION),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["submissionId"], ids[2]);
}

#[tokio::test]
async fn revoked_tokens_are_refused_and_new_ones_work() {
    let sim = spawn(config()).await;
    let token = sim.token("u1").await;
    let kept = sim.token("u2").await;
    sim.handle.revoke_tokens("u1");
    let path = "/coe/v1/submissions/urls?submissionType=KTP_SCAN";
    let response = sim.gateway(Method::GET, path, &token).send().await.unwrap();
    assert_eq!(
        body(response).await,
        (
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "errors": [{"code": "110", "cause": "UNAUTHORIZED"}]})
        )
    );
    sim.presign(&kept).await;
    let fresh = sim.token("u1").await;
    sim.presign(&fresh).await;
    assert_eq!(sim.handle.mints("u1"), 2);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let sim = spawn(SimConfig {
        token_ttl: Duration::from_millis(100),
        ..config()
    })
    .await;
    let token = sim.token("u1").await;
    // Time passing is the point: the token's 100 ms lifetime runs out.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let path = "/coe/v1/submissions/urls?submissionType=KTP_SCAN";
    let response = sim.gateway(Method::GET, path, &token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stats_count_mints_per_user() {
    let sim = spawn(config()).await;
    for user in ["a", "a", "b"] {
        sim.token(user).await;
    }
    sim.partner_token().await;
    assert_eq!(
        sim.get("/_sim/stats", &[]).await,
        (
            StatusCode::OK,
            json!({"totalMints": 3, "mints": {"a": 2, "b": 1}})
        )
    );
    assert_eq!((sim.handle.mints("a"), sim.handle.mints("c")), (2, 0));
    assert_eq!(sim.handle.total_mints(), 3);
}

#[tokio::test]
async fn two_document_profiles_need_both_uploads() {
    let sim = spawn(SimConfig {
        documents: vec!["KTP_FRONT".to_owned(), "KTP_BACK".to_owned()],
        ..config()
    })
    .await;
    let token = sim.token("u1").await;
    let data = sim.presign(&token).await;
    let id = data["submissionId"].as_str().unwrap();
    let documents = data["documents"].as_object().unwrap();
    assert_eq!(documents.len(), 2);
    let url = |doc: &str| documents[doc]["documentUrl"].as_str().unwrap().to_owned();

    let response = sim.upload(&url("KTP_FRONT"), "image/jpeg", JPEG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        sim.confirm(&token, id).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let documents_status = sim.status(&token, id).await.1["data"]["documents"].clone();
    assert_eq!(documents_status["KTP_FRONT"]["status"], json!("UPLOADED"));
    assert_eq!(
        documents_status["KTP_BACK"],
        json!({"status": "PENDING", "documentReference": null})
    );

    let response = sim.upload(&url("KTP_BACK"), "image/png", PNG).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        sim.confirm(&token, id).await,
        (StatusCode::OK, confirmed(id))
    );
}

#[tokio::test]
async fn unknown_paths_get_an_envelope() {
    let sim = spawn(config()).await;
    let (status, body) = sim.get("/coe/v2/nothing", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["success"], json!(false));
    assert!(body["errors"][0]["cause"].is_string());
}

/// One callback as received: its `Authorization` header and its body.
type Delivery = (Option<String>, Value);

/// A partner callback endpoint that fails the first delivery of every
/// submission and records every delivery.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        async fn receive(
            State(receiver): State<Receiver>,
            headers: HeaderMap,
            axum::Json(body): axum::Json<Value>,
        ) -> StatusCode {
            let auth = headers
                .get("authorization")
                .map(|v| v.to_str().unwrap().to_owned());
            let mut seen = receiver.seen.lock().unwrap();
            let first = !seen
                .iter()
                .any(|(_, earlier)| earlier["submissionId"] == body["submissionId"]);
            seen.push((auth, body));
            if first {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            }
        }
        let app = Router::new()
            .route("/coe/submissions-callback", post(receive))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/coe/submissions-callback")
    }

    fn deliveries(&self, submission_id: &str) -> Vec<Delivery> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(_, body)| body["submissionId"] == json!(submission_id))
            .cloned()
            .collect()
    }
}

#[tokio::test]
async fn callbacks_are_authenticated_and_retried() {
    let receiver = Receiver::default();
    let url = receiver.start().await;
    let sim = spawn(SimConfig {
        callback_url: Some(url.parse().unwrap()),
        callback_auth: Some(CallbackCredential::parse("bearer:s3cret").unwrap()),
        ..config()
    })
    .await;
    let cases = [
        ("u1", json!("COMPLETED"), json!("VALID"), Value::Null),
        (
            "u1-invalid",
            json!("COMPLETED"),
            json!("INVALID"),
            json!("NOT_EKTP"),
        ),
        (
            "u1-error",
            json!("ERROR"),
            Value::Null,
            json!("VERIFICATION_FAILED"),
        ),
    ];
    let mut expected = Vec::new();
    for (user, status, result, reason) in cases {
        let (_, id) = sim.submit(user).await;
        let body =
            json!({"submissionId": id, "status": status, "result": result, "reasonCode": reason});
        expected.push((id, body));
    }
    let (silent_token, silent) = sim.submit("u1-nocallback").await;

    // processing (200 ms) + one retry (50 ms), with room to spare.
    wait_until(
        "two deliveries of each callback",
        Duration::from_secs(2),
        || async {
            expected
                .iter()
                .all(|(id, _)| receiver.deliveries(id).len() >= 2)
                .then_some(())
        },
    )
    .await;
    for (id, body) in &expected {
        let bearer = Some("Bearer s3cret".to_owned());
        assert_eq!(
            receiver.deliveries(id),
            vec![(bearer.clone(), body.clone()), (bearer, body.clone())],
            "a failed delivery, then one retry"
        );
    }
    // Had it been sent, it would be sent as the submission turns final.
    sim.until_final(&silent_token, &silent).await;
    // Nothing may arrive: give a delivery (and a retry) the time it would take.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(receiver.deliveries(&silent).is_empty());
}
