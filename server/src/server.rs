//! Running the server: bind, serve, and shut down gracefully.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::state::AppState;
use crate::store::Db;

/// A server running in the background, as tests and embedders use it.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The database it serves from.
    pub db: Db,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Starts serving `config` on `db` in the background.
    pub async fn start(config: Config, db: Db) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let addr = listener.local_addr()?;
        let app = crate::api::app(AppState::new(db.clone(), config))?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let pruning = tokio::spawn(crate::idempotency::prune_forever(db.clone()));
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                    pruning.abort();
                })
                .await
        });
        Ok(Self {
            addr,
            db,
            shutdown,
            task,
        })
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task
            .await
            .context("server task panicked")?
            .context("server failed")?;
        self.db.pool.close().await;
        Ok(())
    }
}

/// `titan serve`: serves until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: Config, database_url: &str) -> anyhow::Result<()> {
    let db = Db::connect(database_url).await?;
    if config.master_key.as_deref().is_none_or(str::is_empty) {
        tracing::info!("MASTER_KEY is not set: the admin API (/admin/*) is off");
    }
    let server = RunningServer::start(config, db).await?;
    tracing::info!(address = %server.addr, engine = ?server.db.engine, "titan is listening; API reference at http://{}/docs", server.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.stop().await
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
