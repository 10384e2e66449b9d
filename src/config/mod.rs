//! Typed configuration, read once from the environment and validated at
//! start. Each command reads only the part it needs.

mod demo;
mod env;
mod server;
mod webhooks;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use http::HeaderValue;
use ipnet::IpNet;
use secrecy::SecretString;
use url::Url;

use crate::callback_auth::CallbackCredential;
use crate::crypto::DataKeys;

pub use demo::PUBLISHED_DEMO_SECRETS;
pub use env::{ConfigError, Env};
pub use server::{ServerConfig, StreamConfig};
pub use webhooks::{RETRY_SCHEDULE, WebhookConfig};

/// Where and how to reach GTF, and with which partner credentials.
#[derive(Debug, Clone)]
pub struct GtfConfig {
    pub token_base_url: BaseUrl,
    pub api_base_url: BaseUrl,
    pub client_id: String,
    pub pass_key: SecretString,
    pub onboarding_partner: String,
    pub partner_user_id_type: String,
    pub timeout: Duration,
}

impl GtfConfig {
    pub(crate) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            token_base_url: BaseUrl::from_env(env, "GTF_TOKEN_BASE_URL")?,
            api_base_url: BaseUrl::from_env(env, "GTF_API_BASE_URL")?,
            client_id: header_safe(env, "GTF_CLIENT_ID")?.to_owned(),
            pass_key: {
                header_safe(env, "GTF_PASS_KEY")?;
                env.required_secret("GTF_PASS_KEY")?
            },
            onboarding_partner: header_safe(env, "GTF_ONBOARDING_PARTNER")?.to_owned(),
            partner_user_id_type: header_safe(env, "GTF_PARTNER_USER_ID_TYPE")?.to_owned(),
            timeout: env.millis_or("GTF_TIMEOUT_MS", 10_000)?,
        })
    }
}

/// What `gtf-bff serve` needs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub database_url: SecretString,
    pub db_max_connections: u32,
    pub listen_addr: SocketAddr,
    pub gtf: GtfConfig,
    pub auth: AuthConfig,
    /// `BFF_DATA_KEY`, and `BFF_DATA_KEY_PREVIOUS` (comma-separated) for
    /// records sealed before a rotation.
    pub data_key: SecretString,
    pub previous_data_keys: Vec<SecretString>,
    pub callback: CallbackConfig,
    /// `RECONCILE_AFTER_SECS`: a PROCESSING submission without a final word
    /// after this long is polled.
    pub reconcile_after: Duration,
    pub reconciler: ReconcilerConfig,
    /// `SHUTDOWN_GRACE_SECS`: how long in-flight requests and workers may
    /// take to finish after SIGTERM before the process exits anyway.
    pub shutdown_grace: Duration,
    /// `CORS_ALLOWED_ORIGINS`: web frontends that may call the API.
    pub cors_origins: Vec<HeaderValue>,
    /// `RATE_LIMIT_PER_MINUTE`: creates and confirms per user per minute.
    pub user_rate_limit: NonZeroU32,
    /// `RETENTION_DAYS`: result details and raw callback bodies are purged
    /// this long after they were stored.
    pub retention: Duration,
    /// `AUDIT_RETENTION_DAYS`: access audit entries are purged this long
    /// after they were written; never shorter than `retention`.
    pub audit_retention: Duration,
    /// `BFF_DEMO`: the secrets published with the repository are allowed.
    pub demo: bool,
    pub webhooks: WebhookConfig,
    pub server: ServerConfig,
    pub streams: StreamConfig,
}

#[derive(Debug, Clone, Copy)]
pub struct ReconcilerConfig {
    /// `RECONCILE_INTERVAL_SECS`: how often it looks.
    pub interval: Duration,
    /// The first polling delay (5–10 s with jitter), growing by half each
    /// time up to `max_delay`.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// AWAITING_UPLOAD this long past its URLs' expiry becomes EXPIRED: an
    /// upload that began just in time may still be confirmed meanwhile.
    pub expiry_grace: Duration,
}

