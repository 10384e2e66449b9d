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
    for command in ["serve", "migrate", "sim", "demo", "token"] {
        assert!(help.contains(command), "{help}");
    }
}
