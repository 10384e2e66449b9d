//! What operators see: OpenAPI, docs, metrics,
//! CORS, configuration, logs and shutdown.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::time::Duration;

use gtf_bff::config::{Env, ServiceConfig, TokenIssuerConfig};
use gtf_bff::sim::SimConfig;
use gtf_bff::telemetry::{self, LogFormat};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::app::{
    CALLBACK_AUTH, JWT_SECRET, Reply, TestApp, gtf_presigning, presign_ok, spawn_app,
    spawn_app_against, spawn_app_against_waiting, spawn_app_receiving_callbacks, spawn_app_with,
};
use crate::support::binary::Service;
use crate::support::db::TestDb;
use crate::support::fake_gtf::{URLS_PATH, after};
use crate::support::wait::wait_until;
use crate::support::{PASS_KEY, logs, sim_config};

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint_and_problem_code() {
    let app = spawn_app().await;
    let doc = app.call(Method::GET, "/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths: BTreeSet<&str> = doc.body["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/v1/kyc/submissions",
        "/v1/kyc/submissions/{id}",
        "/v1/kyc/submissions/{id}/confirm",
        "/v1/kyc/submissions/{id}/result",
        "/v1/kyc/submissions/{id}/events",
        "/coe/submissions-callback",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains(path), "{path} missing from {paths:?}");
    }
    assert!(
        !paths.contains("/metrics"),
        "served on the metrics listener only"
    );
    let codes: BTreeSet<&str> = doc.body["components"]["schemas"]["ProblemCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    // The contract's codes, and the ones this service adds.
    for code in [
        "SUBMISSION_NOT_FOUND",
        "IDEMPOTENCY_KEY_REUSED",
        "IDEMPOTENCY_KEY_IN_USE",
        "UPLOAD_MISSING",
        "SUBMISSION_EXPIRED",
        "RESULT_NOT_READY",
        "INVALID_PARAMETER",
        "SUBMISSION_QUOTA_EXCEEDED",
        "UNAUTHORIZED",
        "MALFORMED_JSON",
        "PAYLOAD_TOO_LARGE",
        "GTF_UNAVAILABLE",
        "GTF_TIMEOUT",
        "GTF_ERROR",
        "DATABASE_UNAVAILABLE",
        "INVALID_CALLBACK",
        "CALLBACK_NOT_STORED",
        "FORBIDDEN",
        "REQUEST_TIMEOUT",
        "TOO_MANY_STREAMS",
        "STREAMS_EXHAUSTED",
    ] {
        assert!(codes.contains(code), "{code} missing");
    }
    // A problem the service really sends uses a documented code.
    let r = app
        .get(
            "x",
            "/v1/kyc/submissions/00000000-0000-0000-0000-000000000000",
        )
        .await;
    assert!(codes.contains(r.code()));
}

#[tokio::test]
async fn the_docs_are_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.call(Method::GET, "/docs/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN: {html}"
    );
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        let r = app.call(Method::GET, &format!("/docs/{asset}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{asset}");
    }
}

#[tokio::test]
async fn metrics_name_routes_by_template_and_never_carry_ids() {
    let app = spawn_app().await;
    let id = app.submit("kate").await;
    app.get("kate", &format!("/v1/kyc/submissions/{id}")).await;
    let metrics = app.metrics().await;
    for series in [
        r#"http_requests_total{method="GET",route="/v1/kyc/submissions/{id}",status="200"}"#,
        r#"http_requests_total{method="POST",route="/v1/kyc/submissions",status="201"}"#,
        r#"gtf_requests_total{endpoint="presign",outcome="ok"}"#,
        r#"gtf_token_mints_total{outcome="ok"}"#,
        r#"gtf_token_cache_lookups_total{result="hit"}"#,
        "http_request_duration_seconds_bucket",
        "gtf_request_duration_seconds_bucket",
        r#"db_pool_connections{state="idle"}"#,
    ] {
        assert!(metrics.contains(series), "{series} missing");
    }
    assert!(!metrics.contains(&id), "a submission id in a label");
    assert!(!metrics.contains("kate"), "a user id in a label");
}

#[tokio::test]
async fn cors_admits_only_the_configured_origins() {
    let app = spawn_app_with(sim_config(), |c| {
        c.cors_origins = vec!["https://app.example.com".parse().unwrap()];
    })
    .await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/v1/kyc/submissions", None)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,idempotency-key",
            )
    };
    let ok = app.send(preflight("https://app.example.com")).await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let allowed = ok
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("idempotency-key"),
        "{allowed}"
    );
    let other = app.send(preflight("https://evil.example.com")).await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}

