//! How many event streams may be open, per user and in this process. Each
//! stream holds a [`Slot`] in its own state, so the slot is given back
//! whatever ends the stream: the client leaving, a final state, its
//! lifetime, a failed reload or shutdown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::problem::ApiError;
use crate::config::StreamConfig;
use crate::domain::PartnerUserId;

pub(crate) struct StreamSlots {
    config: StreamConfig,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    /// Only users with a stream open: memory follows the open streams.
    by_user: HashMap<String, usize>,
}

impl StreamSlots {
    pub(crate) fn new(config: StreamConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            open: Mutex::default(),
        })
    }

    /// A slot for one more stream of `user`, if both limits allow it.
    pub(crate) fn take(self: &Arc<Self>, user: &PartnerUserId) -> Result<Slot, ApiError> {
        let mut open = self.open();
        let user = user.as_str();
        if open.by_user.get(user).copied().unwrap_or(0) >= self.config.per_user {
            return Err(ApiError::TooManyStreams);
        }
        if open.total >= self.config.total {
            return Err(ApiError::StreamsExhausted);
        }
        open.total += 1;
        *open.by_user.entry(user.to_owned()).or_default() += 1;
        Ok(Slot {
            slots: self.clone(),
            user: user.to_owned(),
        })
    }

    /// Streams open now.
    pub(crate) fn open_count(&self) -> usize {
        self.open().total
    }

    /// How long a stream may live before it ends (the client reconnects).
    pub(crate) fn max_lifetime(&self) -> Duration {
        self.config.max_lifetime
    }

    fn open(&self) -> MutexGuard<'_, Open> {
        // Counts stay consistent whatever panicked while holding them.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One open stream's place, given back when dropped.
pub(crate) struct Slot {
    slots: Arc<StreamSlots>,
    user: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open();
        open.total -= 1;
        if let Some(n) = open.by_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                open.by_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(per_user: usize, total: usize) -> Arc<StreamSlots> {
        StreamSlots::new(StreamConfig {
            per_user,
            total,
            max_lifetime: Duration::from_secs(900),
        })
    }

    fn user(id: &str) -> PartnerUserId {
        PartnerUserId::parse(id).unwrap()
    }

    #[test]
    fn each_limit_is_kept_and_slots_come_back() {
        let slots = slots(2, 3);
        let a1 = slots.take(&user("a")).unwrap();
        let _a2 = slots.take(&user("a")).unwrap();
        assert!(matches!(
            slots.take(&user("a")),
            Err(ApiError::TooManyStreams)
        ));
        let _b1 = slots.take(&user("b")).unwrap();
        assert!(matches!(
            slots.take(&user("c")),
            Err(ApiError::StreamsExhausted)
        ));
        assert_eq!(slots.open_count(), 3);
        drop(a1);
        assert_eq!(slots.open_count(), 2);
        let _c1 = slots.take(&user("c")).unwrap();
        assert!(slots.open().by_user.len() == 3);
    }

    #[test]
    fn users_without_streams_are_forgotten() {
        let slots = slots(5, 10);
        drop(slots.take(&user("a")).unwrap());
        assert!(slots.open().by_user.is_empty());
        assert_eq!(slots.open_count(), 0);
    }
}
