//! Logging: JSON lines by default, human-readable with `LOG_FORMAT=pretty`,
//! filtered by `RUST_LOG` (default `info`); and metrics.

pub(crate) mod metrics;

use std::io::BufWriter;

use tracing::Subscriber;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

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

/// Lines waiting for the log writer; a burst beyond makes loggers wait.
const LOG_QUEUE_LINES: usize = 4096;

/// Starts logging. With JSON lines, the guard returned keeps their writer's
/// thread: dropping it writes out what is still buffered.
pub fn init(env: &Env) -> Result<Option<WorkerGuard>, ConfigError> {
    let format = LogFormat::from_env(env)?;
    let filter = filter(env)?;
    match format {
        LogFormat::Json => {
            // Lines are written by a thread of their own, in batches: one
            // `write` for whatever accumulated meanwhile, not one per line on
            // the request's path. Never lossy: a full queue makes the logger
            // wait rather than drop lines.
            // The queue's slots are allocated up front: the default 128k
            // lines would hold 4 MB of an idle service's memory.
            let (writer, guard) = NonBlockingBuilder::default()
                .buffered_lines_limit(LOG_QUEUE_LINES)
                .lossy(false)
                .thread_name("log-writer")
                .finish(BufWriter::new(std::io::stderr()));
            json(filter, writer).init();
            Ok(Some(guard))
        }
        LogFormat::Pretty => {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .init();
            Ok(None)
        }
    }
}

/// The JSON lines subscriber: one object per event, its fields flattened
/// beside `timestamp`, `level`, `message` and `target`, and the current
/// span's fields under `span`. `json-subscriber` rather than
/// `tracing_subscriber`'s own JSON format: that one parses every span's
/// fields back from JSON for each event, a third of a request's CPU.
pub fn json<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    json_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .finish()
}
