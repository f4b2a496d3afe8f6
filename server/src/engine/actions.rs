//! What a connected session does besides sending messages: react to, edit and delete messages,
//! show typing, set and follow presence, block contacts. Actions that change stored state write
//! it, with their event, once WhatsApp has taken them.

use whatsapp_rust::Jid;
use whatsapp_rust::features::BlockingError;
use whatsapp_rust::send::RevokeType;
use whatsapp_rust::wacore_binary::jid::JidExt as _;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Engine, EngineError};
use crate::events::{NewEvent, Payload};
use crate::model::events::{BlockAction, BlocklistPayload, DeletePayload, EditedPayload, MessagePayload};
use crate::model::jid::JidRef;
use crate::store::events as outbox;
use crate::store::messages::{self as store, MessageRecord};

/// What someone is doing in a chat, as shown to the other side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatState {
    /// Typing.
    Composing,
    /// Recording a voice note.
    Recording,
    /// Stopped.
    Paused,
}

/// The key WhatsApp identifies `message` by in `chat`.
fn key(chat: &Jid, message: &MessageRecord) -> wa::MessageKey {
    wa::MessageKey {
        remote_jid: Some(chat.to_string()),
        from_me: Some(message.from_me),
        id: Some(message.id.clone()),
        participant: (chat.is_group() && !message.from_me)
            .then(|| message.sender.clone())
            .flatten(),
    }
}

impl Engine {
    /// Reacts to `target` in `chat` with `emoji` (empty removes the reaction).
    pub async fn react(
        &self,
        session: &str,
        chat: &Jid,
        target: &MessageRecord,
        emoji: &str,
    ) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .send_reaction(chat.clone(), key(chat, target), emoji)
            .await
            .map_err(|e| EngineError::refused("reaction", e))?;
        Ok(())
    }

    /// Replaces the text of the session's own message `target`; returns it as now stored.
    pub async fn edit(
        &self,
        session: &str,
        chat: &Jid,
        target: MessageRecord,
        text: &str,
    ) -> Result<MessageRecord, EngineError> {
        let client = self.require_connected(session)?;
        let content = wa::Message {
            conversation: Some(text.to_owned()),
            ..Default::default()
        };
        client
            .edit_message(chat.clone(), target.id.clone(), content)
            .await
            .map_err(|e| EngineError::refused("edit", e))?;
        let record = MessageRecord {
            text: Some(text.to_owned()),
            ..target
        };
        let event = NewEvent::new(Payload::MessageEdited(EditedPayload {
            message: MessagePayload {
                kind: "edited".into(),
                ..record.payload()
            },
            edited: true,
            edit_id: None,
        }));
        store::rewrite(
            &self.shared.db,
            session,
            &record.id,
            None,
            record.text.as_deref(),
            &[event],
        )
        .await?;
        Ok(record)
    }

    /// Deletes `target` for everyone: the session's own message, or (as a group admin) someone
    /// else's. Returns it as now stored (type `revoke`, no text).
    pub async fn revoke(&self, session: &str, chat: &Jid, target: MessageRecord) -> Result<MessageRecord, EngineError> {
        let client = self.require_connected(session)?;
        if chat.is_status_broadcast() {
            self.revoke_status(&client, session, &target.id).await?;
            return self.revoked(session, target).await;
        }
        let revoke = if target.from_me {
            RevokeType::Sender
        } else {
            let sender = target
                .sender
                .as_deref()
                .and_then(|s| s.parse::<Jid>().ok())
                .filter(|_| chat.is_group())
                .ok_or_else(|| {
                    EngineError::Conflict(
                        "only the session's own messages, or others' messages in a group it administers, can be deleted for everyone".into(),
                    )
                })?;
            RevokeType::Admin {
                original_sender: sender,
            }
        };
        client
            .revoke_message(chat.clone(), target.id.clone(), revoke)
            .await
            .map_err(|e| EngineError::refused("deletion", e))?;
        self.revoked(session, target).await
    }

    /// Records that `target` was deleted for everyone, with its `message.delete` event.
    async fn revoked(&self, session: &str, target: MessageRecord) -> Result<MessageRecord, EngineError> {
        let record = MessageRecord {
            kind: "revoke".into(),
            text: None,
            ..target
        };
        let message = record.payload();
        let event = NewEvent::new(Payload::MessageDelete(DeletePayload {
            header: message.header,
            kind: message.kind,
            for_everyone: true,
            revoke_id: None,
            message_from_me: None,
            status: message.status,
            quoted_message_id: message.quoted_message_id,
        }));
        store::rewrite(&self.shared.db, session, &record.id, Some("revoke"), None, &[event]).await?;
        Ok(record)
    }

    /// Shows `state` to `chat`.
    pub async fn chat_state(&self, session: &str, chat: &Jid, state: ChatState) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let chatstate = client.chatstate();
        match state {
            ChatState::Composing => chatstate.send_composing(chat).await,
            ChatState::Recording => chatstate.send_recording(chat).await,
            ChatState::Paused => chatstate.send_paused(chat).await,
        }
        .map_err(|e| EngineError::refused("typing state", e))
    }

    /// Sets the account's push name (the display name contacts see).
    pub async fn set_push_name(&self, session: &str, name: &str) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .profile()
            .set_push_name(name)
            .await
            .map_err(|e| EngineError::refused("display name", e))
    }

    /// Shows the account online (`available`) or offline to its contacts; WhatsApp needs a push
    /// name first.
    pub async fn set_presence(&self, session: &str, available: bool) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        if client.push_name().is_empty() {
            return Err(EngineError::Conflict(
                "the account has no display name yet, which WhatsApp needs before it shows presence: \
                 set one with PUT /api/sessions/{session}/profile/name"
                    .into(),
            ));
        }
        let presence = client.presence();
        if available {
            presence.set_available().await
        } else {
            presence.set_unavailable().await
        }
        .map_err(|e| EngineError::refused("presence", e))
    }

    /// Follows `contact`'s presence: `presence.update` events follow.
    pub async fn subscribe_presence(&self, session: &str, contact: &Jid) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .presence()
            .subscribe(contact.clone())
            .await
            .map_err(|e| EngineError::refused("presence subscription", e))
    }

    /// Blocks (or unblocks) `contact`, and writes `blocklist.update`.
    pub async fn set_blocked(&self, session: &str, contact: &Jid, blocked: bool) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let blocking = client.blocking();
        if blocked {
            blocking.block(contact).await
        } else {
            blocking.unblock(contact).await
        }
        .map_err(|error| match error {
            BlockingError::InvalidJid(why) => EngineError::Unknown(format!(
                "WhatsApp does not know `{}` well enough to block it: {why}",
                contact
            )),
            BlockingError::Iq(iq) => EngineError::refused_iq("blocklist change", &iq),
            other => EngineError::refused("blocklist change", other),
        })?;
        let id = contact.to_non_ad_string();
        let payload = Payload::BlocklistUpdate(BlocklistPayload {
            from: JidRef::of(&id),
            id,
            action: if blocked {
                BlockAction::Block
            } else {
                BlockAction::Unblock
            },
            blocked,
            timestamp: chrono::Utc::now().timestamp(),
            from_me: true,
        });
        outbox::write(&self.shared.db, session, &[NewEvent::new(payload)]).await?;
        Ok(())
    }

    /// The contacts the account has blocked, with both their JID forms where the account knows
    /// them.
    pub async fn blocklist(&self, session: &str) -> Result<Vec<Blocked>, EngineError> {
        let client = self.require_connected(session)?;
        let entries = client
            .blocking()
            .get_blocklist()
            .await
            .map_err(|e| EngineError::refused("blocklist request", e))?;
        let mut blocked = Vec::with_capacity(entries.len());
        for entry in entries {
            let known = client.get_lid_pn_entry(&entry.jid).await.ok().flatten();
            blocked.push(Blocked {
                id: entry.jid.to_non_ad_string(),
                phone_number: known.as_ref().map(|k| format!("+{}", k.phone_number)),
                lid: known.as_ref().map(|k| format!("{}@lid", k.lid)),
                at: entry.timestamp,
            });
        }
        Ok(blocked)
    }
}

