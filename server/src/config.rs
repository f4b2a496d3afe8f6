//! Server configuration, from flags and environment variables (`titan serve --help`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Default `DATABASE_URL`: a SQLite file next to where the server runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/titan.db";

/// Default `TITAN_MEDIA_STORE`: a directory next to the default database.
pub const DEFAULT_MEDIA_STORE: &str = "./data/media";

/// Everything `titan serve` needs to run.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "TITAN_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Master key for the admin API (`/admin/*`); the admin API is off when unset.
    #[arg(long, env = "MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// Requests each API key may make per rate-limit window.
    #[arg(long, env = "TITAN_RATE_LIMIT", default_value_t = 600)]
    pub rate_limit: u32,

    /// Length of the sliding rate-limit window, in seconds.
    #[arg(long, env = "TITAN_RATE_LIMIT_WINDOW_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_window_secs: u64,

    /// Failed authentications allowed per client IP per rate-limit window; further requests from
    /// that IP get 429 until the window slides.
    #[arg(long, env = "TITAN_AUTH_FAILURE_LIMIT", default_value_t = 30)]
    pub auth_failure_limit: u32,

    /// Largest request body accepted, in bytes (larger ones get 413), on every route but the
    /// send routes.
    #[arg(long, env = "TITAN_MAX_BODY_BYTES", default_value_t = MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest body of a send route (`POST /api/messages/send` and
    /// `POST /api/sessions/{session}/messages/send`), which may carry a file as base64.
    #[arg(long, env = "TITAN_MAX_SEND_BODY_BYTES", default_value_t = MAX_SEND_BODY_BYTES)]
    pub max_send_body_bytes: usize,

    /// How long an API key is trusted from memory before it is read again (seconds). Changes made
    /// through this server apply at once; this bounds how late another server's changes arrive.
    #[arg(long, env = "TITAN_KEY_CACHE_TTL_SECS", default_value_t = 30)]
    pub key_cache_ttl_secs: u64,

    /// WhatsApp's WebSocket URL. Only the sandbox and tests point it elsewhere.
    #[arg(long, env = "TITAN_WHATSAPP_URL", default_value = whatsapp_rust::wacore::net::WHATSAPP_WEB_WS_URL)]
    pub whatsapp_url: String,

    /// WhatsApp Web version to announce, e.g. `2.3000.1027934701`; by default the current one is
    /// fetched from web.whatsapp.com once a day.
    #[arg(long, env = "TITAN_WHATSAPP_VERSION", value_parser = parse_version)]
    pub whatsapp_version: Option<WhatsAppVersion>,

    /// A PEM file of certificates the media client trusts besides the system roots.
    #[arg(long, env = "TITAN_MEDIA_CA_FILE")]
    pub media_ca_file: Option<PathBuf>,

    /// PEM certificates trusted for media, given by an embedding program (the sandbox, tests).
    #[arg(skip)]
    pub media_roots: Vec<String>,

    /// Where media files are persisted (`POST …/media/{mediaId}/persist`, the `persistMedia`
    /// session setting): a directory, `file:///DIR`, or `s3://BUCKET[/PREFIX]` with the endpoint,
    /// region and credentials of the `AWS_*` variables.
    #[arg(long, env = "TITAN_MEDIA_STORE", default_value = DEFAULT_MEDIA_STORE)]
    pub media_store: String,

    /// On shutdown, how long sessions get to flush their state (seconds).
    #[arg(long, env = "TITAN_SHUTDOWN_TIMEOUT_SECS", default_value_t = 20)]
    pub shutdown_timeout_secs: u64,

    /// Longest wait for a WhatsApp connection attempt or a media read (seconds).
    #[arg(long, env = "TITAN_NETWORK_TIMEOUT_SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    pub network_timeout_secs: u64,

    /// The key webhook secrets are encrypted with (any string; `openssl rand -hex 32` makes a good
    /// one). When unset, a random key is kept in `--secret-key-file`.
    #[arg(long, env = "TITAN_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// Where the generated secret key is kept when `TITAN_SECRET_KEY` is unset (created on first
    /// start, owner-readable only). Back it up with the database.
    #[arg(long, env = "TITAN_SECRET_KEY_FILE", default_value = "./data/secret.key")]
    pub secret_key_file: PathBuf,

    /// Let webhooks target loopback and private addresses (refused by default, to keep the
    /// server from being used against its own network; link-local, where cloud metadata
    /// answers, is always refused).
    #[arg(long, env = "TITAN_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Let files to send be fetched from loopback and private addresses, and over plain
    /// `http://` (by default only public `https://` URLs; link-local is always refused).
    #[arg(long, env = "TITAN_MEDIA_ALLOW_PRIVATE")]
    pub media_allow_private: bool,

    /// Webhook deliveries in flight at once, over all webhooks.
    #[arg(long, env = "TITAN_WEBHOOK_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub webhook_concurrency: u64,

    /// Longest wait for one webhook delivery (seconds).
    #[arg(long, env = "TITAN_WEBHOOK_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_secs: u64,

    /// How long delivered events stay in the outbox (for `Last-Event-ID` resume and the delivery
    /// log), in hours. Events some webhook has not received are kept until it does.
    #[arg(long, env = "TITAN_EVENT_RETENTION_HOURS", default_value_t = 168, value_parser = clap::value_parser!(u64).range(1..))]
    pub event_retention_hours: u64,

    /// With several servers on one PostgreSQL database: how long a server's hold on a session
    /// (its lease) lasts without renewal. A dead server's sessions move to the others after this
    /// long; renewals happen every third of it.
    #[arg(long, env = "TITAN_LEASE_TTL_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub lease_ttl_secs: u64,

    /// With several servers on one PostgreSQL database: the base URL the other servers forward
    /// requests for this server's sessions to. Defaults to `http://` and the bind address
    /// (`127.0.0.1` in place of an unspecified address, which only suits servers on one host).
    #[arg(long, env = "TITAN_ADVERTISE_URL")]
    pub advertise_url: Option<String>,

    /// Run a WhatsApp emulator in-process and connect every session to it: try Titan without a
    /// phone. Its phone actions (scan a QR, type a pair code) are served at `--sandbox-bind`.
    #[cfg(feature = "sandbox")]
    #[arg(long, env = "TITAN_SANDBOX")]
    pub sandbox: bool,

    /// Where the sandbox emulator listens (its `/admin/*` phone API and WebSocket).
    #[cfg(feature = "sandbox")]
    #[arg(long, env = "TITAN_SANDBOX_BIND", default_value = "127.0.0.1:8090")]
    pub sandbox_bind: SocketAddr,
}

