//! Rotating the key that seals KTP details at rest: an old key retired too
//! early would leave stored results unreadable, so the start refuses, and
//! `gtf-bff reseal` moves every record to the current key first.

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use reqwest::StatusCode;
use secrecy::SecretString;

use crate::support::app::{TestApp, spawn_app_receiving_callbacks};
use crate::support::sim_config;
use crate::support::wait::wait_until;

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

async fn result_of(app: &TestApp, user: &str, id: &str) -> reqwest::StatusCode {
    app.get(user, &format!("/v1/kyc/submissions/{id}/result"))
        .await
        .status
}

async fn result_stored(app: &TestApp, user: &str, id: &str) {
    wait_until(
        "the result to be stored",
        Duration::from_secs(15),
        || async { (result_of(app, user, id).await == StatusCode::OK).then_some(()) },
    )
    .await;
}

fn reseal(app: &TestApp, current: &str, previous: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gtf-bff"))
        .env_clear()
        .current_dir(std::env::temp_dir())
        .arg("reseal")
        .env("DATABASE_URL", app.database_url())
        .env("BFF_DATA_KEY", current)
        .env("BFF_DATA_KEY_PREVIOUS", previous)
        .output()
        .unwrap()
}

#[tokio::test]
async fn an_old_key_can_be_retired_only_after_a_reseal() {
    let (old, new) = (key(1), key(2));
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.data_key = SecretString::from(old.clone());
    })
    .await;
    let id = app.submit("ria").await;
    result_stored(&app, "ria", &id).await;

    // The new key alone: the start is refused, naming the key id, never
    // the key.
    let refused = app
        .build_sibling(|c| c.data_key = SecretString::from(new.clone()))
        .await
        .err()
        .expect("a start without the old key is refused");
    let message = format!("{refused:#}");
    assert!(message.contains("data key id"), "{message}");
    assert!(
        !message.contains(&old) && !message.contains(&new),
        "{message}"
    );

    // Rotated properly: new key, old one as previous; then reseal.
    let rotated = app
        .sibling_with(|c| {
            c.data_key = SecretString::from(new.clone());
            c.previous_data_keys = vec![SecretString::from(old.clone())];
        })
        .await;
    assert_eq!(result_of(&rotated, "ria", &id).await, StatusCode::OK);
    let out = reseal(&app, &new, &old);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Now the old key can go, and the result still opens.
    let retired = app
        .sibling_with(|c| {
            c.data_key = SecretString::from(new.clone());
            c.previous_data_keys = vec![];
        })
        .await;
    let r = retired
        .get("ria", &format!("/v1/kyc/submissions/{id}/result"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.body["ktp"]["nik"].is_string());
}

#[tokio::test]
async fn reseal_names_a_key_it_does_not_have() {
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.data_key = SecretString::from(key(3));
    })
    .await;
    let id = app.submit("sam").await;
    result_stored(&app, "sam", &id).await;
    let out = reseal(&app, &key(4), "");
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("data key id"), "{stderr}");
    assert!(!stderr.contains(&key(3)), "{stderr}");
}
