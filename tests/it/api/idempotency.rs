//! `Idempotency-Key` on `POST /v1/kyc/submissions`: a
//! retried create answers the first submission without asking GTF again.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::app::{
    Reply, TestApp, gtf_error, gtf_presigning, presign_ok, spawn_app, spawn_app_against,
    spawn_app_against_waiting, working_gtf,
};
use crate::support::fake_gtf::{FakeGtf, TOKEN_PATH, URLS_PATH, after, ready, token_ok};
use crate::support::wait::wait_until;

const CREATE: &str = "/v1/kyc/submissions";

/// A create by `user` with `Idempotency-Key: key` and an optional JSON body.
async fn create_keyed(app: &TestApp, user: &str, key: &str, body: Option<Value>) -> Reply {
    let mut req = app
        .request(Method::POST, CREATE, Some(user))
        .header("idempotency-key", key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    app.send(req).await
}

#[track_caller]
fn assert_created(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    reply.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_same_key_twice_answers_the_first_submission_without_calling_gtf_again() {
    let fake = FakeGtf::start(working_gtf).await;
    let app = spawn_app_against(&fake).await;

    let first = create_keyed(&app, "alice", "key-1", None).await;
    let id = assert_created(&first);
    assert_eq!(first.header("idempotent-replayed"), None);

    let second = create_keyed(&app, "alice", "key-1", None).await;
    assert_eq!(assert_created(&second), id);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.header("location"), first.header("location"));
    assert_eq!(second.body, first.body, "the same submission, unchanged");

    // The explicit default type is the same request as no body.
    let third = create_keyed(&app, "alice", "key-1", Some(json!({"type": "KTP_SCAN"}))).await;
    assert_eq!(assert_created(&third), id);
    assert_eq!(third.header("idempotent-replayed"), Some("true"));

    assert_eq!(fake.hits(URLS_PATH), 1, "GTF presigned once");
    assert_eq!(app.submission_rows().await, 1);
}

#[tokio::test]
async fn a_key_reused_for_another_type_is_refused() {
    let app = spawn_app().await;
    assert_created(&create_keyed(&app, "alice", "key-1", None).await);

    let other = create_keyed(&app, "alice", "key-1", Some(json!({"type": "FACE_MATCH"}))).await;
    other.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(app.submission_rows().await, 1);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let fake = FakeGtf::start(working_gtf).await;
    let app = spawn_app_against(&fake).await;
    let alices = assert_created(&create_keyed(&app, "alice", "shared-key", None).await);

    let bobs = create_keyed(&app, "bob", "shared-key", None).await;
    assert_ne!(assert_created(&bobs), alices);
    assert_eq!(bobs.header("idempotent-replayed"), None);
    assert_eq!(fake.hits(URLS_PATH), 2);
    assert_eq!(app.submission_rows().await, 2);
    // And Alice's replay is still hers.
    let again = create_keyed(&app, "alice", "shared-key", None).await;
    assert_eq!(assert_created(&again), alices);
}

#[tokio::test]
async fn different_keys_make_different_submissions() {
    let fake = FakeGtf::start(working_gtf).await;
    let app = spawn_app_against(&fake).await;
    let a = assert_created(&create_keyed(&app, "alice", "key-a", None).await);
    let b = assert_created(&create_keyed(&app, "alice", "key-b", None).await);
    assert_ne!(a, b);
    assert_eq!(fake.hits(URLS_PATH), 2);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_submission() {
    let fake = FakeGtf::start(working_gtf).await;
    let app = spawn_app_against(&fake).await;

    let replies = join_all((0..20).map(|_| create_keyed(&app, "alice", "burst", None))).await;

    let ids: Vec<&str> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    assert!(!ids.is_empty(), "at least one succeeds: {replies:?}");
    assert!(ids.iter().all(|id| *id == ids[0]), "one id: {ids:?}");
    for reply in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        reply.assert_problem(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_IN_USE");
    }
    let fresh = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED && r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "exactly one request created it");
    assert_eq!(app.submission_rows().await, 1);
    assert_eq!(fake.hits(URLS_PATH), 1);
}

#[tokio::test]
async fn a_request_while_the_first_with_its_key_runs_waits_then_gets_409() {
    // GTF takes longer to presign than a second request waits (5 s).
    let fake = gtf_presigning(|n| after(Duration::from_secs(6), presign_ok(n))).await;
    let app = spawn_app_against_waiting(&fake, Duration::from_secs(10)).await;

    let (first, second) = tokio::join!(create_keyed(&app, "alice", "slow", None), async {
        // The first holds the key once it is at GTF.
        wait_until(
            "the first create to reach GTF",
            Duration::from_secs(5),
            || async { (fake.hits(URLS_PATH) == 1).then_some(()) },
        )
        .await;
        create_keyed(&app, "alice", "slow", None).await
    });
    second.assert_problem(StatusCode::CONFLICT, "IDEMPOTENCY_KEY_IN_USE");
    assert!(second.header("retry-after").is_some());
    let id = assert_created(&first);
    assert_eq!(fake.hits(URLS_PATH), 1, "never a second submission");
    // Once the first is done, the key replays it.
    let third = create_keyed(&app, "alice", "slow", None).await;
    assert_eq!(assert_created(&third), id);
    assert_eq!(third.header("idempotent-replayed"), Some("true"));
}

/// Waits until GTF has been asked for its `n`-th presign.
async fn until_presigning(fake: &FakeGtf, n: usize) {
    for _ in 0..500 {
        if fake.hits(URLS_PATH) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("GTF was not asked for presign {n}");
}

/// Makes the hold on every running create's key lapse now, as if the
/// create had run past it.
async fn lapse_holds(app: &TestApp) {
    sqlx::query(
        "UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE submission_id IS NULL",
    )
    .execute(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_key_is_held_for_as_long_as_gtf_may_take() {
    let fake = gtf_presigning(|n| after(Duration::from_secs(1), presign_ok(n))).await;
    let gtf_timeout = Duration::from_secs(60);
    let app = spawn_app_against_waiting(&fake, gtf_timeout).await;

    let (created, held_for) = tokio::join!(create_keyed(&app, "alice", "long", None), async {
        until_presigning(&fake, 1).await;
        sqlx::query_scalar::<_, f64>(
            "SELECT extract(epoch FROM locked_until - now())::float8 FROM idempotency_keys",
        )
        .fetch_one(&app.db)
        .await
        .unwrap()
    });
    assert_created(&created);
    // A presign may take a token mint and the presign, 3 attempts each, and
    // both again when GTF refuses the token: the key must outlast them all.
    let every_attempt = (gtf_timeout * 12).as_secs_f64();
    assert!(
        held_for > every_attempt && held_for < every_attempt + 300.0,
        "held for {held_for} s"
    );
}

#[tokio::test]
async fn a_request_whose_key_was_taken_over_answers_its_successors_submission() {
    // The first presign is slow; meanwhile the first request's hold lapses
    // and a second request with the key takes it over.
    let fake = gtf_presigning(|n| match n {
        1 => after(Duration::from_millis(1500), presign_ok(n)),
        _ => ready(presign_ok(n)),
    })
    .await;
    let app = spawn_app_against_waiting(&fake, Duration::from_secs(5)).await;

    let (first, second) = tokio::join!(create_keyed(&app, "alice", "lapsed", None), async {
        until_presigning(&fake, 1).await;
        lapse_holds(&app).await;
        create_keyed(&app, "alice", "lapsed", None).await
    });
    let id = assert_created(&second);
    assert_eq!(second.header("idempotent-replayed"), None);
    // The first can no longer complete the key: it answers what a retry
    // would, never a submission of its own.
    assert_eq!(assert_created(&first), id);
    assert_eq!(first.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.submission_rows().await, 1);
    assert_eq!(
        fake.hits(URLS_PATH),
        2,
        "the first's GTF submission is orphaned"
    );
    let third = create_keyed(&app, "alice", "lapsed", None).await;
    assert_eq!(assert_created(&third), id);
}

#[tokio::test]
async fn a_request_whose_key_was_taken_over_cannot_release_it() {
    // The first presign fails late, after a second request with the key has
    // taken it over; the second's presign is slower still.
    let fake = gtf_presigning(|n| match n {
        1 => after(
            Duration::from_millis(1000),
            gtf_error(500, "GENERIC_SERVICE_ERROR"),
        ),
        2 => after(Duration::from_millis(2500), presign_ok(n)),
        _ => ready(presign_ok(n)),
    })
    .await;
    let app = spawn_app_against_waiting(&fake, Duration::from_secs(5)).await;
    let first_done = tokio::sync::Notify::new();

    let (first, (second, third)) = tokio::join!(
        async {
            let reply = create_keyed(&app, "alice", "shared", None).await;
            first_done.notify_one();
            reply
        },
        async {
            until_presigning(&fake, 1).await;
            lapse_holds(&app).await;
            tokio::join!(create_keyed(&app, "alice", "shared", None), async {
                // After the first failed, the key is still the second's: a
                // third request waits for it instead of starting anew.
                first_done.notified().await;
                create_keyed(&app, "alice", "shared", None).await
            })
        }
    );
    first.assert_problem(StatusCode::BAD_GATEWAY, "GTF_ERROR");
    let id = assert_created(&second);
    assert_eq!(assert_created(&third), id);
    assert_eq!(third.header("idempotent-replayed"), Some("true"));
    assert_eq!(app.submission_rows().await, 1);
    assert_eq!(fake.hits(URLS_PATH), 2, "no third presign");
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_create_gets_its_submission_on_retry() {
    // A phone on a bad network gives up while GTF presigns, and retries
    // with the same key: the first create still finishes, and the retry
    // answers it, instead of finding the key held for minutes.
    let fake = gtf_presigning(|n| after(Duration::from_secs(1), presign_ok(n))).await;
    let app = spawn_app_against_waiting(&fake, Duration::from_secs(10)).await;

    let gave_up = app
        .request(Method::POST, CREATE, Some("alice"))
        .header("idempotency-key", "flaky")
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));

    let retried = create_keyed(&app, "alice", "flaky", None).await;
    assert_created(&retried);
    assert_eq!(retried.header("idempotent-replayed"), Some("true"));
    assert_eq!(fake.hits(URLS_PATH), 1, "GTF presigned once");
    assert_eq!(app.submission_rows().await, 1);
}

#[tokio::test]
async fn a_failed_first_request_leaves_the_key_free_for_a_retry() {
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (TOKEN_PATH, _) => ready(token_ok(n, 3600)),
        (URLS_PATH, 1) => ready(gtf_error(500, "GENERIC_SERVICE_ERROR")),
        _ => working_gtf(path, n),
    })
    .await;
    let app = spawn_app_against(&fake).await;
    let failed = create_keyed(&app, "alice", "retry-me", None).await;
    failed.assert_problem(StatusCode::BAD_GATEWAY, "GTF_ERROR");

    let retried = create_keyed(&app, "alice", "retry-me", None).await;
    assert_created(&retried);
    assert_eq!(retried.header("idempotent-replayed"), None);
    assert_eq!(app.submission_rows().await, 1);
}

#[tokio::test]
async fn malformed_keys_are_refused() {
    let app = spawn_app().await;
    for key in ["k".repeat(256), "tab\there".to_owned(), String::new()] {
        let reply = create_keyed(&app, "alice", &key, None).await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "INVALID_HEADER");
    }
    let non_ascii = app
        .send(
            app.request(Method::POST, CREATE, Some("alice"))
                .header("idempotency-key", &b"caf\xc3\xa9"[..]),
        )
        .await;
    non_ascii.assert_problem(StatusCode::BAD_REQUEST, "INVALID_HEADER");
    assert_eq!(app.submission_rows().await, 0);
    // 255 printable characters is the longest accepted.
    assert_created(&create_keyed(&app, "alice", &"k".repeat(255), None).await);
}
