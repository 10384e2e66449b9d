//! The callback GTF pushes when a submission is final:
//! the 4 documented fields, the partner's configured auth header, retried
//! with exponential backoff until a 2xx.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use url::Url;
use uuid::Uuid;

use super::outcome::Verdict;

/// Per attempt; a slower receiver counts as a failed delivery.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Sender {
    http: reqwest::Client,
    url: Url,
    auth: Option<(HeaderName, HeaderValue)>,
    attempts: u32,
    retry_base: Duration,
}

impl Sender {
    pub(crate) fn new(
        url: Url,
        auth: Option<(HeaderName, HeaderValue)>,
        attempts: u32,
        retry_base: Duration,
    ) -> reqwest::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(ATTEMPT_TIMEOUT)
                .build()?,
            url,
            auth,
            attempts,
            retry_base,
        })
    }

    /// Waits `delay`, then delivers, giving up early on `shutdown`.
    pub(crate) async fn deliver_after(
        &self,
        delay: Duration,
        submission_id: Uuid,
        verdict: Verdict,
        shutdown: &CancellationToken,
    ) {
        let body = json!({
            "submissionId": submission_id,
            "status": verdict.status(),
            "result": verdict.result(),
            "reasonCode": verdict.reason_code(),
        });
        let mut wait = delay;
        for attempt in 1..=self.attempts {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => {
                    tracing::info!(%submission_id, "callback abandoned at shutdown");
                    return;
                }
            }
            match self.attempt(&body).await {
                Ok(()) => {
                    tracing::info!(%submission_id, attempt, "callback delivered");
                    return;
                }
                Err(problem) => {
                    tracing::warn!(%submission_id, attempt, %problem, "callback not delivered");
                }
            }
            wait = backoff(self.retry_base, attempt - 1);
        }
        tracing::error!(%submission_id, attempts = self.attempts, "callback given up");
    }

    async fn attempt(&self, body: &serde_json::Value) -> Result<(), String> {
        let mut request = self.http.post(self.url.clone()).json(body);
        if let Some((name, value)) = &self.auth {
            request = request.header(name, value);
        }
        // Describe failures without the request, whose headers hold the secret.
        let response = request.send().await.map_err(|e| describe(&e).to_owned())?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("receiver answered {status}"))
        }
    }
}

/// `base * 2^n`, saturating.
fn backoff(base: Duration, n: u32) -> Duration {
    base.saturating_mul(2_u32.saturating_pow(n))
}

fn describe(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_saturates() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 0), base);
        assert_eq!(backoff(base, 3), Duration::from_secs(4));
        assert!(backoff(base, 200) > Duration::from_secs(1_000_000));
    }
}
