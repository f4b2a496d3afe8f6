//! Server configuration, from flags and environment variables (`titan serve --help`).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Default `DATABASE_URL`: a SQLite file next to where the server runs.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/titan.db";

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

    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "TITAN_MAX_BODY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// How long an API key is trusted from memory before it is read again (seconds). Changes made
    /// through this server apply at once; this bounds how late another server's changes arrive.
    #[arg(long, env = "TITAN_KEY_CACHE_TTL_SECS", default_value_t = 30)]
    pub key_cache_ttl_secs: u64,
}

impl Config {
    /// The rate-limit window as a duration.
    pub fn rate_limit_window(&self) -> Duration {
        Duration::from_secs(self.rate_limit_window_secs)
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
            max_body_bytes: 16 * 1024 * 1024,
            key_cache_ttl_secs: 30,
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
