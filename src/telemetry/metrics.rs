//! Prometheus metrics. Labels are bounded sets: route
//! templates, endpoint names, outcomes; never user ids, tokens or paths with
//! ids in them.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;

use crate::domain::EventType;

pub(crate) const HTTP_REQUESTS: &str = "http_requests_total";
pub(crate) const HTTP_DURATION: &str = "http_request_duration_seconds";
pub(crate) const GTF_REQUESTS: &str = "gtf_requests_total";
pub(crate) const GTF_DURATION: &str = "gtf_request_duration_seconds";
pub(crate) const TOKEN_LOOKUPS: &str = "gtf_token_cache_lookups_total";
pub(crate) const TOKEN_MINTS: &str = "gtf_token_mints_total";
pub(crate) const CALLBACKS_RECEIVED: &str = "callbacks_received_total";
pub(crate) const CALLBACKS_VERIFIED: &str = "callbacks_verified_total";
pub(crate) const RECONCILER_CHECKS: &str = "reconciler_checks_total";
pub(crate) const RECONCILER_EXPIRED: &str = "reconciler_expired_total";
pub(crate) const DB_POOL_CONNECTIONS: &str = "db_pool_connections";
pub(crate) const DB_POOL_MAX: &str = "db_pool_max_connections";
pub(crate) const WEBHOOK_ATTEMPTS: &str = "webhook_deliveries_total";
pub(crate) const WEBHOOK_DURATION: &str = "webhook_attempt_duration_seconds";
pub(crate) const WEBHOOK_OLDEST_PENDING: &str = "webhook_oldest_pending_seconds";
pub(crate) const SSE_STREAMS_OPEN: &str = "sse_streams_open";

/// Every label value each counter can carry. Each series exists at zero
/// from the start, so that an alert on it can fire before its first event
/// (a rate over a series that does not exist yet is no rate at all).
const GTF_ENDPOINTS: &[&str] = &["token", "presign", "confirm", "status", "details", "upload"];
const GTF_OUTCOMES: &[&str] = &[
    "ok",
    "unauthorized",
    "rejected",
    "quota_exceeded",
    "unavailable",
    "timeout",
    "malformed",
    "circuit_open",
];
const TOKEN_LOOKUP_RESULTS: &[&str] = &["hit", "miss"];
const CALLBACK_RECEIVED_OUTCOMES: &[&str] = &[
    "stored",
    "duplicate",
    "forbidden",
    "unauthorized",
    "rate_limited",
    "invalid",
    "not_stored",
    "over_cap",
];
const CALLBACK_VERIFIED_OUTCOMES: &[&str] = &[
    "checked",
    "already_final",
    "unknown_submission",
    "unknown_status",
    "failed",
];
const WEBHOOK_OUTCOMES: &[&str] = &["succeeded", "retrying", "failed"];
const RECONCILER_OUTCOMES: &[&str] = &["ok", "failed"];

/// Latency buckets from a cached read to a slow GTF call, in seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's recorder, installed on first use (one per process, however
/// many apps a test starts).
pub(crate) fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then ours
        // simply records nothing, which /metrics makes visible.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Installs the recorder and registers every counter at zero (the gauges
/// are taken at each scrape).
pub(crate) fn init() {
    handle();
    for endpoint in GTF_ENDPOINTS {
        for outcome in GTF_OUTCOMES {
            metrics::counter!(GTF_REQUESTS, "endpoint" => *endpoint, "outcome" => *outcome)
                .increment(0);
        }
    }
    for result in TOKEN_LOOKUP_RESULTS {
        metrics::counter!(TOKEN_LOOKUPS, "result" => *result).increment(0);
    }
    for outcome in GTF_OUTCOMES.iter().filter(|o| **o != "circuit_open") {
        metrics::counter!(TOKEN_MINTS, "outcome" => *outcome).increment(0);
    }
    for outcome in CALLBACK_RECEIVED_OUTCOMES {
        metrics::counter!(CALLBACKS_RECEIVED, "outcome" => *outcome).increment(0);
    }
    for outcome in CALLBACK_VERIFIED_OUTCOMES {
        metrics::counter!(CALLBACKS_VERIFIED, "outcome" => *outcome).increment(0);
    }
    for outcome in RECONCILER_OUTCOMES {
        metrics::counter!(RECONCILER_CHECKS, "outcome" => *outcome).increment(0);
    }
    metrics::counter!(RECONCILER_EXPIRED).increment(0);
    for kind in EventType::ALL {
        for outcome in WEBHOOK_OUTCOMES {
            metrics::counter!(WEBHOOK_ATTEMPTS, "type" => kind.as_str(), "outcome" => *outcome)
                .increment(0);
        }
    }
    metrics::gauge!(WEBHOOK_OLDEST_PENDING).set(0.0);
}

