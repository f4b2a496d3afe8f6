//! Other people: presence (online, offline, typing, recording) and contact profile changes.

use serde_json::json;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::{ChatPresenceUpdate, PresenceUpdate};
use whatsapp_rust::wacore::types::presence::{ChatPresence, ChatPresenceMedia};

use super::{Effect, merge};
use crate::events::{EventType, NewEvent};
use crate::messages::jid::{chat_key, jid_ref, person};

/// A contact came online or went offline: `presence.update` with state `available` or
/// `unavailable`.
pub(super) fn presence(update: &PresenceUpdate) -> Effect {
    let who = person(&update.from, None);
    let payload = json!({
        "from": who,
        "sender": who,
        "state": if update.unavailable { "unavailable" } else { "available" },
        "media": null,
        "unavailable": update.unavailable,
        "lastSeen": update.last_seen.map(|t| t.timestamp()),
    });
    Effect::Event(NewEvent::new(EventType::PresenceUpdate, payload))
}

/// Someone is typing, recording or stopped in a chat: `presence.update` with state `composing`
/// (media `audio` when recording) or `paused`.
pub(super) fn typing(update: &ChatPresenceUpdate) -> Effect {
    let source = &update.source;
    let chat = chat_key(&source.chat, source.sender_alt.as_ref());
    let payload = json!({
        "from": jid_ref(&chat),
        "sender": person(&source.sender, source.sender_alt.as_ref()),
        "state": match update.state {
            ChatPresence::Composing => "composing",
            ChatPresence::Paused => "paused",
        },
        "media": match update.media {
            ChatPresenceMedia::Audio => Some("audio"),
            ChatPresenceMedia::Text => None,
        },
        "unavailable": false,
        "lastSeen": null,
    });
    Effect::Event(NewEvent::new(EventType::PresenceUpdate, payload))
}

/// A contact's profile changed: `contact.update` with `change` saying what (`profile`,
/// `pushName`, `picture`, `about`, `phoneNumber` or `name`, the last from the account's own
/// address book on another device). `None` for events that are not about a contact.
pub(super) fn contact(event: &Event) -> Option<Effect> {
    let (jid, timestamp, change, details) = match event {
        Event::ContactUpdated(u) => (&u.jid, u.timestamp, "profile", json!({})),
        Event::PushNameUpdate(u) => (
            &u.jid,
            u.message.timestamp,
            "pushName",
            json!({"pushName": u.new_push_name, "previousPushName": u.old_push_name}),
        ),
        Event::PictureUpdate(u) => (
            &u.jid,
            u.timestamp,
            "picture",
            json!({"removed": u.removed, "pictureId": u.picture_id}),
        ),
        Event::UserAboutUpdate(u) => (&u.jid, u.timestamp, "about", json!({"about": u.status})),
        Event::ContactNumberChanged(u) => (
            &u.old_jid,
            u.timestamp,
            "phoneNumber",
            json!({"newPhoneNumber": person(&u.new_jid, u.new_lid.as_ref())}),
        ),
        Event::ContactUpdate(u) if !u.from_full_sync => (
            &u.jid,
            u.timestamp,
            "name",
            json!({"name": u.action.full_name, "firstName": u.action.first_name}),
        ),
        _ => return None,
    };
    let payload = json!({
        "id": jid.to_non_ad_string(),
        "from": person(jid, None),
        "change": change,
        "timestamp": timestamp.timestamp(),
        "fromMe": false,
    });
    Some(Effect::Event(NewEvent::new(
        EventType::ContactUpdate,
        merge(payload, details),
    )))
}