impl ServiceConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Self {
            database_url: database_url(env)?,
            db_max_connections: env.parse_or("DB_MAX_CONNECTIONS", 16, "a whole number")?,
            listen_addr: Self::listen_addr(env)?,
            gtf: GtfConfig::from_env(env)?,
            auth: AuthConfig::from_env(env)?,
            data_key: env.required_secret("BFF_DATA_KEY")?,
            previous_data_keys: previous_data_keys(env),
            callback: CallbackConfig::from_env(env)?,
            demo: demo::allowed(env)?,
            webhooks: WebhookConfig::from_env(env)?,
            reconcile_after: env.secs_or("RECONCILE_AFTER_SECS", 600)?,
            reconciler: ReconcilerConfig {
                interval: env.secs_or("RECONCILE_INTERVAL_SECS", 15)?,
                first_delay: Duration::from_secs(5),
                max_delay: Duration::from_secs(300),
                expiry_grace: Duration::from_secs(60),
            },
            shutdown_grace: env.secs_or("SHUTDOWN_GRACE_SECS", 20)?,
            cors_origins: cors_origins(env, "CORS_ALLOWED_ORIGINS")?,
            user_rate_limit: env.parse_or(
                "RATE_LIMIT_PER_MINUTE",
                NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
                "a whole number greater than zero",
            )?,
            retention: Duration::from_secs(
                86_400
                    * env
                        .parse_or::<u64>("RETENTION_DAYS", 90, "a whole number of days")?
                        .max(1),
            ),
            server: ServerConfig::from_env(env)?,
            streams: StreamConfig::from_env(env)?,
            audit_retention: Duration::from_secs(
                86_400
                    * env.parse_or::<u64>(
                        "AUDIT_RETENTION_DAYS",
                        DEFAULT_AUDIT_RETENTION_DAYS,
                        "a whole number of days",
                    )?,
            ),
        }
        .validated()
    }

    /// `BFF_LISTEN_ADDR`, default `0.0.0.0:8080`.
    pub fn listen_addr(env: &Env) -> Result<SocketAddr, ConfigError> {
        env.parse_or(
            "BFF_LISTEN_ADDR",
            SocketAddr::from(([0, 0, 0, 0], 8080)),
            "an address such as 0.0.0.0:8080",
        )
    }

    /// Checks what can only be checked by using it.
    fn validated(self) -> Result<Self, ConfigError> {
        DataKeys::from_base64(&self.data_key, &[])
            .map_err(|problem| ConfigError::new("BFF_DATA_KEY", problem))?;
        DataKeys::from_base64(&self.data_key, &self.previous_data_keys)
            .map_err(|problem| ConfigError::new("BFF_DATA_KEY_PREVIOUS", problem))?;
        self.server.check_against(self.gtf.timeout)?;
        // The log says who read data that is itself gone after RETENTION_DAYS:
        // it must outlive it.
        if self.audit_retention < self.retention {
            return Err(ConfigError::new(
                "AUDIT_RETENTION_DAYS",
                "must be at least RETENTION_DAYS",
            ));
        }
        Ok(self)
    }
}

/// Five years: a common keeping period for KYC records. Set what your
/// regulator asks for.
const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 5 * 365;

/// Who may deliver callbacks: `CALLBACK_AUTH`, `CALLBACK_ALLOWED_IPS`,
/// `TRUSTED_PROXIES`.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// Every credential currently accepted (several during a rotation).
    pub credentials: Vec<CallbackCredential>,
    /// Empty: any source address.
    pub allowed_ips: Vec<IpNet>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

/// The shortest callback secret accepted: with the failed-callback limit
/// (`limits::CALLBACK_FAILURES_PER_MINUTE`), guessing one is hopeless.
pub(crate) const MIN_CALLBACK_SECRET_CHARS: usize = 32;

