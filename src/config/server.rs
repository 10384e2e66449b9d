//! What a client may hold of the service: connections, and the time to
//! send a request.

use std::num::NonZeroUsize;
use std::time::Duration;

use super::{ConfigError, Env};

/// `HTTP_*`.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// `HTTP_HEADER_TIMEOUT_SECS`: from a request's first byte to the end of
    /// its headers.
    pub header_timeout: Duration,
    /// `HTTP_IDLE_TIMEOUT_SECS`: a connection with no request in flight and
    /// no byte of a next one is closed after this long.
    pub idle_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: open connections on the API listener; more
    /// wait to be accepted.
    pub max_connections: usize,
}

impl ServerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            header_timeout: env.secs_or("HTTP_HEADER_TIMEOUT_SECS", 10)?,
            idle_timeout: env.secs_or("HTTP_IDLE_TIMEOUT_SECS", 60)?,
            max_connections: positive(env, "HTTP_MAX_CONNECTIONS", 10_000)?,
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
        assert_eq!(server.header_timeout, Duration::from_secs(10));
        assert_eq!(server.idle_timeout, Duration::from_secs(60));
        assert_eq!(server.max_connections, 10_000);
    }

    #[test]
    fn zero_limits_are_refused() {
        let env = Env::from_pairs([("HTTP_MAX_CONNECTIONS", "0")]);
        let err = ServerConfig::from_env(&env).unwrap_err();
        assert_eq!(err.var, "HTTP_MAX_CONNECTIONS");
    }
}
