use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use gtf_bff::cli::{Cli, Command};
use gtf_bff::config::{
    ConfigError, DataKeysConfig, Env, ServiceConfig, TokenIssuerConfig, database_url,
};
use gtf_bff::sim::SimConfig;
use tokio_util::sync::CancellationToken;

/// A request allocates and frees some sixty small blocks; mimalloc's
/// thread-local free lists take about half glibc's instructions for them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = Env::from_process();
    match run(cli.command.unwrap_or(Command::Serve), &env) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(err)) => {
            eprintln!("gtf-bff: configuration error: {err}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(err)) => {
            // `{:#}` prints the cause chain on one line.
            eprintln!("gtf-bff: {err:#}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Config(ConfigError),
    Runtime(anyhow::Error),
}

impl From<ConfigError> for Failure {
    fn from(err: ConfigError) -> Self {
        Self::Config(err)
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::Runtime(err)
    }
}

fn run(command: Command, env: &Env) -> Result<(), Failure> {
    match command {
        Command::Token {
            sub,
            scope,
            ttl_secs,
        } => {
            let cfg = TokenIssuerConfig::from_env(env)?;
            let ttl = Duration::from_secs(ttl_secs);
            let jwt =
                gtf_bff::auth::issue::issue_hs256_with_scope(&cfg, &sub, scope.as_deref(), ttl)
                    .context("signing the token")?;
            println!("{jwt}");
            Ok(())
        }
        Command::Healthcheck { url } => {
            let url = match url {
                Some(url) => url,
                None => format!(
                    "http://127.0.0.1:{}/readyz",
                    ServiceConfig::listen_addr(env)?.port()
                ),
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            let status = runtime.block_on(async {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(3))
                    .build()?
                    .get(&url)
                    .send()
                    .await
                    .map(|r| r.status())
            });
            match status {
                Ok(s) if s.is_success() => Ok(()),
                Ok(s) => Err(anyhow::anyhow!("{url} answered {s}").into()),
                Err(e) => Err(anyhow::anyhow!("{url}: {e}").into()),
            }
        }
        Command::Migrate => {
            let url = database_url(env)?;
            block_on(env, |_| async move {
                let pool = gtf_bff::store::pool(&url, 1)?;
                gtf_bff::store::migrate(&pool)
                    .await
                    .context("applying migrations")?;
                tracing::info!("migrations applied");
                Ok(())
            })
        }
        Command::Reseal => {
            let cfg = DataKeysConfig::from_env(env)?;
            block_on(env, |_| async move {
                let resealed = gtf_bff::app::reseal(cfg).await?;
                tracing::info!(
                    resealed,
                    "every stored result is sealed with the current key"
                );
                Ok(())
            })
        }
        Command::WebhookListen { secret, addr } => {
            let secrets = secret
                .split(',')
                .map(gtf_bff::webhooks::WebhookSecret::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|problem| ConfigError::new("WEBHOOK_SECRET", problem))?;
            block_on(env, |shutdown| {
                gtf_bff::webhooks::listen(addr, secrets, shutdown)
            })
        }
        Command::Sim => {
            let cfg = SimConfig::from_env(env)?;
            block_on(env, |shutdown| gtf_bff::sim::serve(cfg, shutdown))
        }
        Command::Demo => {
            let cfg = gtf_bff::demo::DemoConfig::from_env(env)?;
            block_on(env, |shutdown| gtf_bff::demo::serve(cfg, shutdown))
        }
        Command::Serve => {
            let cfg = ServiceConfig::from_env(env)?;
            block_on(env, |shutdown| gtf_bff::app::run(cfg, shutdown))
        }
    }
}

/// Starts logging and a runtime, and runs `work` to completion. `work` gets
/// a token that is cancelled on SIGTERM or ctrl-c.
fn block_on<F, W>(env: &Env, work: W) -> Result<(), Failure>
where
    W: FnOnce(CancellationToken) -> F,
    F: Future<Output = anyhow::Result<()>>,
{
    let _logs = gtf_bff::telemetry::init(env)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        gtf_bff::shutdown::on_signal(shutdown.clone());
        work(shutdown).await
    })?;
    Ok(())
}
