//! Rate limits: per user on the calls that cost a GTF round trip and a
//! submission attempt, and per source address on failed callback
//! authentications. Kept in each process (a limit applies per replica).

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::domain::PartnerUserId;

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

/// The service's limits.
pub(crate) struct Limits {
    /// Create and confirm, per end user.
    pub(crate) users: Limiter<PartnerUserId>,
    /// Failed callback authentications, per source address. Callbacks that
    /// authenticate are never limited, so GTF's own traffic is never dropped.
    pub(crate) callback_failures: Limiter<IpAddr>,
}

impl Limits {
    pub(crate) fn new(user_per_minute: NonZeroU32) -> Self {
        Self {
            users: Limiter::per_minute(user_per_minute),
            callback_failures: Limiter::per_minute(NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN)),
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
}
