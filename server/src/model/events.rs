//! The payload of every event type: one Rust type each (shared where the shape is the same),
//! serialized exactly as webhooks and the event stream deliver them, and described in the
//! OpenAPI document's `webhooks` section from the same types.
//!
//! [`Payload`] is the one way to make an event: its variant names the event type, so a payload
//! can never be filed under the wrong type.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::attachment::AttachmentFields;
use super::error_body::ErrorBody;
use super::event_type::EventType;
use super::jid::JidRef;
use super::message::MessageStatus;
use super::poll::Choice;
use super::session::{Status, StatusReason};
use super::wire::wire_enum;

/// The fields every event about one message starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageHeader {
    /// WhatsApp's message id (for edits and deletions: the message edited or deleted).
    pub id: String,
    /// The chat it belongs to (`…@s.whatsapp.net`, `…@lid` or `…@g.us`).
    pub chat_id: String,
    /// The chat for groups and the account's own messages, the sender otherwise.
    pub from: JidRef,
    /// In groups, the participant who sent it; for a status (chat `status@broadcast`), who
    /// posted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<JidRef>,
    /// When it was sent (Unix seconds).
    pub timestamp: i64,
    /// Whether the session's account sent it.
    pub from_me: bool,
    /// Whether it is in a group chat.
    pub is_group: bool,
    /// The sender's display name, when WhatsApp gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
}

/// `message.received` and `message.sent`: a message, as stored in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessagePayload {
    /// Who sent it, where and when.
    #[serde(flatten)]
    pub header: MessageHeader,
    /// `text`, `image`, `video`, `audio`, `document`, `sticker`, `location`, `contact`, `poll`,
    /// `reaction`, `revoke`, `edited` or `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Delivery progress (received messages are `delivered`); absent when the content was
    /// unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MessageStatus>,
    /// The text, caption, poll question or reaction emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The same as `text`, under the name Titan's first payloads used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_message_id: Option<String>,
    /// A poll's answers (type `poll`; `text` is its question).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_options: Option<Vec<String>>,
    /// Its media file, location or contacts.
    #[serde(flatten)]
    pub attachment: AttachmentFields,
    /// `true` when the content could not be read (a decryption failure, or view-once).
    pub unavailable: bool,
}

/// `message.reaction`: a reaction added (an emoji) or removed (an empty string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReactionPayload {
    /// The reaction message itself.
    #[serde(flatten)]
    pub header: MessageHeader,
    /// Always `reaction`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The emoji; empty when the reaction was removed.
    pub reaction: String,
    /// The message reacted to.
    pub reaction_to: Option<String>,
}

/// `message.revoked`: someone else deleted their message for everyone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokedPayload {
    /// The revoke message (its `id` is the revoke's own id).
    #[serde(flatten)]
    pub header: MessageHeader,
    /// Always `revoke`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The message that was deleted.
    pub revoked_id: String,
}

/// `message.edited`: a message's new text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EditedPayload {
    /// The edited message (`id` is the message edited, `type` is `edited`, `text` the new text).
    #[serde(flatten)]
    pub message: MessagePayload,
    /// Always `true`.
    pub edited: bool,
    /// The id of the edit message, when it came from WhatsApp rather than this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_id: Option<String>,
}

/// `message.delete`: this account deleted a message, for everyone or (on another device) for
/// itself only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeletePayload {
    /// The message deleted.
    #[serde(flatten)]
    pub header: MessageHeader,
    /// Always `revoke`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `true` when deleted for everyone, `false` for this account only.
    pub for_everyone: bool,
    /// The id of the revoke message, when another device sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_id: Option<String>,
    /// For a deletion for the account only: whether the deleted message was the account's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_from_me: Option<bool>,
    /// The deleted message's delivery progress, when it was deleted through this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MessageStatus>,
    /// The message the deleted one replied to, when it was deleted through this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_message_id: Option<String>,
}

