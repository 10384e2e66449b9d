//! End-user authentication over HTTP: a refused token is a 401 problem
//! with a Bearer challenge, and a user never reaches another user's
//! submissions. Every way a token is refused (forged, expired,
//! misdirected, `alg: none`, HS/RS confusion, JWKS kids) is tested on
//! `JwtVerifier` itself, in `src/auth/verify/tests.rs`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gtf_bff::config::{AuthConfig, JwtKeyConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::app::{JWT_SECRET, Reply, TestApp, spawn_app, spawn_app_with};
use crate::support::sim_config;

const RSA_PRIVATE: &str = include_str!("../../fixtures/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../../fixtures/rsa-public.pem");

const LIST: &str = "/v1/kyc/submissions";

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims a partner's identity provider would issue: valid for 10 minutes.
fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "iat": now(), "exp": now() + 600 })
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

/// HS256 with the secret the test app is configured with.
fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        claims,
    )
}

fn rs256(claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    sign(Algorithm::RS256, &key, claims)
}

/// Lists the caller's submissions with this `Authorization` header value.
async fn list_with_authorization(app: &TestApp, authorization: &str) -> Reply {
    app.send(
        app.request(Method::GET, LIST, None)
            .header("authorization", authorization),
    )
    .await
}

async fn list_with_token(app: &TestApp, token: &str) -> Reply {
    list_with_authorization(app, &format!("Bearer {token}")).await
}

#[track_caller]
fn assert_accepted(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert!(reply.body["items"].is_array(), "{:?}", reply.body);
}

#[track_caller]
fn assert_unauthorized(reply: &Reply) {
    reply.assert_problem(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let challenge = reply.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{challenge:?}");
}

#[tokio::test]
async fn a_request_without_a_token_is_refused() {
    let app = spawn_app().await;
    let reply = app.send(app.request(Method::GET, LIST, None)).await;
    assert_unauthorized(&reply);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn a_scheme_other_than_bearer_is_refused() {
    let app = spawn_app().await;
    let valid = hs256(&claims("alice"));
    for authorization in [
        "Basic YWxpY2U6c2VjcmV0".to_owned(),
        format!("Token {valid}"),
        valid.clone(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
    ] {
        let reply = list_with_authorization(&app, &authorization).await;
        assert_unauthorized(&reply);
    }
    // The same token with the right scheme is fine.
    assert_accepted(&list_with_token(&app, &valid).await);
}

/// Whatever the verifier refuses a token for, the answer is the same 401.
#[tokio::test]
async fn a_refused_token_is_a_401_problem_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-secret-that-is-long-enough-0123456789"),
        &claims("alice"),
    );
    let mut expired = claims("alice");
    expired["exp"] = json!(now() - 120);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims("alice").to_string())
    );
    let mut early = claims("alice");
    early["nbf"] = json!(now() + 600);
    let mut no_subject = claims("alice");
    no_subject.as_object_mut().unwrap().remove("sub");
    let mut bad_subject = claims("alice");
    bad_subject["sub"] = json!("alice\r\nx-evil: 1");
    for token in [
        forged,
        hs256(&expired),
        hs256(&early),
        none,
        hs256(&no_subject),
        hs256(&bad_subject),
        "x".into(),
    ] {
        assert_unauthorized(&list_with_token(&app, &token).await);
    }
}

/// The configured key is the one requests are verified with.
#[tokio::test]
async fn a_configured_public_key_replaces_the_secret() {
    let app = spawn_app_with(sim_config(), |config| {
        config.auth = AuthConfig {
            key: JwtKeyConfig::PublicKeyPem(RSA_PUBLIC.to_owned()),
            issuer: None,
            audience: None,
        }
    })
    .await;
    assert_accepted(&list_with_token(&app, &rs256(&claims("alice"))).await);
    assert_unauthorized(&list_with_token(&app, &hs256(&claims("alice"))).await);
}

/// A problem body without its `requestId`, which differs per request.
fn without_request_id(reply: &Reply) -> Value {
    let mut body = reply.body.clone();
    body.as_object_mut().unwrap().remove("requestId");
    body
}

#[tokio::test]
async fn another_users_submission_is_indistinguishable_from_a_missing_one() {
    let app = spawn_app().await;
    let created = app.create("alice").await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let unknown = uuid::Uuid::new_v4().to_string();

    for (method, path) in [
        (Method::GET, "/v1/kyc/submissions/{id}"),
        (Method::POST, "/v1/kyc/submissions/{id}/confirm"),
        (Method::GET, "/v1/kyc/submissions/{id}/result"),
        (Method::GET, "/v1/kyc/submissions/{id}?refresh=true"),
    ] {
        let theirs = app
            .call(method.clone(), &path.replace("{id}", id), Some("bob"))
            .await;
        theirs.assert_problem(StatusCode::NOT_FOUND, "SUBMISSION_NOT_FOUND");
        let missing = app
            .call(method, &path.replace("{id}", &unknown), Some("bob"))
            .await;
        missing.assert_problem(StatusCode::NOT_FOUND, "SUBMISSION_NOT_FOUND");
        assert_eq!(without_request_id(&theirs), without_request_id(&missing));
    }

    let list = app.get("bob", LIST).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["items"], json!([]));
    // Bob's attempts changed nothing for Alice.
    let gtf_id = created.body["gtfSubmissionId"].as_str().unwrap();
    assert_eq!(app.sim.confirm_calls(gtf_id), 0);
    let mine = app.get("alice", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["status"], "AWAITING_UPLOAD");
    assert_eq!(app.get("alice", LIST).await.body["items"][0]["id"], id);
}
