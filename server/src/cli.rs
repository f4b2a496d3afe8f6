//! The `titan` command line: `serve` (default), `keys create`, `openapi`.

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::auth::{Caller, Scope};
use crate::config::{Config, DEFAULT_DATABASE_URL, LogFormat};
use crate::keys::{self, CreateKey};
use crate::state::AppState;
use crate::store::Db;

/// Titan: a self-hosted WhatsApp REST API.
#[derive(Debug, Parser)]
#[command(name = "titan", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Database URL: `sqlite://PATH` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    database_url: String,

    /// Log format.
    #[arg(long, env = "TITAN_LOG_FORMAT", value_enum, default_value_t, global = true)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Option<Command>,

    /// `titan` alone runs `titan serve` with these settings.
    #[command(flatten)]
    serve: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API server (the default).
    Serve(Box<Config>),
    /// Manage API keys directly in the database.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create an API key and print its secret once (on stdout; details on stderr).
    Create {
        /// A name for humans.
        #[arg(long)]
        label: String,
        /// Comma-separated scopes, e.g. `*` or `sessions:read,messages:write`.
        #[arg(long, value_delimiter = ',', required = true)]
        scopes: Vec<Scope>,
        /// Comma-separated sessions to limit the key to (default: every session).
        #[arg(long, value_delimiter = ',')]
        sessions: Option<Vec<String>>,
        /// Days until the key expires (default: never).
        #[arg(long)]
        lifetime_days: Option<u32>,
    },
}

/// Parses the command line and runs it.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        None => crate::server::serve(cli.serve, &cli.database_url).await,
        Some(Command::Serve(config)) => crate::server::serve(*config, &cli.database_url).await,
        Some(Command::Openapi) => {
            println!("{}", crate::api::openapi().to_pretty_json()?);
            Ok(())
        }
        Some(Command::Keys {
            command:
                KeysCommand::Create {
                    label,
                    scopes,
                    sessions,
                    lifetime_days,
                },
        }) => {
            let db = Db::connect(&cli.database_url).await?;
            let state = AppState::new(db, Config::default())?;
            // Read like an API body, so the command line gets the API's checks and messages.
            let request: CreateKey = serde_json::from_value(serde_json::json!({
                "label": label,
                "scopes": scopes,
                "sessions": sessions,
                "lifetimeDays": lifetime_days,
            }))
            .map_err(|e| anyhow::anyhow!("invalid key: {e}"))?;
            let created = keys::create(&state, &Caller::master(), request)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let details = &created.details;
            let scopes: Vec<_> = details.scopes.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "Created API key {} ({}) with scopes {}.",
                details.id,
                details.label,
                scopes.join(",")
            );
            if let Some(expires) = details.expires_at {
                eprintln!("It expires at {expires}.");
            }
            eprintln!("Store the key now: it cannot be shown again.");
            println!("{}", created.key);
            state.db.close().await;
            Ok(())
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("TITAN_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
