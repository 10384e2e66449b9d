//! Signed webhooks to the partner's own systems, delivered to real HTTP
//! receivers that check signatures with the `standardwebhooks` crate.

use std::time::Duration;

use gtf_bff::config::WebhookConfig;
use gtf_bff::domain::EventType;
use gtf_bff::webhooks::WebhookSecret;
use reqwest::StatusCode;
use sqlx::PgPool;

use gtf_bff::auth::issue::issue_hs256;
use gtf_bff::config::TokenIssuerConfig;
use secrecy::SecretString;
use serde_json::Value;

use crate::support::app::{JWT_SECRET, TestApp, spawn_app_receiving_callbacks};
use crate::support::binary::Service;
use crate::support::db::TestDb;
use crate::support::receiver::{Answer, Delivery, Receiver, secret};
use crate::support::wait::wait_until;
use crate::support::{JPEG, sim_config, start_sim};

fn config(urls: &[&str], secrets: &[String], schedule: &[u64], timeout_ms: u64) -> WebhookConfig {
    WebhookConfig {
        endpoints: urls.iter().map(|u| u.parse().unwrap()).collect(),
        secrets: secrets
            .iter()
            .map(|s| WebhookSecret::parse(s).unwrap())
            .collect(),
        events: EventType::ALL.to_vec(),
        timeout: Duration::from_millis(timeout_ms),
        retry_schedule: schedule
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect(),
    }
}

async fn app_sending_to(webhooks: WebhookConfig) -> TestApp {
    spawn_app_receiving_callbacks(sim_config(), |c| c.webhooks = webhooks).await
}

/// `(status, attempts, last_response)` of every delivery to `endpoint`.
async fn deliveries_to(db: &PgPool, endpoint: &str) -> Vec<(String, i32, Option<String>)> {
    sqlx::query_as(
        "SELECT status, attempts, last_response FROM webhook_deliveries WHERE endpoint = $1 ORDER BY seq",
    )
    .bind(endpoint)
    .fetch_all(db)
    .await
    .unwrap()
}

/// Waits until the deliveries to `endpoint` are as `done` says.
async fn settled_deliveries(
    db: &PgPool,
    endpoint: &str,
    done: impl Fn(&[(String, i32, Option<String>)]) -> bool,
) -> Vec<(String, i32, Option<String>)> {
    wait_until(
        "the deliveries to settle",
        Duration::from_secs(15),
        || async {
            let rows = deliveries_to(db, endpoint).await;
            done(&rows).then_some(rows)
        },
    )
    .await
}

fn of<'a>(got: &'a [Delivery], submission: &str, kind: &str) -> Vec<&'a Delivery> {
    got.iter()
        .filter(|d| d.body["data"]["id"] == submission && d.kind() == kind)
        .collect()
}

