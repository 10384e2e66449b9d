//! The binary as an operator meets it.

use std::process::Command;

fn gtf_bff(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gtf-bff"));
    // Start from nothing, so neither the developer's environment nor a .env
    // file decides the outcome.
    cmd.env_clear().current_dir(std::env::temp_dir()).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_missing_variable_stops_the_start_with_one_line_naming_it() {
    let out = gtf_bff(&["sim"], &[("GTF_PASS_KEY", "p")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "gtf-bff: configuration error: GTF_CLIENT_ID: is required but not set\n"
    );
}

#[test]
fn a_malformed_variable_is_named_without_a_panic() {
    let out = gtf_bff(
        &["sim"],
        &[
            ("GTF_CLIENT_ID", "c"),
            ("GTF_PASS_KEY", "p"),
            ("SIM_PROCESSING_MS", "soon"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("SIM_PROCESSING_MS"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn token_prints_a_jwt_for_the_user() {
    let secret = "a-test-secret-that-is-long-enough-0123";
    let out = gtf_bff(&["token", "--sub", "alice"], &[("AUTH_JWT_SECRET", secret)]);
    assert!(out.status.success());
    let jwt = String::from_utf8(out.stdout).unwrap();
    let claims: serde_json::Value = {
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.validate_aud = false;
        jsonwebtoken::decode(
            jwt.trim(),
            &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()),
            &v,
        )
        .unwrap()
        .claims
    };
    assert_eq!(claims["sub"], "alice");
}

#[test]
fn every_command_says_what_it_does() {
    let out = gtf_bff(&["--help"], &[]);
    let help = String::from_utf8(out.stdout).unwrap();
    for command in ["serve", "migrate", "sim", "token"] {
        assert!(help.contains(command), "{help}");
    }
}

#[test]
fn serve_refuses_a_request_timeout_that_leaves_gtf_no_time() {
    let key = crate::support::app::data_key();
    let mut env = vec![
        ("DATABASE_URL", "postgres://u@127.0.0.1:9/db"),
        ("GTF_TOKEN_BASE_URL", "http://127.0.0.1:9"),
        ("GTF_API_BASE_URL", "http://127.0.0.1:9"),
        ("GTF_CLIENT_ID", "c"),
        ("GTF_PASS_KEY", "p"),
        ("GTF_ONBOARDING_PARTNER", "P-BE-COE_KTP_SCAN"),
        ("GTF_PARTNER_USER_ID_TYPE", "T"),
        ("AUTH_JWT_SECRET", crate::support::app::JWT_SECRET),
        ("CALLBACK_AUTH", crate::support::app::CALLBACK_AUTH),
        ("BFF_DATA_KEY", key.as_str()),
        // GTF_TIMEOUT_MS is 10 s by default: 12 s leave 7 s for it.
        ("HTTP_REQUEST_TIMEOUT_SECS", "12"),
    ];
    let out = gtf_bff(&["serve"], &env);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("gtf-bff: configuration error: HTTP_REQUEST_TIMEOUT_SECS: "),
        "{stderr}"
    );
    // With a shorter GTF timeout the same request timeout is fine: the
    // start goes on to the (unreachable) database.
    env.push(("GTF_TIMEOUT_MS", "5000"));
    let out = gtf_bff(&["serve"], &env);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("HTTP_REQUEST_TIMEOUT_SECS"), "{stderr}");
}
