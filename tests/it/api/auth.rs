//! End-user authentication: forged, expired and
//! misdirected JWTs are refused with 401, and a user never reaches another
//! user's submissions.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gtf_bff::config::{AuthConfig, JwtKeyConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use crate::support::app::{JWT_SECRET, Reply, TestApp, spawn_app, spawn_app_with};
use crate::support::fake_gtf::{FakeGtf, json as json_reply, ready};
use crate::support::sim_config;

const RSA_PRIVATE: &str = include_str!("../../fixtures/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../../fixtures/rsa-public.pem");
const EC_PRIVATE: &str = include_str!("../../fixtures/ec-private.pem");
const EC_PUBLIC: &str = include_str!("../../fixtures/ec-public.pem");
const JWKS: &str = include_str!("../../fixtures/rsa-public.jwks.json");

const LIST: &str = "/v1/kyc/submissions";

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims a partner's identity provider would issue: valid for 10 minutes.
fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "iat": now(), "exp": now() + 600 })
}

/// `claims` with `key` replaced (or removed, for `null`).
fn claims_with(sub: &str, key: &str, value: Value) -> Value {
    let mut c = claims(sub);
    match value {
        Value::Null => c.as_object_mut().unwrap().remove(key),
        v => c.as_object_mut().unwrap().insert(key.to_owned(), v),
    };
    c
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// HS256 with the secret the test app is configured with.
fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        claims,
    )
}

fn rs256(kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    sign(Algorithm::RS256, kid, &key, claims)
}

fn es256(claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    sign(Algorithm::ES256, None, &key, claims)
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

async fn spawn_app_with_auth(auth: AuthConfig) -> TestApp {
    spawn_app_with(sim_config(), move |config| config.auth = auth).await
}

fn pem_auth(pem: &str) -> AuthConfig {
    AuthConfig {
        key: JwtKeyConfig::PublicKeyPem(pem.to_owned()),
        issuer: None,
        audience: None,
    }
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

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let app = spawn_app().await;
    let forged = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"another-secret-that-is-long-enough-0123456789"),
        &claims("alice"),
    );
    assert_unauthorized(&list_with_token(&app, &forged).await);
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_refused() {
    let app = spawn_app().await;
    let token = hs256(&claims("alice"));
    let parts: Vec<&str> = token.split('.').collect();
    let other = URL_SAFE_NO_PAD.encode(claims("mallory").to_string());
    let tampered = format!("{}.{other}.{}", parts[0], parts[2]);
    assert_unauthorized(&list_with_token(&app, &tampered).await);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let app = spawn_app().await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims("alice").to_string());
    assert_unauthorized(&list_with_token(&app, &format!("{header}.{payload}.")).await);
    // Spelled otherwise, or with a signature left over from a real token.
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"None"}"#);
    let real = hs256(&claims("alice"));
    let signature = real.rsplit('.').next().unwrap();
    assert_unauthorized(&list_with_token(&app, &format!("{header}.{payload}.{signature}")).await);
}

