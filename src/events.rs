//! Submission changes and due webhooks, from whichever replica made them:
//! one PostgreSQL LISTEN per process, fanned out to the live event streams
//! (each hears of its own submission only) and the webhook sender.

mod watchers;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::announce::{CHANGES_CHANNEL, WEBHOOKS_CHANNEL};
pub(crate) use watchers::SubmissionChanges;
use watchers::Watchers;

/// What the process as a whole hears of; a submission's changes go to its
/// own watchers instead, so that one change does not wake every stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Webhook deliveries were committed somewhere.
    WebhooksDue,
    /// Notifications may have been missed (the connection dropped): every
    /// submission's watchers hear of it too.
    Resync,
}

#[derive(Clone)]
pub(crate) struct ChangeFeed {
    tx: broadcast::Sender<Change>,
    watchers: Arc<Watchers>,
}

impl ChangeFeed {
    /// Hears about every [`Change`].
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// Hears about changes to submission `id` from now on.
    pub(crate) fn watch(&self, id: Uuid) -> SubmissionChanges {
        self.watchers.watch(id)
    }

    /// Starts listening; runs until `shutdown`, reconnecting as needed.
    pub(crate) fn start(db: PgPool, shutdown: CancellationToken) -> Self {
        let feed = Self {
            tx: broadcast::channel(1024).0,
            watchers: Arc::default(),
        };
        tokio::spawn(listen(db, feed.clone(), shutdown));
        feed
    }

    fn resync(&self) {
        let _ = self.tx.send(Change::Resync);
        self.watchers.all_changed();
    }
}

async fn listen(db: PgPool, feed: ChangeFeed, shutdown: CancellationToken) {
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&db).await?;
            listener
                .listen_all([CHANGES_CHANNEL, WEBHOOKS_CHANNEL])
                .await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = shutdown.cancelled() => return,
            l = connected => match l {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: cannot listen; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        // Changes made while we were not listening are unknown.
        feed.resync();
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                n = listener.try_recv() => n,
            };
            match next {
                Ok(Some(n)) if n.channel() == WEBHOOKS_CHANNEL => {
                    let _ = feed.tx.send(Change::WebhooksDue);
                }
                Ok(Some(n)) => {
                    if let Ok(id) = n.payload().parse() {
                        feed.watchers.changed(id);
                    }
                }
                // The connection dropped; `try_recv` reconnects next time,
                // but notifications in between are lost.
                Ok(None) => feed.resync(),
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: connection lost");
                    break;
                }
            }
        }
    }
}