/// `message.update`: a message was starred or unstarred, through the API or on one of the
/// account's devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageUpdatePayload {
    /// The message.
    pub id: String,
    /// Its chat.
    pub chat_id: String,
    /// The chat, as a JIDRef.
    pub from: JidRef,
    /// When it changed (Unix seconds).
    pub timestamp: i64,
    /// Always `true`: the account made the change.
    pub from_me: bool,
    /// Whether it is now starred.
    pub starred: bool,
    /// Whether the message was the account's own.
    pub message_from_me: bool,
}

/// `message.vote`: a poll vote, with the options it picked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VotePayload {
    /// The vote message and its voter.
    #[serde(flatten)]
    pub header: MessageHeader,
    /// Always `poll`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The poll voted on.
    pub poll_id: String,
    /// The poll's question; null when the poll is not in this session's history.
    pub title: Option<String>,
    /// The options picked (all of the voter's current choices; empty withdraws the vote).
    pub poll_options: Vec<Choice>,
    /// `true` when the vote could not be opened (the poll or its secret is unknown here).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub undecrypted: bool,
}

wire_enum! {
    /// What a receipt says.
    AckType as "lowercase" {
        /// Delivered to a device of the recipient.
        Delivered => "delivered",
        /// Opened and read.
        Read => "read",
        /// A voice note or video was played.
        Played => "played",
        /// Delivery failed.
        Error => "error",
    }
}

/// `message.ack`: a receipt for the session's own messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AckPayload {
    /// The chat.
    pub from: JidRef,
    /// Who sent the receipt (in groups, the participant).
    pub sender: JidRef,
    /// The messages it covers.
    pub message_ids: Vec<String>,
    /// What it says.
    #[serde(rename = "type")]
    pub kind: AckType,
    /// When (Unix seconds).
    pub timestamp: i64,
}

/// `session.status`: the session's status or its reason changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionStatusPayload {
    /// The new status.
    pub status: Status,
    /// Why (null when connected or starting).
    pub status_reason: Option<StatusReason>,
}

/// `session.qr`: a new pairing QR code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QrPayload {
    /// The text to encode in the QR image (`2@…`).
    pub code: String,
}

/// `session.connected`: the session finished pairing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedPayload {
    /// The linked account's phone number (`+` and digits).
    pub phone_number: Option<String>,
    /// The account's display name.
    pub push_name: Option<String>,
    /// The business name, for WhatsApp Business accounts.
    pub business_name: Option<String>,
    /// The account's LID.
    pub lid: Option<String>,
}

/// `session.logged_out`: no fields; the session is `DISCONNECTED`/`LOGGED_OUT` and must pair again.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct LoggedOutPayload {}

wire_enum! {
    /// What happened to a group as a whole.
    GroupAction as "lowercase" {
        /// The group was created.
        Created => "created",
        /// The group was deleted.
        Deleted => "deleted",
        /// The session joined it (by invite).
        Joined => "joined",
    }
}

/// `group.update`: a group's subject, description, picture or settings changed, or it was
/// created, deleted or joined. Only the fields that changed are present.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdatePayload {
    /// The group's JID.
    pub id: String,
    /// When (Unix seconds).
    pub timestamp: i64,
    /// Who made the change, when WhatsApp says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<JidRef>,
    /// `created`, `deleted` or `joined`; null for a change of subject, description, picture or
    /// settings.
    pub action: Option<GroupAction>,
    /// Why it was deleted (null when WhatsApp does not say); present only for deletions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Option<String>>,
    /// The new subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_subject: Option<String>,
    /// The new description (empty when removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_description: Option<String>,
    /// The new picture's id (null when removed); present only for picture changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_picture: Option<Option<String>>,
    /// Whether the picture was removed (picture changes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_removed: Option<bool>,
    /// Only admins may change the group's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Only admins may send messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<bool>,
    /// Disappearing messages after this many seconds (0: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_seconds: Option<u32>,
    /// New members need an admin's approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_mode: Option<bool>,
}

