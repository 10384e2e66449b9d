//! When a failed GTF call may be sent again, and after how long.

use std::time::Duration;

use rand::Rng;

use super::error::GtfError;

/// What repeating a request could do at GTF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeatable {
    /// Reads: retried on connection errors, 5xx, 503 and 429.
    Always,
    /// Presign creates a submission at GTF, so it is repeated only when GTF
    /// cannot have acted: the connection failed, or GTF said 503 or 429.
    IfNotProcessed,
    /// Confirm: never repeated blindly; the caller decides.
    Never,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error goes to
    /// the caller, who can pass the delay on to its own client.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The longest one call, retries included, can take when each attempt
    /// takes at most `attempt_timeout`: every attempt, and between each two
    /// the longest pause (a backoff, or an honoured `Retry-After` with its
    /// jitter).
    pub(crate) fn longest(&self, attempt_timeout: Duration) -> Duration {
        let attempts = self.max_attempts.max(1);
        let pause = self.max_delay.max(self.max_retry_after + self.base_delay);
        attempt_timeout * attempts + pause * (attempts - 1)
    }

    /// The delay before attempt `attempts_made + 1`, or `None` to give up.
    /// `connect_failed` says the request never reached GTF.
    pub(crate) fn next_delay(
        &self,
        repeatable: Repeatable,
        attempts_made: u32,
        err: &GtfError,
        connect_failed: bool,
    ) -> Option<Duration> {
        if attempts_made >= self.max_attempts || !self.may_repeat(repeatable, err, connect_failed) {
            return None;
        }
        match err.retry_after() {
            Some(wait) if wait > self.max_retry_after => None,
            // A little jitter so that callers told the same instant spread out.
            Some(wait) => Some(wait + jitter(self.base_delay)),
            None => {
                let exp = self
                    .base_delay
                    .saturating_mul(1 << (attempts_made - 1).min(16))
                    .min(self.max_delay);
                // "Full jitter": anywhere between nothing and the backoff.
                Some(jitter(exp))
            }
        }
    }

    fn may_repeat(&self, repeatable: Repeatable, err: &GtfError, connect_failed: bool) -> bool {
        let not_processed = connect_failed
            || matches!(
                err,
                GtfError::Unavailable {
                    status: Some(429 | 503),
                    ..
                }
            );
        match repeatable {
            Repeatable::Never => false,
            Repeatable::IfNotProcessed => not_processed,
            Repeatable::Always => {
                not_processed
                    || matches!(err, GtfError::Unavailable { .. })
                    || matches!(err, GtfError::Rejected { status, .. } if *status >= 500)
            }
        }
    }
}

fn jitter(up_to: Duration) -> Duration {
    let nanos = u64::try_from(up_to.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(status: Option<u16>, retry_after: Option<u64>) -> GtfError {
        GtfError::Unavailable {
            status,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    fn rejected(status: u16) -> GtfError {
        GtfError::Rejected {
            status,
            code: None,
            cause: None,
        }
    }

    #[test]
    fn reads_retry_transient_failures_a_bounded_number_of_times() {
        let p = RetryPolicy::default();
        for err in [
            unavailable(None, None),
            unavailable(Some(503), None),
            rejected(500),
            rejected(502),
        ] {
            assert!(
                p.next_delay(Repeatable::Always, 1, &err, false).is_some(),
                "{err:?}"
            );
            assert!(
                p.next_delay(Repeatable::Always, 3, &err, false).is_none(),
                "{err:?}"
            );
        }
        for err in [
            rejected(400),
            rejected(404),
            GtfError::Timeout,
            GtfError::Unauthorized,
        ] {
            assert!(
                p.next_delay(Repeatable::Always, 1, &err, false).is_none(),
                "{err:?}"
            );
        }
    }

    #[test]
    fn presign_repeats_only_what_gtf_cannot_have_processed() {
        let p = RetryPolicy::default();
        assert!(
            p.next_delay(
                Repeatable::IfNotProcessed,
                1,
                &unavailable(None, None),
                true
            )
            .is_some()
        );
        assert!(
            p.next_delay(
                Repeatable::IfNotProcessed,
                1,
                &unavailable(Some(503), None),
                false
            )
            .is_some()
        );
        assert!(
            p.next_delay(
                Repeatable::IfNotProcessed,
                1,
                &unavailable(None, None),
                false
            )
            .is_none()
        );
        assert!(
            p.next_delay(Repeatable::IfNotProcessed, 1, &rejected(500), false)
                .is_none()
        );
        assert!(
            p.next_delay(Repeatable::IfNotProcessed, 1, &GtfError::Timeout, false)
                .is_none()
        );
    }

    #[test]
    fn confirm_is_never_repeated() {
        let p = RetryPolicy::default();
        assert!(
            p.next_delay(Repeatable::Never, 1, &unavailable(None, None), true)
                .is_none()
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_bound() {
        let p = RetryPolicy::default();
        let d = p
            .next_delay(
                Repeatable::Always,
                1,
                &unavailable(Some(429), Some(1)),
                false,
            )
            .unwrap();
        assert!(
            d >= Duration::from_secs(1) && d <= Duration::from_millis(1100),
            "{d:?}"
        );
        assert!(
            p.next_delay(
                Repeatable::Always,
                1,
                &unavailable(Some(503), Some(60)),
                false
            )
            .is_none()
        );
    }

    #[test]
    fn the_longest_call_is_every_attempt_and_the_longest_pauses() {
        let p = RetryPolicy::default();
        // 3 attempts of 10 s, and twice a 5 s Retry-After plus 100 ms jitter.
        assert_eq!(
            p.longest(Duration::from_secs(10)),
            Duration::from_millis(40_200)
        );
        for attempts_made in 1..p.max_attempts {
            for err in [unavailable(Some(503), Some(5)), rejected(500)] {
                let pause = p
                    .next_delay(Repeatable::Always, attempts_made, &err, false)
                    .unwrap();
                assert!(pause <= Duration::from_millis(5_100), "{pause:?}");
            }
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 30,
            ..RetryPolicy::default()
        };
        for attempt in 1..30 {
            let d = p
                .next_delay(Repeatable::Always, attempt, &rejected(500), false)
                .unwrap();
            assert!(d <= p.max_delay, "{d:?}");
        }
    }
}
