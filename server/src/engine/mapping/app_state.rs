//! What the account did on its other devices (archive, mute, read, clear or delete a chat, star
//! or delete a message for itself, labels), history sync chunks, and channel updates.
//!
//! App-state changes replayed by a full sync describe the past, not a change, so they are not
//! announced.

use base64::Engine as _;
use whatsapp_rust::Jid;
use whatsapp_rust::prelude::Event;
use whatsapp_rust::wacore::types::events::{LazyHistorySync, MexNotification, NewsletterLiveUpdate};

use super::Effect;
use crate::events::{NewEvent, Payload};
use crate::model::events::{
    ArchivePayload, ChannelPost, ChatDeletePayload, ChatHeader, ClearPayload, DeletePayload, HistoryPayload,
    LabelsPayload, MessageHeader, MessageUpdatePayload, MutePayload, NewsletterPayload, ReactionCount, ReadPayload,
};
use crate::model::jid::JidRef;
use crate::store::chats::ChatChange;
use crate::store::labels::LabelChange;

/// Largest history chunk (compressed) carried in a `history.sync` event's `data`; a larger one
/// is announced without it.
const MAX_HISTORY_DATA: usize = 1 << 20;

/// The change an app-state update makes to a chat or message, with its event, or `None` for
/// other events. A full sync's replay describes the past: its state is kept, but it is not
/// announced.
pub(super) fn chat(event: &Event) -> Option<Effect> {
    let change = |jid: &Jid, full: bool, change: ChatChange, payload: fn(ChatHeader) -> Payload, at: i64| {
        let chat_id = jid.to_non_ad_string();
        let event = (!full).then(|| NewEvent::new(payload(chat_header(&chat_id, at))));
        Some(Effect::Chat { chat_id, change, event })
    };
    let payload = match event {
        Event::ArchiveUpdate(u) => {
            let archived = u.action.archived.unwrap_or(false);
            let payload = if archived { archived_chat } else { unarchived_chat };
            return change(
                &u.jid,
                u.from_full_sync,
                ChatChange::Archived(archived),
                payload,
                u.timestamp.timestamp(),
            );
        }
        Event::PinUpdate(u) => {
            let chat_id = u.jid.to_non_ad_string();
            return Some(Effect::Chat {
                chat_id,
                change: ChatChange::Pinned(u.action.pinned.unwrap_or(false)),
                event: None,
            });
        }
        Event::MuteUpdate(u) => {
            let until = mute_until(u.action.muted.unwrap_or(false), u.action.mute_end_timestamp);
            let chat_id = u.jid.to_non_ad_string();
            let event = (!u.from_full_sync).then(|| {
                NewEvent::new(Payload::ChatMute(MutePayload {
                    chat: chat_header(&chat_id, u.timestamp.timestamp()),
                    muted: until.is_some(),
                    muted_until: until,
                }))
            });
            return Some(Effect::Chat {
                chat_id,
                change: ChatChange::Muted(until),
                event,
            });
        }
        Event::MarkChatAsReadUpdate(u) => {
            let read = u.action.read.unwrap_or(false);
            let payload = if read { read_chat } else { unread_chat };
            return change(
                &u.jid,
                u.from_full_sync,
                ChatChange::Read(read),
                payload,
                u.timestamp.timestamp(),
            );
        }
        Event::ClearChatUpdate(u) => {
            let chat_id = u.jid.to_non_ad_string();
            let event = (!u.from_full_sync).then(|| {
                NewEvent::new(Payload::ChatClear(ClearPayload {
                    chat: chat_header(&chat_id, u.timestamp.timestamp()),
                    delete_starred: u.delete_starred,
                    delete_media: u.delete_media,
                }))
            });
            return Some(Effect::Chat {
                chat_id,
                change: ChatChange::Cleared {
                    delete_starred: u.delete_starred,
                    at: u.timestamp.timestamp_millis(),
                },
                event,
            });
        }
        Event::DeleteChatUpdate(u) => {
            let chat_id = u.jid.to_non_ad_string();
            let event = (!u.from_full_sync).then(|| {
                NewEvent::new(Payload::ChatDelete(ChatDeletePayload {
                    chat: chat_header(&chat_id, u.timestamp.timestamp()),
                    delete_media: u.delete_media,
                }))
            });
            return Some(Effect::Chat {
                chat_id,
                change: ChatChange::Deleted,
                event,
            });
        }
        Event::StarUpdate(u) => {
            let chat = u.chat_jid.to_non_ad_string();
            let starred = u.action.starred.unwrap_or(false);
            let event = (!u.from_full_sync).then(|| {
                NewEvent::new(Payload::MessageUpdate(MessageUpdatePayload {
                    id: u.message_id.clone(),
                    from: JidRef::of(&chat),
                    chat_id: chat.clone(),
                    timestamp: u.timestamp.timestamp(),
                    from_me: true,
                    starred,
                    message_from_me: u.from_me,
                }))
            });
            return Some(Effect::Star {
                chat_id: chat,
                id: u.message_id.clone(),
                starred,
                event,
            });
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
        Event::LabelAssociationUpdate(u) => {
            let chat = u.chat_jid.to_non_ad_string();
            let labeled = u.action.labeled.unwrap_or(false);
            let event = (!u.from_full_sync).then(|| {
                NewEvent::new(Payload::LabelsUpdate(LabelsPayload {
                    id: chat.clone(),
                    label_id: u.label_id.clone(),
                    from: Some(JidRef::of(&chat)),
                    chat_id: Some(chat.clone()),
                    labeled: Some(labeled),
                    name: None,
                    color: None,
                    deleted: None,
                    timestamp: u.timestamp.timestamp(),
                    from_me: true,
                }))
            });
            return Some(Effect::Label {
                id: u.label_id.clone(),
                change: LabelChange::Chat(chat, labeled),
                event,
            });
        }
        Event::LabelEditUpdate(u) => {
            let deleted = u.action.deleted.unwrap_or(false);
            let event = (!u.from_full_sync).then(|| {
                NewEvent::new(Payload::LabelsUpdate(LabelsPayload {
                    id: u.label_id.clone(),
                    label_id: u.label_id.clone(),
                    chat_id: None,
                    from: None,
                    labeled: None,
                    name: Some(u.action.name.clone()),
                    color: Some(u.action.color),
                    deleted: Some(deleted),
                    timestamp: u.timestamp.timestamp(),
                    from_me: true,
                }))
            });
            let change = if deleted {
                LabelChange::Deleted
            } else {
                LabelChange::Set {
                    name: u.action.name.clone().unwrap_or_default(),
                    color: u.action.color.unwrap_or_default(),
                }
            };
            return Some(Effect::Label {
                id: u.label_id.clone(),
                change,
                event,
            });
        }
        _ => return None,
    };
    Some(Effect::Event(NewEvent::new(payload)))
}

/// `chat.archive` for an archived chat.
fn archived_chat(chat: ChatHeader) -> Payload {
    Payload::ChatArchive(ArchivePayload { chat, archived: true })
}

/// `chat.archive` for a chat taken out of the archive.
fn unarchived_chat(chat: ChatHeader) -> Payload {
    Payload::ChatArchive(ArchivePayload { chat, archived: false })
}

/// `chat.read` for a chat read.
fn read_chat(chat: ChatHeader) -> Payload {
    Payload::ChatRead(ReadPayload {
        chat,
        read: true,
        message_ids: None,
    })
}

/// `chat.read` for a chat marked unread.
fn unread_chat(chat: ChatHeader) -> Payload {
    Payload::ChatRead(ReadPayload {
        chat,
        read: false,
        message_ids: None,
    })
}

/// Until when a chat is muted (Unix seconds, -1 for ever), from WhatsApp's mute action, whose
/// end is in milliseconds (-1 for ever, 0 or absent when unmuted); `None` when not muted.
fn mute_until(muted: bool, end_ms: Option<i64>) -> Option<i64> {
    match end_ms {
        _ if !muted => None,
        Some(-1) | None => Some(-1),
        Some(ms) if ms <= 0 => None,
        Some(ms) => Some(ms / 1000),
    }
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
        name: None,
        description: None,
        messages,
        timestamp: chrono::Utc::now().timestamp(),
        from_me: false,
    };
    Effect::Event(NewEvent::new(Payload::NewsletterUpdate(payload)))
}

/// A followed channel's new name or description (WhatsApp's `NotificationNewsletterUpdate`
/// MEX notification): `newsletter.update`. Other MEX notifications are not the user's concern.
pub(super) fn newsletter_metadata(notification: &MexNotification) -> Option<Effect> {
    let root = match notification.op_name.as_str() {
        "NotificationNewsletterUpdate" => "xwa2_notify_newsletter_on_metadata_update",
        "NotificationNewsletterAdminMetadataUpdate" => "xwa2_notify_newsletter_on_admin_metadata_update",
        _ => return None,
    };
    let changed = &notification.payload["data"][root];
    let id = changed["id"].as_str()?.to_owned();
    let text = |field: &str| changed["thread_metadata"][field]["text"].as_str().map(str::to_owned);
    let payload = NewsletterPayload {
        from: JidRef::of(&id),
        id,
        name: text("name"),
        description: text("description"),
        messages: Vec::new(),
        timestamp: chrono::Utc::now().timestamp(),
        from_me: false,
    };
    Some(Effect::Event(NewEvent::new(Payload::NewsletterUpdate(payload))))
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
