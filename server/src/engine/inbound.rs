//! Stores what a session's client reports (messages, receipts, edits, presence, groups, calls,
//! app-state changes), each change in one transaction with the events it writes.

use whatsapp_rust::prelude::Event;

use super::mapping::{self, Effect, RingingCalls};
use crate::store::Db;
use crate::store::events as outbox;
use crate::store::messages as store;

/// Stores every change `event` makes for `session`.
pub(super) async fn record(db: &Db, session: &str, event: &Event, calls: &mut RingingCalls) -> anyhow::Result<()> {
    for effect in mapping::map(event, calls) {
        apply(db, session, effect).await?;
    }
    Ok(())
}

async fn apply(db: &Db, session: &str, effect: Effect) -> anyhow::Result<()> {
    match effect {
        Effect::Store(mut message, events) => {
            message.session = session.to_owned();
            store::insert(db, &message, &events).await?;
        }
        Effect::Edit { id, text, event } => {
            store::rewrite(db, session, &id, None, text.as_deref(), &[event]).await?;
        }
        Effect::Revoke { id, event } => {
            store::rewrite(db, session, &id, Some("revoke"), None, &[event]).await?;
        }
        Effect::Ack { ids, status, event } => {
            store::advance(db, session, &ids, status, None, &[event]).await?;
        }
        Effect::Event(event) => outbox::write(db, session, &[event]).await?,
    }
    Ok(())
}
