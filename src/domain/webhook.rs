//! The events the partner's own systems are told of, and which change of a
//! submission is which event.

use super::{State, Status};

/// A webhook event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    SubmissionProcessing,
    SubmissionCompleted,
    SubmissionFailed,
    SubmissionExpired,
    UserErased,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        Self::SubmissionProcessing,
        Self::SubmissionCompleted,
        Self::SubmissionFailed,
        Self::SubmissionExpired,
        Self::UserErased,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SubmissionProcessing => "kyc.submission.processing",
            Self::SubmissionCompleted => "kyc.submission.completed",
            Self::SubmissionFailed => "kyc.submission.failed",
            Self::SubmissionExpired => "kyc.submission.expired",
            Self::UserErased => "kyc.user.erased",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The event a change from `before` to `after` is, if any. A final
    /// status is announced once its outcome is known (GTF's verified final
    /// word), which may be a change after the one that made it final.
    pub(crate) fn of_change(before: &State, after: &State) -> Option<Self> {
        match after.status {
            Status::Processing if before.status != Status::Processing => {
                Some(Self::SubmissionProcessing)
            }
            Status::Expired if before.status != Status::Expired => Some(Self::SubmissionExpired),
            Status::Completed | Status::Failed
                if after.is_concluded() && !before.is_concluded() =>
            {
                Some(if after.status == Status::Completed {
                    Self::SubmissionCompleted
                } else {
                    Self::SubmissionFailed
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Event, GtfResult, GtfStatus, Outcome};

    fn reported(status: GtfStatus, result: Option<GtfResult>) -> Event {
        Event::Reported {
            status,
            outcome: Outcome {
                result,
                reason_code: None,
            },
        }
    }

    /// The events a sequence of GTF reports produces, change by change.
    fn events(sequence: &[Event]) -> Vec<EventType> {
        let mut state = State::new();
        let mut out = vec![];
        for e in sequence {
            if let Some(next) = state.apply(e) {
                out.extend(EventType::of_change(&state, &next));
                state = next;
            }
        }
        out
    }

    #[test]
    fn each_step_is_announced_once() {
        use EventType::*;
        assert_eq!(
            events(&[
                Event::Confirmed,
                reported(GtfStatus::InProgress, None),
                reported(GtfStatus::Completed, Some(GtfResult::Valid)),
                reported(GtfStatus::Completed, Some(GtfResult::Valid)),
            ]),
            [SubmissionProcessing, SubmissionCompleted]
        );
        // The status first, its outcome later: announced when complete.
        assert_eq!(
            events(&[
                Event::Confirmed,
                reported(GtfStatus::Error, None),
                Event::Reported {
                    status: GtfStatus::Error,
                    outcome: Outcome {
                        result: None,
                        reason_code: Some("VERIFICATION_FAILED".into())
                    }
                },
            ]),
            [SubmissionProcessing, SubmissionFailed]
        );
        assert_eq!(events(&[Event::UploadWindowClosed]), [SubmissionExpired]);
        // GTF overrules an expiry: the partner hears that too.
        assert_eq!(
            events(&[Event::UploadWindowClosed, Event::Confirmed]),
            [SubmissionExpired, SubmissionProcessing]
        );
    }

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("kyc.submission.created"), None);
    }
}
