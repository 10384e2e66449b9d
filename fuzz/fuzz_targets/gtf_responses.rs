//! GTF's answers, arbitrary, through the real GTF client.
//!
//! The wire types (src/gtf/wire.rs) and the error classification are
//! `pub(crate)`, so this drives the public `GtfClient` against a fake GTF in
//! the same process that answers with the fuzz input: the status line, a
//! `Retry-After` header and the body come from the input. Everything the
//! client does with an answer runs for real: envelope and `data` parsing
//! (lenient numbers, codes as strings or integers, unknown values), token
//! lifetimes, error classification by status then `cause`, `Retry-After`,
//! the retry decision, the 401 re-mint. Slower than calling a parser (one
//! loopback HTTP exchange per input) but it tests what production runs.
//!
//! Input: byte 0 picks the call (token, presign, confirm, status, details),
//! byte 1 the HTTP status, byte 2 the length of a `Retry-After` value that
//! follows (0: none); the rest is the body. The answers of the other
//! gateway are valid, so the fuzzed one is always reached.
//!
//! Properties: no panic; a non-2xx answer is never a success; errors are
//! classified as README.md says (401 `Unauthorized`; 503 `Unavailable`; 429
//! `QuotaExceeded` or `Unavailable`; other statuses `Rejected` with that
//! status; a 2xx only `MalformedResponse` or `Rejected`, for `success:
//! false`); what a success returns holds what the client promises.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use gtf_bff::config::{Env, GtfConfig};
use gtf_bff::domain::PartnerUserId;
use gtf_bff::gtf::{ClientOptions, GtfClient, GtfError, RetryPolicy, Session};
use libfuzzer_sys::fuzz_target;

const TOKEN_PATH: &str = "/v2/coe/authentication";
const STATUSES: [u16; 16] = [
    200, 201, 202, 204, 302, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Token,
    Presign,
    Confirm,
    Status,
    Details,
}

/// The fake GTF's next answer on the fuzzed gateway.
#[derive(Clone)]
struct Reply {
    to_token: bool,
    status: u16,
    retry_after: Option<HeaderValue>,
    body: Vec<u8>,
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    client: GtfClient,
    reply: Arc<Mutex<Reply>>,
    users: AtomicU64,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let reply = Arc::new(Mutex::new(Reply {
        to_token: false,
        status: 200,
        retry_after: None,
        body: Vec::new(),
    }));
    let app = Router::new().fallback(answer).with_state(reply.clone());
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().unwrap());
    // Without TCP_NODELAY each answer waits on a delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    runtime.spawn(async move { axum::serve(listener, app).await });
    let env = Env::from_pairs([
        ("GTF_TOKEN_BASE_URL", base.as_str()),
        ("GTF_API_BASE_URL", base.as_str()),
        ("GTF_CLIENT_ID", "fuzz-client"),
        ("GTF_PASS_KEY", "fuzz-pass-key"),
        ("GTF_ONBOARDING_PARTNER", "FUZZ-BE-COE_KTP_SCAN"),
        ("GTF_PARTNER_USER_ID_TYPE", "FUZZ_USER_ID"),
        ("GTF_TIMEOUT_MS", "5000"),
    ]);
    let config = GtfConfig::from_env(&env).expect("a GTF configuration");
    let options = ClientOptions {
        // Two attempts, never a wait: retries run, the fuzzer does not sleep.
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            max_retry_after: Duration::ZERO,
        },
        token_capacity: 1024,
        // The breaker would turn every later input into "circuit open".
        breaker_failures: u32::MAX,
        ..ClientOptions::default()
    };
    let client = GtfClient::with_options(config, options).expect("a client");
    Harness {
        runtime,
        client,
        reply,
        users: AtomicU64::new(0),
    }
});

/// The fuzzed answer on its gateway; a valid one on the other.
async fn answer(State(reply): State<Arc<Mutex<Reply>>>, uri: Uri) -> Response {
    let reply = reply.lock().unwrap().clone();
    let to_token = uri.path() == TOKEN_PATH;
    if to_token != reply.to_token {
        let body: &'static str = if to_token {
            r#"{"success":true,"data":{"token":"fuzz-token","expiry_seconds":"3600"}}"#
        } else {
            r#"{"success":true,"data":{"submissionId":"S","status":"IN_PROGRESS","documents":{}}}"#
        };
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let status = StatusCode::from_u16(reply.status).unwrap();
    let mut response = (status, reply.body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(value) = reply.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fuzz_target!(|data: &[u8]| {
    let harness = &*HARNESS;
    let [kind, status, ra_len, rest @ ..] = data else {
        return;
    };
    let call = [
        Call::Token,
        Call::Presign,
        Call::Confirm,
        Call::Status,
        Call::Details,
    ][usize::from(*kind) % 5];
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    let ra_len = usize::from(*ra_len).min(rest.len());
    let (retry_after, body) = rest.split_at(ra_len);
    let retry_after = (ra_len > 0)
        .then(|| HeaderValue::from_bytes(retry_after).ok())
        .flatten();
    *harness.reply.lock().unwrap() = Reply {
        to_token: call == Call::Token,
        status,
        retry_after,
        body: body.to_vec(),
    };

    // A new user for each token call, so that the token is minted (parsed)
    // from this answer; one user for the rest, whose token stays cached.
    let user = match call {
        Call::Token => format!("fuzz-{}", harness.users.fetch_add(1, Ordering::Relaxed)),
        _ => "fuzz-user".to_owned(),
    };
    let user = PartnerUserId::parse(&user).unwrap();
    let session = Session {
        partner_session_id: "fuzz-partner-session".into(),
        sdk_session_id: "fuzz-sdk-session".into(),
    };
    let client = &harness.client;
    let outcome: Result<(), GtfError> = harness.runtime.block_on(async {
        match call {
            // The token is minted on the way to any call.
            Call::Token | Call::Status => client.status(&user, &session, "S").await.map(drop),
            Call::Presign => client.presign(&user, &session, "KTP_SCAN").await.map(|p| {
                for upload in &p.uploads {
                    assert!(upload.expires_in.is_none_or(|d| d > Duration::ZERO));
                }
            }),
            Call::Confirm => client.confirm(&user, &session, "S").await,
            Call::Details => client.details(&user, &session, "S").await.map(|d| {
                assert!(d.ktp.as_ref().is_none_or(|k| k.is_object()));
                assert!(d.reason_code.as_deref() != Some(""));
            }),
        }
    });

    match (status, &outcome) {
        (200..=299, Ok(())) => {}
        (200..=299, Err(GtfError::MalformedResponse(_))) => {}
        (200..=299, Err(GtfError::Rejected { status, .. })) => assert_eq!(*status, 200),
        (_, Ok(())) => panic!("{call:?}: a {status} answer taken for a success"),
        (401, Err(e)) => assert_eq!(e, &GtfError::Unauthorized, "{call:?}"),
        (503, Err(e)) => assert!(
            matches!(
                e,
                GtfError::Unavailable {
                    status: Some(503),
                    ..
                }
            ),
            "{call:?}: 503 classified as {e:?}"
        ),
        (429, Err(e)) => assert!(
            matches!(
                e,
                GtfError::QuotaExceeded { .. }
                    | GtfError::Unavailable {
                        status: Some(429),
                        ..
                    }
            ),
            "{call:?}: 429 classified as {e:?}"
        ),
        (s, Err(e)) => assert!(
            matches!(e, GtfError::Rejected { status, .. } if *status == s),
            "{call:?}: {s} classified as {e:?}"
        ),
    }
});
