//! The submission status machine. Every path that changes
//! a submission (confirm, refresh, callback, reconciler, result fetch) goes
//! through [`State::apply`], so the rules live here once: transitions only
//! move forward, and a late or repeated event never moves a submission back.

use serde::{Deserialize, Serialize};

use super::{GtfResult, GtfStatus};

/// Where a submission is, as partners see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Status {
    AwaitingUpload,
    Processing,
    Completed,
    Failed,
    Expired,
}

impl Status {
    pub(crate) const ALL: [Status; 5] = [
        Self::AwaitingUpload,
        Self::Processing,
        Self::Completed,
        Self::Failed,
        Self::Expired,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingUpload => "AWAITING_UPLOAD",
            Self::Processing => "PROCESSING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Expired => "EXPIRED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// COMPLETED and FAILED carry a verification outcome.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// How far along: a transition must increase it. EXPIRED sits below
    /// PROCESSING so that GTF's word ("in progress") wins over our clock if a
    /// confirm reached GTF but its answer never reached us.
    fn rank(self) -> u8 {
        match self {
            Self::AwaitingUpload => 0,
            Self::Expired => 1,
            Self::Processing => 2,
            Self::Completed | Self::Failed => 3,
        }
    }
}

/// What the verification concluded: GTF's result and reason code, kept as
/// GTF sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Outcome {
    pub(crate) result: Option<GtfResult>,
    pub(crate) reason_code: Option<String>,
}

impl Outcome {
    pub(crate) fn is_known(&self) -> bool {
        self.result.is_some() || self.reason_code.is_some()
    }
}

/// Something GTF or the clock said about a submission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Event {
    /// GTF accepted the confirm, or said it already had.
    Confirmed,
    /// GTF reported a status, through its status or details API (a callback
    /// is only a hint to ask). The outcome is known once details are read.
    Reported { status: GtfStatus, outcome: Outcome },
    /// The upload URLs lapsed without a confirm.
    UploadWindowClosed,
}

