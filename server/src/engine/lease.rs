//! Session ownership when several servers share one PostgreSQL database: a session runs only
//! on the server holding its lease, its state writes carry that lease's fence, and it stops
//! here as soon as the lease is found lost.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::{Command, Engine, EngineError, Slot};
use crate::store::cluster::{self, Fence};

/// How this server takes part in a cluster of servers on one database.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// This server's id, new at every start.
    pub server_id: String,
    /// The base URL the other servers forward this server's sessions' requests to.
    pub address: String,
    /// How long a lease lasts unless renewed; a dead server's sessions move after this long.
    pub lease_ttl: Duration,
}

impl ClusterSettings {
    /// The lease period in ms, as the database counts it.
    pub fn ttl_ms(&self) -> i64 {
        i64::try_from(self.lease_ttl.as_millis()).unwrap_or(i64::MAX)
    }
}

impl Engine {
    /// How this server shares its database, if it does.
    pub fn cluster(&self) -> Option<&ClusterSettings> {
        self.shared.settings.cluster.as_ref()
    }

    /// Takes the session's lease for this server (none is needed on one server alone).
    pub(super) async fn take_lease(&self, name: &str) -> Result<Option<Fence>, EngineError> {
        let Some(cluster) = self.cluster() else {
            return Ok(None);
        };
        match cluster::acquire(
            &self.shared.db,
            cluster::SESSION,
            name,
            &cluster.server_id,
            cluster.ttl_ms(),
        )
        .await?
        {
            Some(fence) => Ok(Some(fence)),
            None => Err(EngineError::Unavailable(format!(
                "session `{name}` is running on another server; retry, and the request is forwarded there"
            ))),
        }
    }

    /// Ends this server's hold on a session whose supervisor has ended.
    pub(super) async fn give_up_lease(&self, name: &str, slot: &Slot) {
        let Some(fence) = slot.fence().take() else {
            return;
        };
        if let Err(error) = cluster::release(&self.shared.db, cluster::SESSION, name, &fence.owner).await {
            // It expires on its own after one lease period.
            tracing::warn!(
                session = name,
                error = format!("{error:#}"),
                "cannot release a session lease"
            );
        }
    }

    /// Tells the session's running parts that its settings changed (a pacer waiting out a gap
    /// applies the new pace at once).
    pub fn settings_changed(&self, name: &str) {
        if let Some(slot) = self.existing(name) {
            slot.settings_changed.notify_one();
        }
    }

    /// Whether this server runs the session now (it holds its lease).
    pub fn runs_here(&self, name: &str) -> bool {
        self.existing(name).is_some_and(|slot| slot.fence().is_some())
    }

    /// The sessions this server holds leases for.
    pub fn owned(&self) -> Vec<String> {
        self.all_slots()
            .into_iter()
            .filter(|(_, slot)| slot.fence().is_some())
            .map(|(name, _)| name)
            .collect()
    }

    /// Releases the leases of sessions whose supervisor ended on its own (logged out, failed,
    /// never paired), so they no longer count as this server's.
    pub async fn release_ended(&self) {
        for (name, slot) in self.all_slots() {
            let ended = slot.fence().is_some()
                && slot
                    .runner
                    .try_lock()
                    .is_ok_and(|runner| runner.as_ref().is_none_or(|r| r.task.is_finished()));
            if ended {
                self.give_up_lease(&name, &slot).await;
            }
        }
    }

    /// Stops a session whose lease another server now holds, writing nothing of its state.
    pub async fn abandon(&self, name: &str) {
        let Some(slot) = self.existing(name) else {
            return;
        };
        if slot.fence().take().is_none() {
            return;
        }
        tracing::warn!(session = name, "this server lost the session's lease; stopping it here");
        self.command(name, Command::Abandon).await;
    }

    fn all_slots(&self) -> Vec<(String, Arc<Slot>)> {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, slot)| (name.clone(), Arc::clone(slot)))
            .collect()
    }
}
