//! Retention: delivered events leave the outbox after a configurable age. Events that some
//! webhook has not received (pending or dead deliveries) are never pruned.

use std::time::Duration;

use crate::store::{Db, now_ms};

/// How often the outbox is pruned.
const EVERY: Duration = Duration::from_secs(600);

/// Prunes what is older than `keep` now and every ten minutes, until the task is dropped.
pub async fn prune_forever(db: Db, keep: Duration) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        let cutoff = now_ms() - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        match crate::store::events::prune(&db, cutoff).await {
            Ok((0, 0)) => {}
            Ok((events, deliveries)) => {
                tracing::info!(events, deliveries, "pruned delivered events past their retention");
            }
            Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot prune the event outbox"),
        }
    }
}
