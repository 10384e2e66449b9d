//! Submission changes and due webhooks, from whichever replica made them:
//! one PostgreSQL LISTEN per process, fanned out to the live event streams
//! and the webhook sender.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::store::submissions::CHANGES_CHANNEL;
use crate::store::webhooks::WEBHOOKS_CHANNEL;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Submission(Uuid),
    /// Webhook deliveries were committed somewhere.
    WebhooksDue,
    /// Notifications may have been missed (the connection dropped): every
    /// stream should reload.
    Resync,
}

/// Subscribe to hear about every change.
#[derive(Clone)]
pub(crate) struct ChangeFeed {
    tx: broadcast::Sender<Change>,
}

impl ChangeFeed {
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// Starts listening; runs until `shutdown`, reconnecting as needed.
    pub(crate) fn start(db: PgPool, shutdown: CancellationToken) -> Self {
        let (tx, _) = broadcast::channel(1024);
        tokio::spawn(listen(db, tx.clone(), shutdown));
        Self { tx }
    }
}

async fn listen(db: PgPool, tx: broadcast::Sender<Change>, shutdown: CancellationToken) {
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
        let _ = tx.send(Change::Resync);
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return,
                n = listener.try_recv() => n,
            };
            match next {
                Ok(Some(n)) if n.channel() == WEBHOOKS_CHANNEL => {
                    let _ = tx.send(Change::WebhooksDue);
                }
                Ok(Some(n)) => {
                    if let Ok(id) = n.payload().parse() {
                        let _ = tx.send(Change::Submission(id));
                    }
                }
                // The connection dropped; `try_recv` reconnects next time,
                // but notifications in between are lost.
                Ok(None) => {
                    let _ = tx.send(Change::Resync);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change feed: connection lost");
                    break;
                }
            }
        }
    }
}
