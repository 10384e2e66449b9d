//! What the simulator remembers: the tokens it minted, the submissions and
//! the counters tests read. A submission's state is derived from timestamps
//! when read, so no timer has to move it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

use super::outcome::{Scenario, Verdict};

/// The user a token was minted for (GTF's user token: the token carries the
/// user, later calls name none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserKey {
    pub(crate) onboarding_partner: String,
    pub(crate) user_id: String,
    pub(crate) user_id_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    User(UserKey),
    Partner,
}

struct IssuedToken {
    principal: Principal,
    expires_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) key: String,
    pub(crate) uploaded: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Submission {
    pub(crate) id: Uuid,
    pub(crate) owner: UserKey,
    pub(crate) submission_type: &'static str,
    pub(crate) partner_session_id: String,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) documents: Vec<Document>,
    pub(crate) confirmed_at: Option<OffsetDateTime>,
    pub(crate) scenario: Scenario,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Initiated,
    InProgress,
    Final {
        verdict: Verdict,
        at: OffsetDateTime,
    },
}

impl Submission {
    pub(crate) fn phase(&self, now: OffsetDateTime, processing: Duration) -> Phase {
        match self.confirmed_at {
            None => Phase::Initiated,
            Some(confirmed) => {
                let at = later(confirmed, processing);
                if now >= at {
                    Phase::Final {
                        verdict: self.scenario.verdict,
                        at,
                    }
                } else {
                    Phase::InProgress
                }
            }
        }
    }

    /// `<submissionId>_<DOC>`, as in GTF's examples.
    pub(crate) fn reference(&self, document: &str) -> String {
        format!("{}_{document}", self.id)
    }
}

/// `t + d`, saturating instead of panicking on absurd durations.
pub(crate) fn later(t: OffsetDateTime, d: Duration) -> OffsetDateTime {
    time::Duration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d))
        .unwrap_or_else(|| PrimitiveDateTime::MAX.assume_utc())
}

pub(crate) enum Confirmed {
    First(Submission),
    Again,
}

pub(crate) enum ConfirmError {
    Unknown,
    Incomplete,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, IssuedToken>,
    mints: HashMap<String, usize>,
    total_mints: usize,
    // B-trees, not hash maps: a hash map doubling at hundreds of thousands
    // of submissions held the lock for tens of milliseconds (BENCHMARKS.md).
    submissions: BTreeMap<Uuid, Submission>,
    /// (partner session id, creation order): each session's submissions.
    sessions: BTreeMap<(String, u64), Uuid>,
    next_seq: u64,
    confirm_calls: HashMap<String, usize>,
}

/// Every method takes the lock briefly and never across an `.await`.
#[derive(Default)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
}

impl Store {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave `Inner` half-updated in a way that
        // matters to a simulator: keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new opaque token; user tokens are counted per partner user id.
    pub(crate) fn mint(&self, principal: Principal, expires_at: OffsetDateTime) -> String {
        let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let mut inner = self.lock();
        if let Principal::User(user) = &principal {
            *inner.mints.entry(user.user_id.clone()).or_default() += 1;
            inner.total_mints += 1;
        }
        inner.tokens.insert(
            token.clone(),
            IssuedToken {
                principal,
                expires_at,
            },
        );
        token
    }

    /// Who a live token belongs to; expired tokens are forgotten here.
    pub(crate) fn principal(&self, token: &str, now: OffsetDateTime) -> Option<Principal> {
        let mut inner = self.lock();
        let issued = inner.tokens.get(token)?;
        if issued.expires_at > now {
            return Some(issued.principal.clone());
        }
        inner.tokens.remove(token);
        None
    }

    pub(crate) fn revoke(&self, partner_user_id: &str) {
        self.lock().tokens.retain(|_, issued| {
            !matches!(&issued.principal, Principal::User(user) if user.user_id == partner_user_id)
        });
    }

    pub(crate) fn mints(&self, partner_user_id: &str) -> usize {
        self.lock().mints.get(partner_user_id).copied().unwrap_or(0)
    }

    /// The user's tokens that are still live.
    pub(crate) fn live_tokens(&self, partner_user_id: &str) -> Vec<String> {
        self.lock()
            .tokens
            .iter()
            .filter(|(_, issued)| {
                matches!(&issued.principal, Principal::User(user) if user.user_id == partner_user_id)
            })
            .map(|(token, _)| token.clone())
            .collect()
    }

    /// The total and the per-user counts, read together.
    pub(crate) fn mint_counts(&self) -> (usize, HashMap<String, usize>) {
        let inner = self.lock();
        (inner.total_mints, inner.mints.clone())
    }

    pub(crate) fn create(
        &self,
        owner: UserKey,
        submission_type: &'static str,
        partner_session_id: String,
        documents: &[String],
        now: OffsetDateTime,
    ) -> Submission {
        let mut inner = self.lock();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let submission = Submission {
            id: Uuid::new_v4(),
            scenario: Scenario::for_user(&owner.user_id),
            owner,
            submission_type,
            partner_session_id,
            created_at: now,
            documents: documents
                .iter()
                .map(|key| Document {
                    key: key.clone(),
                    uploaded: false,
                })
                .collect(),
            confirmed_at: None,
        };
        inner
            .sessions
            .insert((submission.partner_session_id.clone(), seq), submission.id);
        inner.submissions.insert(submission.id, submission.clone());
        submission
    }

    pub(crate) fn get(&self, id: Uuid) -> Option<Submission> {
        self.lock().submissions.get(&id).cloned()
    }

    /// The submissions of one partner session, newest first.
    pub(crate) fn in_session(&self, partner_session_id: &str) -> Vec<Submission> {
        let inner = self.lock();
        let session =
            (partner_session_id.to_owned(), 0)..=(partner_session_id.to_owned(), u64::MAX);
        inner
            .sessions
            .range(session)
            .rev()
            .filter_map(|(_, id)| inner.submissions.get(id).cloned())
            .collect()
    }

    /// Marks a document uploaded; false when there is no such document.
    pub(crate) fn record_upload(&self, id: Uuid, document: &str) -> bool {
        let mut inner = self.lock();
        let Some(doc) = inner
            .submissions
            .get_mut(&id)
            .and_then(|s| s.documents.iter_mut().find(|d| d.key == document))
        else {
            return false;
        };
        doc.uploaded = true;
        true
    }

    pub(crate) fn count_confirm_call(&self, raw_submission_id: &str) {
        *self
            .lock()
            .confirm_calls
            .entry(raw_submission_id.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn confirm_calls(&self, raw_submission_id: &str) -> usize {
        self.lock()
            .confirm_calls
            .get(raw_submission_id)
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn confirm(
        &self,
        id: Uuid,
        owner: &UserKey,
        now: OffsetDateTime,
    ) -> Result<Confirmed, ConfirmError> {
        let mut inner = self.lock();
        let submission = inner
            .submissions
            .get_mut(&id)
            .filter(|s| &s.owner == owner)
            .ok_or(ConfirmError::Unknown)?;
        if submission.confirmed_at.is_some() {
            return Ok(Confirmed::Again);
        }
        if !submission.documents.iter().all(|d| d.uploaded) {
            return Err(ConfirmError::Incomplete);
        }
        submission.confirmed_at = Some(now);
        Ok(Confirmed::First(submission.clone()))
    }
}