#[tokio::test]
async fn garbage_tokens_are_refused() {
    let app = spawn_app().await;
    for token in ["x", "a.b.c", "..", "eyJhbGciOiJIUzI1NiJ9.e30."] {
        assert_unauthorized(&list_with_token(&app, token).await);
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_beyond_the_leeway() {
    let app = spawn_app().await;
    let expired = hs256(&claims_with("alice", "exp", json!(now() - 120)));
    assert_unauthorized(&list_with_token(&app, &expired).await);
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted() {
    let app = spawn_app().await;
    let just_expired = hs256(&claims_with("alice", "exp", json!(now() - 30)));
    assert_accepted(&list_with_token(&app, &just_expired).await);
}

#[tokio::test]
async fn a_token_without_exp_is_refused() {
    let app = spawn_app().await;
    let forever = hs256(&claims_with("alice", "exp", Value::Null));
    assert_unauthorized(&list_with_token(&app, &forever).await);
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let app = spawn_app().await;
    let early = hs256(&claims_with("alice", "nbf", json!(now() + 600)));
    assert_unauthorized(&list_with_token(&app, &early).await);
    // Within the leeway, or already valid, it is fine.
    let skewed = hs256(&claims_with("alice", "nbf", json!(now() + 30)));
    assert_accepted(&list_with_token(&app, &skewed).await);
}

#[tokio::test]
async fn a_token_without_a_valid_subject_is_refused() {
    let app = spawn_app().await;
    let bad_subjects = [
        Value::Null,
        json!(""),
        json!("alice\r\nx-evil: 1"),
        json!("alice\n"),
        json!("x".repeat(129)),
        json!(42),
    ];
    for sub in bad_subjects {
        let token = hs256(&claims_with("alice", "sub", sub.clone()));
        let reply = list_with_token(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "sub {sub:?}");
        assert_unauthorized(&reply);
    }
    // 128 characters is the longest accepted.
    assert_accepted(&list_with_token(&app, &hs256(&claims(&"x".repeat(128)))).await);
}

/// An app that checks `iss` and `aud`.
async fn spawn_app_checking_issuer_and_audience() -> TestApp {
    spawn_app_with(sim_config(), |config| {
        config.auth.issuer = Some("https://idp.partner.example".into());
        config.auth.audience = Some("gtf-bff".into());
    })
    .await
}

fn claims_from(iss: Value, aud: Value) -> Value {
    let mut c = claims_with("alice", "iss", iss);
    if let Value::Null = aud {
        c.as_object_mut().unwrap().remove("aud");
    } else {
        c["aud"] = aud;
    }
    c
}

#[tokio::test]
async fn the_configured_issuer_and_audience_are_accepted() {
    let app = spawn_app_checking_issuer_and_audience().await;
    let right = claims_from(json!("https://idp.partner.example"), json!("gtf-bff"));
    assert_accepted(&list_with_token(&app, &hs256(&right)).await);
    let among_others = claims_from(
        json!("https://idp.partner.example"),
        json!(["another-api", "gtf-bff"]),
    );
    assert_accepted(&list_with_token(&app, &hs256(&among_others)).await);
}

#[tokio::test]
async fn a_wrong_issuer_is_refused_when_one_is_configured() {
    let app = spawn_app_checking_issuer_and_audience().await;
    let wrong = claims_from(json!("https://evil.example"), json!("gtf-bff"));
    assert_unauthorized(&list_with_token(&app, &hs256(&wrong)).await);
}

#[tokio::test]
async fn a_wrong_audience_is_refused_when_one_is_configured() {
    let app = spawn_app_checking_issuer_and_audience().await;
    let wrong = claims_from(json!("https://idp.partner.example"), json!("another-api"));
    assert_unauthorized(&list_with_token(&app, &hs256(&wrong)).await);
}

#[tokio::test]
async fn a_missing_issuer_is_refused_when_one_is_configured() {
    let app = spawn_app_checking_issuer_and_audience().await;
    let anonymous = claims_from(Value::Null, json!("gtf-bff"));
    assert_unauthorized(&list_with_token(&app, &hs256(&anonymous)).await);
}

#[tokio::test]
async fn a_missing_audience_is_refused_when_one_is_configured() {
    let app = spawn_app_checking_issuer_and_audience().await;
    let for_anyone = claims_from(json!("https://idp.partner.example"), Value::Null);
    assert_unauthorized(&list_with_token(&app, &hs256(&for_anyone)).await);
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_configured_public_key() {
    let app = spawn_app_with_auth(pem_auth(RSA_PUBLIC)).await;
    assert_accepted(&list_with_token(&app, &rs256(None, &claims("alice"))).await);
    // Verification still checks the claims.
    let expired = rs256(None, &claims_with("alice", "exp", json!(now() - 120)));
    assert_unauthorized(&list_with_token(&app, &expired).await);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let app = spawn_app_with_auth(pem_auth(RSA_PUBLIC)).await;
    let confused = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
        &claims("alice"),
    );
    assert_unauthorized(&list_with_token(&app, &confused).await);
    // The app's own HS256 secret means nothing once a public key is set.
    assert_unauthorized(&list_with_token(&app, &hs256(&claims("alice"))).await);
}

#[tokio::test]
async fn es256_tokens_verify_with_the_configured_public_key() {
    let app = spawn_app_with_auth(pem_auth(EC_PUBLIC)).await;
    assert_accepted(&list_with_token(&app, &es256(&claims("alice"))).await);
    // The family is pinned by the key: another algorithm is refused.
    assert_unauthorized(&list_with_token(&app, &rs256(None, &claims("alice"))).await);
    let confused = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(EC_PUBLIC.as_bytes()),
        &claims("alice"),
    );
    assert_unauthorized(&list_with_token(&app, &confused).await);
}

/// A partner identity provider publishing `JWKS` (a scripted server, which
/// counts fetches).
struct Idp(FakeGtf);

const JWKS_PATH: &str = "/.well-known/jwks.json";

impl Idp {
    fn url(&self) -> Url {
        Url::parse(&format!("{}{JWKS_PATH}", self.0.base_url)).unwrap()
    }

    fn fetches(&self) -> usize {
        self.0.hits(JWKS_PATH)
    }
}

async fn start_idp() -> Idp {
    Idp(FakeGtf::start(|_, _| ready(json_reply(200, JWKS))).await)
}

async fn spawn_app_with_jwks(idp: &Idp) -> TestApp {
    spawn_app_with_auth(AuthConfig {
        key: JwtKeyConfig::JwksUrl(idp.url()),
        issuer: None,
        audience: None,
    })
    .await
}

#[tokio::test]
async fn jwks_tokens_verify_with_the_key_their_kid_names() {
    let idp = start_idp().await;
    let app = spawn_app_with_jwks(&idp).await;
    assert_accepted(&list_with_token(&app, &rs256(Some("test-key"), &claims("alice"))).await);
}

#[tokio::test]
async fn jwks_tokens_with_an_unknown_or_no_kid_are_refused() {
    let idp = start_idp().await;
    let app = spawn_app_with_jwks(&idp).await;
    assert_eq!(idp.fetches(), 1, "fetched at start");
    for kid in ["other-key", "rotated-1", "rotated-2"] {
        let token = rs256(Some(kid), &claims("alice"));
        assert_unauthorized(&list_with_token(&app, &token).await);
    }
    assert_unauthorized(&list_with_token(&app, &rs256(None, &claims("alice"))).await);
    // Unknown kids do not make the service hammer the identity provider:
    // at most one refetch a minute, and the start was just now.
    assert_eq!(idp.fetches(), 1);
}

#[tokio::test]
async fn jwks_refuses_other_algorithms_even_with_a_known_kid() {
    let idp = start_idp().await;
    let app = spawn_app_with_jwks(&idp).await;
    let jwk: Value = serde_json::from_str(JWKS).unwrap();
    let modulus = jwk["keys"][0]["n"].as_str().unwrap();
    for (alg, secret) in [
        (Algorithm::HS256, RSA_PUBLIC.as_bytes()),
        (Algorithm::HS256, modulus.as_bytes()),
    ] {
        let token = sign(
            alg,
            Some("test-key"),
            &EncodingKey::from_secret(secret),
            &claims("alice"),
        );
        assert_unauthorized(&list_with_token(&app, &token).await);
    }
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"test-key"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims("alice").to_string());
    assert_unauthorized(&list_with_token(&app, &format!("{header}.{payload}.")).await);
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