impl CallbackConfig {
    /// There is no "none": a callback endpoint anyone can call would let
    /// anyone trigger GTF calls, so the service refuses to start without it.
    pub(crate) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let credentials = env
            .list("CALLBACK_AUTH")
            .iter()
            .map(|raw| CallbackCredential::parse(raw))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|problem| ConfigError::new("CALLBACK_AUTH", problem))?;
        if credentials.is_empty() {
            return Err(ConfigError::new("CALLBACK_AUTH", "is required but not set"));
        }
        if credentials
            .iter()
            .any(|c| c.secret_chars() < MIN_CALLBACK_SECRET_CHARS)
        {
            return Err(ConfigError::new(
                "CALLBACK_AUTH",
                format!(
                    "every secret (bearer token, basic password, header value) must be at least {MIN_CALLBACK_SECRET_CHARS} characters"
                ),
            ));
        }
        let networks = |var: &'static str| {
            parse_networks(&env.list(var)).map_err(|problem| ConfigError::new(var, problem))
        };
        Ok(Self {
            credentials,
            allowed_ips: networks("CALLBACK_ALLOWED_IPS")?,
            trusted_proxies: networks("TRUSTED_PROXIES")?,
        })
    }
}

/// Parses a list of CIDRs (a bare address counts as /32 or /128).
pub fn parse_networks(raw: &[String]) -> Result<Vec<IpNet>, String> {
    raw.iter()
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not an address or CIDR"))
        })
        .collect()
}

pub(crate) fn cors_origins(env: &Env, var: &'static str) -> Result<Vec<HeaderValue>, ConfigError> {
    env.list(var)
        .iter()
        .map(|origin| {
            let url = Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none()
            });
            url.and_then(|_| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
                .ok_or_else(|| {
                    ConfigError::new(
                        var,
                        format!("{origin:?} is not an origin such as https://app.example.com"),
                    )
                })
        })
        .collect()
}

/// What `gtf-bff reseal` needs: the database and the data keys.
#[derive(Debug, Clone)]
pub struct DataKeysConfig {
    pub database_url: SecretString,
    pub current: SecretString,
    pub previous: Vec<SecretString>,
}

impl DataKeysConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let config = Self {
            database_url: database_url(env)?,
            current: env.required_secret("BFF_DATA_KEY")?,
            previous: previous_data_keys(env),
        };
        DataKeys::from_base64(&config.current, &[])
            .map_err(|problem| ConfigError::new("BFF_DATA_KEY", problem))?;
        DataKeys::from_base64(&config.current, &config.previous)
            .map_err(|problem| ConfigError::new("BFF_DATA_KEY_PREVIOUS", problem))?;
        Ok(config)
    }
}

fn previous_data_keys(env: &Env) -> Vec<SecretString> {
    env.list("BFF_DATA_KEY_PREVIOUS")
        .into_iter()
        .map(SecretString::from)
        .collect()
}

pub fn database_url(env: &Env) -> Result<SecretString, ConfigError> {
    let raw = env.required("DATABASE_URL")?;
    if !(raw.starts_with("postgres://") || raw.starts_with("postgresql://")) {
        // The value may hold a password: say what is wrong, not what it is.
        return Err(ConfigError::new(
            "DATABASE_URL",
            "expected a postgres:// or postgresql:// connection string",
        ));
    }
    Ok(SecretString::from(raw))
}

