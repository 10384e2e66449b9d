//! Who follows which submission: a change wakes the streams of that
//! submission only, not every stream of the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;
use uuid::Uuid;

#[derive(Default)]
pub(crate) struct Watchers {
    /// Only submissions someone follows: memory follows the open streams.
    by_id: Mutex<HashMap<Uuid, watch::Sender<()>>>,
}

impl Watchers {
    /// Follows `id` from now on.
    pub(crate) fn watch(self: &Arc<Self>, id: Uuid) -> SubmissionChanges {
        let changes = self
            .by_id()
            .entry(id)
            .or_insert_with(|| watch::channel(()).0)
            .subscribe();
        SubmissionChanges {
            changes,
            id,
            watchers: self.clone(),
        }
    }

    /// Wakes those following `id`, if any.
    pub(super) fn changed(&self, id: Uuid) {
        if let Some(tx) = self.by_id().get(&id) {
            tx.send_replace(());
        }
    }

    /// Wakes everyone: changes may have been missed.
    pub(super) fn all_changed(&self) {
        for tx in self.by_id().values() {
            tx.send_replace(());
        }
    }

    fn by_id(&self) -> MutexGuard<'_, HashMap<Uuid, watch::Sender<()>>> {
        // The map stays consistent whatever panicked while holding it.
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Changes to one submission, heard until dropped.
pub(crate) struct SubmissionChanges {
    changes: watch::Receiver<()>,
    id: Uuid,
    watchers: Arc<Watchers>,
}

impl SubmissionChanges {
    /// The submission followed.
    pub(crate) fn id(&self) -> Uuid {
        self.id
    }

    /// Returns once the submission may have changed since the last call
    /// (or since [`Watchers::watch`]): changes meanwhile are one wake-up.
    pub(crate) async fn changed(&mut self) {
        // The sender lives in the map as long as this receiver does.
        if self.changes.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for SubmissionChanges {
    fn drop(&mut self) {
        let mut by_id = self.watchers.by_id();
        // Counted under the lock `watch` takes: this receiver is the last.
        if by_id
            .get(&self.id)
            .is_some_and(|tx| tx.receiver_count() == 1)
        {
            by_id.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn woken(c: &mut SubmissionChanges) -> bool {
        tokio::time::timeout(Duration::from_millis(50), c.changed())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_change_wakes_its_submissions_watchers_only() {
        let watchers = Arc::new(Watchers::default());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let (mut a1, mut a2, mut b1) = (watchers.watch(a), watchers.watch(a), watchers.watch(b));
        watchers.changed(a);
        assert!(woken(&mut a1).await && woken(&mut a2).await);
        assert!(!woken(&mut b1).await);
        // Two changes before the watcher looks: one wake-up.
        watchers.changed(b);
        watchers.changed(b);
        assert!(woken(&mut b1).await);
        assert!(!woken(&mut b1).await);
        watchers.all_changed();
        assert!(woken(&mut a1).await && woken(&mut b1).await);
    }

    #[test]
    fn submissions_without_watchers_are_forgotten() {
        let watchers = Arc::new(Watchers::default());
        let id = Uuid::new_v4();
        let (first, second) = (watchers.watch(id), watchers.watch(id));
        drop(first);
        assert_eq!(watchers.by_id().len(), 1);
        drop(second);
        assert!(watchers.by_id().is_empty());
        watchers.changed(id);
    }
}