/// Every variable the code reads is in `.env.example`.
#[test]
fn env_example_lists_every_variable_the_code_reads() {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    let listed: BTreeSet<&str> = example
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('=').map(|(name, _)| name))
        .filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    let env = Env::from_pairs([
        ("DATABASE_URL", "postgres://u@h/db"),
        ("GTF_TOKEN_BASE_URL", "http://t"),
        ("GTF_API_BASE_URL", "http://a"),
        ("GTF_CLIENT_ID", "c"),
        ("GTF_PASS_KEY", "p"),
        ("GTF_ONBOARDING_PARTNER", "o"),
        ("GTF_PARTNER_USER_ID_TYPE", "t"),
        ("AUTH_JWT_SECRET", JWT_SECRET),
        ("CALLBACK_AUTH", CALLBACK_AUTH),
        ("BFF_DATA_KEY", &crate::support::app::data_key()),
    ]);
    ServiceConfig::from_env(&env).unwrap();
    SimConfig::from_env(&env).unwrap();
    TokenIssuerConfig::from_env(&env).unwrap();
    gtf_bff::demo::DemoConfig::from_env(&env).unwrap();
    LogFormat::from_env(&env).unwrap();
    telemetry::filter(&env).unwrap();
    let read = env.names_read();
    assert!(read.len() > 30, "{read:?}");
    let missing: Vec<_> = read.iter().filter(|name| !listed.contains(*name)).collect();
    assert!(missing.is_empty(), "not in .env.example: {missing:?}");
}

/// A whole flow, logged at debug by every crate, leaks no credential and no
/// personal data.
#[tokio::test]
async fn logs_carry_no_secret_and_no_personal_data() {
    let captured = logs::capture();
    let app = spawn_app_receiving_callbacks(sim_config(), |_| {}).await;
    let user = "leo-logcheck";
    let id = app.submit(user).await;
    let result = wait_until("the result", Duration::from_secs(10), || async {
        let r = app
            .get(user, &format!("/v1/kyc/submissions/{id}/result"))
            .await;
        (r.status == StatusCode::OK).then_some(r.body)
    })
    .await;
    let ktp = result["ktp"]
        .as_object()
        .expect("the flow finished with KTP data");
    let mut secrets: Vec<String> = vec![
        PASS_KEY.to_owned(),
        CALLBACK_AUTH.trim_start_matches("bearer:").to_owned(),
        JWT_SECRET.to_owned(),
        app.token(user),
    ];
    let tokens = app.sim.live_tokens(user);
    assert!(!tokens.is_empty());
    secrets.extend(tokens);
    for field in ["nik", "name", "address", "dateOfBirth"] {
        secrets.push(ktp[field].as_str().unwrap().to_owned());
    }
    let text = captured.text();
    assert!(text.contains(&id), "the capture saw this flow");
    assert!(
        text.contains(r#""route":"/v1/kyc/submissions/{id}/result""#),
        "one line per request"
    );
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret:?} appears in the logs"
        );
    }
}

/// Sends `method path` as `user` with `x-request-id: request_id`.
async fn send_as(app: &TestApp, method: Method, path: &str, user: &str, request_id: &str) -> Reply {
    let req = app
        .request(method, path, Some(user))
        .header("x-request-id", request_id);
    let reply = app.send(req).await;
    assert_eq!(reply.header("x-request-id"), Some(request_id));
    reply
}

/// The service's own lines: the HTTP layer, the flow and the GTF client
/// (not the simulator beside it, nor dependencies).
fn from_the_service(line: &Value) -> bool {
    ["gtf_bff::http", "gtf_bff::kyc", "gtf_bff::gtf"]
        .iter()
        .any(|module| target_is(line, module))
}

/// Written by `module` or one of its submodules.
fn target_is(line: &Value, module: &str) -> bool {
    let target = line["target"].as_str().unwrap_or_default();
    target == module || target.starts_with(&format!("{module}::"))
}

