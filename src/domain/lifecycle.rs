//! The lifecycle's rules, once: what causes a change, whether GTF still has
//! something to tell about a submission, and when it is asked again. The
//! status machine ([`super::State::apply`]) says what a change is; this says
//! what follows from it.

use std::time::Duration;

use rand::Rng;

use super::{State, Status};

/// What caused a state change, recorded in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    Created,
    Confirm,
    Refresh,
    Callback,
    Reconciler,
    Expiry,
    ResultFetch,
    /// An operator asked for GTF's word (`/ops/v1/.../refresh`).
    Operator,
}

impl Cause {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Confirm => "confirm",
            Self::Refresh => "refresh",
            Self::Callback => "callback",
            Self::Reconciler => "reconciler",
            Self::Expiry => "expiry",
            Self::ResultFetch => "result_fetch",
            Self::Operator => "operator",
        }
    }
}

/// A final submission's result is fetched inline; the reconciler steps in
/// only if it is still missing after this long.
pub(crate) const RESULT_FETCH_AFTER: Duration = Duration::from_secs(30);

impl State {
    /// GTF's final word with its outcome: nothing can change any more.
    pub(crate) fn is_concluded(&self) -> bool {
        self.status.is_final() && self.outcome.is_known()
    }

    /// Nothing more is expected: concluded, or the upload window closed.
    /// (GTF can still overrule an expiry, so a callback for an expired
    /// submission is checked all the same: see [`Self::is_concluded`].)
    pub(crate) fn is_settled(&self) -> bool {
        self.is_concluded() || self.status == Status::Expired
    }

    /// Whether the reconciler has something to ask GTF: a status that is
    /// not final yet, or a final one whose result has not arrived.
    pub(crate) fn awaits_gtf(&self) -> bool {
        self.status == Status::Processing || (self.status.is_final() && !self.is_concluded())
    }
}

/// How the reconciler paces its questions to GTF.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing {
    /// A PROCESSING submission with no final word after this long is polled.
    pub(crate) reconcile_after: Duration,
    /// The first delay between two looks; each later one is half as long
    /// again, up to `max_delay`.
    pub(crate) first_delay: Duration,
    pub(crate) max_delay: Duration,
}

impl Pacing {
    /// When the reconciler first looks at a submission that just changed
    /// into `state`; `None`: never.
    pub(crate) fn first_look(&self, state: &State) -> Option<Duration> {
        match state.status {
            _ if !state.awaits_gtf() => None,
            Status::Processing => Some(self.reconcile_after),
            _ => Some(RESULT_FETCH_AFTER),
        }
    }

    /// When it looks again after its `attempts`-th look found `state`.
    pub(crate) fn next_look(&self, state: &State, attempts: i32) -> Option<Duration> {
        state
            .awaits_gtf()
            .then(|| backoff(self.first_delay, self.max_delay, attempts))
    }
}

/// `min(cap, first × 1.5^attempts)` plus up to `first` of jitter, so that
/// replicas and retries spread out.
pub(crate) fn backoff(first: Duration, cap: Duration, attempts: i32) -> Duration {
    let grown = first.as_secs_f64() * 1.5f64.powi(attempts.clamp(0, 64));
    let base = Duration::from_secs_f64(grown.min(cap.as_secs_f64()));
    let jitter = rand::rng().random_range(0.0..=first.as_secs_f64());
    base + Duration::from_secs_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{GtfResult, Outcome};

    fn state(status: Status, result: Option<GtfResult>) -> State {
        State {
            status,
            outcome: Outcome {
                result,
                reason_code: None,
            },
        }
    }

    const PACING: Pacing = Pacing {
        reconcile_after: Duration::from_secs(600),
        first_delay: Duration::from_secs(5),
        max_delay: Duration::from_secs(300),
    };

    #[test]
    fn backoff_starts_at_five_to_ten_seconds_and_is_capped() {
        let (first, cap) = (Duration::from_secs(5), Duration::from_secs(300));
        for _ in 0..100 {
            let d = backoff(first, cap, 0);
            assert!(d >= first && d <= first * 2, "{d:?}");
            let d = backoff(first, cap, 50);
            assert!(d >= cap && d <= cap + first, "{d:?}");
        }
        assert!(backoff(first, cap, 4) > Duration::from_secs(25));
    }

    #[test]
    fn gtf_is_asked_until_the_outcome_is_known() {
        let waiting = [
            state(Status::Processing, None),
            state(Status::Completed, None),
            state(Status::Failed, None),
        ];
        for s in &waiting {
            assert!(s.awaits_gtf() && !s.is_settled(), "{s:?}");
            assert!(PACING.next_look(s, 0).is_some());
        }
        let done = [
            state(Status::Completed, Some(GtfResult::Valid)),
            state(Status::Expired, None),
        ];
        for s in &done {
            assert!(!s.awaits_gtf() && s.is_settled(), "{s:?}");
            assert_eq!(PACING.first_look(s), None);
            assert_eq!(PACING.next_look(s, 3), None);
        }
        // Waiting for the app's upload: nothing to ask GTF on a schedule.
        assert!(!State::new().awaits_gtf() && !State::new().is_settled());
    }

    #[test]
    fn the_first_look_waits_for_the_callback_or_the_inline_fetch() {
        assert_eq!(
            PACING.first_look(&state(Status::Processing, None)),
            Some(PACING.reconcile_after)
        );
        assert_eq!(
            PACING.first_look(&state(Status::Failed, None)),
            Some(RESULT_FETCH_AFTER)
        );
    }
}
