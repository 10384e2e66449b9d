//! The token manager: one per process, shared by every request. GTF user
//! tokens are cached per (onboarding partner, partner user id, user id type)
//! and refreshed before they expire; concurrent requests for one user wait on
//! a single mint. Errors are shared by the waiters of that mint but never
//! cached, and a failed refresh never evicts a token that is still valid.

use std::fmt;
use std::future::{Future, ready};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::Op;

use super::error::GtfError;
use crate::domain::PartnerUserId;

/// Who a GTF user token is bound to (GTF's caching guidance for user tokens).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) onboarding_partner: Arc<str>,
    pub(crate) user: PartnerUserId,
    pub(crate) user_id_type: Arc<str>,
}

/// A minted token, kept as a ready, sensitive header value so that it is
/// never printed and never re-validated per call.
#[derive(Clone)]
pub(crate) struct UserToken {
    header: HeaderValue,
    /// Until then the token is used as is; after it, a refresh is attempted.
    refresh_at: Instant,
    /// After it, the token is never used.
    expires_at: Instant,
}

impl fmt::Debug for UserToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserToken")
            .field("token", &"[redacted]")
            .field("refresh_at", &self.refresh_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Used when GTF sends neither expiry field: short, so a surprise costs little.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(60);
/// No token is trusted for longer, whatever GTF says (its documented
/// example is 60 days); also keeps instant arithmetic far from overflow.
const MAX_LIFETIME: Duration = Duration::from_secs(366 * 86_400);
/// How long a still-valid token is used after a failed refresh before the
/// next refresh attempt, so that an outage does not turn every request into
/// a doomed mint.
const REFRESH_RETRY: Duration = Duration::from_secs(5);

impl UserToken {
    /// `lifetime` is counted from `minted_at`. GTF only says to cache
    /// tokens; we refresh max(60 s, 10 %) before expiry, but never more than
    /// half the lifetime early.
    pub(crate) fn new(header: HeaderValue, minted_at: Instant, lifetime: Option<Duration>) -> Self {
        let mut header = header;
        header.set_sensitive(true);
        let lifetime = lifetime.unwrap_or(ASSUMED_LIFETIME).min(MAX_LIFETIME);
        let margin = (lifetime / 10)
            .max(Duration::from_secs(60))
            .min(lifetime / 2);
        Self {
            header,
            refresh_at: minted_at + (lifetime - margin),
            expires_at: minted_at + lifetime,
        }
    }

    pub(crate) fn header(&self) -> &HeaderValue {
        &self.header
    }

    fn is_usable(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    /// The same token, to be used for a little longer after a failed refresh.
    fn reprieved(&self, now: Instant) -> Self {
        Self {
            refresh_at: (now + REFRESH_RETRY).min(self.expires_at),
            ..self.clone()
        }
    }
}

/// The usable lifetime of a token from GTF's two expiry fields (numbers that
/// may be absent): the earlier of `expires_at` (epoch seconds) and
/// now + `expiry_seconds`, ignoring values that are already past.
pub(crate) fn lifetime(
    now_epoch_secs: i64,
    expiry_seconds: Option<i64>,
    expires_at: Option<i64>,
) -> Option<Duration> {
    [
        expiry_seconds,
        expires_at.map(|at| at.saturating_sub(now_epoch_secs)),
    ]
    .into_iter()
    .flatten()
    .filter(|secs| *secs > 0)
    .min()
    .map(|secs| Duration::from_secs(secs.unsigned_abs()))
}

/// Expires cache entries at an instant stored in the value.
struct Until(fn(&UserToken) -> Instant);

impl Expiry<TokenKey, Arc<UserToken>> for Until {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        value: &Arc<UserToken>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some((self.0)(value).saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        key: &TokenKey,
        value: &Arc<UserToken>,
        updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, value, updated_at)
    }
}

/// How a [`TokenManager::get`] was served, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit,
    Miss,
}

#[derive(Clone)]
pub(crate) struct TokenManager {
    /// Tokens to use without asking GTF: each leaves at its `refresh_at`.
    fresh: Cache<TokenKey, Arc<UserToken>>,
    /// Every token still valid: each leaves at its `expires_at`. The fallback
    /// when a refresh fails.
    valid: Cache<TokenKey, Arc<UserToken>>,
}

impl TokenManager {
    /// `capacity` is the number of users whose tokens are kept.
    pub(crate) fn new(capacity: u64) -> Self {
        let cache = |until: fn(&UserToken) -> Instant| {
            Cache::builder()
                .max_capacity(capacity)
                .expire_after(Until(until))
                .build()
        };
        Self {
            fresh: cache(|t| t.refresh_at),
            valid: cache(|t| t.expires_at),
        }
    }

