//! `JwtVerifier` on its own: every way a token is refused, and why, for
//! each kind of key; JWKS keys come from a small identity provider served
//! on 127.0.0.1. The HTTP side (401, problem+json, `WWW-Authenticate`) is
//! the integration tests'.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::*;

const SECRET: &str = "test-jwt-secret-that-is-long-enough-0123456789";
const RSA_PRIVATE: &str = include_str!("../../../tests/fixtures/rsa-private.pem");
const RSA_PUBLIC: &str = include_str!("../../../tests/fixtures/rsa-public.pem");
const EC_PRIVATE: &str = include_str!("../../../tests/fixtures/ec-private.pem");
const EC_PUBLIC: &str = include_str!("../../../tests/fixtures/ec-public.pem");
/// `RSA_PUBLIC` as a key set, under the `kid` "test-key".
const JWKS: &str = include_str!("../../../tests/fixtures/rsa-public.jwks.json");

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

/// HS256 with `SECRET`.
fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()),
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

/// An unsigned token: `header` and the claims, base64url, and `signature`.
fn unsigned(header: &str, claims: &Value, signature: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(header);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.{signature}")
}

async fn verifier(key: JwtKeyConfig) -> JwtVerifier {
    JwtVerifier::new(&AuthConfig {
        key,
        issuer: None,
        audience: None,
    })
    .await
    .expect("the verifier builds")
}

/// Verifies with `SECRET`, as the integration tests' app is configured.
async fn hs256_verifier() -> JwtVerifier {
    verifier(JwtKeyConfig::Secret(SecretString::from(SECRET))).await
}

async fn pem_verifier(pem: &str) -> JwtVerifier {
    verifier(JwtKeyConfig::PublicKeyPem(pem.to_owned())).await
}

/// Checks `iss` and `aud` too.
async fn verifier_checking_issuer_and_audience() -> JwtVerifier {
    JwtVerifier::new(&AuthConfig {
        key: JwtKeyConfig::Secret(SecretString::from(SECRET)),
        issuer: Some("https://idp.partner.example".into()),
        audience: Some("gtf-bff".into()),
    })
    .await
    .unwrap()
}

#[track_caller]
fn assert_accepted(verified: Result<PartnerUserId, AuthError>, sub: &str) {
    match verified {
        Ok(user) => assert_eq!(user.as_str(), sub),
        Err(reason) => panic!("refused ({reason:?}) a token for {sub:?}"),
    }
}

#[track_caller]
fn assert_refused(verified: Result<PartnerUserId, AuthError>, why: AuthError) {
    match verified {
        Ok(_) => panic!("accepted a token that should be refused as {why:?}"),
        Err(reason) => assert_eq!(reason, why),
    }
}

// ------------------------------------------------------------ signatures

