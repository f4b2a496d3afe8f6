//! WhatsApp Business labels: app-state mutations the session sends to WhatsApp, which carries
//! them to the account's other devices. Each is applied to the stored labels as soon as
//! WhatsApp takes it; its `labels.update` event is written when the client hears it back.

use whatsapp_rust::Jid;

use super::chats::app_state_error;
use super::{Engine, EngineError};
use crate::model::label::Label;
use crate::store::labels::{self as store, LabelChange};

impl Engine {
    /// Creates a label named `name` in colour `color`, under the next free id.
    pub async fn create_label(&self, session: &str, name: &str, color: i32) -> Result<Label, EngineError> {
        let client = self.require_connected(session)?;
        let slot = self.slot(session);
        let _one_at_a_time = slot.labels.lock().await;
        let id = store::next_id(&self.shared.db, session).await?;
        self.set_label(&client, session, &id, name, color).await?;
        Ok(Label {
            id,
            name: name.to_owned(),
            color,
            chat_ids: Vec::new(),
        })
    }

    /// Renames and recolours label `id`.
    pub async fn edit_label(&self, session: &str, id: &str, name: &str, color: i32) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        self.set_label(&client, session, id, name, color).await
    }

    /// Sets label `id`'s name and colour on WhatsApp, then in the store.
    async fn set_label(
        &self,
        client: &whatsapp_rust::Client,
        session: &str,
        id: &str,
        name: &str,
        color: i32,
    ) -> Result<(), EngineError> {
        client
            .labels()
            .create_label(id, name, color)
            .await
            .map_err(|e| app_state_error("label", e))?;
        let change = LabelChange::Set {
            name: name.to_owned(),
            color,
        };
        store::change(&self.shared.db, session, id, &change, &[]).await?;
        Ok(())
    }

    /// Deletes label `id`.
    pub async fn delete_label(&self, session: &str, id: &str) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        client
            .labels()
            .delete_label(id)
            .await
            .map_err(|e| app_state_error("label deletion", e))?;
        store::change(&self.shared.db, session, id, &LabelChange::Deleted, &[]).await?;
        Ok(())
    }

    /// Puts label `id` on each of `chats` (`labeled`) or takes it off them, one by one.
    pub async fn label_chats(&self, session: &str, id: &str, chats: &[Jid], labeled: bool) -> Result<(), EngineError> {
        let client = self.require_connected(session)?;
        let labels = client.labels();
        for chat in chats {
            let sent = if labeled {
                labels.add_chat_label(id, chat).await
            } else {
                labels.remove_chat_label(id, chat).await
            };
            sent.map_err(|e| app_state_error("label change", e))?;
            let change = LabelChange::Chat(chat.to_non_ad_string(), labeled);
            store::change(&self.shared.db, session, id, &change, &[]).await?;
        }
        Ok(())
    }
}
