//! What a client may hold of the service: connections, the time to send a
//! request, the time a request may take, event streams; and where the
//! metrics are served.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::time::Duration;

use super::{ConfigError, Env};

/// What a request keeps for its own database work once its GTF calls are
/// done: their budget is the request timeout minus this, so that a GTF
/// failure, a timeout included, is answered as such before the request
/// timeout ends the request.
const AFTER_GTF: Duration = Duration::from_secs(5);

/// `HTTP_*` and `METRICS_LISTEN_ADDR`.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// `METRICS_LISTEN_ADDR`: `/metrics` (and `/healthz`, `/readyz`), kept
    /// off the public listener.
    pub metrics_addr: SocketAddr,
    /// `HTTP_HEADER_TIMEOUT_SECS`: from a request's first byte to the end of
    /// its headers.
    pub header_timeout: Duration,
    /// `HTTP_IDLE_TIMEOUT_SECS`: a connection with no request in flight and
    /// no byte of a next one is closed after this long.
    pub idle_timeout: Duration,
    /// `HTTP_REQUEST_TIMEOUT_SECS`: the most a request other than an event
    /// stream takes to be answered.
    pub request_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: open connections on the API listener; more
    /// wait to be accepted.
    pub max_connections: usize,
}

impl ServerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            metrics_addr: env.parse_or(
                "METRICS_LISTEN_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9464)),
                "an address such as 127.0.0.1:9464",
            )?,
            header_timeout: env.secs_or("HTTP_HEADER_TIMEOUT_SECS", 10)?,
            idle_timeout: env.secs_or("HTTP_IDLE_TIMEOUT_SECS", 60)?,
            request_timeout: env.secs_or("HTTP_REQUEST_TIMEOUT_SECS", 30)?,
            max_connections: positive(env, "HTTP_MAX_CONNECTIONS", 10_000)?,
        })
    }

    /// How long the GTF calls of one request may take, retries and token
    /// mints included (the GTF client stops there).
    pub fn gtf_budget(&self) -> Duration {
        self.request_timeout.saturating_sub(AFTER_GTF)
    }

    /// Without a budget, one request's GTF calls could take minutes (a
    /// refresh: two calls, each with a token mint, three attempts and a
    /// retry after a refused token), so the budget bounds them; this makes
    /// sure it leaves room for at least one whole GTF attempt.
    pub(crate) fn check_against(&self, gtf_timeout: Duration) -> Result<(), ConfigError> {
        if self.gtf_budget() > gtf_timeout {
            return Ok(());
        }
        let least = (gtf_timeout + AFTER_GTF).as_secs() + 1;
        Err(ConfigError::new(
            "HTTP_REQUEST_TIMEOUT_SECS",
            format!(
                "must be at least {least} s: GTF_TIMEOUT_MS plus {} s for the request's own work, so that a GTF timeout is answered as 504 GTF_TIMEOUT",
                AFTER_GTF.as_secs()
            ),
        ))
    }
}

/// `SSE_*`: how many `/events` streams may be open, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// `SSE_MAX_STREAMS_PER_USER`.
    pub per_user: usize,
    /// `SSE_MAX_STREAMS`: in this process.
    pub total: usize,
    /// `SSE_MAX_LIFETIME_SECS`: then the stream ends and the client
    /// reconnects.
    pub max_lifetime: Duration,
}

impl StreamConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            per_user: positive(env, "SSE_MAX_STREAMS_PER_USER", 5)?,
            total: positive(env, "SSE_MAX_STREAMS", 10_000)?,
            max_lifetime: env.secs_or("SSE_MAX_LIFETIME_SECS", 900)?,
        })
    }
}

fn positive(env: &Env, var: &'static str, default: usize) -> Result<usize, ConfigError> {
    let n = NonZeroUsize::new(default).unwrap_or(NonZeroUsize::MIN);
    Ok(env
        .parse_or(var, n, "a whole number greater than zero")?
        .get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let server = ServerConfig::from_env(&Env::default()).unwrap();
        assert_eq!(server.metrics_addr.to_string(), "127.0.0.1:9464");
        assert_eq!(server.header_timeout, Duration::from_secs(10));
        assert_eq!(server.idle_timeout, Duration::from_secs(60));
        assert_eq!(server.request_timeout, Duration::from_secs(30));
        assert_eq!(server.max_connections, 10_000);
        server.check_against(Duration::from_secs(10)).unwrap();
        let streams = StreamConfig::from_env(&Env::default()).unwrap();
        assert_eq!((streams.per_user, streams.total), (5, 10_000));
        assert_eq!(streams.max_lifetime, Duration::from_secs(900));
    }

    #[test]
    fn a_request_timeout_without_room_for_a_gtf_attempt_is_refused() {
        let env = Env::from_pairs([("HTTP_REQUEST_TIMEOUT_SECS", "15")]);
        let server = ServerConfig::from_env(&env).unwrap();
        let err = server.check_against(Duration::from_secs(10)).unwrap_err();
        assert_eq!(err.var, "HTTP_REQUEST_TIMEOUT_SECS");
        assert!(err.problem.contains("at least 16 s"), "{err}");
        server.check_against(Duration::from_millis(9_999)).unwrap();
    }

    #[test]
    fn zero_limits_are_refused() {
        for var in [
            "HTTP_MAX_CONNECTIONS",
            "SSE_MAX_STREAMS_PER_USER",
            "SSE_MAX_STREAMS",
        ] {
            let env = Env::from_pairs([(var, "0")]);
            let err = ServerConfig::from_env(&env)
                .and(StreamConfig::from_env(&env))
                .unwrap_err();
            assert_eq!(err.var, var);
        }
    }
}