/// A blocked contact as WhatsApp lists it.
#[derive(Debug, Clone)]
pub struct Blocked {
    /// The JID WhatsApp listed (usually the LID).
    pub id: String,
    /// The phone number (`+<digits>`), when the account knows it.
    pub phone_number: Option<String>,
    /// The LID, when the account knows it.
    pub lid: Option<String>,
    /// When it was blocked (Unix seconds), when WhatsApp says.
    pub at: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::message::MessageStatus;

    fn record(from_me: bool) -> MessageRecord {
        MessageRecord {
            seq: 0,
            session: "s".into(),
            chat_id: "1-2@g.us".into(),
            id: "M1".into(),
            from_me,
            sender: Some("5511888888888@s.whatsapp.net".into()),
            push_name: None,
            kind: "text".into(),
            text: None,
            quoted_id: None,
            mentions: vec![],
            status: MessageStatus::Sent,
            error: None,
            sent_at: chrono::Utc::now(),
            poll: None,
            attachment: None,
            starred: false,
        }
    }

    #[test]
    fn keys_name_the_sender_only_for_others_in_groups() {
        let group: Jid = "1-2@g.us".parse().expect("group");
        let dm: Jid = "5511888888888@s.whatsapp.net".parse().expect("dm");
        assert_eq!(
            key(&group, &record(false)).participant.as_deref(),
            Some("5511888888888@s.whatsapp.net")
        );
        assert_eq!(key(&group, &record(true)).participant, None);
        assert_eq!(key(&dm, &record(false)).participant, None);
        assert_eq!(key(&dm, &record(true)).from_me, Some(true));
    }
}
