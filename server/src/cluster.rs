//! Several servers on one PostgreSQL database. Each server announces itself with the address
//! the others forward to, and every third of a lease period it renews its leases, stops the
//! sessions whose lease it lost, holds or seeks the one webhook-delivery lease, tells its webhook
//! dispatcher which sessions are its own, and takes over sessions no live server holds, up to
//! its fair share of the running sessions.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use tokio::task::JoinHandle;

use crate::engine::{ClusterSettings, EngineError};
use crate::state::SharedState;
use crate::store::cluster;
use crate::webhooks::dispatcher::{Scope, Shared};

/// The server-wide duty of delivering the webhooks of sessions no server runs (each server
/// delivers those of its own sessions): one server at a time, so each lane keeps order.
pub const DELIVERY: &str = "webhooks";

/// Servers silent this many lease periods are dropped from the registry.
const FORGET_AFTER_TTLS: i64 = 10;

/// Joins the cluster if this server shares its database (PostgreSQL): announces it, takes its
/// first share of the sessions at once, and keeps its leases from then on. `None` on SQLite.
pub async fn join(state: &SharedState) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(settings) = state.engine.cluster().cloned() else {
        return Ok(None);
    };
    cluster::announce(&state.db, &settings.server_id, &settings.address).await?;
    tracing::info!(
        server = %settings.server_id,
        address = %settings.address,
        lease_ttl = ?settings.lease_ttl,
        "sharing this PostgreSQL database with any other titan server on it"
    );
    tick(state, &settings).await;
    let state = state.clone();
    Ok(Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(settings.lease_ttl / 3).await;
            tick(&state, &settings).await;
        }
    })))
}

/// Gives every lease of this server up at a graceful stop, so the others take its sessions over
/// at their next look instead of after a lease period.
pub async fn leave(state: &SharedState) {
    let Some(settings) = state.engine.cluster() else {
        return;
    };
    if let Err(error) = cluster::leave(&state.db, &settings.server_id).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "cannot give up this server's leases; they expire on their own"
        );
    }
}

async fn tick(state: &SharedState, settings: &ClusterSettings) {
    if let Err(error) = keep(state, settings).await {
        tracing::warn!(
            error = format!("{error:#}"),
            "cannot renew this server's leases; retrying"
        );
    }
}

async fn keep(state: &SharedState, settings: &ClusterSettings) -> anyhow::Result<()> {
    let (db, me, ttl) = (&state.db, &settings.server_id, settings.ttl_ms());
    cluster::heartbeat(db, me, ttl.saturating_mul(FORGET_AFTER_TTLS)).await?;
    state.engine.release_ended().await;
    // Read before renewing: a session started after this read (its lease taken after the
    // renewal) is not mistaken for one whose lease was lost.
    let running = state.engine.owned();
    let held = cluster::renew(db, me, ttl).await?;
    let sessions: HashSet<&str> = held
        .iter()
        .filter(|(kind, _, _)| kind == cluster::SESSION)
        .map(|(_, name, _)| name.as_str())
        .collect();
    let lost: Vec<String> = running
        .into_iter()
        .filter(|name| !sessions.contains(name.as_str()))
        .collect();
    futures::future::join_all(lost.iter().map(|name| state.engine.abandon(name))).await;
    // The renewal kept the delivery lease if this server held it; otherwise try to take it.
    let delivers = held
        .iter()
        .any(|(kind, name, _)| kind == cluster::ROLE && name == DELIVERY)
        || cluster::acquire(db, cluster::ROLE, DELIVERY, me, ttl).await?.is_some();
    let elsewhere = cluster::leased_elsewhere(db, me).await?.into_iter().collect();
    state
        .dispatcher
        .set_scope(scope(state, me, elsewhere, delivers))
        .await?;
    take_over(state, ttl).await
}

/// The sessions whose webhooks this server delivers: those it runs (looked up live), and with
/// `orphans` those no other server held at the last look.
fn scope(state: &SharedState, me: &str, elsewhere: HashSet<String>, orphans: bool) -> Scope {
    // Weak: the dispatcher lives in the state it looks the engine up in.
    let weak: Weak<_> = Arc::downgrade(state);
    Scope::Shared(Arc::new(Shared {
        server_id: me.to_owned(),
        runs_here: Box::new(move |session| weak.upgrade().is_some_and(|state| state.engine.runs_here(session))),
        elsewhere,
        orphans,
    }))
}

