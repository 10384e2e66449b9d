//! Webhooks to the partner's own systems: where, signed with what, which
//! events, and how hard to try.

use std::time::Duration;

use url::Url;

use super::{ConfigError, Env};
use crate::domain::EventType;
use crate::webhooks::WebhookSecret;

/// After a failed attempt, the next waits this long (each within ±20 %);
/// after the last, the delivery is marked failed.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `WEBHOOK_URLS`: every event goes to each; none: no webhooks.
    pub endpoints: Vec<Url>,
    /// `WEBHOOK_SECRET`: every one signs (rotation).
    pub secrets: Vec<WebhookSecret>,
    /// `WEBHOOK_EVENTS`: the types sent (default all).
    pub events: Vec<EventType>,
    /// `WEBHOOK_TIMEOUT_MS`: per attempt.
    pub timeout: Duration,
    pub retry_schedule: Vec<Duration>,
}

impl WebhookConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let endpoints = env
            .list("WEBHOOK_URLS")
            .iter()
            .map(|raw| {
                Url::parse(raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| {
                        ConfigError::new("WEBHOOK_URLS", "expected http:// or https:// URLs")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let secrets = env
            .list("WEBHOOK_SECRET")
            .iter()
            .map(|raw| WebhookSecret::parse(raw))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|problem| ConfigError::new("WEBHOOK_SECRET", problem))?;
        if !endpoints.is_empty() && secrets.is_empty() {
            return Err(ConfigError::new(
                "WEBHOOK_SECRET",
                "is required with WEBHOOK_URLS",
            ));
        }
        let listed = env.list("WEBHOOK_EVENTS");
        let events = if listed.is_empty() {
            EventType::ALL.to_vec()
        } else {
            listed
                .iter()
                .map(|raw| {
                    EventType::parse(raw).ok_or_else(|| {
                        ConfigError::new("WEBHOOK_EVENTS", format!("{raw:?} is not an event type"))
                    })
                })
                .collect::<Result<_, _>>()?
        };
        Ok(Self {
            endpoints,
            secrets,
            events,
            timeout: env.millis_or("WEBHOOK_TIMEOUT_MS", 15_000)?,
            retry_schedule: RETRY_SCHEDULE.to_vec(),
        })
    }

    /// The endpoints an event of `kind` goes to.
    pub(crate) fn endpoints_for(&self, kind: EventType) -> Vec<String> {
        if !self.events.contains(&kind) {
            return vec![];
        }
        self.endpoints.iter().map(|u| u.to_string()).collect()
    }
}

impl Default for WebhookConfig {
    /// No webhooks.
    fn default() -> Self {
        Self {
            endpoints: vec![],
            secrets: vec![],
            events: EventType::ALL.to_vec(),
            timeout: Duration::from_secs(15),
            retry_schedule: RETRY_SCHEDULE.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn every_mistake_names_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("WEBHOOK_URLS", "https://a.example/hook")],
                "WEBHOOK_SECRET",
            ),
            (
                &[
                    ("WEBHOOK_URLS", "ftp://a.example"),
                    ("WEBHOOK_SECRET", SECRET),
                ],
                "WEBHOOK_URLS",
            ),
            (&[("WEBHOOK_SECRET", "not-whsec")], "WEBHOOK_SECRET"),
            (
                &[("WEBHOOK_EVENTS", "kyc.submission.created")],
                "WEBHOOK_EVENTS",
            ),
            (&[("WEBHOOK_TIMEOUT_MS", "soon")], "WEBHOOK_TIMEOUT_MS"),
        ];
        for (pairs, var) in cases {
            let err = WebhookConfig::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap_err();
            assert_eq!(err.var, *var, "{pairs:?}");
        }
    }

    #[test]
    fn events_filter_what_each_endpoint_gets() {
        let cfg = WebhookConfig::from_env(&Env::from_pairs([
            ("WEBHOOK_URLS", "https://a.example/hook, https://b.example/"),
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_EVENTS", "kyc.submission.completed"),
        ]))
        .unwrap();
        assert_eq!(cfg.endpoints_for(EventType::SubmissionCompleted).len(), 2);
        assert!(
            cfg.endpoints_for(EventType::SubmissionProcessing)
                .is_empty()
        );
        assert!(
            WebhookConfig::from_env(&Env::from_pairs::<&str, &str>([]))
                .unwrap()
                .endpoints_for(EventType::SubmissionCompleted)
                .is_empty()
        );
    }
}
