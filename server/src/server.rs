//! Running the server: bind, serve, and shut down gracefully.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::state::{AppState, SharedState};
use crate::store::Db;

/// A server running in the background, as tests and embedders use it.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The database it serves from.
    pub db: Db,
    /// Its state (sessions included).
    pub state: SharedState,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    /// Keeps this server's leases when it shares its database with others.
    membership: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Starts serving `config` on `db` in the background, and restarts every session that was
    /// running when the server last stopped.
    pub async fn start(mut config: Config, db: Db) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let addr = listener.local_addr()?;
        // The address actually bound (port 0 picks one), which other servers forward to.
        config.bind = addr;
        let state = AppState::new(db.clone(), config)?;
        let app = crate::api::app(state.clone())?;
        let (shutdown, stop) = oneshot::channel::<()>();
        if let Some(cluster) = state.engine.cluster() {
            // Each server delivers the sessions it runs; joining the cluster decides which.
            state.dispatcher.join_cluster(&cluster.server_id);
        }
        state.dispatcher.start().await?;
        let tailing = state.tail.follow(db.clone());
        let pruning = tokio::spawn(crate::idempotency::prune_forever(db.clone()));
        let retention = tokio::spawn(crate::events::retention::prune_forever(
            db.clone(),
            state.config.event_retention(),
        ));
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                    pruning.abort();
                    retention.abort();
                    tailing.abort();
                })
                .await
        });
        let restored = state.engine.restore().await?;
        if restored > 0 {
            tracing::info!(sessions = restored, "restarting the sessions that were running");
        }
        let membership = crate::cluster::join(&state).await?;
        Ok(Self {
            addr,
            db,
            state,
            shutdown,
            task,
            membership,
        })
    }

    /// Stops accepting connections, lets in-flight requests finish, stops every session with
    /// its flush (within the configured bound), and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task
            .await
            .context("server task panicked")?
            .context("server failed")?;
        let bound = std::time::Duration::from_secs(self.state.config.shutdown_timeout_secs);
        finish_commands(&self.state, bound).await;
        if let Some(membership) = self.membership {
            membership.abort();
        }
        self.state.engine.shutdown(bound).await;
        self.state.dispatcher.shutdown(bound).await;
        crate::cluster::leave(&self.state).await;
        self.db.close().await;
        Ok(())
    }
}

/// Waits up to `bound` for async commands already accepted (no new ones arrive: the HTTP server
/// has stopped); they need the sessions, which stop next.
async fn finish_commands(state: &AppState, bound: std::time::Duration) {
    let commands = &state.commands;
    commands.close();
    if commands.is_empty() {
        return;
    }
    tracing::info!(running = commands.len(), "waiting for async commands to finish");
    if tokio::time::timeout(bound, commands.wait()).await.is_err() {
        tracing::warn!(
            unfinished = commands.len(),
            "async commands did not finish in time; their command.result events will not be written"
        );
    }
}

/// `titan serve`: serves until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: Config, database_url: &str) -> anyhow::Result<()> {
    #[cfg(feature = "sandbox")]
    let (config, sandbox) = crate::sandbox::prepare(config).await?;
    // A sandbox build's client skips WhatsApp's certificate check: loopback only.
    #[cfg(feature = "sandbox")]
    crate::engine::require_loopback(&config.whatsapp_url)?;
    let db = Db::connect(database_url).await?;
    let _exclusive = db.lock_single_server(database_url)?;
    if config.master_key.as_deref().is_none_or(str::is_empty) {
        tracing::info!("MASTER_KEY is not set: the admin API (/admin/*) is off");
    }
    let server = RunningServer::start(config, db).await?;
    tracing::info!(address = %server.addr, engine = ?server.db.engine, "titan is listening; API reference at http://{}/docs", server.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await?;
    #[cfg(feature = "sandbox")]
    if let Some(emulator) = sandbox {
        emulator.stop().await?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
}
