//! Stores what a session's client reports (messages, receipts, edits, presence, groups, calls,
//! app-state changes), each change in one transaction with the events it writes.

use std::sync::Arc;

use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::InboundMessage;
use whatsapp_rust::{Client, InboundDurabilityHook};

use super::mapping::{self, Effect, RingingCalls};
use crate::events::{NewEvent, Payload};
use crate::model::events::VotePayload;
use crate::model::poll::SealedVote;
use crate::store::Db;
use crate::store::events as outbox;
use crate::store::messages::{self as store, MessageRecord};
use crate::store::presences;
use crate::store::{chats, contacts, labels};

/// Stores each message the session receives before whatsapp-rust acknowledges it to WhatsApp,
/// so a server killed at any point loses none: WhatsApp redelivers what was never acknowledged
/// (to whichever server runs the session next), and storing it again changes nothing. The same
/// messages reach the supervisor as `Event::Messages` afterwards and are found stored already.
pub(super) struct DurableInbound {
    /// The database.
    pub db: Db,
    /// The receiving session.
    pub session: String,
}

#[async_trait::async_trait]
impl InboundDurabilityHook for DurableInbound {
    async fn on_messages(&self, _client: Arc<Client>, batch: &[InboundMessage]) -> anyhow::Result<()> {
        for effect in mapping::messages(batch) {
            apply(&self.db, &self.session, effect).await?;
        }
        Ok(())
    }
}

/// Stores every change `event` makes for `session`; answers whether it stored a media file
/// someone else sent (one the session's `persistMedia` setting persists).
pub(super) async fn record(db: &Db, session: &str, event: &Event, calls: &mut RingingCalls) -> anyhow::Result<bool> {
    if let Event::Messages(batch) = event
        && batch.hook_committed
    {
        // [`DurableInbound`] stored them before they were acknowledged.
        return Ok(mapping::messages(&batch.messages)
            .iter()
            .any(|effect| matches!(effect, Effect::Store(m, _) if !m.from_me && m.media_id().is_some())));
    }
    let mut received_media = false;
    for effect in mapping::map(event, calls) {
        received_media |= apply(db, session, effect).await?;
    }
    Ok(received_media)
}

async fn apply(db: &Db, session: &str, effect: Effect) -> anyhow::Result<bool> {
    match effect {
        Effect::Store(mut message, events) => {
            message.session = session.to_owned();
            let new = store::insert(db, &message, &events).await?;
            return Ok(new && !message.from_me && message.media_id().is_some());
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
        Effect::Vote { poll_id, vote, payload } => {
            let poll = store::get(db, session, &poll_id).await?;
            let payload = named_vote(poll.as_ref(), &poll_id, &vote, *payload);
            outbox::write(db, session, &[NewEvent::new(Payload::MessageVote(payload))]).await?;
        }
        Effect::Presence { chat_id, payload } => {
            let event = NewEvent::new(Payload::PresenceUpdate((*payload).clone()));
            presences::record(db, session, &chat_id, &payload, &event).await?;
        }
        Effect::Chat { chat_id, change, event } => {
            chats::change(db, session, &chat_id, &change, Vec::from_iter(event).as_slice()).await?;
        }
        Effect::Star {
            chat_id,
            id,
            starred,
            event,
        } => {
            store::star(db, session, &chat_id, &id, starred, Vec::from_iter(event).as_slice()).await?;
        }
        Effect::ContactName {
            jid,
            name,
            first_name,
            event,
        } => {
            let events = Vec::from_iter(event);
            contacts::named(db, session, &jid, name.as_deref(), first_name.as_deref(), &events).await?;
        }
        Effect::Label { id, change, event } => {
            labels::change(db, session, &id, &change, Vec::from_iter(event).as_slice()).await?;
        }
        Effect::Event(event) => outbox::write(db, session, &[event]).await?,
    }
    Ok(false)
}

/// `event` (a `message.vote`) with the poll's question as `title` and the picked options as
/// `pollOptions` (`{name, hash}`). A vote that cannot be opened (the poll is not in this
/// session's history, or its secret does not fit) is still announced, with `pollOptions: []`
/// and `undecrypted: true`, so no vote goes unseen.
fn named_vote(poll: Option<&MessageRecord>, poll_id: &str, vote: &SealedVote, mut payload: VotePayload) -> VotePayload {
    match poll.and_then(|p| Some((p, p.poll.as_ref()?.open(poll_id, vote)?))) {
        Some((poll, choices)) => {
            payload.title.clone_from(&poll.text);
            payload.poll_options = choices;
        }
        None => {
            tracing::warn!(
                poll = poll_id,
                "a poll vote could not be opened: the poll or its secret is unknown"
            );
            payload.poll_options = Vec::new();
            payload.undecrypted = true;
        }
    }
    payload
}