/// Where the keys that verify end-user JWTs come from: exactly one of the
/// three.
#[derive(Debug, Clone)]
pub enum JwtKeyConfig {
    /// `AUTH_JWT_SECRET`: HS256.
    Secret(SecretString),
    /// `AUTH_JWT_PUBLIC_KEY`: a PEM public key (RS256 or ES256, by key type),
    /// given inline or as the path of a file.
    PublicKeyPem(String),
    /// `AUTH_JWKS_URL`: RS256/ES256 keys published by the identity provider.
    JwksUrl(Url),
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub key: JwtKeyConfig,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl AuthConfig {
    pub(crate) fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let set: Vec<&'static str> = ["AUTH_JWT_SECRET", "AUTH_JWT_PUBLIC_KEY", "AUTH_JWKS_URL"]
            .into_iter()
            .filter(|var| env.optional(var).is_some())
            .collect();
        let key = match set.as_slice() {
            ["AUTH_JWT_SECRET"] => {
                let secret = env.required_secret("AUTH_JWT_SECRET")?;
                if secrecy::ExposeSecret::expose_secret(&secret).len() < 32 {
                    return Err(ConfigError::new(
                        "AUTH_JWT_SECRET",
                        "must be at least 32 characters for HS256",
                    ));
                }
                JwtKeyConfig::Secret(secret)
            }
            ["AUTH_JWT_PUBLIC_KEY"] => {
                let raw = env.required("AUTH_JWT_PUBLIC_KEY")?;
                let pem = if raw.starts_with("-----BEGIN") {
                    // Environment files often carry newlines as "\n".
                    raw.replace("\\n", "\n")
                } else {
                    std::fs::read_to_string(raw).map_err(|e| {
                        ConfigError::new(
                            "AUTH_JWT_PUBLIC_KEY",
                            format!("expected a PEM public key or the path of one: {e}"),
                        )
                    })?
                };
                JwtKeyConfig::PublicKeyPem(pem)
            }
            ["AUTH_JWKS_URL"] => JwtKeyConfig::JwksUrl(http_url(env, "AUTH_JWKS_URL")?),
            [] => {
                return Err(ConfigError::new(
                    "AUTH_JWT_SECRET",
                    "one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL is required",
                ));
            }
            [first, ..] => {
                return Err(ConfigError::new(
                    first,
                    format!("only one of {} may be set", set.join(", ")),
                ));
            }
        };
        let audience = env.optional("AUTH_JWT_AUDIENCE").map(str::to_owned);
        // An identity provider signs tokens for many applications: without
        // an audience, a token it issued for any of them would pass here.
        if audience.is_none() && !matches!(key, JwtKeyConfig::Secret(_)) {
            return Err(ConfigError::new(
                "AUTH_JWT_AUDIENCE",
                "is required with AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY: the audience your identity provider puts in tokens for this service",
            ));
        }
        Ok(Self {
            key,
            issuer: env.optional("AUTH_JWT_ISSUER").map(str::to_owned),
            audience,
        })
    }
}

/// What `gtf-bff token` needs to sign a JWT like the partner's identity
/// provider would.
#[derive(Debug, Clone)]
pub struct TokenIssuerConfig {
    pub secret: SecretString,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl TokenIssuerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            secret: env.required_secret("AUTH_JWT_SECRET")?,
            issuer: env.optional("AUTH_JWT_ISSUER").map(str::to_owned),
            audience: env.optional("AUTH_JWT_AUDIENCE").map(str::to_owned),
        })
    }
}

