//! What the account did on its other devices (archive, mute, read, clear or delete a chat, star
//! or delete a message for itself, labels), history sync chunks, and channel updates.
//!
//! App-state changes replayed by a full sync describe the past, not a change, so they are not
//! announced.

use base64::Engine as _;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::{LazyHistorySync, NewsletterLiveUpdate};

use super::Effect;
use crate::events::{NewEvent, Payload};
use crate::model::events::{
    ArchivePayload, ChannelPost, ChatDeletePayload, ChatHeader, ClearPayload, DeletePayload, HistoryPayload,
    LabelsPayload, MessageHeader, MessageUpdatePayload, MutePayload, NewsletterPayload, ReactionCount, ReadPayload,
};
use crate::model::jid::JidRef;

/// Largest history chunk (compressed) carried in a `history.sync` event's `data`; a larger one
/// is announced without it.
const MAX_HISTORY_DATA: usize = 1 << 20;

/// The event for an app-state change, or `None` for other events and full-sync replays.
pub(super) fn chat(event: &Event) -> Option<Effect> {
    let payload = match event {
        Event::ArchiveUpdate(u) if !u.from_full_sync => Payload::ChatArchive(ArchivePayload {
            chat: chat_header(&u.jid.to_non_ad_string(), u.timestamp.timestamp()),
            archived: u.action.archived.unwrap_or(false),
        }),
        Event::MuteUpdate(u) if !u.from_full_sync => Payload::ChatMute(MutePayload {
            chat: chat_header(&u.jid.to_non_ad_string(), u.timestamp.timestamp()),
            muted: u.action.muted.unwrap_or(false),
            muted_until: u.action.mute_end_timestamp,
        }),
        Event::MarkChatAsReadUpdate(u) if !u.from_full_sync => Payload::ChatRead(ReadPayload {
            chat: chat_header(&u.jid.to_non_ad_string(), u.timestamp.timestamp()),
            read: u.action.read.unwrap_or(false),
            message_ids: None,
        }),
        Event::ClearChatUpdate(u) if !u.from_full_sync => Payload::ChatClear(ClearPayload {
            chat: chat_header(&u.jid.to_non_ad_string(), u.timestamp.timestamp()),
            delete_starred: u.delete_starred,
            delete_media: u.delete_media,
        }),
        Event::DeleteChatUpdate(u) if !u.from_full_sync => Payload::ChatDelete(ChatDeletePayload {
            chat: chat_header(&u.jid.to_non_ad_string(), u.timestamp.timestamp()),
            delete_media: u.delete_media,
        }),
        Event::StarUpdate(u) if !u.from_full_sync => {
            let chat = u.chat_jid.to_non_ad_string();
            Payload::MessageUpdate(MessageUpdatePayload {
                id: u.message_id.clone(),
                from: JidRef::of(&chat),
                chat_id: chat,
                timestamp: u.timestamp.timestamp(),
                from_me: true,
                starred: u.action.starred.unwrap_or(false),
                message_from_me: u.from_me,
            })
        }
        Event::DeleteMessageForMeUpdate(u) if !u.from_full_sync => {
            let chat = u.chat_jid.to_non_ad_string();
            Payload::MessageDelete(DeletePayload {
                header: MessageHeader {
                    id: u.message_id.clone(),
                    from: JidRef::of(&chat),
                    sender: None,
                    timestamp: u.timestamp.timestamp(),
                    from_me: true,
                    is_group: chat.ends_with("@g.us"),
                    push_name: None,
                    chat_id: chat,
                },
                kind: "revoke".into(),
                for_everyone: false,
                revoke_id: None,
                message_from_me: Some(u.from_me),
                status: None,
                quoted_message_id: None,
            })
        }
        Event::LabelAssociationUpdate(u) if !u.from_full_sync => {
            let chat = u.chat_jid.to_non_ad_string();
            Payload::LabelsUpdate(LabelsPayload {
                id: chat.clone(),
                label_id: u.label_id.clone(),
                from: Some(JidRef::of(&chat)),
                chat_id: Some(chat),
                labeled: Some(u.action.labeled.unwrap_or(false)),
                name: None,
                color: None,
                deleted: None,
                timestamp: u.timestamp.timestamp(),
                from_me: true,
            })
        }
        Event::LabelEditUpdate(u) if !u.from_full_sync => Payload::LabelsUpdate(LabelsPayload {
            id: u.label_id.clone(),
            label_id: u.label_id.clone(),
            chat_id: None,
            from: None,
            labeled: None,
            name: Some(u.action.name.clone()),
            color: Some(u.action.color),
            deleted: Some(u.action.deleted.unwrap_or(false)),
            timestamp: u.timestamp.timestamp(),
            from_me: true,
        }),
        _ => return None,
    };
    Some(Effect::Event(NewEvent::new(payload)))
}

/// The fields every `chat.*` event starts with, for `chat` (a JID without device) at `timestamp`.
pub(super) fn chat_header(chat: &str, timestamp: i64) -> ChatHeader {
    ChatHeader {
        id: chat.to_owned(),
        chat_id: chat.to_owned(),
        from: JidRef::of(chat),
        timestamp,
        from_me: true,
    }
}

/// A chunk of conversation history: `history.sync` with its `syncType`, and the chunk itself
/// (zlib-compressed `HistorySync` protobuf, base64) in `data` when it is at most 1 MiB.
pub(super) fn history(sync: &LazyHistorySync) -> Effect {
    let compressed = sync.compressed_bytes();
    let data =
        (compressed.len() <= MAX_HISTORY_DATA).then(|| base64::engine::general_purpose::STANDARD.encode(compressed));
    let payload = HistoryPayload {
        sync_type: sync_type_name(sync.sync_type()),
        chunk_order: sync.chunk_order(),
        progress: sync.progress(),
        data,
        data_encoding: "zlib+protobuf+base64".into(),
        size: u64::try_from(sync.decompressed_size()).unwrap_or(u64::MAX),
        timestamp: chrono::Utc::now().timestamp(),
    };
    Effect::Event(NewEvent::new(Payload::HistorySync(payload)))
}

/// A channel's live update (reaction counts on its posts): `newsletter.update`.
pub(super) fn newsletter(update: &NewsletterLiveUpdate) -> Effect {
    let id = update.newsletter_jid.to_non_ad_string();
    let messages = update
        .messages
        .iter()
        .map(|m| ChannelPost {
            server_id: m.server_id,
            reactions: m
                .reactions
                .iter()
                .map(|r| ReactionCount {
                    reaction: r.code.clone(),
                    count: r.count,
                })
                .collect(),
        })
        .collect();
    let payload = NewsletterPayload {
        from: JidRef::of(&id),
        id,
        messages,
        timestamp: chrono::Utc::now().timestamp(),
        from_me: false,
    };
    Effect::Event(NewEvent::new(Payload::NewsletterUpdate(payload)))
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
