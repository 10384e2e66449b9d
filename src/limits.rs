//! Rate limits: per user on the calls that cost a GTF round trip and a
//! submission attempt, and per source address on failed callback
//! authentications. Kept in each process (a limit applies per replica).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::domain::PartnerUserId;

/// Failed callback authentications a source address may have in a minute;
/// beyond them it is refused without its credential being looked at.
pub(crate) const CALLBACK_FAILURES_PER_MINUTE: usize = 20;

/// A keyed limiter: each key may act `per_minute` times a minute (in a
/// burst, then evenly).
pub(crate) struct Limiter<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub(crate) fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            inner: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// `Err(wait)` when `key` is over its limit.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        self.inner
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets keys that are back to a fresh state, so memory follows the
    /// number of recently active keys, not all keys ever seen.
    pub(crate) fn forget_idle(&self) {
        self.inner.retain_recent();
    }
}

/// Failures per key in a sliding window. Checking costs nothing; only
/// recorded failures count, so a key that never fails is never refused.
/// A key over budget is refused until its oldest counted failure has left
/// the window, whatever it would have done: a guesser cannot tell from the
/// answer when a guess was right.
pub(crate) struct FailureBudget<K> {
    allowed: usize,
    window: Duration,
    /// The most recent failures per key, oldest first: at most `allowed + 1`.
    failures: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Hash + Eq> FailureBudget<K> {
    pub(crate) fn new(allowed: usize, window: Duration) -> Self {
        Self {
            allowed,
            window,
            failures: Mutex::default(),
        }
    }

    /// `Err(wait)` while `key` has had more than `allowed` failures in the
    /// window.
    pub(crate) fn check(&self, key: &K) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    pub(crate) fn record_failure(&self, key: K) {
        self.record_at(key, Instant::now());
    }

    /// Forgets keys whose failures have all left the window.
    pub(crate) fn forget_idle(&self) {
        let now = Instant::now();
        self.lock()
            .retain(|_, failures| failures.back().is_some_and(|t| self.counts(*t, now)));
    }

    fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let failures = self.lock();
        let Some(recent) = failures.get(key) else {
            return Ok(());
        };
        match recent.front() {
            Some(oldest) if recent.len() > self.allowed && self.counts(*oldest, now) => {
                Err(*oldest + self.window - now)
            }
            _ => Ok(()),
        }
    }

    fn record_at(&self, key: K, now: Instant) {
        let mut failures = self.lock();
        let recent = failures.entry(key).or_default();
        recent.push_back(now);
        while recent.len() > self.allowed + 1
            || recent.front().is_some_and(|t| !self.counts(*t, now))
        {
            recent.pop_front();
        }
    }

    fn counts(&self, failed_at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(failed_at) < self.window
    }

    /// A panic elsewhere cannot leave the counts inconsistent (each update
    /// is complete before it unlocks), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, HashMap<K, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The service's limits.
pub(crate) struct Limits {
    /// Create and confirm, per end user.
    pub(crate) users: Limiter<PartnerUserId>,
    /// Failed callback authentications, per source address. An address
    /// that never fails is never limited, so GTF's own traffic is not
    /// dropped because someone else guesses from elsewhere.
    pub(crate) callback_failures: FailureBudget<IpAddr>,
}

impl Limits {
    pub(crate) fn new(user_per_minute: NonZeroU32) -> Self {
        Self {
            users: Limiter::per_minute(user_per_minute),
            callback_failures: FailureBudget::new(
                CALLBACK_FAILURES_PER_MINUTE,
                Duration::from_secs(60),
            ),
        }
    }

    pub(crate) fn forget_idle(&self) {
        self.users.forget_idle();
        self.callback_failures.forget_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_budget() {
        let l = Limiter::per_minute(NonZeroU32::new(2).unwrap());
        assert!(l.check(&"a").is_ok());
        assert!(l.check(&"a").is_ok());
        let wait = l.check(&"a").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(l.check(&"b").is_ok());
    }

    #[test]
    fn a_key_over_its_failure_budget_is_refused_until_its_window_has_passed() {
        let budget = FailureBudget::new(2, Duration::from_secs(60));
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        // Checking spends nothing.
        for _ in 0..10 {
            assert!(budget.check_at(&"a", start).is_ok());
        }
        budget.record_at("a", at(0));
        budget.record_at("a", at(10));
        assert!(
            budget.check_at(&"a", at(10)).is_ok(),
            "two failures are allowed"
        );
        budget.record_at("a", at(20));
        assert_eq!(budget.check_at(&"a", at(20)), Err(Duration::from_secs(40)));
        assert!(
            budget.check_at(&"b", at(20)).is_ok(),
            "other keys are not affected"
        );
        // The oldest failure leaves the window: one more try.
        assert!(budget.check_at(&"a", at(60)).is_ok());
        budget.record_at("a", at(60));
        assert_eq!(budget.check_at(&"a", at(60)), Err(Duration::from_secs(10)));
        assert!(budget.check_at(&"a", at(70)).is_ok());
    }

    #[test]
    fn idle_keys_are_forgotten() {
        let budget = FailureBudget::new(2, Duration::from_millis(1));
        budget.record_failure("a");
        std::thread::sleep(Duration::from_millis(5));
        budget.forget_idle();
        assert!(budget.lock().is_empty());
    }
}
