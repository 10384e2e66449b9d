//! `GET /v1/kyc/submissions/{id}/events`: the submission now and at every
//! change, whichever replica made it, until it is final.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{ApiPath, AuthUser};
use super::problem::ApiError;
use super::state::AppState;
use super::stream_slots::Slot;
use super::view::SubmissionView;
use crate::domain::{PartnerUserId, Submission};
use crate::events::SubmissionChanges;

/// One event of the stream, as the wire carries it (and as the OpenAPI
/// document describes it): `event: submission` and the submission as JSON.
#[derive(Debug, ToSchema)]
pub(crate) struct SubmissionEvent {
    #[schema(example = "submission")]
    event: &'static str,
    /// The submission resource (`SubmissionView`) as JSON.
    #[schema(content_media_type = "application/json")]
    data: String,
}

impl SubmissionEvent {
    fn of(s: Submission) -> Self {
        Self {
            event: "submission",
            // Serializing a view of plain fields cannot fail.
            data: serde_json::to_string(&SubmissionView::from(s)).unwrap_or_default(),
        }
    }

    fn into_sse(self) -> Event {
        Event::default().event(self.event).data(self.data)
    }
}

/// Reload this often even without a notification, in case one was lost.
const SAFETY_RELOAD: Duration = Duration::from_secs(30);

/// Server-Sent Events: `event: submission` with the submission now and at
/// every change, whichever replica made it, ending after a final state (or
/// after `SSE_MAX_LIFETIME_SECS`: reconnect). A user may hold
/// `SSE_MAX_STREAMS_PER_USER` streams at once.
#[utoipa::path(
    get,
    path = "/v1/kyc/submissions/{id}/events",
    tag = "submissions",
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses(
        (status = 200, description = "`event: submission`, `data:` a Submission as JSON", content_type = "text/event-stream", body = SubmissionEvent),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Taken first: a user at the limit costs no database read.
    let slot = state.streams.take(&user)?;
    let ends_at = Instant::now() + state.streams.max_lifetime();
    // Watch before reading, so no change slips in between.
    let changes = state.changes.watch(id);
    let first = state.kyc.get(&user, id, false).await?;
    let stream = futures::stream::unfold(
        Watch {
            state,
            user,
            changes,
            pending: Some(Box::new(first)),
            sent: None,
            ends_at,
            _slot: slot,
        },
        Watch::next,
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

struct Watch {
    state: AppState,
    user: PartnerUserId,
    /// Wakes the stream when its submission changes, and names it.
    changes: SubmissionChanges,
    /// The next version to send; boxed, as it is there only briefly and
    /// every waiting stream would otherwise keep room for it.
    pending: Option<Box<Submission>>,
    /// What was sent last; `None` before the first.
    sent: Option<Sent>,
    /// `SSE_MAX_LIFETIME_SECS` after the start: the stream ends, so that
    /// no stream holds its slot and its reloads for ever.
    ends_at: Instant,
    _slot: Slot,
}

/// What a stream keeps of the event it sent last: enough to skip a version
/// that would show the client nothing new, and to end after a final one. A
/// digest of the data, not the submission, which with its upload URLs and
/// their headers held about 2 KB in every waiting stream.
struct Sent {
    digest: [u8; 32],
    settled: bool,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(s) = self.pending.take() {
                let settled = s.state.is_settled();
                let event = SubmissionEvent::of(*s);
                let digest = Sha256::digest(event.data.as_bytes()).into();
                if self.sent.as_ref().is_none_or(|sent| sent.digest != digest) {
                    self.sent = Some(Sent { digest, settled });
                    return Some((Ok(event.into_sse()), self));
                }
            }
            if self.sent.as_ref().is_some_and(|sent| sent.settled) {
                return None;
            }
            // One timer for the reload and the end: a waiting stream keeps
            // room for each timer it waits on.
            let wake_at = self.ends_at.min(Instant::now() + SAFETY_RELOAD);
            tokio::select! {
                () = self.changes.changed() => {}
                () = tokio::time::sleep_until(wake_at) => {
                    if Instant::now() >= self.ends_at {
                        return None;
                    }
                }
                // The client reconnects (to another replica, at shutdown).
                () = self.state.shutdown.cancelled() => return None,
            }
            // Boxed: the read's future is large and lives only while it
            // runs, not in every waiting stream. A failed read ends the
            // stream; the client reconnects.
            let read = Box::pin(self.state.kyc.get(&self.user, self.changes.id(), false));
            self.pending = Some(Box::new(read.await.ok()?));
        }
    }
}