/// `group.participant`: members joined, left, were promoted or demoted, or people asked to join;
/// only the list that changed is non-empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupParticipantPayload {
    /// The group's JID.
    pub id: String,
    /// When (Unix seconds).
    pub timestamp: i64,
    /// Who made the change, when WhatsApp says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<JidRef>,
    /// Members who joined or were added.
    pub joined: Vec<JidRef>,
    /// Members who left or were removed.
    pub left: Vec<JidRef>,
    /// Members made admins.
    pub promoted: Vec<JidRef>,
    /// Admins made plain members.
    pub demoted: Vec<JidRef>,
    /// People who asked to join through an invite (the group's `approvalMode` is on); only the
    /// group's admins hear of them, and approve or reject them.
    #[serde(default)]
    pub requested: Vec<JidRef>,
}

wire_enum! {
    /// A contact's presence or chat state.
    ContactPresence as "lowercase" {
        /// Online.
        Available => "available",
        /// Offline (`lastSeen` may say since when).
        Unavailable => "unavailable",
        /// Typing (or recording, with `media: audio`).
        Composing => "composing",
        /// Stopped typing or recording.
        Paused => "paused",
    }
}

wire_enum! {
    /// What a contact is composing, when not text.
    PresenceMedia as "lowercase" {
        /// A voice note.
        Audio => "audio",
    }
}

/// `presence.update`: a followed contact's presence or chat state changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresencePayload {
    /// The contact, or the chat they are typing in.
    pub from: JidRef,
    /// The contact.
    pub sender: JidRef,
    /// The new state.
    pub state: ContactPresence,
    /// `audio` while recording a voice note, else null.
    pub media: Option<PresenceMedia>,
    /// Whether they went offline.
    pub unavailable: bool,
    /// When they were last seen (Unix seconds), when WhatsApp says.
    pub last_seen: Option<i64>,
}

/// `call.received`, `call.missed`, `call.accepted` and `call.rejected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallPayload {
    /// The call's id.
    pub id: String,
    /// The caller.
    pub from: JidRef,
    /// When (Unix seconds).
    pub timestamp: i64,
    /// A video call (`call.received` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video: Option<bool>,
    /// A group call (`call.received` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group: Option<bool>,
    /// Offered while the session was offline (`call.missed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<bool>,
}

wire_enum! {
    /// What changed about a contact.
    ContactChange as "camelCase" {
        /// Their profile, without saying what.
        Profile => "profile",
        /// Their push name (`pushName`, `previousPushName`).
        PushName => "pushName",
        /// Their picture (`removed`, `pictureId`).
        Picture => "picture",
        /// Their about text (`about`).
        About => "about",
        /// Their phone number (`newPhoneNumber`).
        PhoneNumber => "phoneNumber",
        /// The name saved for them in the account's address book (`name`, `firstName`).
        Name => "name",
    }
}

/// `contact.update`: a contact's profile changed; the fields of that change are present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactPayload {
    /// The contact's JID.
    pub id: String,
    /// The contact.
    pub from: JidRef,
    /// What changed.
    pub change: ContactChange,
    /// When (Unix seconds).
    pub timestamp: i64,
    /// Always `false`.
    pub from_me: bool,
    /// The new push name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_name: Option<String>,
    /// The push name before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_push_name: Option<String>,
    /// Whether the picture was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<bool>,
    /// The new picture's id (null when removed); present only for picture changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture_id: Option<Option<String>>,
    /// The new about text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    /// The contact's new number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_phone_number: Option<JidRef>,
    /// The full name saved for them (null when cleared); present only for `name` changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Option<String>>,
    /// The first name saved for them (null when cleared); present only for `name` changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<Option<String>>,
}

/// The fields every `chat.*` event starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatHeader {
    /// The chat's JID.
    pub id: String,
    /// The same JID.
    pub chat_id: String,
    /// The chat, as a JIDRef.
    pub from: JidRef,
    /// When (Unix seconds).
    pub timestamp: i64,
    /// Always `true`: the account made the change (through the API or on one of its devices).
    pub from_me: bool,
}

