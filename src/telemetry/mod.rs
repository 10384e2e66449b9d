//! Logging: JSON lines by default, human-readable with `LOG_FORMAT=pretty`,
//! filtered by `RUST_LOG` (default `info`); and metrics.

pub(crate) mod metrics;

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl LogFormat {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        match env.optional("LOG_FORMAT") {
            None | Some("json") => Ok(Self::Json),
            Some("pretty") => Ok(Self::Pretty),
            Some(other) => Err(ConfigError::new(
                "LOG_FORMAT",
                format!("expected \"json\" or \"pretty\", got {other:?}"),
            )),
        }
    }
}

/// `RUST_LOG`, default `info`.
pub fn filter(env: &Env) -> Result<EnvFilter, ConfigError> {
    EnvFilter::try_new(env.optional("RUST_LOG").unwrap_or("info"))
        .map_err(|e| ConfigError::new("RUST_LOG", e.to_string()))
}

pub fn init(env: &Env) -> Result<(), ConfigError> {
    let format = LogFormat::from_env(env)?;
    let filter = filter(env)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        LogFormat::Pretty => builder.init(),
    }
    Ok(())
}