/// Starts sessions that should run but that no live server holds, while this server runs
/// fewer than its fair share (the running sessions over the live servers, rounded up).
async fn take_over(state: &SharedState, ttl: i64) -> anyhow::Result<()> {
    let orphans = cluster::orphans(&state.db).await?;
    if orphans.is_empty() {
        return Ok(());
    }
    let (servers, running) = cluster::load(&state.db, ttl).await?;
    let servers = servers.max(1);
    let fair = (running + servers - 1) / servers;
    let mut mine = i64::try_from(state.engine.owned().len()).unwrap_or(i64::MAX);
    for name in orphans {
        if mine >= fair {
            break;
        }
        match state.engine.start(&name).await {
            Ok(()) => {
                mine += 1;
                tracing::info!(session = %name, "took over a session no live server held");
            }
            // Another server was quicker.
            Err(EngineError::Unavailable(_)) => {}
            Err(error) => tracing::warn!(session = %name, %error, "cannot take over a session"),
        }
    }
    Ok(())
}

/// One session lease as `/admin/cluster` shows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSession {
    /// The session's name.
    pub name: String,
    /// The lease's fencing token: it grows each time the session changes servers.
    pub token: i64,
    /// How long this server has held it, in ms.
    pub lease_age_ms: i64,
    /// How long until the lease expires unless renewed, in ms.
    pub expires_in_ms: i64,
}

/// One server as `/admin/cluster` shows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterServer {
    /// Its id, new at every start.
    #[schema(example = "srv_01JZ8X6V3QW8T9N6F4C2B1A0Z9")]
    pub id: String,
    /// Where the other servers forward requests for its sessions.
    #[schema(example = "http://10.0.0.5:8080")]
    pub address: String,
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// How long ago it last renewed its leases, in ms; past `leaseTtlMs` it is presumed dead.
    pub heartbeat_age_ms: i64,
    /// Whether it is the server answering this request.
    pub this_server: bool,
    /// Whether it delivers the webhooks of sessions no server runs (one server at a time does;
    /// each server delivers those of the sessions it runs).
    pub delivers_webhooks: bool,
    /// The sessions it runs, by name.
    pub sessions: Vec<ClusterSession>,
}

/// The servers sharing this database and the sessions each runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// `cluster` on PostgreSQL (any number of servers), `single` on SQLite (this one only).
    #[schema(example = "cluster")]
    pub mode: String,
    /// How long a lease lasts unless renewed, in ms: a dead server's sessions move after this.
    pub lease_ttl_ms: i64,
    /// Every server seen lately, oldest first.
    pub servers: Vec<ClusterServer>,
}

crate::envelopes!(Cluster => ClusterData);

/// What `GET /admin/cluster` shows.
pub async fn view(state: &SharedState) -> anyhow::Result<Cluster> {
    let Some(settings) = state.engine.cluster() else {
        let sessions = crate::store::sessions::running(&state.db).await?;
        return Ok(Cluster {
            mode: "single".into(),
            lease_ttl_ms: 0,
            servers: vec![ClusterServer {
                id: "local".into(),
                address: format!("http://{}", state.config.bind),
                started_at: state.started_at,
                heartbeat_age_ms: 0,
                this_server: true,
                delivers_webhooks: true,
                sessions: sessions
                    .into_iter()
                    .map(|s| ClusterSession {
                        name: s.name,
                        token: 0,
                        lease_age_ms: 0,
                        expires_in_ms: 0,
                    })
                    .collect(),
            }],
        });
    };
    let members = cluster::members(&state.db).await?;
    let servers = members
        .into_iter()
        .map(|member| ClusterServer {
            this_server: member.id == settings.server_id,
            delivers_webhooks: member
                .leases
                .iter()
                .any(|l| l.kind == cluster::ROLE && l.name == DELIVERY),
            sessions: member
                .leases
                .into_iter()
                .filter(|l| l.kind == cluster::SESSION)
                .map(|l| ClusterSession {
                    name: l.name,
                    token: l.token,
                    lease_age_ms: l.age_ms,
                    expires_in_ms: l.expires_in_ms,
                })
                .collect(),
            id: member.id,
            address: member.address,
            started_at: chrono::DateTime::from_timestamp_millis(member.started_at).unwrap_or_default(),
            heartbeat_age_ms: member.heartbeat_age_ms,
        })
        .collect();
    Ok(Cluster {
        mode: "cluster".into(),
        lease_ttl_ms: settings.ttl_ms(),
        servers,
    })
}

/// This server's part in the cluster, in Prometheus' text format (empty on SQLite).
pub fn metrics(state: &SharedState) -> String {
    let Some(settings) = state.engine.cluster() else {
        return String::new();
    };
    let server = &settings.server_id;
    format!(
        "# HELP titan_cluster_sessions_owned Sessions this server holds the lease of.\n\
         # TYPE titan_cluster_sessions_owned gauge\n\
         titan_cluster_sessions_owned{{server=\"{server}\"}} {}\n\
         # HELP titan_cluster_delivering Whether this server delivers the webhooks of sessions no server runs (1) or not (0).\n\
         # TYPE titan_cluster_delivering gauge\n\
         titan_cluster_delivering{{server=\"{server}\"}} {}\n",
        state.engine.owned().len(),
        u8::from(state.dispatcher.delivers_orphans()),
    )
}