#[tokio::test]
async fn a_token_signed_with_the_secret_is_accepted_for_its_subject() {
    let v = hs256_verifier().await;
    assert_accepted(v.verify(&hs256(&claims("alice"))).await, "alice");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let v = hs256_verifier().await;
    let forged = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(b"another-secret-that-is-long-enough-0123456789"),
        &claims("alice"),
    );
    assert_refused(v.verify(&forged).await, AuthError::Signature);
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_refused() {
    let v = hs256_verifier().await;
    let token = hs256(&claims("alice"));
    let parts: Vec<&str> = token.split('.').collect();
    let other = URL_SAFE_NO_PAD.encode(claims("mallory").to_string());
    let tampered = format!("{}.{other}.{}", parts[0], parts[2]);
    assert_refused(v.verify(&tampered).await, AuthError::Signature);
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_refused() {
    let v = hs256_verifier().await;
    let c = claims("alice");
    let none = unsigned(r#"{"alg":"none","typ":"JWT"}"#, &c, "");
    assert_refused(v.verify(&none).await, AuthError::Malformed);
    // Spelled otherwise, or with a signature left over from a real token.
    let real = hs256(&c);
    let signature = real.rsplit('.').next().unwrap();
    let spelled = unsigned(r#"{"alg":"None"}"#, &c, signature);
    assert_refused(v.verify(&spelled).await, AuthError::Malformed);
}

#[tokio::test]
async fn garbage_tokens_are_refused() {
    let v = hs256_verifier().await;
    for token in ["x", "a.b.c", ".."] {
        assert_refused(v.verify(token).await, AuthError::Malformed);
    }
    // A well-formed HS256 header and empty claims, without a signature.
    let no_signature = "eyJhbGciOiJIUzI1NiJ9.e30.";
    assert_refused(v.verify(no_signature).await, AuthError::Signature);
}

// ------------------------------------------------------------ time claims

#[tokio::test]
async fn an_expired_token_is_refused_beyond_the_leeway() {
    let v = hs256_verifier().await;
    let expired = hs256(&claims_with("alice", "exp", json!(now() - 120)));
    assert_refused(v.verify(&expired).await, AuthError::Expired);
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_accepted() {
    let v = hs256_verifier().await;
    let just_expired = hs256(&claims_with("alice", "exp", json!(now() - 30)));
    assert_accepted(v.verify(&just_expired).await, "alice");
}

#[tokio::test]
async fn a_token_verified_once_is_refused_when_it_expires_later() {
    let v = hs256_verifier().await;
    // Valid for two more seconds thanks to the leeway, then expired.
    let expiring = hs256(&claims_with(
        "alice",
        "exp",
        json!(now() - LEEWAY_SECS as i64 + 2),
    ));
    assert_accepted(v.verify(&expiring).await, "alice");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_refused(v.verify(&expiring).await, AuthError::Expired);
}

#[tokio::test]
async fn a_token_without_exp_is_refused() {
    let v = hs256_verifier().await;
    let forever = hs256(&claims_with("alice", "exp", Value::Null));
    assert_refused(v.verify(&forever).await, AuthError::Malformed);
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let v = hs256_verifier().await;
    let early = hs256(&claims_with("alice", "nbf", json!(now() + 600)));
    assert_refused(v.verify(&early).await, AuthError::NotYetValid);
    // Within the leeway, or already valid, it is fine.
    let skewed = hs256(&claims_with("alice", "nbf", json!(now() + 30)));
    assert_accepted(v.verify(&skewed).await, "alice");
}

// ------------------------------------------------------------ the subject

#[tokio::test]
async fn a_token_without_a_valid_subject_is_refused() {
    let v = hs256_verifier().await;
    let bad_subjects = [
        json!(""),
        json!("alice\r\nx-evil: 1"),
        json!("alice\n"),
        json!("x".repeat(129)),
    ];
    for sub in bad_subjects {
        let token = hs256(&claims_with("alice", "sub", sub.clone()));
        match v.verify(&token).await {
            Ok(_) => panic!("sub {sub:?} accepted"),
            Err(reason) => assert_eq!(reason, AuthError::Subject, "sub {sub:?}"),
        }
    }
    // Without a string subject the claims do not parse at all: jsonwebtoken
    // reads them before it checks the required ones.
    for sub in [Value::Null, json!(42)] {
        let token = hs256(&claims_with("alice", "sub", sub.clone()));
        match v.verify(&token).await {
            Ok(_) => panic!("sub {sub:?} accepted"),
            Err(reason) => assert_eq!(reason, AuthError::Malformed, "sub {sub:?}"),
        }
    }
    // 128 characters is the longest accepted.
    let longest = "x".repeat(128);
    assert_accepted(v.verify(&hs256(&claims(&longest))).await, &longest);
}

// ------------------------------------------------------- issuer, audience

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
    let v = verifier_checking_issuer_and_audience().await;
    let right = claims_from(json!("https://idp.partner.example"), json!("gtf-bff"));
    assert_accepted(v.verify(&hs256(&right)).await, "alice");
    let among_others = claims_from(
        json!("https://idp.partner.example"),
        json!(["another-api", "gtf-bff"]),
    );
    assert_accepted(v.verify(&hs256(&among_others)).await, "alice");
}

#[tokio::test]
async fn a_wrong_issuer_is_refused_when_one_is_configured() {
    let v = verifier_checking_issuer_and_audience().await;
    let wrong = claims_from(json!("https://evil.example"), json!("gtf-bff"));
    assert_refused(v.verify(&hs256(&wrong)).await, AuthError::Issuer);
}

#[tokio::test]
async fn a_wrong_audience_is_refused_when_one_is_configured() {
    let v = verifier_checking_issuer_and_audience().await;
    let wrong = claims_from(json!("https://idp.partner.example"), json!("another-api"));
    assert_refused(v.verify(&hs256(&wrong)).await, AuthError::Audience);
}

#[tokio::test]
async fn a_missing_issuer_is_refused_when_one_is_configured() {
    let v = verifier_checking_issuer_and_audience().await;
    let anonymous = claims_from(Value::Null, json!("gtf-bff"));
    assert_refused(v.verify(&hs256(&anonymous)).await, AuthError::Issuer);
}

#[tokio::test]
async fn a_missing_audience_is_refused_when_one_is_configured() {
    let v = verifier_checking_issuer_and_audience().await;
    let for_anyone = claims_from(json!("https://idp.partner.example"), Value::Null);
    assert_refused(v.verify(&hs256(&for_anyone)).await, AuthError::Audience);
}

// ------------------------------------------------------------ public keys

#[tokio::test]
async fn rs256_tokens_verify_with_the_configured_public_key() {
    let v = pem_verifier(RSA_PUBLIC).await;
    assert_accepted(v.verify(&rs256(None, &claims("alice"))).await, "alice");
    // Verification still checks the claims.
    let expired = rs256(None, &claims_with("alice", "exp", json!(now() - 120)));
    assert_refused(v.verify(&expired).await, AuthError::Expired);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let v = pem_verifier(RSA_PUBLIC).await;
    let confused = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
        &claims("alice"),
    );
    assert_refused(v.verify(&confused).await, AuthError::Algorithm);
    // An HS256 secret means nothing once a public key is set.
    assert_refused(
        v.verify(&hs256(&claims("alice"))).await,
        AuthError::Algorithm,
    );
}

#[tokio::test]
async fn es256_tokens_verify_with_the_configured_public_key() {
    let v = pem_verifier(EC_PUBLIC).await;
    assert_accepted(v.verify(&es256(&claims("alice"))).await, "alice");
    // The family is pinned by the key: another algorithm is refused.
    assert_refused(
        v.verify(&rs256(None, &claims("alice"))).await,
        AuthError::Algorithm,
    );
    let confused = sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(EC_PUBLIC.as_bytes()),
        &claims("alice"),
    );
    assert_refused(v.verify(&confused).await, AuthError::Algorithm);
}

// ------------------------------------------------------------------ JWKS

/// A partner identity provider on 127.0.0.1 publishing a key set that the
/// test can replace, counting fetches. It stops with the test's runtime.
struct Idp {
    url: Url,
    jwks: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl Idp {
    async fn start(jwks: &str) -> Self {
        let served = Arc::new(Mutex::new(jwks.to_owned()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (set, count) = (served.clone(), fetches.clone());
        let app = Router::new().route(
            "/.well-known/jwks.json",
            get(move || async move {
                count.fetch_add(1, Ordering::SeqCst);
                let body = set.lock().unwrap().clone();
                ([("content-type", "application/json")], body)
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: Url::parse(&format!("http://{addr}/.well-known/jwks.json")).unwrap(),
            jwks: served,
            fetches,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// From now on, the key set names its key `kid`.
    fn rotate_to(&self, kid: &str) {
        let mut set: Value = serde_json::from_str(JWKS).unwrap();
        set["keys"][0]["kid"] = json!(kid);
        *self.jwks.lock().unwrap() = set.to_string();
    }

    async fn verifier(&self) -> JwtVerifier {
        verifier(JwtKeyConfig::JwksUrl(self.url.clone())).await
    }
}

/// Makes the verifier's last fetch of the key set `JWKS_REFETCH` old, as if
/// a minute had passed.
async fn age_last_fetch(v: &JwtVerifier) {
    let Keys::Jwks(jwks) = &v.keys else {
        panic!("not a JWKS verifier")
    };
    *jwks.last_fetch.lock().await = Instant::now()
        .checked_sub(JWKS_REFETCH)
        .expect("the clock is past one minute");
}

#[tokio::test]
async fn jwks_tokens_verify_with_the_key_their_kid_names() {
    let idp = Idp::start(JWKS).await;
    let v = idp.verifier().await;
    assert_eq!(idp.fetches(), 1, "fetched at start");
    let token = rs256(Some("test-key"), &claims("alice"));
    assert_accepted(v.verify(&token).await, "alice");
}

#[tokio::test]
async fn a_token_verified_before_its_key_was_withdrawn_is_refused_after_the_reload() {
    let idp = Idp::start(JWKS).await;
    let v = idp.verifier().await;
    let old = rs256(Some("test-key"), &claims("alice"));
    assert_accepted(v.verify(&old).await, "alice");
    // The provider withdraws "test-key"; a token naming the new kid makes
    // the verifier reload the set.
    idp.rotate_to("rotated-1");
    age_last_fetch(&v).await;
    let rotated = rs256(Some("rotated-1"), &claims("alice"));
    assert_accepted(v.verify(&rotated).await, "alice");
    assert_eq!(idp.fetches(), 2);
    assert_refused(v.verify(&old).await, AuthError::UnknownKey);
}

#[tokio::test]
async fn a_jwks_url_without_a_key_set_stops_the_start() {
    let idp = Idp::start("not a key set").await;
    let built = JwtVerifier::new(&AuthConfig {
        key: JwtKeyConfig::JwksUrl(idp.url.clone()),
        issuer: None,
        audience: None,
    })
    .await;
    assert!(built.is_err());
}

#[tokio::test]
async fn jwks_tokens_with_an_unknown_or_no_kid_are_refused() {
    let idp = Idp::start(JWKS).await;
    let v = idp.verifier().await;
    assert_eq!(idp.fetches(), 1, "fetched at start");
    for kid in ["other-key", "rotated-1", "rotated-2"] {
        let token = rs256(Some(kid), &claims("alice"));
        assert_refused(v.verify(&token).await, AuthError::UnknownKey);
    }
    assert_refused(
        v.verify(&rs256(None, &claims("alice"))).await,
        AuthError::UnknownKey,
    );
    // Unknown kids do not make the service hammer the identity provider:
    // at most one refetch a minute, and the start was just now.
    assert_eq!(idp.fetches(), 1);
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_key_set_at_most_once_a_minute() {
    let idp = Idp::start(JWKS).await;
    let v = idp.verifier().await;
    // The provider rotates its key; within the minute, the new kid is
    // unknown and nothing is fetched.
    idp.rotate_to("rotated-1");
    let rotated = rs256(Some("rotated-1"), &claims("alice"));
    assert_refused(v.verify(&rotated).await, AuthError::UnknownKey);
    assert_eq!(idp.fetches(), 1);
    // A minute later, one unknown kid refetches the set, and the new kid
    // verifies; the old one is gone with the old set.
    age_last_fetch(&v).await;
    assert_accepted(v.verify(&rotated).await, "alice");
    assert_eq!(idp.fetches(), 2);
    let old = rs256(Some("test-key"), &claims("alice"));
    for _ in 0..3 {
        assert_refused(v.verify(&old).await, AuthError::UnknownKey);
    }
    assert_eq!(idp.fetches(), 2, "one refetch, however many tokens ask");
}

#[tokio::test]
async fn jwks_refuses_other_algorithms_even_with_a_known_kid() {
    let idp = Idp::start(JWKS).await;
    let v = idp.verifier().await;
    let jwk: Value = serde_json::from_str(JWKS).unwrap();
    let modulus = jwk["keys"][0]["n"].as_str().unwrap();
    for secret in [RSA_PUBLIC.as_bytes(), modulus.as_bytes()] {
        let token = sign(
            Algorithm::HS256,
            Some("test-key"),
            &EncodingKey::from_secret(secret),
            &claims("alice"),
        );
        assert_refused(v.verify(&token).await, AuthError::Algorithm);
    }
    let none = unsigned(r#"{"alg":"none","kid":"test-key"}"#, &claims("alice"), "");
    assert_refused(v.verify(&none).await, AuthError::Malformed);
}

/// A refresh schedule short enough for a test.
const QUICK: Refresh = Refresh {
    default: Duration::from_millis(100),
    min: Duration::from_millis(50),
    max: Duration::from_secs(1),
    retry: Duration::from_millis(50),
};

#[tokio::test]
async fn a_key_the_provider_withdrew_stops_being_accepted_without_any_unknown_kid() {
    let idp = Idp::start(JWKS).await;
    let v = Arc::new(idp.verifier().await);
    let stop = CancellationToken::new();
    v.refresh_in_background(QUICK, stop.clone());
    let token = rs256(Some("test-key"), &claims("alice"));
    assert_accepted(v.verify(&token).await, "alice");
    // The provider withdraws "test-key"; only tokens naming it arrive.
    idp.rotate_to("rotated-1");
    let deadline = Instant::now() + Duration::from_secs(5);
    while v.verify(&token).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the withdrawn key is still accepted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_refused(v.verify(&token).await, AuthError::UnknownKey);
    assert_accepted(
        v.verify(&rs256(Some("rotated-1"), &claims("alice"))).await,
        "alice",
    );
    stop.cancel();
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_set_and_is_retried() {
    let idp = Idp::start(JWKS).await;
    let v = Arc::new(idp.verifier().await);
    let stop = CancellationToken::new();
    v.refresh_in_background(QUICK, stop.clone());
    *idp.jwks.lock().unwrap() = "not a key set".to_owned();
    let before = idp.fetches();
    let deadline = Instant::now() + Duration::from_secs(5);
    while idp.fetches() < before + 3 {
        assert!(
            Instant::now() < deadline,
            "the failed refresh is not retried"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let token = rs256(Some("test-key"), &claims("alice"));
    assert_accepted(v.verify(&token).await, "alice");
    stop.cancel();
}

#[test]
fn the_providers_max_age_is_followed_within_bounds() {
    assert_eq!(
        max_age("public, max-age=300"),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        max_age("Max-Age=\"30\", must-revalidate"),
        Some(Duration::from_secs(30))
    );
    assert_eq!(max_age("no-cache"), None);
    let r = JWKS_REFRESH;
    assert_eq!(r.after(None), Duration::from_secs(600));
    assert_eq!(
        r.after(Some(Duration::from_secs(5))),
        Duration::from_secs(60)
    );
    assert_eq!(
        r.after(Some(Duration::from_secs(86_400))),
        Duration::from_secs(3600)
    );
    assert_eq!(
        r.after(Some(Duration::from_secs(900))),
        Duration::from_secs(900)
    );
}
