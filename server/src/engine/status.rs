//! Status posts (stories). WhatsApp's status is LID-addressed and has no audience of its own: each
//! post names the people who see it, so the audience (the caller's list, or the session's address
//! book) is resolved to LIDs here, kept with the post, and named again when the post is deleted.

use whatsapp_rust::Jid;
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::features::StatusSendOptions;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{Engine, EngineError};
use crate::store::{contacts, statuses};

pub use wa::message::extended_text_message::FontType;

/// How a status post is shown: to whom, and for a text post on what background and in what font.
#[derive(Debug, Clone)]
pub struct StatusPost {
    /// The people the caller named (phone-number or LID JIDs); `None`: the session's address book.
    pub recipients: Option<Vec<Jid>>,
    /// A text post's background colour, `0xAARRGGBB`.
    pub background_argb: u32,
    /// A text post's font.
    pub font: FontType,
}

impl StatusPost {
    /// `message` as a status: a text becomes an extended text with the post's background and font.
    pub(super) fn styled(&self, mut message: wa::Message) -> wa::Message {
        if let Some(text) = message.conversation.take() {
            message.extended_text_message = MessageField::some(wa::message::ExtendedTextMessage {
                text: Some(text),
                ..Default::default()
            });
        }
        if let Some(extended) = message.extended_text_message.as_option_mut() {
            extended.background_argb = Some(self.background_argb);
            extended.font = Some(self.font);
        }
        message
    }
}

impl Engine {
    /// The LIDs of the people `post` is shown to. Someone the caller named who has no WhatsApp
    /// account is refused (400); address-book contacts without one are left out. An empty
    /// audience is a 409: WhatsApp takes no status without one.
    pub(super) async fn status_audience(&self, session: &str, post: &StatusPost) -> Result<Vec<Jid>, EngineError> {
        let (candidates, named) = match &post.recipients {
            Some(recipients) => (recipients.clone(), true),
            None => {
                let book = contacts::address_book(&self.shared.db, session).await?;
                let jids = book
                    .into_iter()
                    .filter_map(|c| c.lid.unwrap_or(c.jid).parse::<Jid>().ok())
                    .collect();
                (jids, false)
            }
        };
        let (lids, numbers): (Vec<Jid>, Vec<Jid>) = candidates.into_iter().partition(|jid| jid.is_lid());
        let mappings = self.lid_mappings(session, &numbers).await?;
        let mut audience: Vec<Jid> = lids.iter().map(Jid::to_non_ad).collect();
        let mut unknown = Vec::new();
        for (number, mapping) in numbers.iter().zip(mappings) {
            match mapping.map(|m| m.lid.parse::<Jid>()) {
                Some(Ok(lid)) => audience.push(lid),
                Some(Err(e)) => return Err(EngineError::Internal(anyhow::anyhow!("a LID WhatsApp gave: {e}"))),
                None => unknown.push(number.to_string()),
            }
        }
        let mut seen = std::collections::HashSet::new();
        audience.retain(|lid| seen.insert(lid.user.clone()));
        if named && !unknown.is_empty() {
            return Err(EngineError::Invalid(format!(
                "these recipients have no WhatsApp account: {}",
                unknown.join(", ")
            )));
        }
        if audience.is_empty() {
            return Err(EngineError::Conflict(
                "no one to show the status to: the session's address book has no one on WhatsApp; name `recipients`"
                    .into(),
            ));
        }
        Ok(audience)
    }

    /// Keeps who `session`'s status post `id` goes to, so that deleting it reaches them.
    pub(super) async fn remember_audience(&self, session: &str, id: &str, audience: &[Jid]) -> Result<(), EngineError> {
        let kept: Vec<String> = audience.iter().map(Jid::to_string).collect();
        statuses::remember(&self.shared.db, session, id, &kept)
            .await
            .map_err(|e| EngineError::Internal(e.context("keep a status post's audience")))
    }

    /// Posts `message` (already styled) as `session`'s status `id` to `audience`.
    pub(super) async fn post_status(
        &self,
        client: &whatsapp_rust::Client,
        id: &str,
        message: wa::Message,
        audience: &[Jid],
    ) -> Result<(), String> {
        let options = StatusSendOptions {
            message_id: Some(id.to_owned()),
            ..Default::default()
        };
        client
            .status()
            .send_raw(message, audience, options)
            .await
            .map(drop)
            .map_err(|e| format!("WhatsApp did not accept the status: {e}"))
    }

    /// Deletes `session`'s status post `id` for the audience it was shown to.
    pub(super) async fn revoke_status(
        &self,
        client: &whatsapp_rust::Client,
        session: &str,
        id: &str,
    ) -> Result<(), EngineError> {
        let audience = statuses::audience(&self.shared.db, session, id)
            .await?
            .ok_or_else(|| EngineError::Conflict(format!("`{id}` is not one of this session's status posts")))?;
        let audience: Vec<Jid> = audience.iter().filter_map(|jid| jid.parse().ok()).collect();
        client
            .status()
            .revoke(id, &audience, StatusSendOptions::default())
            .await
            .map(drop)
            .map_err(|e| EngineError::refused("status deletion", e))
    }
}
