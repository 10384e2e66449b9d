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

/// The variables `.env.example` sets, as `serve` would read them.
fn env_example() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"))
        .expect(".env.example");
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn serve_refuses_the_published_demo_secrets_unless_told_it_is_a_demo() {
    let mut env = env_example();
    env.push((
        "DATABASE_URL".into(),
        "postgres://nobody@127.0.0.1:1/none".into(),
    ));
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = gtf_bff(&["serve"], &pairs);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("is the demo value published"), "{stderr}");
    // One line, naming the variable, never the value.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for (_, secret) in gtf_bff::config::PUBLISHED_DEMO_SECRETS {
        assert!(!stderr.contains(secret), "{stderr}");
    }

    // With BFF_DEMO=true the same configuration gets past the check (and
    // fails later, on the database that is not there).
    let mut demo = pairs.clone();
    demo.retain(|(k, _)| *k != "BFF_DEMO");
    demo.push(("BFF_DEMO", "true"));
    let out = gtf_bff(&["serve"], &demo);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("configuration error"), "{stderr}");
    assert!(
        stderr.contains("BFF_DEMO=true"),
        "the start warns: {stderr}"
    );
}

#[test]
fn a_short_callback_secret_stops_the_start_without_echoing_it() {
    let key = crate::support::app::data_key();
    // A 31-character secret, alone or beside a long one, in any form.
    let short = "short-secret-of-31-characters-x";
    for auth in [
        format!("bearer:{short}"),
        format!("{},basic:gtf:{short}", crate::support::app::CALLBACK_AUTH),
        format!("header:X-Gtf-Key:{short}"),
    ] {
        let out = gtf_bff(
            &["serve"],
            &[
                ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none"),
                ("GTF_TOKEN_BASE_URL", "http://127.0.0.1:1"),
                ("GTF_API_BASE_URL", "http://127.0.0.1:1"),
                ("GTF_CLIENT_ID", "c"),
                ("GTF_PASS_KEY", "p"),
                ("GTF_ONBOARDING_PARTNER", "o"),
                ("GTF_PARTNER_USER_ID_TYPE", "t"),
                ("AUTH_JWT_SECRET", crate::support::app::JWT_SECRET),
                ("BFF_DATA_KEY", &key),
                ("CALLBACK_AUTH", &auth),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{auth}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("CALLBACK_AUTH"), "{stderr}");
        assert!(stderr.contains("32"), "{stderr}");
        assert!(!stderr.contains(short), "{stderr}");
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
