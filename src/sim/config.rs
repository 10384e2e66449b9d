//! The simulator's configuration, from the environment like the service's.

use std::net::SocketAddr;
use std::time::Duration;

use http::HeaderValue;
use secrecy::SecretString;
use url::Url;

use crate::callback_auth::CallbackCredential;
use crate::config::{BaseUrl, ConfigError, Env, cors_origins, http_url};

/// How a repeated confirm of an already confirmed submission is answered;
/// GTF's documentation says both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmRepeat {
    /// 200 with the same body (idempotent), the default.
    Ok,
    /// `409 SUBMISSION_STATE_CONFLICT`.
    Conflict,
}

/// What `gtf-bff sim` needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub listen_addr: SocketAddr,
    /// Base of the presigned URLs handed out; by default the bound address.
    /// Set it when apps reach the simulator under another name (compose).
    pub public_url: Option<BaseUrl>,
    pub client_id: String,
    pub pass_key: SecretString,
    pub callback_url: Option<Url>,
    pub callback_auth: Option<CallbackCredential>,
    pub processing: Duration,
    pub token_ttl: Duration,
    pub upload_ttl: Duration,
    pub documents: Vec<String>,
    pub confirm_repeat: ConfirmRepeat,
    /// Delay before the first callback retry; doubled on each further one.
    pub callback_retry_base: Duration,
    pub callback_attempts: u32,
    /// `SIM_CORS_ALLOWED_ORIGINS`: web pages that may upload to the storage
    /// from a browser, as a bucket's CORS rule would allow.
    pub cors_origins: Vec<HeaderValue>,
}

impl SimConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let documents = env.list("SIM_DOCUMENTS");
        Ok(Self {
            listen_addr: env.parse_or(
                "SIM_LISTEN_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9090)),
                "an address such as 127.0.0.1:9090",
            )?,
            public_url: env
                .optional("SIM_PUBLIC_URL")
                .map(|_| BaseUrl::from_env(env, "SIM_PUBLIC_URL"))
                .transpose()?,
            client_id: env.required("GTF_CLIENT_ID")?.to_owned(),
            pass_key: env.required_secret("GTF_PASS_KEY")?,
            callback_url: env
                .optional("SIM_CALLBACK_URL")
                .map(|_| http_url(env, "SIM_CALLBACK_URL"))
                .transpose()?,
            callback_auth: env
                .optional("SIM_CALLBACK_AUTH")
                .map(|raw| {
                    CallbackCredential::parse(raw)
                        .map_err(|problem| ConfigError::new("SIM_CALLBACK_AUTH", problem))
                })
                .transpose()?,
            processing: Duration::from_millis(env.parse_or(
                "SIM_PROCESSING_MS",
                2_000,
                "a whole number of milliseconds",
            )?),
            token_ttl: env.secs_or("SIM_TOKEN_TTL_SECS", 1_800)?,
            upload_ttl: env.secs_or("SIM_UPLOAD_TTL_SECS", 600)?,
            documents: if documents.is_empty() {
                vec!["KTP".to_owned()]
            } else {
                documents
            },
            confirm_repeat: match env.optional("SIM_CONFIRM_REPEAT") {
                None | Some("ok") => ConfirmRepeat::Ok,
                Some("conflict") => ConfirmRepeat::Conflict,
                Some(other) => {
                    return Err(ConfigError::new(
                        "SIM_CONFIRM_REPEAT",
                        format!("expected \"ok\" or \"conflict\", got {other:?}"),
                    ));
                }
            },
            callback_retry_base: Duration::from_millis(500),
            callback_attempts: 6,
            cors_origins: cors_origins(env, "SIM_CORS_ALLOWED_ORIGINS")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_defaults_follow_the_contract() {
        let env = Env::from_pairs([("GTF_CLIENT_ID", "c"), ("GTF_PASS_KEY", "p")]);
        let cfg = SimConfig::from_env(&env).unwrap();
        assert_eq!(cfg.listen_addr.to_string(), "127.0.0.1:9090");
        assert_eq!(cfg.documents, vec!["KTP"]);
        assert_eq!(cfg.processing, Duration::from_millis(2000));
        assert_eq!(cfg.token_ttl, Duration::from_secs(1800));
        assert_eq!(cfg.confirm_repeat, ConfirmRepeat::Ok);
        assert!(cfg.callback_url.is_none() && cfg.callback_auth.is_none());
        assert!(cfg.cors_origins.is_empty());
    }

    #[test]
    fn sim_cors_origins_are_checked_like_the_services() {
        let env = |origins| {
            Env::from_pairs([
                ("GTF_CLIENT_ID", "c"),
                ("GTF_PASS_KEY", "p"),
                ("SIM_CORS_ALLOWED_ORIGINS", origins),
            ])
        };
        let cfg = SimConfig::from_env(&env("http://127.0.0.1:3000, https://app.example")).unwrap();
        assert_eq!(
            cfg.cors_origins,
            ["http://127.0.0.1:3000", "https://app.example"]
        );
        let err = SimConfig::from_env(&env("https://app.example/path")).unwrap_err();
        assert_eq!(err.var, "SIM_CORS_ALLOWED_ORIGINS");
    }

    #[test]
    fn sim_callback_auth_uses_the_callback_syntax() {
        let env = Env::from_pairs([
            ("GTF_CLIENT_ID", "c"),
            ("GTF_PASS_KEY", "p"),
            ("SIM_CALLBACK_AUTH", "nonsense"),
        ]);
        assert_eq!(
            SimConfig::from_env(&env).unwrap_err().var,
            "SIM_CALLBACK_AUTH"
        );
    }
}
