//! Chat actions and stars: app-state mutations the session sends to WhatsApp, which carries them
//! to the account's phone and other devices. Each is applied to the stored chat as soon as
//! WhatsApp takes it; its `chat.*` event is written when the client hears the change back.

use whatsapp_rust::features::AppStateError;
use whatsapp_rust::wacore_binary::JidExt as _;
use whatsapp_rust::{IqError, Jid};

use super::{Engine, EngineError};
use crate::store::chats::{self as store, ChatChange};
use crate::store::messages::{self as messages, MessageRecord};

/// Most received messages a chat read sends read receipts for.
const MAX_RECEIPTS: usize = 256;

impl Engine {
    /// Makes `change` to `chat` on WhatsApp, then to the stored chat. Reading a chat also sends
    /// read receipts for its unread messages, as WhatsApp's apps do.
    pub async fn change_chat(&self, session: &str, chat: &Jid, change: &ChatChange) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let chat_id = chat.to_non_ad_string();
        // Read before the change: the client hears its own change back, and the stored chat may
        // count nothing unread by the time the mutation call returns.
        let unread = match change {
            ChatChange::Read(true) => self.unread(session, chat, &chat_id).await?,
            _ => Vec::new(),
        };
        let actions = client.chat_actions();
        let sent = match change {
            ChatChange::Archived(true) => actions.archive_chat(chat, None).await,
            ChatChange::Archived(false) => actions.unarchive_chat(chat, None).await,
            ChatChange::Pinned(true) => actions.pin_chat(chat).await,
            ChatChange::Pinned(false) => actions.unpin_chat(chat).await,
            ChatChange::Muted(Some(-1)) => actions.mute_chat(chat).await,
            ChatChange::Muted(Some(until)) => actions.mute_chat_until(chat, until.saturating_mul(1000)).await,
            ChatChange::Muted(None) => actions.unmute_chat(chat).await,
            ChatChange::Read(read) => actions.mark_chat_as_read(chat, *read, None).await,
            ChatChange::Cleared { delete_starred, .. } => actions.clear_chat(chat, *delete_starred, false, None).await,
            ChatChange::Deleted => actions.delete_chat(chat, false, None).await,
        };
        sent.map_err(|e| app_state_error("chat change", e))?;
        for (sender, ids) in unread {
            self.mark_read(session, chat, sender.as_ref(), &ids).await?;
        }
        store::change(&self.shared.db, session, &chat_id, change, &[]).await?;
        Ok(())
    }

    /// Stars or unstars `message` on WhatsApp, then in the history.
    pub async fn star(
        &self,
        session: &str,
        chat: &Jid,
        message: &MessageRecord,
        starred: bool,
    ) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let participant = message
            .sender
            .as_deref()
            .filter(|_| chat.is_group() && !message.from_me)
            .map(str::parse::<Jid>)
            .transpose()
            .map_err(|e| EngineError::Internal(anyhow::anyhow!("a stored sender is not a JID: {e}")))?;
        let actions = client.chat_actions();
        let sent = if starred {
            actions
                .star_message(chat, participant.as_ref(), &message.id, message.from_me)
                .await
        } else {
            actions
                .unstar_message(chat, participant.as_ref(), &message.id, message.from_me)
                .await
        };
        sent.map_err(|e| app_state_error("star", e))?;
        messages::star(&self.shared.db, session, &message.chat_id, &message.id, starred, &[]).await?;
        Ok(())
    }

    /// The chat's unread received messages (the newest [`MAX_RECEIPTS`]), grouped by sender in
    /// groups as WhatsApp wants their read receipts.
    async fn unread(
        &self,
        session: &str,
        chat: &Jid,
        chat_id: &str,
    ) -> Result<Vec<(Option<Jid>, Vec<String>)>, EngineError> {
        let db = &self.shared.db;
        let unread = store::one(db, session, chat_id).await?.map_or(0, |c| c.unread);
        let wanted = usize::try_from(unread).unwrap_or(0).min(MAX_RECEIPTS);
        if wanted == 0 {
            return Ok(Vec::new());
        }
        let recent = messages::history(db, session, chat_id, None, wanted * 2).await?;
        let mut by_sender: Vec<(Option<Jid>, Vec<String>)> = Vec::new();
        for message in recent.into_iter().filter(|m| !m.from_me).take(wanted) {
            let sender = message
                .sender
                .filter(|_| chat.is_group())
                .and_then(|s| s.parse::<Jid>().ok());
            match by_sender.iter_mut().find(|(s, _)| *s == sender) {
                Some((_, ids)) => ids.push(message.id),
                None => by_sender.push((sender, vec![message.id])),
            }
        }
        Ok(by_sender)
    }
}

/// What a refused app-state change means for the caller. The API checks every request before
/// it gets here, so what whatsapp-rust still calls an invalid request is the session's state
/// (no app-state key yet, or keys wiped by a logout running at the same time): a 409.
pub(super) fn app_state_error(what: &str, error: AppStateError) -> EngineError {
    match error {
        AppStateError::InvalidRequest(why) => {
            EngineError::Conflict(format!("the session cannot make the {what} now: {why}"))
        }
        AppStateError::Internal(cause) => match cause.chain().find_map(|c| c.downcast_ref::<IqError>()) {
            Some(iq) => EngineError::refused_iq(what, iq),
            None => EngineError::refused(what, cause),
        },
        other => EngineError::refused(what, other),
    }
}
