//! How long the GTF calls made on behalf of one request may still take. A
//! request sets a deadline around its work; the client then cuts its
//! attempts and retries to what is left, so a slow GTF is answered as a GTF
//! failure before the request itself times out. Work outside any request
//! (the workers) has no deadline.

use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` with its GTF calls ending by `deadline`.
pub(crate) async fn within<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// `work`, keeping the current deadline (if any) when it is spawned as a
/// task of its own.
pub(crate) fn carried<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let deadline = DEADLINE.try_with(|d| *d).ok();
    async move {
        match deadline {
            Some(deadline) => within(deadline, work).await,
            None => work.await,
        }
    }
}

/// What is left; `None` outside a request.
pub(crate) fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|d| d.saturating_duration_since(Instant::now()))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_deadline_is_seen_inside_and_carried_into_tasks() {
        assert_eq!(remaining(), None);
        let deadline = Instant::now() + Duration::from_secs(60);
        within(deadline, async {
            assert!(remaining().unwrap() > Duration::from_secs(59));
            let task = tokio::spawn(carried(async { remaining() }));
            assert!(task.await.unwrap().is_some());
            assert_eq!(tokio::spawn(async { remaining() }).await.unwrap(), None);
        })
        .await;
    }
}