/// Every line the service logs while serving a request names that request
/// (its id, method and route), whichever part writes it: the HTTP layer,
/// the flow, the GTF client. Background work names its submission. The
/// lines are told apart by the thread that wrote them (this test's: a
/// current-thread runtime runs its app, workers and simulator on it), not
/// by what they say, so a line that names nothing is caught too.
#[tokio::test]
async fn every_line_logged_for_a_request_names_the_request() {
    let captured = logs::capture();
    let app = spawn_app_receiving_callbacks(sim_config(), |_| {}).await;
    let user = "lena-logcorrelation";
    let flow = format!("logflow-{}", uuid::Uuid::new_v4().simple());
    let mark = captured.mark();

    let create = format!("{flow}-create");
    let created = send_as(&app, Method::POST, "/v1/kyc/submissions", user, &create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.upload_all(&created.body).await;
    let confirm = format!("{flow}-confirm");
    let path = format!("/v1/kyc/submissions/{id}/confirm");
    let confirmed = send_as(&app, Method::POST, &path, user, &confirm).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{:?}", confirmed.body);
    let results = Cell::new(0);
    let path = format!("/v1/kyc/submissions/{id}/result");
    wait_until("the result", Duration::from_secs(10), || async {
        results.set(results.get() + 1);
        let request_id = format!("{flow}-result-{}", results.get());
        let r = send_as(&app, Method::GET, &path, user, &request_id).await;
        (r.status == StatusCode::OK).then_some(())
    })
    .await;
    // The callback verifier may log its verdict just after the result is in.
    let verified = |line: &Value| {
        line["span"]["name"] == "callback"
            && line["span"]["submission"] == id.as_str()
            && line["message"] == "callback verified"
    };
    let lines = wait_until(
        "the callback verifier's line about the submission",
        Duration::from_secs(10),
        || async {
            let lines = captured.this_threads_lines_since(mark);
            lines.iter().any(verified).then_some(lines)
        },
    )
    .await;

    let expected = |request_id: &str| -> Option<(&str, &str)> {
        if request_id == create {
            Some(("POST", "/v1/kyc/submissions"))
        } else if request_id == confirm {
            Some(("POST", "/v1/kyc/submissions/{id}/confirm"))
        } else if request_id.starts_with(&format!("{flow}-result-")) {
            Some(("GET", "/v1/kyc/submissions/{id}/result"))
        } else {
            None
        }
    };
    let service: Vec<&Value> = lines.iter().filter(|l| from_the_service(l)).collect();
    for line in &service {
        let span = &line["span"];
        match span["name"].as_str() {
            Some("request") => {
                let request_id = span["request_id"].as_str().unwrap_or_default();
                let route = span["route"].as_str().unwrap_or_default();
                let method = span["method"].as_str().unwrap_or_default();
                match expected(request_id) {
                    Some(sent) => assert_eq!((method, route), sent, "{line}"),
                    // Nobody else calls this app but GTF, with its callback
                    // (a request id of the service's making).
                    None => {
                        assert!(!request_id.is_empty(), "{line}");
                        assert_eq!(
                            (method, route),
                            ("POST", "/coe/submissions-callback"),
                            "{line}"
                        );
                    }
                }
            }
            Some("callback" | "reconcile" | "expiry") => {
                assert_eq!(span["submission"], id.as_str(), "{line}");
            }
            _ => panic!("a line that names no request and no submission: {line}"),
        }
    }
    // Each request was logged by every part it went through.
    let of = |request_id: &str, module: &str| {
        service
            .iter()
            .any(|l| l["span"]["request_id"] == request_id && target_is(l, module))
    };
    for request_id in [&create, &confirm] {
        for module in ["gtf_bff::http", "gtf_bff::kyc", "gtf_bff::gtf"] {
            assert!(of(request_id, module), "no {module} line for {request_id}");
        }
    }
    for n in 1..=results.get() {
        let request_id = format!("{flow}-result-{n}");
        assert!(
            of(&request_id, "gtf_bff::http::access"),
            "no access line for {request_id}"
        );
    }
}

#[tokio::test]
async fn shutdown_waits_for_a_create_whose_client_hung_up() {
    let fake = gtf_presigning(|n| after(Duration::from_millis(800), presign_ok(n))).await;
    let mut app = spawn_app_against_waiting(&fake, Duration::from_secs(5)).await;
    let gave_up = app
        .request(Method::POST, "/v1/kyc/submissions", Some("nico"))
        .header("idempotency-key", "before-the-deploy")
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));

    // No connection is open any more; the create is still waiting on GTF.
    app.shut_down_and_wait().await;
    assert_eq!(app.submission_rows().await, 1, "stored before the exit");
    let key_done: bool = sqlx::query_scalar(
        "SELECT submission_id IS NOT NULL FROM idempotency_keys WHERE key = 'before-the-deploy'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(key_done, "a retry with the key will get the submission");
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_and_refuses_new_ones() {
    // GTF takes 400 ms to presign (within the test client's 500 ms timeout).
    let fake = gtf_presigning(|n| after(Duration::from_millis(400), presign_ok(n))).await;
    let app = spawn_app_against(&fake).await;
    let in_flight = {
        let req = app.request(Method::POST, "/v1/kyc/submissions", Some("mia"));
        tokio::spawn(req.send())
    };
    wait_until(
        "the create to reach GTF",
        Duration::from_secs(5),
        || async { (fake.hits(URLS_PATH) == 1).then_some(()) },
    )
    .await;
    app.shutdown();
    let finished = in_flight.await.unwrap().unwrap();
    assert_eq!(
        finished.status(),
        StatusCode::CREATED,
        "the in-flight request was drained"
    );
    // The listener closed as the shutdown began, before the drained request
    // ended. A client of its own, so that no connection from before is reused.
    let after_shutdown = reqwest::Client::new()
        .get(format!("{}/healthz", app.base_url))
        .send()
        .await;
    assert!(after_shutdown.is_err(), "no new requests after shutdown");
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_only() {
    let app = spawn_app().await;
    let public = app.send(app.http.get(app.url("/metrics"))).await;
    public.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert!(app.metrics().await.contains("http_requests_total"));
    for base in [&app.base_url, &app.metrics_url] {
        for probe in ["/healthz", "/readyz"] {
            let r = app.send(app.http.get(format!("{base}{probe}"))).await;
            assert_eq!(r.status, StatusCode::OK, "{base}{probe}");
        }
    }
    // The metrics listener serves nothing of the API.
    let api = app
        .send(
            app.http
                .get(format!("{}/v1/kyc/submissions", app.metrics_url)),
        )
        .await;
    api.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// The real binary, just started: every counter already exists at zero for
/// each of its outcomes, so an alert on any of them can fire before the
/// first event (the test process's own counters are shared by its apps).
#[tokio::test]
async fn a_fresh_process_has_every_series_at_zero() {
    let db = TestDb::new().await;
    let service = Service::new(&db.url, "http://127.0.0.1:9", &[]);
    let mut process = service.start().await;
    let text = reqwest::get(format!("{}/metrics", service.metrics_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    process.kill();
    let mut expected = vec![
        r#"gtf_token_cache_lookups_total{result="hit"} 0"#.to_owned(),
        r#"gtf_token_cache_lookups_total{result="miss"} 0"#.to_owned(),
        r#"gtf_token_mints_total{outcome="ok"} 0"#.to_owned(),
        r#"gtf_token_mints_total{outcome="unavailable"} 0"#.to_owned(),
        r#"callbacks_verified_total{outcome="failed"} 0"#.to_owned(),
        r#"callbacks_verified_total{outcome="checked"} 0"#.to_owned(),
        r#"reconciler_checks_total{outcome="ok"} 0"#.to_owned(),
        r#"reconciler_checks_total{outcome="failed"} 0"#.to_owned(),
        "sse_streams_open 0".to_owned(),
        r#"db_pool_connections{state="in_use"}"#.to_owned(),
    ];
    for outcome in [
        "stored",
        "duplicate",
        "forbidden",
        "unauthorized",
        "rate_limited",
        "invalid",
        "not_stored",
        "over_cap",
    ] {
        expected.push(format!(
            r#"callbacks_received_total{{outcome="{outcome}"}} 0"#
        ));
    }
    for endpoint in ["token", "presign", "confirm", "status", "details", "upload"] {
        for outcome in ["ok", "unavailable", "timeout", "rejected", "circuit_open"] {
            expected.push(format!(
                r#"gtf_requests_total{{endpoint="{endpoint}",outcome="{outcome}"}} 0"#
            ));
        }
    }
    for outcome in ["succeeded", "retrying", "failed"] {
        expected.push(format!(
            r#"webhook_deliveries_total{{type="kyc.submission.completed",outcome="{outcome}"}} 0"#
        ));
    }
    expected.push("webhook_oldest_pending_seconds 0".to_owned());
    let missing: Vec<_> = expected
        .iter()
        .filter(|series| !text.lines().any(|l| l.starts_with(series.as_str())))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}
