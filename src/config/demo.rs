//! The secrets published with the repository (`.env.example`,
//! `docker-compose.yml`) work only in a demo: anyone who read the
//! repository could otherwise mint JWTs, forge callbacks and decrypt a dump.

use super::{ConfigError, Env};

/// Every secret value the repository publishes, by variable. A test keeps
/// this list and the published files in step.
pub const PUBLISHED_DEMO_SECRETS: &[(&str, &str)] = &[
    (
        "AUTH_JWT_SECRET",
        "demo-jwt-secret-change-me-0123456789abcdef",
    ),
    (
        "CALLBACK_AUTH",
        "bearer:demo-callback-secret-change-me-0123456789",
    ),
    (
        "BFF_DATA_KEY",
        "ZGVtby1kYXRhLWtleS1vbmx5LWZvci1sb2NhbC1ydW4=",
    ),
    ("GTF_PASS_KEY", "demo-pass-key-change-me-0123456789"),
    (
        "WEBHOOK_SECRET",
        "whsec_ZGVtby13ZWJob29rLXNlY3JldC1mb3ItbG9jYWwtcnVucy1vbmx5",
    ),
];

/// `BFF_DEMO` (default false). Without it, a published secret stops the
/// start, naming its variable (never the value).
pub(super) fn allowed(env: &Env) -> Result<bool, ConfigError> {
    let demo = match env.optional("BFF_DEMO") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ConfigError::new(
                "BFF_DEMO",
                format!("expected \"true\" or \"false\", got {other:?}"),
            ));
        }
    };
    if demo {
        return Ok(true);
    }
    for (var, published) in PUBLISHED_DEMO_SECRETS {
        let in_use = env
            .optional(var)
            .is_some_and(|raw| raw.split(',').any(|v| v.trim() == *published));
        if in_use {
            return Err(ConfigError::new(
                var,
                "is the demo value published with gtf-bff; set a secret of your own \
                 (scripts/dev writes fresh ones into .env), or BFF_DEMO=true for a local demo",
            ));
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_secret_is_named_unless_this_is_a_demo() {
        for (var, value) in PUBLISHED_DEMO_SECRETS {
            let env = Env::from_pairs([(*var, *value)]);
            assert_eq!(allowed(&env).unwrap_err().var, *var);
            let rotated = format!("{value},something-else");
            let env = Env::from_pairs([(*var, rotated.as_str())]);
            assert_eq!(allowed(&env).unwrap_err().var, *var, "among several");
            let demo = Env::from_pairs([(*var, *value), ("BFF_DEMO", "true")]);
            assert!(allowed(&demo).unwrap());
        }
        assert!(!allowed(&Env::from_pairs([("AUTH_JWT_SECRET", "mine")])).unwrap());
        assert_eq!(
            allowed(&Env::from_pairs([("BFF_DEMO", "yes")]))
                .unwrap_err()
                .var,
            "BFF_DEMO"
        );
    }

    #[test]
    fn the_published_values_meet_every_other_rule() {
        for (var, value) in PUBLISHED_DEMO_SECRETS {
            let secret = match *var {
                "CALLBACK_AUTH" => value.split_once(':').map_or(*value, |(_, s)| s),
                "WEBHOOK_SECRET" => {
                    assert!(crate::webhooks::WebhookSecret::parse(value).is_ok());
                    continue;
                }
                _ => value,
            };
            assert!(secret.len() >= 32, "{var} is shorter than 32 characters");
        }
    }
}