#[tokio::test]
async fn a_whole_flow_is_told_as_processing_then_completed_signed_and_without_personal_data() {
    let key = secret(1);
    let receiver = Receiver::accepting(&key).await;
    let app = app_sending_to(config(
        &[&receiver.url],
        std::slice::from_ref(&key),
        &[100],
        2000,
    ))
    .await;
    let id = app.submit("wendy").await;
    let got = receiver
        .wait_for("completed", |d| {
            d.iter().any(|d| d.kind() == "kyc.submission.completed")
        })
        .await;
    let kinds: Vec<&str> = got.iter().map(Delivery::kind).collect();
    assert_eq!(
        kinds,
        ["kyc.submission.processing", "kyc.submission.completed"]
    );
    assert!(
        got.iter().all(|d| d.verified),
        "standardwebhooks accepts each"
    );
    assert_ne!(got[0].id, got[1].id, "one webhook-id per event");

    let completed = &got[1];
    assert_eq!(completed.headers["content-type"], "application/json");
    let data = &completed.body["data"];
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["status"], "COMPLETED");
    assert_eq!(data["result"], "VALID");
    assert_eq!(data["partnerUserId"], "wendy");
    assert_eq!(
        got[0].body["data"]["status"], "PROCESSING",
        "a snapshot of its change"
    );
    assert!(data.get("uploads").is_none() && data.get("ktp").is_none());
    assert!(completed.body["timestamp"].as_str().unwrap().ends_with('Z'));
    let result = app
        .get("wendy", &format!("/v1/kyc/submissions/{id}/result"))
        .await;
    let raw = String::from_utf8_lossy(&completed.raw);
    for field in ["nik", "name", "address"] {
        let value = result.body["ktp"][field].as_str().unwrap();
        assert!(!raw.contains(value), "{field} is in the webhook body");
    }

    // The receiver's check can fail: a tampered body, or a stale timestamp
    // even with its own valid signature for it.
    let wh = standardwebhooks::Webhook::new(&key).unwrap();
    let mut tampered = completed.raw.to_vec();
    tampered.extend_from_slice(b" ");
    assert!(wh.verify(&tampered, &completed.headers).is_err());
    let stale = time::OffsetDateTime::now_utc().unix_timestamp() - 600;
    let mut headers = completed.headers.clone();
    headers.insert("webhook-timestamp", stale.to_string().parse().unwrap());
    let resigned = wh.sign(&completed.id, stale, &completed.raw).unwrap();
    headers.insert("webhook-signature", resigned.parse().unwrap());
    assert!(wh.verify(&completed.raw, &headers).is_err());
}

#[tokio::test]
async fn a_failed_attempt_is_sent_again_with_the_same_webhook_id() {
    let key = secret(2);
    let receiver =
        Receiver::start(&key, |_, n| Answer::Status(if n == 1 { 500 } else { 200 })).await;
    let app = app_sending_to(config(&[&receiver.url], &[key], &[100, 100], 2000)).await;
    app.submit("xena").await;
    let got = receiver
        .wait_for("both events, each retried once", |d| d.len() == 4)
        .await;
    assert_eq!(got[0].id, got[1].id);
    assert_eq!(got[0].raw, got[1].raw, "the same body");
    assert_eq!(got[2].id, got[3].id);
    settled_deliveries(&app.db, &receiver.url, |rows| {
        rows.len() == 2
            && rows
                .iter()
                .all(|(status, attempts, _)| status == "succeeded" && *attempts == 2)
    })
    .await;
}