/// `chat.archive`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArchivePayload {
    /// The chat.
    #[serde(flatten)]
    pub chat: ChatHeader,
    /// Whether it is now archived.
    pub archived: bool,
}

/// `chat.mute`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MutePayload {
    /// The chat.
    #[serde(flatten)]
    pub chat: ChatHeader,
    /// Whether it is now muted.
    pub muted: bool,
    /// Until when (Unix seconds; -1 for ever), when muted.
    pub muted_until: Option<i64>,
}

/// `chat.read`: a chat was marked read or unread, or read on another device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadPayload {
    /// The chat.
    #[serde(flatten)]
    pub chat: ChatHeader,
    /// Whether it is now read.
    pub read: bool,
    /// The messages read, when another device read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ids: Option<Vec<String>>,
}

/// `chat.clear`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClearPayload {
    /// The chat.
    #[serde(flatten)]
    pub chat: ChatHeader,
    /// Starred messages were cleared too.
    pub delete_starred: bool,
    /// Media files were deleted too.
    pub delete_media: bool,
}

/// `chat.delete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatDeletePayload {
    /// The chat.
    #[serde(flatten)]
    pub chat: ChatHeader,
    /// Media files were deleted too.
    pub delete_media: bool,
}

/// `labels.update`: a label was put on or taken off a chat (`chatId`, `labeled`), or a label
/// itself was created, renamed, recoloured or deleted (`name`, `color`, `deleted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelsPayload {
    /// The chat's JID for an assignment, the label's id for a label change.
    pub id: String,
    /// The label.
    pub label_id: String,
    /// The chat (assignments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_id: Option<String>,
    /// The chat, as a JIDRef (assignments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<JidRef>,
    /// Whether the chat now has the label (assignments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labeled: Option<bool>,
    /// The label's name, null when WhatsApp does not say (label changes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Option<String>>,
    /// The label's colour index, null when WhatsApp does not say (label changes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Option<i32>>,
    /// Whether the label was deleted (label changes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// When (Unix seconds).
    pub timestamp: i64,
    /// Always `true`: the account made the change.
    pub from_me: bool,
}

/// One reaction count on a channel post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReactionCount {
    /// The emoji.
    pub reaction: String,
    /// How many chose it.
    pub count: u64,
}

/// One channel post in a live update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelPost {
    /// The post's server id.
    pub server_id: u64,
    /// Its reaction counts now.
    pub reactions: Vec<ReactionCount>,
}

/// `newsletter.update`: a followed channel changed: its name or description (set by its owner),
/// or its posts' reaction counts (a live update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewsletterPayload {
    /// The channel's JID (`…@newsletter`).
    pub id: String,
    /// The channel, as a JIDRef.
    pub from: JidRef,
    /// Its name, when the change set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its description, when the change set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The posts whose reactions changed (empty for a name or description change).
    pub messages: Vec<ChannelPost>,
    /// When it arrived (Unix seconds).
    pub timestamp: i64,
    /// Always `false`.
    pub from_me: bool,
}

wire_enum! {
    /// A blocklist change.
    BlockAction as "lowercase" {
        /// The contact was blocked.
        Block => "block",
        /// The contact was unblocked.
        Unblock => "unblock",
    }
}

/// `blocklist.update`: a contact was blocked or unblocked through this server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlocklistPayload {
    /// The contact's JID.
    pub id: String,
    /// The contact.
    pub from: JidRef,
    /// `block` or `unblock`.
    pub action: BlockAction,
    /// Whether the contact is now blocked.
    pub blocked: bool,
    /// When (Unix seconds).
    pub timestamp: i64,
    /// Always `true`.
    pub from_me: bool,
}

