//! What the account did on its other devices (archive, mute, read, clear or delete a chat, star
//! or delete a message for itself, labels), history sync chunks, and channel updates.
//!
//! App-state changes replayed by a full sync describe the past, not a change, so they are not
//! announced.

use base64::Engine as _;
use serde_json::{Value, json};
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::{LazyHistorySync, NewsletterLiveUpdate};

use super::{Effect, merge};
use crate::events::{EventType, NewEvent};
use crate::messages::jid::jid_ref;

/// Largest history chunk (compressed) carried in a `history.sync` event's `data`; a larger one
/// is announced without it.
const MAX_HISTORY_DATA: usize = 1 << 20;

/// The event for an app-state change, or `None` for other events and full-sync replays.
pub(super) fn chat(event: &Event) -> Option<Effect> {
    let (kind, jid, timestamp, details) = match event {
        Event::ArchiveUpdate(u) if !u.from_full_sync => (
            EventType::ChatArchive,
            &u.jid,
            u.timestamp,
            json!({"archived": u.action.archived.unwrap_or(false)}),
        ),
        Event::MuteUpdate(u) if !u.from_full_sync => (
            EventType::ChatMute,
            &u.jid,
            u.timestamp,
            json!({"muted": u.action.muted.unwrap_or(false), "mutedUntil": u.action.mute_end_timestamp}),
        ),
        Event::MarkChatAsReadUpdate(u) if !u.from_full_sync => (
            EventType::ChatRead,
            &u.jid,
            u.timestamp,
            json!({"read": u.action.read.unwrap_or(false)}),
        ),
        Event::ClearChatUpdate(u) if !u.from_full_sync => (
            EventType::ChatClear,
            &u.jid,
            u.timestamp,
            json!({"deleteStarred": u.delete_starred, "deleteMedia": u.delete_media}),
        ),
        Event::DeleteChatUpdate(u) if !u.from_full_sync => (
            EventType::ChatDelete,
            &u.jid,
            u.timestamp,
            json!({"deleteMedia": u.delete_media}),
        ),
        Event::StarUpdate(u) if !u.from_full_sync => (
            EventType::MessageUpdate,
            &u.chat_jid,
            u.timestamp,
            json!({"id": u.message_id, "starred": u.action.starred.unwrap_or(false), "messageFromMe": u.from_me}),
        ),
        Event::DeleteMessageForMeUpdate(u) if !u.from_full_sync => (
            EventType::MessageDelete,
            &u.chat_jid,
            u.timestamp,
            json!({"id": u.message_id, "type": "revoke", "forEveryone": false, "messageFromMe": u.from_me}),
        ),
        Event::LabelAssociationUpdate(u) if !u.from_full_sync => (
            EventType::LabelsUpdate,
            &u.chat_jid,
            u.timestamp,
            json!({"labelId": u.label_id, "labeled": u.action.labeled.unwrap_or(false)}),
        ),
        Event::LabelEditUpdate(u) if !u.from_full_sync => {
            let payload = json!({
                "id": u.label_id,
                "labelId": u.label_id,
                "name": u.action.name,
                "color": u.action.color,
                "deleted": u.action.deleted.unwrap_or(false),
                "timestamp": u.timestamp.timestamp(),
                "fromMe": true,
            });
            return Some(Effect::Event(NewEvent::new(EventType::LabelsUpdate, payload)));
        }
        _ => return None,
    };
    let chat = jid.to_non_ad_string();
    let payload = json!({
        "id": chat,
        "chatId": chat,
        "from": jid_ref(&chat),
        "timestamp": timestamp.timestamp(),
        "fromMe": true,
    });
    Some(Effect::Event(NewEvent::new(kind, merge(payload, details))))
}

/// A chunk of conversation history: `history.sync` with its `syncType`, and the chunk itself
/// (zlib-compressed `HistorySync` protobuf, base64) in `data` when it is at most 1 MiB.
pub(super) fn history(sync: &LazyHistorySync) -> Effect {
    let compressed = sync.compressed_bytes();
    let data =
        (compressed.len() <= MAX_HISTORY_DATA).then(|| base64::engine::general_purpose::STANDARD.encode(compressed));
    let payload = json!({
        "syncType": sync_type_name(sync.sync_type()),
        "chunkOrder": sync.chunk_order(),
        "progress": sync.progress(),
        "data": data,
        "dataEncoding": "zlib+protobuf+base64",
        "size": sync.decompressed_size(),
        "timestamp": chrono::Utc::now().timestamp(),
    });
    Effect::Event(NewEvent::new(EventType::HistorySync, payload))
}

/// A channel's live update (reaction counts on its posts): `newsletter.update`.
pub(super) fn newsletter(update: &NewsletterLiveUpdate) -> Effect {
    let id = update.newsletter_jid.to_non_ad_string();
    let messages: Vec<Value> = update
        .messages
        .iter()
        .map(|m| {
            let reactions: Vec<Value> = m
                .reactions
                .iter()
                .map(|r| json!({"reaction": r.code, "count": r.count}))
                .collect();
            json!({"serverId": m.server_id, "reactions": reactions})
        })
        .collect();
    let payload = json!({
        "id": id,
        "from": {"id": id},
        "messages": messages,
        "timestamp": chrono::Utc::now().timestamp(),
        "fromMe": false,
    });
    Effect::Event(NewEvent::new(EventType::NewsletterUpdate, payload))
}

/// The documented name of a `HistorySyncType`.
fn sync_type_name(value: i32) -> String {
    const NAMES: [&str; 9] = [
        "INITIAL_BOOTSTRAP",
        "INITIAL_STATUS_V3",
        "FULL",
        "RECENT",
        "PUSH_NAME",
        "NON_BLOCKING_DATA",
        "ON_DEMAND",
        "NO_HISTORY",
        "MESSAGE_ACCESS_STATUS",
    ];
    usize::try_from(value)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("UNKNOWN_{value}"), |n| (*n).to_owned())
}
