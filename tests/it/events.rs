//! `GET /v1/kyc/submissions/{id}/events`: Server-Sent Events that follow a
//! submission whichever replica changes it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::support::app::{TestApp, spawn_app, spawn_app_receiving_callbacks};
use crate::support::sim_config;

/// Reads `event: submission` payloads until the server ends the stream;
/// `opened` hears when the first has arrived.
async fn read_events(
    app: &TestApp,
    user: &str,
    id: &str,
    opened: oneshot::Sender<()>,
) -> Vec<Value> {
    let mut resp = app
        .request(
            Method::GET,
            &format!("/v1/kyc/submissions/{id}/events"),
            Some(user),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut buf = String::new();
    let mut opened = Some(opened);
    let read_all = async {
        while let Some(chunk) = resp.chunk().await.unwrap() {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            if buf.contains("event: submission")
                && let Some(opened) = opened.take()
            {
                let _ = opened.send(());
            }
        }
    };
    let ended = tokio::time::timeout(Duration::from_secs(15), read_all).await;
    assert!(ended.is_ok(), "the stream did not end; it sent: {buf}");
    buf.split("\n\n")
        .filter(|frame| frame.lines().any(|l| l == "event: submission"))
        .map(|frame| {
            let data = frame
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .unwrap();
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

#[tokio::test]
async fn the_stream_follows_a_change_made_by_another_replica_to_the_end() {
    // GTF calls back replica A; the app listens on replica B.
    let a = spawn_app_receiving_callbacks(sim_config(), |_| {}).await;
    let b = a.sibling().await;
    let created = a.create("ivan").await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let (opened, first_event) = oneshot::channel();
    let watcher = tokio::spawn({
        let id = id.clone();
        async move { read_events(&b, "ivan", &id, opened).await }
    });
    // The stream is subscribed once it has sent the submission as it is.
    tokio::time::timeout(Duration::from_secs(10), first_event)
        .await
        .expect("the stream sends the submission at once")
        .expect("the watcher ended before the first event");
    a.upload_all(&created.body).await;
    assert_eq!(a.confirm("ivan", &id).await.status, StatusCode::OK);

    let events = watcher.await.unwrap();
    let statuses: Vec<&str> = events
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.first(),
        Some(&"AWAITING_UPLOAD"),
        "{statuses:?}: the submission at once"
    );
    assert!(statuses.contains(&"PROCESSING"), "{statuses:?}");
    let last = events.last().unwrap();
    assert_eq!(last["status"], "COMPLETED", "{statuses:?}");
    assert_eq!(last["result"], "VALID");
}

#[tokio::test]
async fn the_stream_is_only_for_the_owner() {
    let app = spawn_app().await;
    let id = app.create("judy").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/kyc/submissions/{id}/events");
    let r = app.call(Method::GET, &path, Some("mallory")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "SUBMISSION_NOT_FOUND");
    let r = app.call(Method::GET, &path, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
