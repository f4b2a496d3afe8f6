//! WhatsApp Business labels: the session's labels with their chats, as kept from the account's
//! app state, and the changes made through WhatsApp (create, rename or recolour, delete, put on
//! and take off chats).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whatsapp_rust::Jid;

use crate::auth::Caller;
use crate::commands::Command;
use crate::error::ApiError;
use crate::messages::jid::{ChatId, parse_chat};
use crate::model::bounded::{IntRule, ListRule, NOT_BLANK, TextRule, bounded_int, bounded_list, bounded_text, inline};
use crate::model::label::Label;
use crate::state::{AppState, SharedState};
use crate::store::labels as stored;

bounded_text! {
    /// A label's name.
    LabelName = TextRule { min: 1, max: 100, pattern: Some(NOT_BLANK) };
}

bounded_text! {
    /// A label's id: WhatsApp numbers labels.
    LabelId = TextRule { min: 1, max: 10, pattern: Some(("^[0-9]{1,10}$", "a label id, digits")) };
}

bounded_int! {
    /// A label colour: an index into WhatsApp's 20 label colours.
    LabelColor = IntRule { min: 0, max: 19, text: false };
}

bounded_list! {
    /// Chats to label or unlabel: 1 to 100, each once.
    LabelChatIds(Vec<ChatId>) = ListRule { min: 1, max: 100, unique: true }, items = inline::<ChatId>();
}

crate::envelopes!(Label => LabelData);

/// Every label of the session.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LabelList {
    /// The labels, by id.
    pub data: Vec<Label>,
}

/// A label to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "New customer", "color": 1}))]
pub struct CreateLabel {
    /// Its name.
    #[schema(inline)]
    pub name: LabelName,
    /// Its colour (0 to 19; default 0).
    #[serde(default)]
    #[schema(inline)]
    pub color: Option<LabelColor>,
}

/// What to change of a label: its name, its colour, or both (neither changes nothing).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Paid", "color": 5}))]
pub struct UpdateLabel {
    /// Its new name.
    #[serde(default)]
    #[schema(inline)]
    pub name: Option<LabelName>,
    /// Its new colour (0 to 19).
    #[serde(default)]
    #[schema(inline)]
    pub color: Option<LabelColor>,
}

/// Chats to put a label on or take it off.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"chatIds": ["5511999999999@s.whatsapp.net"]}))]
pub struct LabelChats {
    /// The chats' JIDs.
    #[schema(inline)]
    pub chat_ids: LabelChatIds,
}

/// The checked `label_id`.
fn parse_label(label_id: &str) -> Result<String, ApiError> {
    LabelId::parse(label_id)
        .map(LabelId::into_inner)
        .map_err(|why| ApiError::BadRequest(format!("invalid labelId `{label_id}`: {why}")))
}

/// Label `id` of `session`, or a 404.
async fn existing(state: &AppState, session: &str, id: &str) -> Result<Label, ApiError> {
    stored::one(&state.db, session, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("session `{session}` has no label `{id}`")))
}

/// Every label of the session, with its chats.
pub async fn list(state: &AppState, caller: &Caller, session: &str) -> Result<LabelList, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    Ok(LabelList {
        data: stored::all(&state.db, session).await?,
    })
}

/// Checks `request`; the command creates the label.
pub async fn create(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    request: CreateLabel,
) -> Result<Command<Label>, ApiError> {
    crate::sessions::find(state, caller, session).await?;
    let color = request.color.map_or(0, |c| i32::try_from(c.get()).unwrap_or_default());
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        Ok(state
            .engine
            .create_label(&session, request.name.as_str(), color)
            .await?)
    }))
}

/// Checks `request` and that the label exists; the command renames or recolours it (a request
/// that names neither changes nothing and answers the label).
pub async fn update(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    label_id: &str,
    request: UpdateLabel,
) -> Result<Command<Label>, ApiError> {
    let id = parse_label(label_id)?;
    crate::sessions::find(state, caller, session).await?;
    let mut label = existing(state, session, &id).await?;
    if request.name.is_none() && request.color.is_none() {
        return Ok(Box::pin(async move { Ok(label) }));
    }
    if let Some(name) = request.name {
        label.name = name.into_inner();
    }
    if let Some(color) = request.color {
        label.color = i32::try_from(color.get()).unwrap_or_default();
    }
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        state.engine.edit_label(&session, &id, &label.name, label.color).await?;
        Ok(label)
    }))
}

/// Checks that the label exists; the command deletes it.
pub async fn delete(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    label_id: &str,
) -> Result<Command<()>, ApiError> {
    let id = parse_label(label_id)?;
    crate::sessions::find(state, caller, session).await?;
    existing(state, session, &id).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(
        async move { Ok(state.engine.delete_label(&session, &id).await?) },
    ))
}

/// Checks `request` and that the label exists; the command puts the label on the chats
/// (`labeled`) or takes it off them, and answers the label.
pub async fn label_chats(
    state: &SharedState,
    caller: &Caller,
    session: &str,
    label_id: &str,
    request: LabelChats,
    labeled: bool,
) -> Result<Command<Label>, ApiError> {
    let id = parse_label(label_id)?;
    let chats = request
        .chat_ids
        .as_slice()
        .iter()
        .map(|c| parse_chat(c.as_str()))
        .collect::<Result<Vec<Jid>, _>>()?;
    crate::sessions::find(state, caller, session).await?;
    existing(state, session, &id).await?;
    let (state, session) = (state.clone(), session.to_owned());
    Ok(Box::pin(async move {
        state.engine.label_chats(&session, &id, &chats, labeled).await?;
        existing(&state, &session, &id).await
    }))
}
