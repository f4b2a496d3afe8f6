//! State shared by every request.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::auth::{KeyCache, MasterKey};
use crate::config::Config;
use crate::engine::Engine;
use crate::events::tail::Tail;
use crate::metrics::Metrics;
use crate::ratelimit::SlidingWindow;
use crate::secrets::SecretBox;
use crate::store::Db;
use crate::webhooks::dispatcher::Dispatcher;

/// What handlers and layers share; cheap to clone as [`SharedState`].
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// API keys by hash, served from memory.
    pub keys: KeyCache,
    /// Requests per API key id.
    pub key_limiter: SlidingWindow<String>,
    /// Requests per client token's session and ephemeral id, against its rules' `rateLimit`.
    pub client_limiter: SlidingWindow<String>,
    /// Failed authentications per client address.
    pub auth_failures: SlidingWindow<IpAddr>,
    /// The admin API's key, if the admin API is on.
    pub master_key: Option<MasterKey>,
    /// Request counters and latency histograms for `/metrics`.
    pub metrics: Metrics,
    /// The running sessions.
    pub engine: Engine,
    /// Webhook delivery.
    pub dispatcher: Dispatcher,
    /// The live feed of the outbox, for the event stream.
    pub tail: Tail,
    /// Forwards requests for sessions other servers run (several servers on one database).
    pub forwarder: reqwest::Client,
    /// Fetches files to send from their URLs.
    pub fetcher: crate::media::source::Fetcher,
    /// Seals the secrets stored in the database.
    pub secrets: Arc<SecretBox>,
    /// Async commands still running; shutdown waits for them, so an accepted command is not
    /// dropped by a graceful stop.
    pub commands: TaskTracker,
    /// The configuration the server started with.
    pub config: Config,
    /// When this server started.
    pub started_at: chrono::DateTime<chrono::Utc>,
}

/// The state as handlers receive it.
pub type SharedState = Arc<AppState>;

impl AppState {
    /// Builds the state for `config` on an open database (no session runs yet).
    pub fn new(db: Db, config: Config) -> anyhow::Result<SharedState> {
        let window = config.rate_limit_window();
        let engine = Engine::new(db.clone(), config.engine_settings(db.engine)?);
        let secrets = Arc::new(SecretBox::load(config.secret_key.as_deref(), &config.secret_key_file)?);
        let dispatcher = Dispatcher::new(db.clone(), secrets.clone(), config.dispatch_settings())?;
        let fetcher = crate::media::source::Fetcher::new(config.media_allow_private)?;
        let forwarder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Arc::new(Self {
            forwarder,
            fetcher,
            db,
            keys: KeyCache::new(Duration::from_secs(config.key_cache_ttl_secs)),
            key_limiter: SlidingWindow::new(config.rate_limit, window),
            client_limiter: SlidingWindow::new(0, Duration::from_secs(60)),
            auth_failures: SlidingWindow::new(config.auth_failure_limit, window),
            master_key: config
                .master_key
                .as_deref()
                .filter(|k| !k.is_empty())
                .map(MasterKey::new),
            metrics: Metrics::default(),
            engine,
            dispatcher,
            tail: Tail::default(),
            secrets,
            commands: TaskTracker::new(),
            config,
            started_at: chrono::Utc::now(),
        }))
    }
}