    /// The user's token: cached, or minted by `mint` (run by one caller only,
    /// however many wait). When minting fails but the previous token is still
    /// valid, that token is used and the refresh retried a little later.
    pub(crate) async fn get<F>(
        &self,
        key: &TokenKey,
        mint: F,
    ) -> Result<(Arc<UserToken>, Lookup), GtfError>
    where
        F: Future<Output = Result<UserToken, GtfError>>,
    {
        if let Some(token) = self.fresh.get(key).await {
            return Ok((token, Lookup::Hit));
        }
        let valid = &self.valid;
        let token = self
            .fresh
            .try_get_with(key.clone(), async {
                match mint.await {
                    Ok(token) => {
                        let token = Arc::new(token);
                        valid.insert(key.clone(), token.clone()).await;
                        Ok(token)
                    }
                    Err(err) => {
                        let now = Instant::now();
                        match valid.get(key).await {
                            Some(old) if old.is_usable(now) => {
                                tracing::warn!(error = %err, "GTF token refresh failed; using the current token a little longer");
                                Ok(Arc::new(old.reprieved(now)))
                            }
                            _ => Err(err),
                        }
                    }
                }
            })
            .await
            .map_err(|err| GtfError::clone(&err))?;
        Ok((token, Lookup::Miss))
    }

    /// Forgets `failed` after GTF refused it, unless another request has
    /// already replaced it: so many requests failing with one token cause one
    /// new mint, not one each.
    pub(crate) async fn invalidate_if_current(&self, key: &TokenKey, failed: &UserToken) {
        for cache in [&self.fresh, &self.valid] {
            cache
                .entry(key.clone())
                .and_compute_with(|entry| {
                    ready(match entry {
                        Some(e) if e.value().header == failed.header => Op::Remove,
                        _ => Op::Nop,
                    })
                })
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_is_the_earlier_of_both_fields() {
        let now = 1_000_000;
        assert_eq!(
            lifetime(now, Some(1800), Some(now + 600)),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            lifetime(now, Some(300), Some(now + 600)),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            lifetime(now, None, Some(now + 60)),
            Some(Duration::from_secs(60))
        );
        assert_eq!(lifetime(now, Some(60), None), Some(Duration::from_secs(60)));
        // A past `expires_at` (clock skew) does not make a fresh token useless.
        assert_eq!(
            lifetime(now, Some(60), Some(now - 5)),
            Some(Duration::from_secs(60))
        );
        assert_eq!(lifetime(now, None, None), None);
    }

    fn token(lifetime: Duration) -> UserToken {
        UserToken::new(
            HeaderValue::from_static("t"),
            Instant::now(),
            Some(lifetime),
        )
    }

    #[test]
    fn refresh_margin_follows_the_decisions_table() {
        // 60 days: 10 % (6 days) before expiry.
        let t = token(Duration::from_secs(5_184_000));
        assert_eq!(t.expires_at - t.refresh_at, Duration::from_secs(518_400));
        // 30 minutes: 10 % is 3 min.
        let t = token(Duration::from_secs(1800));
        assert_eq!(t.expires_at - t.refresh_at, Duration::from_secs(180));
        // 5 minutes: at least 60 s.
        let t = token(Duration::from_secs(300));
        assert_eq!(t.expires_at - t.refresh_at, Duration::from_secs(60));
        // 4 seconds: never more than half, so it is used for 2 s.
        let t = token(Duration::from_secs(4));
        assert_eq!(t.expires_at - t.refresh_at, Duration::from_secs(2));
    }

    #[test]
    fn an_expiry_far_in_the_past_is_ignored_not_overflowed() {
        assert_eq!(lifetime(1_000, None, Some(i64::MIN)), None);
        assert_eq!(
            lifetime(1_000, Some(600), Some(i64::MIN + 1)),
            Some(Duration::from_secs(600))
        );
    }

    #[test]
    fn absurd_lifetimes_are_capped_instead_of_overflowing() {
        let t = token(Duration::from_secs(u64::MAX / 2));
        assert_eq!(t.expires_at - t.refresh_at, MAX_LIFETIME / 10);
        let now = 1_000;
        assert_eq!(
            lifetime(now, Some(i64::MAX), Some(i64::MAX)),
            Some(Duration::from_secs((i64::MAX - now) as u64))
        );
    }

    #[test]
    fn tokens_are_sensitive_and_never_printed() {
        let t = UserToken::new(
            HeaderValue::from_static("secret-token"),
            Instant::now(),
            None,
        );
        assert!(t.header().is_sensitive());
        assert!(!format!("{t:?}").contains("secret-token"));
        assert_eq!(t.expires_at - t.refresh_at, Duration::from_secs(30));
    }
}
