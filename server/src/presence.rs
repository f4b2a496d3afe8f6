//! Presence reads: the last presence the session heard of per contact or chat, as stored from
//! `presence.update` (no WhatsApp round trip; follow a contact with `…/presence/{chatId}/subscribe`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::messages::jid::parse_chat;
use crate::model::presence::ChatPresence;
use crate::state::AppState;
use crate::store::presences as stored;

/// Every presence the session heard of.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChatPresenceList {
    /// One per contact or chat, most recently heard first.
    pub data: Vec<ChatPresence>,
}

crate::envelopes!(ChatPresence => ChatPresenceData);

/// Every presence the session heard of, most recent first.
pub async fn list(state: &AppState, caller: &Caller, session: &str) -> Result<ChatPresenceList, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    Ok(ChatPresenceList {
        data: stored::all(&state.db, session).await?,
    })
}

/// The last presence heard of for `chat_id`; 404 when none was.
pub async fn get(state: &AppState, caller: &Caller, session: &str, chat_id: &str) -> Result<ChatPresence, ApiError> {
    let chat = parse_chat(chat_id)?.to_non_ad_string();
    crate::sessions::find(state, caller, session).await?;
    stored::one(&state.db, session, &chat).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "no presence heard of for `{chat}` yet: follow it with POST /api/sessions/{session}/presence/{chat}/subscribe"
        ))
    })
}
