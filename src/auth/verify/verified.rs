//! Tokens that passed every check, so that a client's next request with the
//! same token costs a lookup rather than a signature and claims check (a
//! fifth of a `GET`'s CPU). Keyed by the whole token: only the exact bytes
//! that were verified hit. A hit is checked again against `exp` (with the
//! leeway) and against the key set that verified it: once a JWKS is
//! reloaded every earlier entry misses, so a key the provider withdrew stops
//! verifying at once.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moka::future::Cache;

use super::{LEEWAY_SECS, Verified};

/// Distinct tokens remembered; the least used go first.
const CAPACITY: u64 = 10_000;
/// However long a token is valid, it is verified again after this.
const TTL: Duration = Duration::from_secs(600);

pub(super) struct VerifiedTokens {
    tokens: Cache<String, Arc<Entry>>,
}

struct Entry {
    verified: Verified,
    exp: u64,
    /// The generation of the key set that verified it.
    keys: u64,
}

pub(super) enum Lookup {
    Hit(Verified),
    /// Verified once, and expired since.
    Expired,
    Miss,
}

impl VerifiedTokens {
    pub(super) fn new() -> Self {
        Self {
            tokens: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
        }
    }

    /// `token`, if it was verified with the key set of generation `keys`.
    pub(super) async fn get(&self, token: &str, keys: u64) -> Lookup {
        match self.tokens.get(token).await {
            Some(entry) if entry.keys == keys => {
                if entry.exp.saturating_add(LEEWAY_SECS) < unix_now() {
                    Lookup::Expired
                } else {
                    Lookup::Hit(entry.verified.clone())
                }
            }
            _ => Lookup::Miss,
        }
    }

    pub(super) async fn insert(&self, token: &str, verified: &Verified, exp: u64, keys: u64) {
        let entry = Entry {
            verified: verified.clone(),
            exp,
            keys,
        };
        self.tokens.insert(token.to_owned(), Arc::new(entry)).await;
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
