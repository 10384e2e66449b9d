//! One delivery attempt: a signed POST, with a timeout, no redirects
//! followed, and at most 4 KiB of the answer kept, for the delivery log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;
use time::OffsetDateTime;

use super::WebhookSecret;

/// How much of a receiver's answer is kept.
const KEPT_RESPONSE: usize = 4 * 1024;

/// What one attempt came to.
#[derive(Debug)]
pub(crate) struct Attempt {
    /// Any `2xx` within the timeout.
    pub(crate) succeeded: bool,
    pub(crate) status: Option<u16>,
    /// The start of the answer, or what went wrong.
    pub(crate) response: String,
    pub(crate) elapsed: Duration,
}

#[derive(Clone)]
pub(crate) struct Sender {
    http: reqwest::Client,
    secrets: Arc<[WebhookSecret]>,
}

impl Sender {
    pub(crate) fn new(secrets: Vec<WebhookSecret>, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // A redirect is a failure: the endpoint is told nothing more.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("gtf-bff/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            secrets: secrets.into(),
        })
    }

    /// POSTs `body` to `endpoint`, signed with every active secret.
    pub(crate) async fn send(&self, endpoint: &str, id: &str, body: &[u8]) -> Attempt {
        let started = Instant::now();
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signatures = self
            .secrets
            .iter()
            .map(|s| s.sign(id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ");
        let mut signature = HeaderValue::from_str(&signatures).expect("base64 is a header value");
        signature.set_sensitive(true);
        let sent = self
            .http
            .post(endpoint)
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let (succeeded, status, response) = match sent {
            Ok(mut r) => {
                let status = r.status();
                let mut kept = Vec::new();
                while kept.len() < KEPT_RESPONSE {
                    match r.chunk().await {
                        Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                        Ok(None) | Err(_) => break,
                    }
                }
                kept.truncate(KEPT_RESPONSE);
                let mut text = String::from_utf8_lossy(&kept).replace('\0', "");
                if status.is_redirection() {
                    text = format!("redirect not followed; {text}");
                }
                (status.is_success(), Some(status.as_u16()), text)
            }
            Err(e) => (false, None, describe(&e)),
        };
        Attempt {
            succeeded,
            status,
            response,
            elapsed: started.elapsed(),
        }
    }
}

/// What went wrong, in words that carry no URL (it may hold credentials).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    what.to_owned()
}