/// An absolute http(s) URL without a trailing slash, to which paths such as
/// `/coe/v1/…` are appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("expected an http(s) URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err("expected an http(s) URL".to_owned());
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err("expected a base URL without query or fragment".to_owned());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    pub(crate) fn from_env(env: &Env, var: &'static str) -> Result<Self, ConfigError> {
        Self::parse(env.required(var)?).map_err(|problem| ConfigError::new(var, problem))
    }

    /// `path` must start with `/`.
    pub(crate) fn join(&self, path: &str) -> String {
        debug_assert!(path.starts_with('/'));
        format!("{}{}", self.0, path)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn http_url(env: &Env, var: &'static str) -> Result<Url, ConfigError> {
    let base = BaseUrl::from_env(env, var)?;
    Url::parse(base.as_str()).map_err(|e| ConfigError::new(var, e.to_string()))
}

/// Values sent as GTF headers must be visible ASCII, or reqwest would refuse
/// them on every call; say so at start instead.
fn header_safe<'a>(env: &'a Env, var: &'static str) -> Result<&'a str, ConfigError> {
    let raw = env.required(var)?;
    if raw.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        Ok(raw)
    } else {
        Err(ConfigError::new(
            var,
            "must be printable ASCII (it is sent as an HTTP header)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn gtf_env(extra: &[(&str, &str)]) -> Env {
        let mut pairs = vec![
            ("GTF_TOKEN_BASE_URL", "https://token.example/"),
            ("GTF_API_BASE_URL", "https://api.example/base"),
            ("GTF_CLIENT_ID", "client"),
            ("GTF_PASS_KEY", "pass-key-value"),
            ("GTF_ONBOARDING_PARTNER", "P-SDK-COE_KTP_SCAN"),
            ("GTF_PARTNER_USER_ID_TYPE", "MY_USER_ID"),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    #[test]
    fn gtf_config_reads_every_variable() {
        let cfg = GtfConfig::from_env(&gtf_env(&[("GTF_TIMEOUT_MS", "2500")])).unwrap();
        assert_eq!(
            cfg.token_base_url.join("/v2/coe/authentication"),
            "https://token.example/v2/coe/authentication"
        );
        assert_eq!(
            cfg.api_base_url.join("/coe/v1/submissions"),
            "https://api.example/base/coe/v1/submissions"
        );
        assert_eq!(cfg.pass_key.expose_secret(), "pass-key-value");
        assert_eq!(cfg.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn debug_output_never_shows_the_pass_key() {
        let cfg = GtfConfig::from_env(&gtf_env(&[])).unwrap();
        assert!(!format!("{cfg:?}").contains("pass-key-value"));
    }

    #[test]
    fn each_missing_variable_is_named() {
        for var in [
            "GTF_TOKEN_BASE_URL",
            "GTF_API_BASE_URL",
            "GTF_CLIENT_ID",
            "GTF_PASS_KEY",
            "GTF_ONBOARDING_PARTNER",
            "GTF_PARTNER_USER_ID_TYPE",
        ] {
            let err = GtfConfig::from_env(&gtf_env(&[(var, "")])).unwrap_err();
            assert_eq!(err.var, var);
        }
    }

    #[test]
    fn malformed_values_are_refused_with_the_variable_named() {
        let err = GtfConfig::from_env(&gtf_env(&[("GTF_API_BASE_URL", "ftp://x")])).unwrap_err();
        assert_eq!(err.var, "GTF_API_BASE_URL");
        let err =
            GtfConfig::from_env(&gtf_env(&[("GTF_ONBOARDING_PARTNER", "a\u{7}b")])).unwrap_err();
        assert_eq!(err.var, "GTF_ONBOARDING_PARTNER");
        let err = GtfConfig::from_env(&gtf_env(&[("GTF_TIMEOUT_MS", "-1")])).unwrap_err();
        assert_eq!(err.var, "GTF_TIMEOUT_MS");
    }

    #[test]
    fn database_url_errors_do_not_echo_the_value() {
        let env = Env::from_pairs([("DATABASE_URL", "mysql://u:hunter2@h/db")]);
        let err = database_url(&env).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn the_audit_log_is_kept_five_years_and_never_shorter_than_the_data() {
        let service = |extra: &[(&str, &str)]| {
            let mut pairs = vec![
                ("DATABASE_URL", "postgres://u@h/db"),
                ("AUTH_JWT_SECRET", "a-secret-of-at-least-thirty-two-chars"),
                ("CALLBACK_AUTH", "bearer:a-callback-secret-of-32-characters"),
                (
                    "BFF_DATA_KEY",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                ),
            ];
            pairs.extend_from_slice(extra);
            ServiceConfig::from_env(&gtf_env(&pairs))
        };
        let defaults = service(&[]).unwrap();
        assert_eq!(defaults.audit_retention, Duration::from_secs(1825 * 86_400));
        let err =
            service(&[("RETENTION_DAYS", "400"), ("AUDIT_RETENTION_DAYS", "365")]).unwrap_err();
        assert_eq!(err.var, "AUDIT_RETENTION_DAYS");
        let err = service(&[("AUDIT_RETENTION_DAYS", "soon")]).unwrap_err();
        assert_eq!(err.var, "AUDIT_RETENTION_DAYS");
    }

    #[test]
    fn an_identity_providers_keys_need_an_audience() {
        let jwks = [
            ("AUTH_JWKS_URL", "https://idp.example/jwks.json"),
            ("AUTH_JWT_ISSUER", "https://idp.example"),
        ];
        let err = AuthConfig::from_env(&Env::from_pairs(jwks)).unwrap_err();
        assert_eq!(err.var, "AUTH_JWT_AUDIENCE");
        let with_audience = [jwks[0], jwks[1], ("AUTH_JWT_AUDIENCE", "gtf-bff")];
        assert!(AuthConfig::from_env(&Env::from_pairs(with_audience)).is_ok());
        // A shared secret is the partner's own: the audience stays optional.
        let hs256 = [("AUTH_JWT_SECRET", "a-secret-of-at-least-thirty-two-chars")];
        assert!(AuthConfig::from_env(&Env::from_pairs(hs256)).is_ok());
    }
}