/// A submission's status with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    pub(crate) status: Status,
    pub(crate) outcome: Outcome,
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            status: Status::AwaitingUpload,
            outcome: Outcome::default(),
        }
    }

    /// The state after `event`, or `None` when the event changes nothing.
    pub(crate) fn apply(&self, event: &Event) -> Option<State> {
        let (target, outcome) = match event {
            Event::Confirmed => (Status::Processing, Outcome::default()),
            Event::UploadWindowClosed => (Status::Expired, Outcome::default()),
            Event::Reported { status, outcome } => match status {
                GtfStatus::InProgress | GtfStatus::PartiallyCompleted => {
                    (Status::Processing, Outcome::default())
                }
                GtfStatus::Completed => (Status::Completed, outcome.clone()),
                GtfStatus::Error => (Status::Failed, outcome.clone()),
                // INITIATED is where every submission starts; an unknown
                // status says nothing we can act on.
                GtfStatus::Initiated | GtfStatus::Other(_) => return None,
            },
        };
        if target.rank() > self.status.rank() {
            return Some(State {
                status: target,
                outcome: if target.is_final() {
                    outcome
                } else {
                    Outcome::default()
                },
            });
        }
        // A final state learns its outcome once, when the details arrive
        // after the status did; it never changes it afterwards.
        let learns_outcome = target == self.status
            && target.is_final()
            && !self.outcome.is_known()
            && outcome.is_known();
        learns_outcome.then_some(State {
            status: self.status,
            outcome,
        })
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn reported(status: GtfStatus, result: Option<GtfResult>, reason: Option<&str>) -> Event {
        Event::Reported {
            status,
            outcome: Outcome {
                result,
                reason_code: reason.map(str::to_owned),
            },
        }
    }

    fn run(events: &[Event]) -> State {
        events
            .iter()
            .fold(State::new(), |s, e| s.apply(e).unwrap_or(s))
    }

    #[test]
    fn the_happy_path() {
        let s = run(&[
            Event::Confirmed,
            reported(GtfStatus::InProgress, None, None),
            reported(GtfStatus::Completed, Some(GtfResult::Valid), None),
        ]);
        assert_eq!(s.status, Status::Completed);
        assert_eq!(s.outcome.result, Some(GtfResult::Valid));
    }

    #[test]
    fn gtf_error_is_failed_with_its_reason() {
        let s = run(&[reported(
            GtfStatus::Error,
            None,
            Some("VERIFICATION_FAILED"),
        )]);
        assert_eq!(s.status, Status::Failed);
        assert_eq!(
            s.outcome.reason_code.as_deref(),
            Some("VERIFICATION_FAILED")
        );
    }

    #[test]
    fn nothing_moves_back() {
        let done = run(&[reported(
            GtfStatus::Completed,
            Some(GtfResult::Invalid),
            Some("NOT_EKTP"),
        )]);
        for e in [
            Event::Confirmed,
            Event::UploadWindowClosed,
            reported(GtfStatus::InProgress, None, None),
            reported(GtfStatus::Initiated, None, None),
            reported(GtfStatus::Error, None, Some("X")),
            reported(GtfStatus::Completed, Some(GtfResult::Valid), None),
        ] {
            assert_eq!(done.apply(&e), None, "{e:?}");
        }
        let processing = run(&[Event::Confirmed]);
        assert_eq!(processing.apply(&Event::UploadWindowClosed), None);
        assert_eq!(processing.apply(&Event::Confirmed), None);
    }

    #[test]
    fn expiry_applies_only_before_a_confirm_and_gtf_overrules_it() {
        let expired = run(&[Event::UploadWindowClosed]);
        assert_eq!(expired.status, Status::Expired);
        assert_eq!(
            expired.apply(&Event::Confirmed).unwrap().status,
            Status::Processing
        );
    }

    #[test]
    fn a_final_status_learns_its_outcome_once() {
        let bare = run(&[reported(GtfStatus::Completed, None, None)]);
        assert_eq!(bare.status, Status::Completed);
        assert!(!bare.outcome.is_known());
        let full = bare
            .apply(&reported(
                GtfStatus::Completed,
                Some(GtfResult::Valid),
                None,
            ))
            .unwrap();
        assert_eq!(full.outcome.result, Some(GtfResult::Valid));
        assert_eq!(
            full.apply(&reported(
                GtfStatus::Completed,
                Some(GtfResult::Invalid),
                None
            )),
            None
        );
    }

    #[test]
    fn unknown_gtf_statuses_change_nothing() {
        assert_eq!(
            State::new().apply(&reported(GtfStatus::Other("ON_HOLD".into()), None, None)),
            None
        );
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Status::parse("DONE"), None);
    }

    /// One submission's possible histories: the events GTF and the clock can
    /// produce for it, with one final verdict.
    fn history() -> impl Strategy<Value = Vec<Event>> {
        let verdict = prop_oneof![
            Just(reported(GtfStatus::Completed, Some(GtfResult::Valid), None)),
            Just(reported(
                GtfStatus::Completed,
                Some(GtfResult::Invalid),
                Some("NOT_EKTP")
            )),
            Just(reported(
                GtfStatus::Error,
                None,
                Some("VERIFICATION_FAILED")
            )),
        ];
        verdict.prop_flat_map(|verdict| {
            let Event::Reported { status, .. } = &verdict else {
                unreachable!()
            };
            let bare_final = reported(status.clone(), None, None);
            let pool = vec![
                Event::Confirmed,
                Event::UploadWindowClosed,
                reported(GtfStatus::Initiated, None, None),
                reported(GtfStatus::InProgress, None, None),
                reported(GtfStatus::PartiallyCompleted, None, None),
                bare_final,
                verdict.clone(),
            ];
            // Any subset that includes the verdict, each event repeated up to
            // three times, in any order.
            (
                proptest::sample::subsequence(pool, 0..=6),
                proptest::collection::vec(1..=3usize, 7),
                Just(verdict),
            )
                .prop_map(|(mut events, repeats, verdict)| {
                    events.push(verdict);
                    events
                        .into_iter()
                        .zip(repeats)
                        .flat_map(|(e, n)| std::iter::repeat_n(e, n))
                        .collect::<Vec<_>>()
                })
                .prop_shuffle()
        })
    }

    proptest! {
        #[test]
        fn any_order_and_repetition_of_one_history_ends_in_the_same_state(events in history()) {
            let verdict = events
                .iter()
                .find(|e| matches!(e, Event::Reported { outcome, .. } if outcome.is_known()))
                .unwrap()
                .clone();
            let expected = run(&[verdict]);
            prop_assert_eq!(run(&events), expected);
        }

        #[test]
        fn every_transition_moves_forward(events in history()) {
            let mut state = State::new();
            for e in &events {
                if let Some(next) = state.apply(e) {
                    prop_assert!(next.status.rank() > state.status.rank()
                        || (next.status == state.status && !state.outcome.is_known()));
                    state = next;
                }
            }
        }
    }
}