/// Folds the histogram samples recorded since the last call into their
/// buckets. The recorder keeps every sample until then: without a scrape,
/// memory would grow with each request (the crate leaves this to us).
pub(crate) fn upkeep() {
    handle().run_upkeep();
}

/// The Prometheus text, with the gauges taken now: the pool's, and the
/// event streams open.
pub(crate) fn render(db: &PgPool, open_streams: usize) -> String {
    let handle = handle();
    metrics::gauge!(SSE_STREAMS_OPEN).set(open_streams as f64);
    let idle = db.num_idle() as f64;
    let size = f64::from(db.size());
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use").set(size - idle);
    metrics::gauge!(DB_POOL_MAX).set(f64::from(db.options().get_max_connections()));
    upkeep();
    handle.render()
}

pub(crate) fn gtf_call(endpoint: &'static str, outcome: &'static str, elapsed: Duration) {
    debug_assert!(GTF_ENDPOINTS.contains(&endpoint) && GTF_OUTCOMES.contains(&outcome));
    metrics::counter!(GTF_REQUESTS, "endpoint" => endpoint, "outcome" => outcome).increment(1);
    metrics::histogram!(GTF_DURATION, "endpoint" => endpoint).record(elapsed.as_secs_f64());
}

pub(crate) fn token_lookup(hit: bool) {
    metrics::counter!(TOKEN_LOOKUPS, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

pub(crate) fn token_mint(outcome: &'static str) {
    debug_assert!(GTF_OUTCOMES.contains(&outcome));
    metrics::counter!(TOKEN_MINTS, "outcome" => outcome).increment(1);
}

pub(crate) fn callback_received(outcome: &'static str) {
    debug_assert!(CALLBACK_RECEIVED_OUTCOMES.contains(&outcome));
    metrics::counter!(CALLBACKS_RECEIVED, "outcome" => outcome).increment(1);
}

pub(crate) fn callback_verified(outcome: &'static str) {
    debug_assert!(CALLBACK_VERIFIED_OUTCOMES.contains(&outcome));
    metrics::counter!(CALLBACKS_VERIFIED, "outcome" => outcome).increment(1);
}

pub(crate) fn reconciler_check(outcome: &'static str) {
    debug_assert!(RECONCILER_OUTCOMES.contains(&outcome));
    metrics::counter!(RECONCILER_CHECKS, "outcome" => outcome).increment(1);
}

pub(crate) fn reconciler_expired(n: usize) {
    metrics::counter!(RECONCILER_EXPIRED).increment(n as u64);
}

/// The per-request series' handles, by method and status, then route: the
/// recorder's own lookup builds, hashes and compares a labelled key on
/// every call, a twentieth of a `/healthz`. Bounded as the labels are.
type HttpSeries = HashMap<(&'static str, u16), HashMap<Box<str>, (Counter, Histogram)>>;
static HTTP_SERIES: LazyLock<RwLock<HttpSeries>> = LazyLock::new(RwLock::default);

pub(crate) fn http_request(method: &'static str, route: &str, status: u16, elapsed: Duration) {
    let record = |(requests, duration): &(Counter, Histogram)| {
        requests.increment(1);
        duration.record(elapsed.as_secs_f64());
    };
    let series = HTTP_SERIES.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(handles) = series.get(&(method, status)).and_then(|r| r.get(route)) {
        return record(handles);
    }
    drop(series);
    let handles = (
        metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.to_owned(), "status" => status.to_string()),
        metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route.to_owned()),
    );
    record(&handles);
    HTTP_SERIES
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry((method, status))
        .or_default()
        .insert(route.into(), handles);
}

/// One delivery attempt by event type and outcome (`succeeded`,
/// `retrying`, `failed`: the last one of a series).
pub(crate) fn webhook_attempt(kind: &str, outcome: &'static str, elapsed: Duration) {
    debug_assert!(WEBHOOK_OUTCOMES.contains(&outcome), "{outcome}");
    metrics::counter!(WEBHOOK_ATTEMPTS, "type" => kind.to_owned(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!(WEBHOOK_DURATION).record(elapsed.as_secs_f64());
}

pub(crate) fn webhook_oldest_pending(age: Duration) {
    metrics::gauge!(WEBHOOK_OLDEST_PENDING).set(age.as_secs_f64());
}
