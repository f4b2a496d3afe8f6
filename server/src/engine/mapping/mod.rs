//! What a whatsapp-rust event means for Titan: the message rows it changes and the events it
//! writes. The mapping is pure (library event in, [`Effect`]s out), so every event type is
//! unit-tested from constructed library events, including those the emulator cannot produce.

mod app_state;
mod calls;
mod groups;
mod messages;
mod people;

use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::InboundMessage;
use whatsapp_rust::wacore_binary::jid::JidExt as _;

pub(super) use self::calls::RingingCalls;
use crate::events::NewEvent;
use crate::model::events::{PresencePayload, VotePayload};
use crate::model::message::MessageStatus;
use crate::model::poll::SealedVote;
use crate::store::chats::ChatChange;
use crate::store::labels::LabelChange;
use crate::store::messages::MessageRecord;

/// One change an event asks for; each is stored in one transaction with its events.
#[derive(Debug)]
pub(super) enum Effect {
    /// A new message for the history (a redelivery writes nothing), with its events; its
    /// `session` is left for the caller to fill in.
    Store(Box<MessageRecord>, Vec<NewEvent>),
    /// Stored message `id` was edited: its text becomes `text`.
    Edit {
        id: String,
        text: Option<String>,
        event: NewEvent,
    },
    /// Stored message `id` was deleted for everyone.
    Revoke { id: String, event: NewEvent },
    /// The session's own messages `ids` moved forward to `status` (a receipt).
    Ack {
        ids: Vec<String>,
        status: MessageStatus,
        event: NewEvent,
    },
    /// A vote on poll `poll_id`: `payload` gets the options `vote` picked, once the stored
    /// poll's secret opens it.
    Vote {
        poll_id: String,
        vote: SealedVote,
        payload: Box<VotePayload>,
    },
    /// A presence heard of for `chat_id` (a contact, or the chat they type in): kept, and
    /// announced as `presence.update`.
    Presence {
        chat_id: String,
        payload: Box<PresencePayload>,
    },
    /// The account changed chat `chat_id` (on another device, or through the API and heard
    /// back); `event` is `None` for a full sync's replay of the past.
    Chat {
        chat_id: String,
        change: ChatChange,
        event: Option<NewEvent>,
    },
    /// The account starred or unstarred message `id` of `chat_id`.
    Star {
        chat_id: String,
        id: String,
        starred: bool,
        event: Option<NewEvent>,
    },
    /// The account saved `jid` in its address book as `name` (`None`s: cleared).
    ContactName {
        jid: String,
        name: Option<String>,
        first_name: Option<String>,
        event: Option<NewEvent>,
    },
    /// The account changed its label `id` (on another device, or through the API and heard
    /// back); `event` is `None` for a full sync's replay of the past.
    Label {
        id: String,
        change: LabelChange,
        event: Option<NewEvent>,
    },
    /// An event with no stored state of its own.
    Event(NewEvent),
}

/// What received messages change (the messages of an `Event::Messages`, handed over before
/// they are acknowledged).
pub(super) fn messages(batch: &[InboundMessage]) -> Vec<Effect> {
    batch.iter().filter_map(messages::inbound).collect()
}

/// What `event` changes. `calls` remembers the calls ringing on this session, so an unanswered
/// end becomes `call.missed`.
pub(super) fn map(event: &Event, calls: &mut RingingCalls) -> Vec<Effect> {
    match event {
        Event::Messages(batch) => messages(&batch.messages),
        Event::UndecryptableMessage(message) => vec![messages::undecryptable(message)],
        Event::Receipt(receipt) => messages::receipt(receipt).into_iter().collect(),
        Event::Presence(update) => vec![people::presence(update)],
        Event::ChatPresence(update) => vec![people::typing(update)],
        Event::PictureUpdate(update) if update.jid.is_group() => vec![groups::picture(update)],
        Event::GroupUpdate(update) => groups::update(update).into_iter().collect(),
        Event::IncomingCall(call) => calls.incoming(call).into_iter().collect(),
        Event::MissedCall(call) => vec![calls.missed(call)],
        Event::HistorySync(sync) => vec![app_state::history(sync)],
        Event::NewsletterLiveUpdate(update) => vec![app_state::newsletter(update)],
        Event::MexNotification(notification) => app_state::newsletter_metadata(notification).into_iter().collect(),
        other => people::contact(other)
            .or_else(|| app_state::chat(other))
            .into_iter()
            .collect(),
    }
}

#[cfg(test)]
mod tests;