/// `history.sync`: a chunk of chat history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPayload {
    /// `INITIAL_BOOTSTRAP`, `INITIAL_STATUS_V3`, `FULL`, `RECENT`, `PUSH_NAME`,
    /// `NON_BLOCKING_DATA`, `ON_DEMAND`, `NO_HISTORY`, `MESSAGE_ACCESS_STATUS` (or `UNKNOWN_<n>`).
    pub sync_type: String,
    /// The chunk's place in the sync.
    pub chunk_order: Option<u32>,
    /// How far the sync is, in percent.
    pub progress: Option<u32>,
    /// The chunk (see `dataEncoding`), when it is at most 1 MiB compressed.
    pub data: Option<String>,
    /// Always `zlib+protobuf+base64`: a zlib-compressed `HistorySync` protobuf, in base64.
    pub data_encoding: String,
    /// The chunk's size uncompressed, in bytes.
    pub size: u64,
    /// When it arrived (Unix seconds).
    pub timestamp: i64,
}

/// `command.result`: an async command (`Prefer: respond-async`) finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommandResultPayload {
    /// The `correlationId` of the 202 answer.
    pub correlation_id: String,
    /// The `X-Request-Id` of the request.
    pub request_id: String,
    /// The operation run (its OpenAPI `operationId`).
    pub operation: String,
    /// Whether it succeeded.
    pub success: bool,
    /// The HTTP status the call would have had without `respond-async`.
    pub status: u16,
    /// What the call would have answered in `data` (null on failure).
    #[schema(schema_with = call_data)]
    pub result: Value,
    /// Why it failed (null on success).
    pub error: Option<ErrorBody>,
}

/// The schema of `result`: the `data` of any operation (an object or a list), or null.
fn call_data() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Array, Type::Null]))
        .description(Some("What the call would have answered in `data` (null on failure)."))
        .build()
}

macro_rules! payloads {
    ($($variant:ident($payload:ident),)*) => {
        /// An event's payload, under its event type: the one way an event is made.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Payload {
            $(#[doc = concat!("`", stringify!($variant), "`, see [`", stringify!($payload), "`].")] $variant($payload),)*
        }

        impl Payload {
            /// The event type it is filed under.
            pub const fn kind(&self) -> EventType {
                match self { $(Self::$variant(_) => EventType::$variant,)* }
            }

            /// The payload as JSON, exactly as delivered.
            pub fn to_value(&self) -> Value {
                let value = match self { $(Self::$variant(p) => serde_json::to_value(p),)* };
                value.unwrap_or_default()
            }

            /// The JIDRefs in it, to be completed with the form the session knows.
            pub fn jid_refs(&mut self) -> Vec<&mut JidRef> {
                match self { $(Self::$variant(p) => p.jid_refs(),)* }
            }
        }

        /// The name of each event type's payload schema in the OpenAPI document, with that
        /// schema and the schemas it refers to.
        pub fn schemas() -> Vec<(EventType, String, Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>)> {
            let mut out = Vec::new();
            $({
                let mut all = vec![(<$payload as utoipa::ToSchema>::name().into_owned(), <$payload as utoipa::PartialSchema>::schema())];
                <$payload as utoipa::ToSchema>::schemas(&mut all);
                out.push((EventType::$variant, <$payload as utoipa::ToSchema>::name().into_owned(), all));
            })*
            out
        }
    };
}

