//! `GET /v1/kyc/submissions/{id}/events`: Server-Sent Events that follow a
//! submission whichever replica changes it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::support::app::{
    Reply, TestApp, spawn_app, spawn_app_receiving_callbacks, spawn_app_with,
};
use crate::support::sim_config;

/// `user`'s event stream of submission `id`, answered as one.
async fn stream(app: &TestApp, user: &str, id: &str) -> reqwest::Response {
    let resp = app
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
    resp
}

/// Reads `event: submission` payloads until the server ends the stream;
/// `opened` hears when the first has arrived.
async fn read_events(
    app: &TestApp,
    user: &str,
    id: &str,
    opened: oneshot::Sender<()>,
) -> Vec<Value> {
    let mut resp = stream(app, user, id).await;
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

/// Opens an event stream and waits for its first event; the stream stays
/// open as long as the response is held.
async fn open_stream(app: &TestApp, user: &str, id: &str) -> reqwest::Response {
    let mut resp = stream(app, user, id).await;
    assert!(resp.chunk().await.unwrap().is_some(), "the first event");
    resp
}

/// A stream that is refused; one that opens fails the test (its body
/// never ends).
async fn try_stream(app: &TestApp, user: &str, id: &str) -> Reply {
    let request = app.request(
        Method::GET,
        &format!("/v1/kyc/submissions/{id}/events"),
        Some(user),
    );
    app.send(request.timeout(Duration::from_secs(5))).await
}

fn open_gauge(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("sse_streams_open "))
        .expect("sse_streams_open")
        .parse()
        .unwrap()
}

async fn awaiting_upload(app: &TestApp, user: &str) -> String {
    let created = app.create(user).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_user_may_hold_five_streams_and_one_more_is_429() {
    let app = spawn_app().await;
    let id = awaiting_upload(&app, "uma").await;
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(open_stream(&app, "uma", &id).await);
    }
    try_stream(&app, "uma", &id)
        .await
        .assert_problem(StatusCode::TOO_MANY_REQUESTS, "TOO_MANY_STREAMS");

    // Another user is not affected.
    let other = awaiting_upload(&app, "vic").await;
    let vic = open_stream(&app, "vic", &other).await;
    assert_eq!(open_gauge(&app.metrics().await), 6);

    // A stream the client closes gives its slot back.
    held.pop();
    let mut reopened = None;
    for _ in 0..50 {
        let mut resp = app
            .request(
                Method::GET,
                &format!("/v1/kyc/submissions/{id}/events"),
                Some("uma"),
            )
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::OK {
            assert!(resp.chunk().await.unwrap().is_some());
            reopened = Some(resp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reopened.is_some(),
        "the closed stream's slot was not given back"
    );

    drop((held, vic, reopened));
    let mut open = u64::MAX;
    for _ in 0..50 {
        open = open_gauge(&app.metrics().await);
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0, "every slot is given back");
}

#[tokio::test]
async fn streams_beyond_the_process_limit_are_503_with_retry_after() {
    let app = spawn_app_with(sim_config(), |c| c.streams.total = 2).await;
    let (a, b, c) = (
        awaiting_upload(&app, "wes").await,
        awaiting_upload(&app, "xia").await,
        awaiting_upload(&app, "yan").await,
    );
    let _held = (
        open_stream(&app, "wes", &a).await,
        open_stream(&app, "xia", &b).await,
    );
    let r = try_stream(&app, "yan", &c).await;
    r.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "STREAMS_EXHAUSTED");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn a_stream_ends_cleanly_at_the_end_of_its_lifetime() {
    let app = spawn_app_with(sim_config(), |c| {
        c.streams.max_lifetime = Duration::from_secs(1);
    })
    .await;
    let id = awaiting_upload(&app, "zoe").await;
    let started = std::time::Instant::now();
    let (opened, _) = oneshot::channel();
    let events = read_events(&app, "zoe", &id, opened).await;
    let lived = started.elapsed();
    assert_eq!(events.len(), 1, "the submission as it is");
    assert_eq!(events[0]["status"], "AWAITING_UPLOAD");
    assert!(lived >= Duration::from_millis(900), "{lived:?}");
    assert!(lived < Duration::from_secs(5), "{lived:?}");
}
