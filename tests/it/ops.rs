//! `/ops/v1`, the operator API: who may use it (scopes), looking through
//! every user's submissions, erasing a user's personal data (and keeping it
//! erased when GTF's result comes late), the access audit log, and sending
//! webhooks again. A real server, database and simulator; webhooks reach
//! real receivers that verify them with the `standardwebhooks` crate.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use gtf_bff::auth::issue::issue_hs256_with_scope;
use gtf_bff::config::{TokenIssuerConfig, WebhookConfig};
use gtf_bff::domain::EventType;
use gtf_bff::webhooks::WebhookSecret;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::app::{JWT_SECRET, Reply, TestApp, spawn_app_receiving_callbacks};
use crate::support::receiver::{Answer, Receiver, secret};
use crate::support::wait::wait_until;
use crate::support::{client, session, sim_config, user};

const ADMIN: &str = "kyc:read kyc:admin";
const READ: &str = "kyc:read";

fn issuer(iss: Option<&str>) -> TokenIssuerConfig {
    TokenIssuerConfig {
        secret: SecretString::from(JWT_SECRET),
        issuer: iss.map(str::to_owned),
        audience: None,
    }
}

/// An operator's token, as the identity provider (or `gtf-bff token
/// --scope`) would sign it.
fn operator(sub: &str, scope: &str) -> String {
    issue_hs256_with_scope(&issuer(None), sub, Some(scope), Duration::from_secs(600)).unwrap()
}

/// `method` on `path` with `token`.
async fn ops(app: &TestApp, method: Method, path: &str, token: &str) -> Reply {
    app.send(app.request(method, path, None).bearer_auth(token))
        .await
}

/// The same, sending `x-request-id: request_id`.
async fn ops_as(app: &TestApp, method: Method, path: &str, token: &str, request_id: &str) -> Reply {
    app.send(
        app.request(method, path, None)
            .bearer_auth(token)
            .header("x-request-id", request_id),
    )
    .await
}

#[track_caller]
fn assert_ok(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
}

fn webhooks_to(urls: &[&str], key: &str, schedule_ms: &[u64]) -> WebhookConfig {
    WebhookConfig {
        endpoints: urls.iter().map(|u| u.parse().unwrap()).collect(),
        secrets: vec![WebhookSecret::parse(key).unwrap()],
        events: EventType::ALL.to_vec(),
        timeout: Duration::from_secs(2),
        retry_schedule: schedule_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect(),
    }
}

/// Submits for `user` and waits until the callback has finished it.
async fn completed(app: &TestApp, user: &str) -> String {
    let id = app.submit(user).await;
    app.wait_for_status(user, &id, "COMPLETED").await;
    id
}

fn result_path(id: &str) -> String {
    format!("/v1/kyc/submissions/{id}/result")
}

fn ops_result_path(id: &str) -> String {
    format!("/ops/v1/submissions/{id}/result")
}