payloads! {
    MessageReceived(MessagePayload),
    MessageSent(MessagePayload),
    MessageAck(AckPayload),
    MessageRevoked(RevokedPayload),
    MessageReaction(ReactionPayload),
    MessageEdited(EditedPayload),
    MessageUpdate(MessageUpdatePayload),
    MessageDelete(DeletePayload),
    MessageVote(VotePayload),
    SessionStatus(SessionStatusPayload),
    SessionQr(QrPayload),
    SessionConnected(ConnectedPayload),
    SessionLoggedOut(LoggedOutPayload),
    GroupUpdate(GroupUpdatePayload),
    GroupParticipant(GroupParticipantPayload),
    PresenceUpdate(PresencePayload),
    CallReceived(CallPayload),
    CallMissed(CallPayload),
    CallAccepted(CallPayload),
    CallRejected(CallPayload),
    ContactUpdate(ContactPayload),
    ChatArchive(ArchivePayload),
    ChatMute(MutePayload),
    ChatRead(ReadPayload),
    ChatClear(ClearPayload),
    ChatDelete(ChatDeletePayload),
    LabelsUpdate(LabelsPayload),
    NewsletterUpdate(NewsletterPayload),
    BlocklistUpdate(BlocklistPayload),
    HistorySync(HistoryPayload),
    CommandResult(CommandResultPayload),
}

/// The JIDRefs a payload holds, so the session can fill in the other form of each.
trait JidRefs {
    /// Each JIDRef, to complete.
    fn jid_refs(&mut self) -> Vec<&mut JidRef>;
}

macro_rules! jid_refs {
    ($($payload:ty => |$p:ident| $refs:expr;)*) => {
        $(impl JidRefs for $payload {
            fn jid_refs(&mut self) -> Vec<&mut JidRef> {
                let $p = self;
                $refs
            }
        })*
    };
}

impl MessageHeader {
    fn refs(&mut self) -> Vec<&mut JidRef> {
        std::iter::once(&mut self.from).chain(self.sender.as_mut()).collect()
    }
}

jid_refs! {
    MessagePayload => |p| p.header.refs();
    ReactionPayload => |p| p.header.refs();
    RevokedPayload => |p| p.header.refs();
    EditedPayload => |p| p.message.header.refs();
    DeletePayload => |p| p.header.refs();
    VotePayload => |p| p.header.refs();
    MessageUpdatePayload => |p| vec![&mut p.from];
    AckPayload => |p| vec![&mut p.from, &mut p.sender];
    SessionStatusPayload => |_p| Vec::new();
    QrPayload => |_p| Vec::new();
    ConnectedPayload => |_p| Vec::new();
    LoggedOutPayload => |_p| Vec::new();
    GroupUpdatePayload => |p| p.author.iter_mut().collect();
    GroupParticipantPayload => |p| p
        .author
        .iter_mut()
        .chain(p.joined.iter_mut())
        .chain(p.left.iter_mut())
        .chain(p.promoted.iter_mut())
        .chain(p.demoted.iter_mut())
        .collect();
    PresencePayload => |p| vec![&mut p.from, &mut p.sender];
    CallPayload => |p| vec![&mut p.from];
    ContactPayload => |p| std::iter::once(&mut p.from).chain(p.new_phone_number.as_mut()).collect();
    ArchivePayload => |p| vec![&mut p.chat.from];
    MutePayload => |p| vec![&mut p.chat.from];
    ReadPayload => |p| vec![&mut p.chat.from];
    ClearPayload => |p| vec![&mut p.chat.from];
    ChatDeletePayload => |p| vec![&mut p.chat.from];
    LabelsPayload => |p| p.from.iter_mut().collect();
    NewsletterPayload => |_p| Vec::new();
    BlocklistPayload => |p| vec![&mut p.from];
    HistoryPayload => |_p| Vec::new();
    CommandResultPayload => |_p| Vec::new();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_has_exactly_one_payload_schema() {
        let listed: Vec<EventType> = schemas().into_iter().map(|(kind, _, _)| kind).collect();
        assert_eq!(listed, EventType::ALL);
    }

    #[test]
    fn a_payload_names_its_type_and_serializes_as_documented() {
        let payload = Payload::SessionQr(QrPayload { code: "2@abc".into() });
        assert_eq!(payload.kind(), EventType::SessionQr);
        assert_eq!(payload.to_value(), serde_json::json!({"code": "2@abc"}));
        let logged_out = Payload::SessionLoggedOut(LoggedOutPayload {});
        assert_eq!(logged_out.to_value(), serde_json::json!({}));
    }
}
