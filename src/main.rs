use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use gtf_bff::cli::{Cli, Command};
use gtf_bff::config::{ConfigError, Env, SimConfig, TokenIssuerConfig, database_url};
use tokio_util::sync::CancellationToken;

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

impl From<sqlx::Error> for Failure {
    fn from(err: sqlx::Error) -> Self {
        Self::Runtime(err.into())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::Runtime(err)
    }
}

fn run(command: Command, env: &Env) -> Result<(), Failure> {
    if let Command::Token { sub, ttl_secs } = &command {
        let cfg = TokenIssuerConfig::from_env(env)?;
        let jwt = gtf_bff::auth::issue::issue_hs256(&cfg, sub, Duration::from_secs(*ttl_secs))
            .map_err(anyhow::Error::from)?;
        println!("{jwt}");
        return Ok(());
    }
    gtf_bff::telemetry::init(env)?;
    let runtime = tokio::runtime::Runtime::new().map_err(anyhow::Error::from)?;
    runtime.block_on(async {
        match command {
            Command::Sim => {
                let cfg = SimConfig::from_env(env)?;
                let shutdown = CancellationToken::new();
                gtf_bff::shutdown::on_signal(shutdown.clone());
                gtf_bff::sim::serve(cfg, shutdown).await?;
                Ok(())
            }
            Command::Migrate => {
                let pool = gtf_bff::store::pool(&database_url(env)?, 1)?;
                gtf_bff::store::migrate(&pool)
                    .await
                    .context("applying migrations")?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Serve | Command::Token { .. } => {
                Err(Failure::Runtime(anyhow::anyhow!("not yet available")))
            }
        }
    })
}