#[tokio::test]
async fn timeouts_refused_connections_and_redirects_fail_on_schedule_then_are_marked_failed() {
    let key = secret(3);
    let hanging = Receiver::start(&key, |_, _| Answer::Hang).await;
    let refusing = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hooks", l.local_addr().unwrap())
    };
    let target = Receiver::accepting(&key).await;
    let target_url = target.url.clone();
    let redirecting = Receiver::start(&key, move |_, _| Answer::Redirect(target_url.clone())).await;
    let app = app_sending_to(config(
        &[&hanging.url, &refusing, &redirecting.url],
        &[key],
        &[50, 50],
        300,
    ))
    .await;
    app.submit("yuri").await;

    for (endpoint, why) in [
        (&hanging.url, "timed out"),
        (&refusing, "could not connect"),
        (&redirecting.url, "redirect not followed"),
    ] {
        let rows = settled_deliveries(&app.db, endpoint, |rows| {
            rows.len() == 2 && rows.iter().all(|(s, _, _)| s == "failed")
        })
        .await;
        for (status, attempts, response) in &rows {
            assert_eq!(status, "failed", "{endpoint}");
            assert_eq!(*attempts, 3, "one attempt and the schedule's two retries");
            assert!(
                response.as_deref().unwrap_or_default().contains(why),
                "{response:?}"
            );
        }
    }
    assert!(hanging.deliveries().len() == 6 && redirecting.deliveries().len() == 6);
    assert!(
        target.deliveries().is_empty(),
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn a_submissions_events_wait_for_each_other_but_not_for_other_submissions() {
    let key = secret(4);
    // Olive's endpoint refuses her `processing` event until it is failed.
    let receiver = Receiver::start(&key, |d, _| {
        let olive = d.body["data"]["partnerUserId"] == "olive";
        Answer::Status(if olive && d.kind() == "kyc.submission.processing" {
            503
        } else {
            204
        })
    })
    .await;
    let app = app_sending_to(config(&[&receiver.url], &[key], &[600, 600], 2000)).await;
    let olive = app.submit("olive").await;
    let otto = app.submit("otto").await;
    let got = receiver
        .wait_for("olive's completed", |d| {
            !of(d, &olive, "kyc.submission.completed").is_empty()
        })
        .await;
    let at = |d: &Delivery| got.iter().position(|g| std::ptr::eq(g, d)).unwrap();
    let olive_processing = of(&got, &olive, "kyc.submission.processing");
    assert_eq!(olive_processing.len(), 3, "tried, retried twice, failed");
    let last_try = at(olive_processing[2]);
    assert!(at(of(&got, &olive, "kyc.submission.completed")[0]) > last_try);
    assert!(
        at(of(&got, &otto, "kyc.submission.completed")[0]) < last_try,
        "otto's events did not wait for olive's"
    );
}

#[tokio::test]
async fn two_replicas_send_each_event_once() {
    let key = secret(5);
    let receiver = Receiver::accepting(&key).await;
    let a = app_sending_to(config(&[&receiver.url], &[key], &[100], 2000)).await;
    let b = a.sibling().await;
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        app.submit(&format!("zoe-{i}")).await;
    }
    receiver.wait_for("ten events", |d| d.len() >= 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // any duplicate would land by now
    let got = receiver.deliveries();
    let mut ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((got.len(), ids.len()), (10, 10), "each event once");
}

#[tokio::test]
async fn with_two_secrets_both_sign_and_a_receiver_holding_either_accepts() {
    let (old, new) = (secret(6), secret(7));
    let holds_old = Receiver::accepting(&old).await;
    let holds_new = Receiver::accepting(&new).await;
    let app = app_sending_to(config(
        &[&holds_old.url, &holds_new.url],
        &[old, new],
        &[100],
        2000,
    ))
    .await;
    app.submit("vera").await;
    for receiver in [&holds_old, &holds_new] {
        let got = receiver.wait_for("two events", |d| d.len() == 2).await;
        assert!(got.iter().all(|d| d.verified));
        let signature = got[0].headers["webhook-signature"].to_str().unwrap();
        assert_eq!(
            signature
                .split(' ')
                .filter(|s| s.starts_with("v1,"))
                .count(),
            2
        );
    }
}

#[tokio::test]
async fn a_change_that_rolls_back_has_no_event_and_one_that_commits_keeps_it_across_a_restart() {
    let key = secret(8);
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = down.clone();
    let receiver = Receiver::start(&key, move |_, _| {
        Answer::Status(if flag.load(std::sync::atomic::Ordering::SeqCst) {
            503
        } else {
            204
        })
    })
    .await;
    let mut app = app_sending_to(config(
        &[&receiver.url],
        &[key],
        &[100, 100, 100, 100],
        2000,
    ))
    .await;
    let created = app.create("uma").await;
    app.upload_all(&created.body).await;
    let id = created.body["id"].as_str().unwrap().to_owned();

    // The event's insert fails, so the confirm's change rolls back whole.
    sqlx::query(
        "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'no events now'; END $$",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("CREATE TRIGGER refuse_event BEFORE INSERT ON webhook_events FOR EACH ROW EXECUTE FUNCTION refuse_event()")
        .execute(&app.db)
        .await
        .unwrap();
    let refused = app.confirm("uma", &id).await;
    assert!(refused.status.is_server_error(), "{:?}", refused.body);
    let s = app.get("uma", &format!("/v1/kyc/submissions/{id}")).await;
    assert_eq!(
        s.body["status"], "AWAITING_UPLOAD",
        "the change rolled back"
    );
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_events")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(events, 0);

    sqlx::query("DROP TRIGGER refuse_event ON webhook_events")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(app.confirm("uma", &id).await.status, StatusCode::OK);
    // Committed while the receiver is down; then the service restarts.
    receiver
        .wait_for("a refused attempt", |d| !d.is_empty())
        .await;
    let next = app.sibling().await;
    app.shut_down_and_wait().await;
    let refused = receiver.deliveries().len();
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    let got = receiver
        .wait_for("processing, once the receiver is back", |d| {
            d[refused.min(d.len())..]
                .iter()
                .any(|d| d.kind() == "kyc.submission.processing")
        })
        .await;
    assert!(got.iter().all(|d| d.body["data"]["id"] == id.as_str()));
    settled_deliveries(&next.db, &receiver.url, |rows| {
        rows.first()
            .is_some_and(|(status, _, _)| status == "succeeded")
    })
    .await;
}

/// The real binary, killed with SIGKILL while an attempt is under way: the
/// next process delivers it once the killed one's lease lapses.
#[tokio::test]
async fn a_delivery_cut_off_by_a_sigkill_is_sent_by_the_next_process() {
    let key = secret(9);
    let receiver = Receiver::start(&key, |_, n| {
        if n == 1 {
            Answer::Hang
        } else {
            Answer::Status(204)
        }
    })
    .await;
    let sim = start_sim(sim_config()).await;
    let db = TestDb::new().await;
    // A delivery's lease: WEBHOOK_TIMEOUT_MS + 10 s.
    let service = Service::new(
        &db.url,
        &sim.base_url(),
        &[
            ("WEBHOOK_URLS", &receiver.url),
            ("WEBHOOK_SECRET", &key),
            ("WEBHOOK_TIMEOUT_MS", "2000"),
        ],
    );
    let mut first = service.start().await;
    let http = reqwest::Client::new();
    let token = issue_hs256(
        &TokenIssuerConfig {
            secret: SecretString::from(JWT_SECRET),
            issuer: None,
            audience: None,
        },
        "kim",
        Duration::from_secs(600),
    )
    .unwrap();
    let created: Value = http
        .post(format!("{}/v1/kyc/submissions", service.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for upload in created["uploads"].as_array().unwrap() {
        http.put(upload["url"].as_str().unwrap())
            .header("content-type", "image/jpeg")
            .body(JPEG)
            .send()
            .await
            .unwrap();
    }
    let confirmed = http
        .post(format!(
            "{}/v1/kyc/submissions/{}/confirm",
            service.base_url,
            created["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);

    let cut = receiver
        .wait_for("the first attempt", |d| d.len() == 1)
        .await;
    first.kill(); // mid-attempt: the receiver has not answered
    let _second = service.start().await;
    let got = wait_until(
        "the attempt again, from the next process",
        Duration::from_secs(60),
        || async {
            let got = receiver.deliveries();
            (got.len() >= 2).then_some(got)
        },
    )
    .await;
    assert_eq!(got[1].id, cut[0].id, "the same event");
    assert!(got[1].verified);
    let pool = PgPool::connect(&db.url).await.unwrap();
    settled_deliveries(&pool, &receiver.url, |rows| {
        rows.first()
            .is_some_and(|(status, _, _)| status == "succeeded")
    })
    .await;
    pool.close().await;
}

#[tokio::test]
async fn deliveries_are_counted_and_follow_the_retention() {
    let key = secret(10);
    let receiver = Receiver::accepting(&key).await;
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.webhooks = config(&[&receiver.url], std::slice::from_ref(&key), &[100], 2000);
        c.retention = Duration::from_secs(1);
    })
    .await;
    app.submit("lia").await;
    receiver.wait_for("two events", |d| d.len() == 2).await;
    let metrics = app.metrics().await;
    for series in [
        r#"webhook_deliveries_total{type="kyc.submission.completed",outcome="succeeded"}"#,
        "webhook_attempt_duration_seconds_count",
        "webhook_oldest_pending_seconds",
    ] {
        assert!(metrics.contains(series), "{series} missing");
    }
    wait_until("delivered events to be purged", Duration::from_secs(15), || async {
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM webhook_deliveries) + (SELECT count(*) FROM webhook_events)",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        (left == 0).then_some(())
    })
    .await;
}
