//! Other people: presence (online, offline, typing, recording) and contact profile changes.

use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::{ChatPresenceUpdate, PresenceUpdate};
use whatsapp_rust::wacore::types::presence::{ChatPresence, ChatPresenceMedia};

use super::Effect;
use crate::events::{NewEvent, Payload};
use crate::model::events::{ContactChange, ContactPayload, ContactPresence, PresenceMedia, PresencePayload};
use crate::model::jid::{JidRef, chat_key};

/// A contact came online or went offline: `presence.update` with state `available` or
/// `unavailable`.
pub(super) fn presence(update: &PresenceUpdate) -> Effect {
    let who = JidRef::person(&update.from, None);
    let payload = PresencePayload {
        from: who.clone(),
        sender: who,
        state: if update.unavailable {
            ContactPresence::Unavailable
        } else {
            ContactPresence::Available
        },
        media: None,
        unavailable: update.unavailable,
        last_seen: update.last_seen.map(|t| t.timestamp()),
    };
    Effect::Presence {
        chat_id: update.from.to_non_ad_string(),
        payload: Box::new(payload),
    }
}

/// Someone is typing, recording or stopped in a chat: `presence.update` with state `composing`
/// (media `audio` when recording) or `paused`.
pub(super) fn typing(update: &ChatPresenceUpdate) -> Effect {
    let source = &update.source;
    let chat = chat_key(&source.chat, source.sender_alt.as_ref());
    let payload = PresencePayload {
        from: JidRef::of(&chat),
        sender: JidRef::person(&source.sender, source.sender_alt.as_ref()),
        state: match update.state {
            ChatPresence::Composing => ContactPresence::Composing,
            ChatPresence::Paused => ContactPresence::Paused,
        },
        media: match update.media {
            ChatPresenceMedia::Audio => Some(PresenceMedia::Audio),
            ChatPresenceMedia::Text => None,
        },
        unavailable: false,
        last_seen: None,
    };
    Effect::Presence {
        chat_id: chat,
        payload: Box::new(payload),
    }
}

/// A contact's profile changed: `contact.update` with `change` saying what (`profile`,
/// `pushName`, `picture`, `about`, `phoneNumber` or `name`, the last from the account's own
/// address book on another device). `None` for events that are not about a contact.
pub(super) fn contact(event: &Event) -> Option<Effect> {
    let base = |jid: &whatsapp_rust::Jid, timestamp: chrono::DateTime<chrono::Utc>, change| ContactPayload {
        id: jid.to_non_ad_string(),
        from: JidRef::person(jid, None),
        change,
        timestamp: timestamp.timestamp(),
        from_me: false,
        push_name: None,
        previous_push_name: None,
        removed: None,
        picture_id: None,
        about: None,
        new_phone_number: None,
        name: None,
        first_name: None,
    };
    let payload = match event {
        Event::ContactUpdated(u) => base(&u.jid, u.timestamp, ContactChange::Profile),
        Event::PushNameUpdate(u) => ContactPayload {
            push_name: Some(u.new_push_name.clone()),
            previous_push_name: Some(u.old_push_name.clone()),
            ..base(&u.jid, u.message.timestamp, ContactChange::PushName)
        },
        Event::PictureUpdate(u) => ContactPayload {
            removed: Some(u.removed),
            picture_id: Some(u.picture_id.clone()),
            ..base(&u.jid, u.timestamp, ContactChange::Picture)
        },
        Event::UserAboutUpdate(u) => ContactPayload {
            about: Some(u.status.clone()),
            ..base(&u.jid, u.timestamp, ContactChange::About)
        },
        Event::ContactNumberChanged(u) => ContactPayload {
            new_phone_number: Some(JidRef::person(&u.new_jid, u.new_lid.as_ref())),
            ..base(&u.old_jid, u.timestamp, ContactChange::PhoneNumber)
        },
        Event::ContactUpdate(u) => {
            let payload = ContactPayload {
                name: Some(u.action.full_name.clone()),
                first_name: Some(u.action.first_name.clone()),
                ..base(&u.jid, u.timestamp, ContactChange::Name)
            };
            return Some(Effect::ContactName {
                jid: u.jid.to_non_ad_string(),
                name: u.action.full_name.clone(),
                first_name: u.action.first_name.clone(),
                event: (!u.from_full_sync).then(|| NewEvent::new(Payload::ContactUpdate(payload))),
            });
        }
        _ => return None,
    };
    Some(Effect::Event(NewEvent::new(Payload::ContactUpdate(payload))))
}