/// A WhatsApp Web version (`major.minor.patch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhatsAppVersion(pub u32, pub u32, pub u32);

fn parse_version(text: &str) -> Result<WhatsAppVersion, String> {
    let parts: Vec<u32> = text
        .split('.')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{text}` is not a version like 2.3000.1027934701"))?;
    match parts[..] {
        [a, b, c] => Ok(WhatsAppVersion(a, b, c)),
        _ => Err(format!("`{text}` is not a version like 2.3000.1027934701")),
    }
}

impl Config {
    /// The rate-limit window as a duration.
    pub fn rate_limit_window(&self) -> Duration {
        Duration::from_secs(self.rate_limit_window_secs)
    }

    /// How sessions reach WhatsApp, with the media CA file read.
    pub fn engine_settings(&self, database: crate::store::Engine) -> anyhow::Result<crate::engine::EngineSettings> {
        let mut media_roots = self.media_roots.clone();
        if let Some(path) = &self.media_ca_file {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read TITAN_MEDIA_CA_FILE {}: {e}", path.display()))?;
            media_roots.push(pem);
        }
        Ok(crate::engine::EngineSettings {
            whatsapp_url: self.whatsapp_url.clone(),
            media_roots,
            version: self.whatsapp_version.map(|WhatsAppVersion(a, b, c)| (a, b, c)),
            network_timeout: Duration::from_secs(self.network_timeout_secs),
            objects: crate::store::objects::MediaObjects::open(&self.media_store)?,
            cluster: (database == crate::store::Engine::Postgres).then(|| self.cluster_settings()),
        })
    }

    /// This server's part in a cluster on one PostgreSQL database.
    fn cluster_settings(&self) -> crate::engine::ClusterSettings {
        let address = self.advertise_url.clone().unwrap_or_else(|| {
            let mut bind = self.bind;
            if bind.ip().is_unspecified() {
                bind.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{bind}")
        });
        crate::engine::ClusterSettings {
            server_id: crate::ids::new("srv"),
            address: address.trim_end_matches('/').to_owned(),
            lease_ttl: Duration::from_secs(self.lease_ttl_secs),
        }
    }
}

impl Config {
    /// How webhooks are delivered.
    pub fn dispatch_settings(&self) -> crate::webhooks::dispatcher::DispatchSettings {
        crate::webhooks::dispatcher::DispatchSettings {
            concurrency: usize::try_from(self.webhook_concurrency).unwrap_or(64),
            timeout: Duration::from_secs(self.webhook_timeout_secs),
            allow_private: self.webhook_allow_private,
        }
    }

    /// How long delivered events are kept.
    pub fn event_retention(&self) -> Duration {
        Duration::from_secs(self.event_retention_hours.saturating_mul(3600))
    }
}

/// Default largest body of most routes: 1 MiB, far above any JSON they take.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default largest body of the send routes: 72 MiB, a 70 MB base64 file and its message.
const MAX_SEND_BODY_BYTES: usize = 72 * 1024 * 1024;
/// The routes that take a file in their body.
const SEND_ROUTES: [&str; 2] = ["/api/messages/send", "/api/sessions/{session}/messages/send"];

impl Config {
    /// The largest body `route` (a matched route pattern, if any) accepts.
    pub fn body_limit(&self, route: Option<&str>) -> usize {
        if route.is_some_and(|r| SEND_ROUTES.contains(&r)) {
            self.max_send_body_bytes
        } else {
            self.max_body_bytes
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            master_key: None,
            rate_limit: 600,
            rate_limit_window_secs: 60,
            auth_failure_limit: 30,
            max_body_bytes: MAX_BODY_BYTES,
            max_send_body_bytes: MAX_SEND_BODY_BYTES,
            key_cache_ttl_secs: 30,
            whatsapp_url: whatsapp_rust::wacore::net::WHATSAPP_WEB_WS_URL.to_owned(),
            whatsapp_version: None,
            media_ca_file: None,
            media_roots: Vec::new(),
            media_store: DEFAULT_MEDIA_STORE.to_owned(),
            shutdown_timeout_secs: 20,
            network_timeout_secs: 20,
            secret_key: None,
            secret_key_file: PathBuf::from("./data/secret.key"),
            webhook_allow_private: false,
            media_allow_private: false,
            webhook_concurrency: 64,
            webhook_timeout_secs: 10,
            event_retention_hours: 168,
            lease_ttl_secs: 10,
            advertise_url: None,
            #[cfg(feature = "sandbox")]
            sandbox: false,
            #[cfg(feature = "sandbox")]
            sandbox_bind: SocketAddr::from(([127, 0, 0, 1], 8090)),
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}