#[tokio::test]
async fn the_operator_api_takes_the_same_tokens_and_wants_its_scopes() {
    const ISS: &str = "https://idp.example";
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.auth.issuer = Some(ISS.to_owned());
    })
    .await;
    let token = |sub: &str, scope: Option<&str>| {
        issue_hs256_with_scope(&issuer(Some(ISS)), sub, scope, Duration::from_secs(600)).unwrap()
    };
    let signed = |claims: Value| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    // A submission to act on, by an end user with a token of this issuer.
    let end_user = token("lena", None);
    let created = app
        .send(
            app.request(Method::POST, "/v1/kyc/submissions", None)
                .bearer_auth(&end_user),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let reads = [
        (Method::GET, "/ops/v1/submissions".to_owned()),
        (Method::GET, format!("/ops/v1/submissions/{id}")),
        (Method::GET, "/ops/v1/audit".to_owned()),
    ];
    let actions = [
        (Method::POST, format!("/ops/v1/submissions/{id}/refresh")),
        (Method::DELETE, "/ops/v1/users/someone-else".to_owned()),
        (
            Method::POST,
            format!("/ops/v1/webhooks/{}/resend", uuid::Uuid::new_v4()),
        ),
    ];
    let refused = [
        ("no token at all", None, StatusCode::UNAUTHORIZED),
        (
            "an expired operator token",
            Some(signed(json!({
                "sub": "agent", "iss": ISS, "scope": ADMIN, "iat": now - 7200, "exp": now - 3600
            }))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "an operator token of another issuer",
            Some(signed(json!({
                "sub": "agent", "iss": "https://evil.example", "scope": ADMIN, "exp": now + 600
            }))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "a token without any scope",
            Some(token("agent", None)),
            StatusCode::FORBIDDEN,
        ),
        (
            "an end user's own token",
            Some(end_user.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            "scopes that only look alike",
            Some(token("agent", Some("kyc:readonly kyc kyc:Admin"))),
            StatusCode::FORBIDDEN,
        ),
    ];
    for (what, token, status) in &refused {
        for (method, path) in reads.iter().chain(&actions) {
            let mut req = app.request(method.clone(), path, None);
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            let reply = app.send(req).await;
            let code = if *status == StatusCode::FORBIDDEN {
                "FORBIDDEN"
            } else {
                "UNAUTHORIZED"
            };
            reply.assert_problem(*status, code);
            assert!(
                reply.header("www-authenticate").is_some(),
                "{what}, {method} {path}"
            );
        }
    }

    // kyc:read looks, but may not act.
    let reader = token("agent-read", Some(READ));
    for (method, path) in &reads {
        assert_ok(&ops(&app, method.clone(), path, &reader).await);
    }
    for (method, path) in &actions {
        let reply = ops(&app, method.clone(), path, &reader).await;
        reply.assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");
        assert_eq!(
            reply.header("www-authenticate"),
            Some(r#"Bearer error="insufficient_scope", scope="kyc:admin""#)
        );
    }
    let resend_failed = app
        .send(
            app.request(Method::POST, "/ops/v1/webhooks/resend-failed", None)
                .bearer_auth(&reader)
                .json(&json!({ "since": "2020-01-01T00:00:00Z" })),
        )
        .await;
    resend_failed.assert_problem(StatusCode::FORBIDDEN, "FORBIDDEN");

    // kyc:admin does everything, granted as `scope` or as an `scp` array.
    let admins = [
        token("agent-admin", Some("kyc:admin")),
        signed(json!({ "sub": "agent-scp", "iss": ISS, "scp": ["kyc:admin"], "exp": now + 600 })),
    ];
    for admin in &admins {
        for (method, path) in &reads {
            assert_ok(&ops(&app, method.clone(), path, admin).await);
        }
        let refreshed = ops(
            &app,
            Method::POST,
            &format!("/ops/v1/submissions/{id}/refresh"),
            admin,
        )
        .await;
        assert_ok(&refreshed);
        assert_eq!(refreshed.body["status"], "AWAITING_UPLOAD");
        assert_ok(&ops(&app, Method::DELETE, "/ops/v1/users/someone-else", admin).await);
        let unknown = ops(&app, Method::POST, &actions[2].1, admin).await;
        unknown.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
        let resent = app
            .send(
                app.request(Method::POST, "/ops/v1/webhooks/resend-failed", None)
                    .bearer_auth(admin)
                    .json(&json!({ "since": "2020-01-01T00:00:00Z" })),
            )
            .await;
        assert_ok(&resent);
        assert_eq!(resent.body, json!({ "resent": 0 }));
    }
    // And the end user's own API is no wider for an operator's token: it
    // acts as the user its `sub` names, who has no submissions.
    let as_user = app
        .send(
            app.request(Method::GET, &format!("/v1/kyc/submissions/{id}"), None)
                .bearer_auth(&admins[0]),
        )
        .await;
    as_user.assert_problem(StatusCode::NOT_FOUND, "SUBMISSION_NOT_FOUND");
}

#[tokio::test]
async fn operators_search_every_users_submissions_with_filters_and_pages() {
    let app = spawn_app_receiving_callbacks(sim_config(), |_| {}).await;
    let admin = operator("agent", READ);
    let ann = [completed(&app, "ann").await, completed(&app, "ann").await];
    let bob = completed(&app, "bob-invalid").await;
    let cat = app.create("cat").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = [&ann[0], &ann[1], &bob, &cat];

    // Pages of two, newest first, across users; nothing twice.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/ops/v1/submissions?limit=2&cursor={c}"),
            None => "/ops/v1/submissions?limit=2".to_owned(),
        };
        let page = ops(&app, Method::GET, &path, &admin).await;
        assert_ok(&page);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<&str> = seen.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let newest_first: Vec<&str> = all.iter().rev().map(|s| s.as_str()).collect();
    assert_eq!(ids, newest_first);
    let owners: Vec<&str> = seen
        .iter()
        .map(|s| s["partnerUserId"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["cat", "bob-invalid", "ann", "ann"]);
    assert!(
        seen.iter().all(|s| s.get("uploads").is_none()),
        "no upload URLs for operators"
    );
    assert!(seen.iter().all(|s| s["erasedAt"].is_null()));

    let ids_of = |reply: &Reply| -> Vec<String> {
        assert_ok(reply);
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let search = |query: String| {
        let app = &app;
        let admin = &admin;
        async move {
            ops(
                app,
                Method::GET,
                &format!("/ops/v1/submissions?{query}"),
                admin,
            )
            .await
        }
    };
    assert_eq!(
        ids_of(&search("partnerUserId=ann".into()).await),
        [ann[1].as_str(), &ann[0]]
    );
    assert_eq!(
        ids_of(&search("status=AWAITING_UPLOAD".into()).await),
        [cat.as_str()]
    );
    assert_eq!(
        ids_of(&search("status=COMPLETED&partnerUserId=bob-invalid".into()).await),
        [bob.as_str()]
    );
    // createdFrom is inclusive, createdTo exclusive.
    let created_at = |id: &str| {
        seen.iter().find(|s| s["id"] == id).unwrap()["createdAt"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (from, to) = (created_at(&ann[1]), created_at(&cat));
    assert_eq!(
        ids_of(&search(format!("createdFrom={from}&createdTo={to}")).await),
        [bob.as_str(), &ann[1]]
    );

    for bad in [
        "status=DONE",
        "createdFrom=yesterday",
        "createdTo=2024-13-01T00:00:00Z",
        "limit=0",
        "limit=101",
        "cursor=forged",
        "partnerUserId=%20ann",
    ] {
        let reply = search(bad.into()).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
    // A cursor of the audit log (two reads: two entries) is not one of this
    // listing.
    for id in &ann {
        assert_ok(&app.get("ann", &result_path(id)).await);
    }
    let audit = ops(&app, Method::GET, "/ops/v1/audit?limit=1", &admin).await;
    let foreign = audit.body["nextCursor"].as_str().unwrap();
    search(format!("cursor={foreign}"))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
}

/// Rows of a table about a submission, as the test reads them directly.
async fn delivery_rows(db: &PgPool, submission: &str) -> Vec<(String, String, i32)> {
    sqlx::query_as(
        r#"SELECT d.id::text, e.type, d.attempts FROM webhook_deliveries d
           JOIN webhook_events e ON e.id = d.event_id
           WHERE e.submission_id = $1::uuid ORDER BY d.seq"#,
    )
    .bind(submission)
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn one_submission_shows_what_really_happened_to_it() {
    let key = secret(21);
    let receiver = Receiver::accepting(&key).await;
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.webhooks = webhooks_to(&[&receiver.url], &key, &[100]);
    })
    .await;
    let id = completed(&app, "dora").await;
    receiver
        .wait_for("both events", |d| {
            d.iter().any(|d| d.kind() == "kyc.submission.completed")
        })
        .await;
    let path = format!("/ops/v1/submissions/{id}");
    let reply = wait_until(
        "the deliveries and callbacks to settle",
        Duration::from_secs(10),
        || {
            let (app, path) = (&app, &path);
            async move {
                let reply = ops(app, Method::GET, path, &operator("agent", READ)).await;
                let webhooks = reply.body["webhooks"].as_array()?;
                let callbacks = reply.body["callbacks"].as_array()?;
                let settled = webhooks.len() == 2
                    && webhooks.iter().all(|w| w["status"] == "succeeded")
                    && callbacks.iter().all(|c| !c["outcome"].is_null());
                settled.then_some(reply)
            }
        },
    )
    .await;
    let view = &reply.body;
    assert_eq!(view["id"], id.as_str());
    assert_eq!(view["partnerUserId"], "dora");
    assert_eq!(view["status"], "COMPLETED");
    assert_eq!(view["result"], "VALID");
    assert!(
        view["gtfSubmissionId"]
            .as_str()
            .is_some_and(|g| !g.is_empty())
    );
    assert!(view["erasedAt"].is_null() && view.get("uploads").is_none());

    let steps: Vec<(Value, &str, &str)> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            assert!(h["at"].as_str().unwrap().ends_with('Z'));
            (
                h["from"].clone(),
                h["to"].as_str().unwrap(),
                h["cause"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, "AWAITING_UPLOAD", "created"),
            (json!("AWAITING_UPLOAD"), "PROCESSING", "confirm"),
            (json!("PROCESSING"), "COMPLETED", "callback"),
        ]
    );

    // The callbacks as the inbox holds them.
    let stored: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT status, result, outcome FROM callback_inbox WHERE gtf_submission_id = $1 ORDER BY id",
    )
    .bind(view["gtfSubmissionId"].as_str().unwrap())
    .fetch_all(&app.db)
    .await
    .unwrap();
    let shown: Vec<(String, Option<String>, Option<String>)> = view["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert!(c["receivedAt"].as_str().is_some());
            let s = |k: &str| c[k].as_str().map(str::to_owned);
            (s("status").unwrap(), s("result"), s("outcome"))
        })
        .collect();
    assert_eq!(shown, stored);
    assert!(
        shown.contains(&(
            "COMPLETED".into(),
            Some("VALID".into()),
            Some("checked: COMPLETED".into())
        )),
        "{shown:?}"
    );

    // The deliveries as the outbox holds them, and as the receiver got them.
    let rows = delivery_rows(&app.db, &id).await;
    let webhooks = view["webhooks"].as_array().unwrap();
    assert_eq!(webhooks.len(), rows.len());
    for (w, (row_id, kind, attempts)) in webhooks.iter().zip(&rows) {
        assert_eq!(w["id"], row_id.as_str());
        assert_eq!(w["type"], kind.as_str());
        assert_eq!(w["attempts"], *attempts);
        assert_eq!(w["endpoint"], receiver.url.as_str());
        assert_eq!(w["status"], "succeeded");
        assert_eq!(w["lastResponseStatus"], 204);
        assert!(w["lastAttemptAt"].as_str().is_some() && w["nextAttemptAt"].is_null());
    }
    let got: Vec<String> = receiver
        .deliveries()
        .iter()
        .map(|d| d.kind().to_owned())
        .collect();
    let kinds: Vec<&str> = webhooks
        .iter()
        .map(|w| w["type"].as_str().unwrap())
        .collect();
    assert_eq!(got, kinds);
    assert_eq!(
        kinds,
        ["kyc.submission.processing", "kyc.submission.completed"]
    );

    let unknown = ops(
        &app,
        Method::GET,
        &format!("/ops/v1/submissions/{}", uuid::Uuid::new_v4()),
        &operator("agent", READ),
    )
    .await;
    unknown.assert_problem(StatusCode::NOT_FOUND, "SUBMISSION_NOT_FOUND");
}

/// The `(table, column)` of every text, json, jsonb and bytea column of any
/// table that holds `needle`.
async fn columns_holding(db: &PgPool, needle: &str) -> Vec<String> {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        r#"SELECT c.table_name::text, c.column_name::text, c.data_type::text
           FROM information_schema.columns c
           JOIN information_schema.tables t
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name
           WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
             AND c.data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea')"#,
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert!(columns.len() > 20, "{columns:?}");
    let mut found = vec![];
    for (table, column, kind) in columns {
        let condition = match kind.as_str() {
            "bytea" => format!(r#"position(convert_to($1, 'UTF8') in "{column}") > 0"#),
            _ => format!(r#"strpos("{column}"::text, $1) > 0"#),
        };
        let hits: i64 = sqlx::query_scalar(&format!(
            r#"SELECT count(*) FROM "{table}" WHERE {condition}"#
        ))
        .bind(needle)
        .fetch_one(db)
        .await
        .unwrap();
        if hits > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

/// The NIK, name and address of a KTP record.
fn personal(ktp: &Value) -> [String; 3] {
    ["nik", "name", "address"].map(|f| ktp[f].as_str().unwrap().to_owned())
}

/// `(ciphertext is null, erased_at is set)` of a submission's result.
async fn sealed_state(db: &PgPool, id: &str) -> (bool, bool) {
    sqlx::query_as(
        r#"SELECT ciphertext IS NULL AND nonce IS NULL AND key_id IS NULL, erased_at IS NOT NULL
           FROM submission_results WHERE submission_id = $1::uuid"#,
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn callback_bodies_left(db: &PgPool, gtf_id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM callback_inbox WHERE gtf_submission_id = $1 AND body IS NOT NULL",
    )
    .bind(gtf_id)
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn erasing_a_user_destroys_their_personal_data_and_keeps_the_record() {
    let key = secret(22);
    let receiver = Receiver::accepting(&key).await;
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.webhooks = webhooks_to(&[&receiver.url], &key, &[100]);
    })
    .await;
    let admin = operator("agent-erase", ADMIN);
    let erin = [completed(&app, "erin").await, completed(&app, "erin").await];
    let finn = completed(&app, "finn").await;
    let mut erins_data = BTreeSet::new();
    for id in &erin {
        let result = app.get("erin", &result_path(id)).await;
        assert_ok(&result);
        erins_data.extend(personal(&result.body["ktp"]));
    }
    let finns_result = app.get("finn", &result_path(&finn)).await;
    assert_ok(&finns_result);
    let erins_gtf_ids: Vec<String> =
        sqlx::query_scalar("SELECT gtf_submission_id FROM submissions WHERE owner_id = 'erin'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    for gtf_id in &erins_gtf_ids {
        assert!(
            callback_bodies_left(&app.db, gtf_id).await > 0,
            "a body was stored"
        );
    }

    let erased = ops(&app, Method::DELETE, "/ops/v1/users/erin", &admin).await;
    assert_ok(&erased);
    assert_eq!(erased.body["partnerUserId"], "erin");
    let erased_at = erased.body["erasedAt"].as_str().unwrap();
    OffsetDateTime::parse(erased_at, &Rfc3339).unwrap();
    let listed: BTreeSet<&str> = erased.body["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, erin.iter().map(String::as_str).collect());

    // Nothing of Erin's KTP record is left anywhere (the search does find
    // what is there: her user id).
    assert!(!columns_holding(&app.db, "erin").await.is_empty());
    for value in &erins_data {
        assert_eq!(
            columns_holding(&app.db, value).await,
            Vec::<String>::new(),
            "{value}"
        );
    }
    for id in &erin {
        assert_eq!(sealed_state(&app.db, id).await, (true, true), "{id}");
        for path in [result_path(id), ops_result_path(id)] {
            let token = if path.starts_with("/ops") {
                admin.clone()
            } else {
                app.token("erin")
            };
            let reply = ops(&app, Method::GET, &path, &token).await;
            reply.assert_problem(StatusCode::GONE, "RESULT_ERASED");
        }
        // The record stays: status, outcome, history.
        let kept = ops(
            &app,
            Method::GET,
            &format!("/ops/v1/submissions/{id}"),
            &admin,
        )
        .await;
        assert_eq!(kept.body["status"], "COMPLETED");
        assert_eq!(kept.body["result"], "VALID");
        assert_eq!(kept.body["erasedAt"], erased_at);
        assert_eq!(kept.body["history"].as_array().unwrap().len(), 3);
        assert!(!kept.body["callbacks"].as_array().unwrap().is_empty());
    }
    for gtf_id in &erins_gtf_ids {
        assert_eq!(callback_bodies_left(&app.db, gtf_id).await, 0);
    }

    // The partner's systems hear of it once, signed.
    let got = receiver
        .wait_for("the erased event", |d| {
            d.iter().any(|d| d.kind() == "kyc.user.erased")
        })
        .await;
    let event = got.iter().find(|d| d.kind() == "kyc.user.erased").unwrap();
    assert!(event.verified);
    assert_eq!(event.body["data"], erased.body);

    // Again: the same answer, and no second event.
    let again = ops(&app, Method::DELETE, "/ops/v1/users/erin", &admin).await;
    assert_ok(&again);
    assert_eq!(again.body, erased.body);
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_events WHERE type = 'kyc.user.erased'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(events, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let erased_events = receiver
        .deliveries()
        .iter()
        .filter(|d| d.kind() == "kyc.user.erased")
        .count();
    assert_eq!(erased_events, 1);

    // Finn is untouched.
    assert_eq!(sealed_state(&app.db, &finn).await, (false, false));
    let finns_again = app.get("finn", &result_path(&finn)).await;
    assert_ok(&finns_again);
    assert_eq!(finns_again.body, finns_result.body);

    // A user with no submissions, and ids that are no user id.
    let ghost = ops(&app, Method::DELETE, "/ops/v1/users/ghost", &admin).await;
    assert_ok(&ghost);
    assert_eq!(ghost.body["submissions"], json!([]));
    for bad in ["%20erin", "a%0D%0Ab", &"x".repeat(129)] {
        let reply = ops(
            &app,
            Method::DELETE,
            &format!("/ops/v1/users/{bad}"),
            &admin,
        )
        .await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
}

#[tokio::test]
async fn a_result_that_arrives_after_the_erasure_does_not_bring_the_data_back() {
    // GTF takes its time: the erasure comes while it processes.
    let sim = gtf_bff::sim::SimConfig {
        processing: Duration::from_millis(1500),
        ..sim_config()
    };
    let app = spawn_app_receiving_callbacks(sim, |_| {}).await;
    let admin = operator("agent-late", ADMIN);
    let id = app.submit("gina").await;
    let erased = ops(&app, Method::DELETE, "/ops/v1/users/gina", &admin).await;
    assert_ok(&erased);
    assert_eq!(erased.body["submissions"], json!([id]));
    let gtf_id: String =
        sqlx::query_scalar("SELECT gtf_submission_id FROM submissions WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM submission_results WHERE submission_id = $1::uuid"
        )
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap(),
        0,
        "no result yet when it was erased"
    );

    // The callback comes, is verified with GTF, the details are fetched: the
    // outcome is recorded, the details are not.
    let done = app.wait_for_status("gina", &id, "COMPLETED").await;
    assert_eq!(done["result"], "VALID");
    assert_eq!(sealed_state(&app.db, &id).await, (true, true));
    assert_eq!(callback_bodies_left(&app.db, &gtf_id).await, 0);
    for (path, token) in [
        (result_path(&id), app.token("gina")),
        (ops_result_path(&id), admin.clone()),
    ] {
        ops(&app, Method::GET, &path, &token)
            .await
            .assert_problem(StatusCode::GONE, "RESULT_ERASED");
    }
    // What GTF holds for her is nowhere here.
    let details = client(&app.sim.base_url())
        .details(&user("gina"), &session(), &gtf_id)
        .await
        .unwrap();
    for value in personal(details.ktp.as_ref().unwrap()) {
        assert_eq!(
            columns_holding(&app.db, &value).await,
            Vec::<String>::new(),
            "{value}"
        );
    }
    // Asking GTF again on purpose does not bring it back either.
    let refreshed = ops(
        &app,
        Method::POST,
        &format!("/ops/v1/submissions/{id}/refresh"),
        &admin,
    )
    .await;
    assert_ok(&refreshed);
    assert_eq!(sealed_state(&app.db, &id).await, (true, true));

    // A new verification after the erasure is the user's own again.
    let fresh = completed(&app, "gina").await;
    assert_ok(&app.get("gina", &result_path(&fresh)).await);
}

/// `(actor, actorKind, action, partnerUserId, submissionId, requestId)` of
/// each entry of a page of the audit log.
fn entries(reply: &Reply) -> Vec<[Value; 6]> {
    assert_ok(reply);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["at"].as_str().unwrap().ends_with('Z'));
            [
                "actor",
                "actorKind",
                "action",
                "partnerUserId",
                "submissionId",
                "requestId",
            ]
            .map(|k| e[k].clone())
        })
        .collect()
}

#[tokio::test]
async fn the_audit_log_names_every_read_and_action_and_cannot_be_changed() {
    let app = spawn_app_receiving_callbacks(sim_config(), |_| {}).await;
    let id = completed(&app, "hana").await;
    let reader = operator("agent-ann", READ);
    let admin = operator("agent-bo", ADMIN);

    let own = ops_as(
        &app,
        Method::GET,
        &result_path(&id),
        &app.token("hana"),
        "req-user-1",
    )
    .await;
    assert_ok(&own);
    let ktp = own.body["ktp"].clone();
    assert_ok(
        &ops_as(
            &app,
            Method::GET,
            &ops_result_path(&id),
            &reader,
            "req-op-1",
        )
        .await,
    );
    let refresh = format!("/ops/v1/submissions/{id}/refresh");
    assert_ok(&ops_as(&app, Method::POST, &refresh, &admin, "req-op-2").await);
    assert_ok(
        &ops_as(
            &app,
            Method::DELETE,
            "/ops/v1/users/ivan",
            &admin,
            "req-op-3",
        )
        .await,
    );
    // Looking at lists and the dossier reads no KTP data: not audited.
    assert_ok(&ops(&app, Method::GET, "/ops/v1/submissions", &reader).await);
    assert_ok(
        &ops(
            &app,
            Method::GET,
            &format!("/ops/v1/submissions/{id}"),
            &reader,
        )
        .await,
    );
    // Nor is a read that returns no data.
    let pending = app.create("hana").await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get("hana", &result_path(&pending)).await.status,
        StatusCode::CONFLICT
    );

    let log = ops(&app, Method::GET, "/ops/v1/audit", &reader).await;
    let s = |v: &str| json!(v);
    assert_eq!(
        entries(&log),
        [
            [
                s("agent-bo"),
                s("operator"),
                s("user.erase"),
                s("ivan"),
                Value::Null,
                s("req-op-3")
            ],
            [
                s("agent-bo"),
                s("operator"),
                s("submission.refresh"),
                s("hana"),
                s(&id),
                s("req-op-2")
            ],
            [
                s("agent-ann"),
                s("operator"),
                s("result.read"),
                s("hana"),
                s(&id),
                s("req-op-1")
            ],
            [
                s("hana"),
                s("user"),
                s("result.read"),
                s("hana"),
                s(&id),
                s("req-user-1")
            ],
        ]
    );
    // Filters, and pages.
    let filtered = |query: &str| {
        let (app, reader) = (&app, &reader);
        let path = format!("/ops/v1/audit?{query}");
        async move { entries(&ops(app, Method::GET, &path, reader).await) }
    };
    assert_eq!(filtered("actor=agent-ann").await.len(), 1);
    assert_eq!(filtered("action=result.read").await.len(), 2);
    assert_eq!(filtered("partnerUserId=hana").await.len(), 3);
    assert_eq!(filtered("partnerUserId=hana&actor=agent-bo").await.len(), 1);
    assert_eq!(filtered("to=2020-01-01T00:00:00Z").await.len(), 0);
    assert_eq!(filtered("from=2020-01-01T00:00:00Z").await.len(), 4);
    let first = ops(&app, Method::GET, "/ops/v1/audit?limit=3", &reader).await;
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let rest = ops(
        &app,
        Method::GET,
        &format!("/ops/v1/audit?limit=3&cursor={cursor}"),
        &reader,
    )
    .await;
    assert_eq!(entries(&rest), entries(&log)[3..]);
    assert!(rest.body["nextCursor"].is_null());
    for bad in ["action=result.write", "from=now", "actor=%00", "limit=500"] {
        let reply = ops(&app, Method::GET, &format!("/ops/v1/audit?{bad}"), &reader).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
    // It never holds a KTP field.
    for field in ["nik", "name", "address"] {
        let value = ktp[field].as_str().unwrap();
        let hits: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM access_audit WHERE strpos(access_audit::text, $1) > 0",
        )
        .bind(value)
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(hits, 0, "{field}");
    }

    // The database refuses to change or remove an entry, whoever asks.
    for statement in [
        "UPDATE access_audit SET actor = 'someone else'",
        "UPDATE access_audit SET request_id = 'x' WHERE actor = 'hana'",
        "DELETE FROM access_audit",
        "DELETE FROM access_audit WHERE actor = 'agent-ann'",
        "TRUNCATE access_audit",
    ] {
        let refused = sqlx::query(statement).execute(&app.db).await.unwrap_err();
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    // Not even with the purge's setting, for entries younger than its cutoff.
    let mut tx = app.db.begin().await.unwrap();
    sqlx::query(
        "SELECT set_config('gtf_bff.audit_purge_before', (now() - interval '1 day')::text, true)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let refused = sqlx::query("DELETE FROM access_audit")
        .execute(&mut *tx)
        .await;
    assert!(refused.is_err());
    drop(tx);
    assert_eq!(
        entries(&ops(&app, Method::GET, "/ops/v1/audit", &reader).await).len(),
        4
    );
}

#[tokio::test]
async fn a_read_whose_audit_entry_cannot_be_written_returns_nothing() {
    let app = spawn_app_receiving_callbacks(sim_config(), |_| {}).await;
    let id = completed(&app, "jon").await;
    let admin = operator("agent", ADMIN);
    // The log cannot take a new entry (what a full disk or a broken audit
    // table would do), while everything else works.
    sqlx::query("ALTER TABLE access_audit ADD CONSTRAINT audit_down CHECK (false) NOT VALID")
        .execute(&app.db)
        .await
        .unwrap();
    for (path, token) in [
        (result_path(&id), app.token("jon")),
        (ops_result_path(&id), admin.clone()),
    ] {
        let reply = ops(&app, Method::GET, &path, &token).await;
        reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "DATABASE_UNAVAILABLE");
        assert!(reply.header("retry-after").is_some());
        assert!(reply.body.get("ktp").is_none());
    }
    // An action that cannot be audited does not happen either.
    let erase = ops(&app, Method::DELETE, "/ops/v1/users/jon", &admin).await;
    erase.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "DATABASE_UNAVAILABLE");
    assert_eq!(sealed_state(&app.db, &id).await, (false, false));

    sqlx::query("ALTER TABLE access_audit DROP CONSTRAINT audit_down")
        .execute(&app.db)
        .await
        .unwrap();
    assert_ok(&app.get("jon", &result_path(&id)).await);
}

#[tokio::test]
async fn audit_entries_outlive_the_data_and_are_purged_after_their_own_retention() {
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.audit_retention = Duration::from_secs(30 * 86_400);
    })
    .await;
    for (actor, days) in [("old", 31), ("recent", 29)] {
        sqlx::query(
            r#"INSERT INTO access_audit (at, actor, actor_kind, action, request_id)
               VALUES (now() - make_interval(days => $2), $1, 'operator', 'user.erase', 'r')"#,
        )
        .bind(actor)
        .bind(days)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let left = wait_until(
        "the old entry to be purged",
        Duration::from_secs(10),
        || async {
            let actors: Vec<String> =
                sqlx::query_scalar("SELECT actor FROM access_audit ORDER BY id")
                    .fetch_all(&app.db)
                    .await
                    .unwrap();
            (!actors.contains(&"old".to_owned())).then_some(actors)
        },
    )
    .await;
    assert_eq!(left, ["recent"]);
}

/// `(status, attempts)` of a delivery, read from the outbox.
async fn delivery_state(db: &PgPool, id: &str) -> (String, i32) {
    sqlx::query_as("SELECT status, attempts FROM webhook_deliveries WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn failed_deliveries_are_sent_again_with_their_webhook_id() {
    let key = secret(23);
    // The partner's endpoint fails until it is mended.
    let answer = Arc::new(AtomicU16::new(500));
    let scripted = answer.clone();
    let receiver = Receiver::start(&key, move |_, _| {
        Answer::Status(scripted.load(Ordering::SeqCst))
    })
    .await;
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.webhooks = webhooks_to(&[&receiver.url], &key, &[50]);
    })
    .await;
    let before = OffsetDateTime::now_utc() - Duration::from_secs(1);
    let id = completed(&app, "kai").await;
    let rows = wait_until("both deliveries to fail", Duration::from_secs(15), || {
        let (app, id) = (&app, &id);
        async move {
            let rows = delivery_rows(&app.db, id).await;
            let mut failed = 0;
            for (row, _, _) in &rows {
                failed += usize::from(delivery_state(&app.db, row).await.0 == "failed");
            }
            (failed == 2).then_some(rows)
        }
    })
    .await;
    let webhook_ids = |kind: &str| -> Vec<String> {
        receiver
            .deliveries()
            .iter()
            .filter(|d| d.kind() == kind)
            .map(|d| d.id.clone())
            .collect()
    };
    let processing_ids = webhook_ids("kyc.submission.processing");
    assert_eq!(processing_ids.len(), 2, "an attempt and one retry");
    answer.store(200, Ordering::SeqCst);

    let admin = operator("agent-resend", ADMIN);
    let (processing, _, _) = &rows[0];
    let resent = ops(
        &app,
        Method::POST,
        &format!("/ops/v1/webhooks/{processing}/resend"),
        &admin,
    )
    .await;
    assert_ok(&resent);
    assert_eq!(resent.body["id"], processing.as_str());
    assert_eq!(resent.body["status"], "pending");
    assert_eq!(resent.body["attempts"], 0);
    assert!(resent.body["nextAttemptAt"].as_str().is_some());
    receiver
        .wait_for("the resent event", |d| {
            d.iter()
                .filter(|d| d.kind() == "kyc.submission.processing")
                .count()
                == 3
        })
        .await;
    let again = webhook_ids("kyc.submission.processing");
    assert!(
        again.iter().all(|w| *w == again[0]),
        "the same webhook-id: {again:?}"
    );
    assert!(receiver.deliveries().iter().all(|d| d.verified));
    wait_until("the resend to succeed", Duration::from_secs(10), || async {
        (delivery_state(&app.db, processing).await == ("succeeded".into(), 1)).then_some(())
    })
    .await;

    // Every delivery marked failed since then: the completed event is left.
    let resend_failed = |since: OffsetDateTime| {
        let (app, admin) = (&app, &admin);
        async move {
            app.send(
                app.request(Method::POST, "/ops/v1/webhooks/resend-failed", None)
                    .bearer_auth(admin)
                    .json(&json!({ "since": since.format(&Rfc3339).unwrap() })),
            )
            .await
        }
    };
    let future = resend_failed(OffsetDateTime::now_utc() + Duration::from_secs(3600)).await;
    assert_eq!(future.body, json!({ "resent": 0 }));
    let all = resend_failed(before).await;
    assert_ok(&all);
    assert_eq!(all.body, json!({ "resent": 1 }));
    let (completed_row, _, _) = &rows[1];
    wait_until(
        "the completed event to arrive",
        Duration::from_secs(10),
        || async {
            (delivery_state(&app.db, completed_row).await == ("succeeded".into(), 1)).then_some(())
        },
    )
    .await;
    let completed_ids = webhook_ids("kyc.submission.completed");
    assert_eq!(completed_ids.len(), 3);
    assert!(completed_ids.iter().all(|w| *w == completed_ids[0]));
    assert_eq!(resend_failed(before).await.body, json!({ "resent": 0 }));

    // The submission's view shows it, and the audit log names both actions.
    let view = ops(
        &app,
        Method::GET,
        &format!("/ops/v1/submissions/{id}"),
        &admin,
    )
    .await;
    let states: Vec<(&str, i64)> = view.body["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["status"].as_str().unwrap(),
                w["attempts"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("succeeded", 1), ("succeeded", 1)]);
    let log = ops(
        &app,
        Method::GET,
        "/ops/v1/audit?actor=agent-resend",
        &admin,
    )
    .await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.resend_failed",
            "webhook.resend_failed",
            "webhook.resend_failed",
            "webhook.resend"
        ]
    );

    // Bodies that are not `{"since": <RFC 3339>}`.
    for (body, status, code) in [
        ("", StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY"),
        ("{}", StatusCode::UNPROCESSABLE_ENTITY, "INVALID_BODY"),
        (
            r#"{"since": "last week"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_BODY",
        ),
        ("{", StatusCode::BAD_REQUEST, "MALFORMED_JSON"),
    ] {
        let reply = app
            .send(
                app.request(Method::POST, "/ops/v1/webhooks/resend-failed", None)
                    .bearer_auth(&admin)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        reply.assert_problem(status, code);
    }
}

#[tokio::test]
async fn a_delivery_is_not_resent_while_an_attempt_of_it_is_under_way() {
    let key = secret(24);
    let receiver = Receiver::start(&key, |_, _| Answer::Hang).await;
    let app = spawn_app_receiving_callbacks(sim_config(), |c| {
        c.webhooks = WebhookConfig {
            timeout: Duration::from_secs(30),
            ..webhooks_to(&[&receiver.url], &key, &[50])
        };
    })
    .await;
    let id = app.submit("lia").await;
    receiver
        .wait_for("the first attempt", |d| !d.is_empty())
        .await;
    let (delivery, _, _) = delivery_rows(&app.db, &id).await.remove(0);
    let reply = ops(
        &app,
        Method::POST,
        &format!("/ops/v1/webhooks/{delivery}/resend"),
        &operator("agent", ADMIN),
    )
    .await;
    reply.assert_problem(StatusCode::CONFLICT, "DELIVERY_IN_FLIGHT");
    assert!(reply.header("retry-after").is_some());
    assert_eq!(
        delivery_state(&app.db, &delivery).await,
        ("pending".into(), 0)
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_operator_api_with_its_scopes_and_problems() {
    let app = crate::support::app::spawn_app().await;
    let doc = app.call(Method::GET, "/openapi.json", None).await.body;
    let operations = [
        ("get", "/ops/v1/submissions", READ),
        ("get", "/ops/v1/submissions/{id}", READ),
        ("get", "/ops/v1/submissions/{id}/result", READ),
        ("post", "/ops/v1/submissions/{id}/refresh", "kyc:admin"),
        ("post", "/ops/v1/webhooks/{deliveryId}/resend", "kyc:admin"),
        ("post", "/ops/v1/webhooks/resend-failed", "kyc:admin"),
        ("delete", "/ops/v1/users/{partnerUserId}", "kyc:admin"),
        ("get", "/ops/v1/audit", READ),
    ];
    for (method, path, scope) in operations {
        let op = &doc["paths"][path][method];
        assert_eq!(op["tags"], json!(["operator"]), "{method} {path}");
        assert_eq!(
            op["security"],
            json!([{ "bearer": [scope] }]),
            "{method} {path}"
        );
        for status in ["200", "401", "403", "503"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} {status}"
            );
        }
        assert!(
            op["responses"]["403"]["description"]
                .as_str()
                .unwrap()
                .contains("FORBIDDEN")
        );
    }
    let result = &doc["paths"]["/v1/kyc/submissions/{id}/result"]["get"]["responses"]["410"];
    assert!(
        result["description"]
            .as_str()
            .unwrap()
            .contains("RESULT_ERASED")
    );
    let codes = doc["components"]["schemas"]["ProblemCode"]["enum"].to_string();
    assert!(codes.contains("RESULT_ERASED") && codes.contains("DELIVERY_IN_FLIGHT"));
}
